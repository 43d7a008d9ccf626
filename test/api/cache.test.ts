/** The response cache alone, on a fake clock: expiry, minute edges, invalidation, single-flight, bounds. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type CachedResponse, cacheKey, ResponseCache } from '../../src/api/cache.ts'

const MINUTE = 60_000
const body = (s: string): CachedResponse => ({
  status: 200,
  contentType: 'application/json',
  body: Buffer.from(s),
})

function clockAt(ms: number) {
  const c = { now: ms }
  return { c, now: () => c.now }
}

test('ResponseCache: hit within max age, miss after it, counters by route', async () => {
  const { c, now } = clockAt(100 * MINUTE + 10_000)
  const counts = { hit: 0, miss: 0 }
  const cache = new ResponseCache(1000, { hit: () => counts.hit++, miss: () => counts.miss++ }, now)
  let reads = 0
  const load = async () => body(`v${++reads}`)
  assert.equal((await cache.get('/r', 'k', load)).body.toString(), 'v1')
  c.now += 499
  assert.equal((await cache.get('/r', 'k', load)).body.toString(), 'v1')
  c.now += 501
  assert.equal((await cache.get('/r', 'k', load)).body.toString(), 'v2')
  assert.deepEqual(counts, { hit: 1, miss: 2 })
})

test('ResponseCache: past half its life a hit refreshes the entry in the background', async () => {
  const { c, now } = clockAt(150 * MINUTE + 10_000)
  const counts = { hit: 0, miss: 0 }
  const cache = new ResponseCache(1000, { hit: () => counts.hit++, miss: () => counts.miss++ }, now)
  let reads = 0
  const load = async () => body(`v${++reads}`)
  await cache.get('/r', 'k', load)
  c.now += 600
  assert.equal((await cache.get('/r', 'k', load)).body.toString(), 'v1', 'the current entry answers')
  await new Promise((r) => setImmediate(r))
  assert.equal(reads, 2, 'and a re-read ran in the background')
  c.now += 450 // v1 has expired; v2 (read 600 ms in) has not, nor reached half its life
  assert.equal((await cache.get('/r', 'k', load)).body.toString(), 'v2')
  assert.deepEqual(counts, { hit: 2, miss: 2 })
  // A failed refresh leaves the entry as it was, until it expires.
  c.now += 300
  const failing = async (): Promise<CachedResponse> => {
    throw new Error('down')
  }
  assert.equal((await cache.get('/r', 'k', failing)).body.toString(), 'v2')
  await new Promise((r) => setImmediate(r))
  c.now += 100
  assert.equal((await cache.get('/r', 'k', load)).body.toString(), 'v2')
})

test('ResponseCache: an entry never outlives its minute; reads across a minute edge are not stored', async () => {
  const edge = 200 * MINUTE
  const { c, now } = clockAt(edge - 300)
  const cache = new ResponseCache(60_000, undefined, now)
  let reads = 0
  const load = async () => body(`v${++reads}`)
  await cache.get('/r', 'k', load)
  c.now = edge - 1
  assert.equal((await cache.get('/r', 'k', load)).body.toString(), 'v1')
  c.now = edge
  assert.equal((await cache.get('/r', 'k', load)).body.toString(), 'v2', 'expired at the minute edge')
  // A read that starts before the edge and ends after it is served but not kept.
  c.now = 2 * edge - 5
  const crossing = async () => {
    c.now += 10
    return body(`v${++reads}`)
  }
  assert.equal((await cache.get('/r', 'x', crossing)).body.toString(), 'v3')
  assert.equal(cache.size, 0)
  // Nor one that starts exactly on an edge (a `>= now - N min` filter differs there).
  c.now = 3 * edge
  await cache.get('/r', 'y', load)
  assert.equal(cache.size, 0)
})

test('ResponseCache: concurrent requests share one read; clear() drops entries and reads in flight', async () => {
  const { now } = clockAt(300 * MINUTE + 1000)
  const counts = { hit: 0, miss: 0 }
  const cache = new ResponseCache(1000, { hit: () => counts.hit++, miss: () => counts.miss++ }, now)
  let reads = 0
  let release: () => void = () => {}
  const slow = () =>
    new Promise<CachedResponse>((resolve) => {
      const n = ++reads
      release = () => resolve(body(`v${n}`))
    })
  const first = cache.get('/r', 'k', slow)
  const second = cache.get('/r', 'k', slow)
  release()
  assert.equal((await first).body.toString(), 'v1')
  assert.equal((await second).body.toString(), 'v1')
  assert.deepEqual(counts, { hit: 1, miss: 1 })

  cache.clear()
  const before = cache.get('/r', 'k', slow)
  const releaseBefore = release
  cache.clear() // data changed while the read was running
  const after = cache.get('/r', 'k', slow)
  releaseBefore()
  release()
  assert.equal((await before).body.toString(), 'v2')
  assert.equal((await after).body.toString(), 'v3', 'a request after the change does not join the old read')
  assert.equal((await cache.get('/r', 'k', slow)).body.toString(), 'v3', 'only the newer read was stored')
})

test('ResponseCache: failed reads are not cached; max age 0 disables', async () => {
  const { now } = clockAt(400 * MINUTE + 1000)
  const cache = new ResponseCache(1000, undefined, now)
  await assert.rejects(
    cache.get('/r', 'k', async () => {
      throw new Error('down')
    }),
    /down/,
  )
  assert.equal((await cache.get('/r', 'k', async () => body('ok'))).body.toString(), 'ok')
  assert.equal(new ResponseCache(0).enabled, false)
})

test('ResponseCache: bounded in entries, least recently used out first, evictions counted', async () => {
  const { now } = clockAt(500 * MINUTE + 1000)
  let evictions = 0
  const counters = { hit: () => {}, miss: () => {}, evict: () => evictions++ }
  const cache = new ResponseCache({ maxAgeMs: 10_000, maxEntries: 3 }, counters, now)
  let reads = 0
  const load = (v: string) => async () => {
    reads++
    return body(v)
  }
  for (const k of ['a', 'b', 'c']) await cache.get('/r', k, load(k))
  await cache.get('/r', 'a', load('a')) // a is now the most recent: b is the least
  await cache.get('/r', 'd', load('d'))
  assert.equal(cache.size, 3)
  assert.equal(evictions, 1)
  reads = 0
  for (const k of ['a', 'c', 'd']) await cache.get('/r', k, load(k))
  assert.equal(reads, 0, 'a, c and d are still held')
  await cache.get('/r', 'b', load('b'))
  assert.equal(reads, 1, 'b was the one evicted')
})

test('ResponseCache: bounded in bytes; a body larger than the bound is served, not kept', async () => {
  const { now } = clockAt(510 * MINUTE + 1000)
  const cache = new ResponseCache({ maxAgeMs: 10_000, maxBytes: 10 }, undefined, now)
  await cache.get('/r', 'a', async () => body('aaaa'))
  await cache.get('/r', 'b', async () => body('bbbb'))
  assert.equal(cache.bytes, 8)
  await cache.get('/r', 'c', async () => body('cccc'))
  assert.deepEqual([cache.size, cache.bytes], [2, 8], 'a made room')
  const big = await cache.get('/r', 'big', async () => body('x'.repeat(11)))
  assert.equal(big.body.length, 11)
  assert.deepEqual([cache.size, cache.bytes], [2, 8], 'not stored, nothing evicted for it')
  cache.clear()
  assert.deepEqual([cache.size, cache.bytes], [0, 0])
})

test('ResponseCache: expired entries are swept, not only when read again', async () => {
  const { c, now } = clockAt(520 * MINUTE + 1000)
  const cache = new ResponseCache({ maxAgeMs: 1000 }, undefined, now)
  for (let i = 0; i < 50; i++) await cache.get('/r', `k${i}`, async () => body('v'))
  assert.equal(cache.size, 50)
  c.now += 1500
  await cache.get('/r', 'fresh', async () => body('v'))
  assert.equal(cache.size, 1, 'the 50 expired entries went with the next store')
})

test('cacheKey: the same validated query gives the same key whatever the order', () => {
  assert.equal(cacheKey('/s', { b: 1, a: 'x' }), cacheKey('/s', { a: 'x', b: 1 }))
  assert.notEqual(cacheKey('/s', { a: 1 }), cacheKey('/s', { a: '1' }))
  assert.notEqual(cacheKey('/s', { a: 1 }), cacheKey('/t', { a: 1 }))
  assert.equal(cacheKey('/s', { a: 1, b: undefined }), cacheKey('/s', { a: 1 }))
})
