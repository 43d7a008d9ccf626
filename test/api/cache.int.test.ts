/**
 * The response cache of the read endpoints on a real database: hits from memory, a
 * `NOTIFY rtsa_commits` (what the processor sends after every commit) invalidates,
 * entries expire after `API_CACHE_MAX_AGE`, 0 disables it, queries do not share entries,
 * and cached bytes are the bytes of the uncached path.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { loadApiConfig } from '../../src/api/config.ts'
import type { Api } from '../../src/api/context.ts'
import {
  makeApp,
  minuteStart,
  putWindow,
  seedKnownRows,
  setupDatabase,
  testClock,
  trackedListener,
} from './fixtures.ts'

type Body = { rows: Array<{ stream_id: string; active_viewers: number }> }

async function viewersOfA(app: Api, url: string): Promise<number | undefined> {
  const res = await app.inject(url)
  assert.equal(res.statusCode, 200, res.body)
  return (res.json() as Body).rows.find((r) => r.stream_id === 'stream_a')?.active_viewers
}

/** `{hits, misses}` of one route from `/prometheus`. */
async function counters(app: Api, path: string): Promise<{ hits: number; misses: number }> {
  const text = (await app.inject('/prometheus')).body
  const read = (name: string) => {
    const m = new RegExp(`^${name}\\{path="${path.replace(/[/]/g, '\\/')}"\\} (\\d+)$`, 'm').exec(text)
    return m === null ? 0 : Number(m[1])
  }
  return { hits: read('api_cache_hits_total'), misses: read('api_cache_misses_total') }
}

test('cache: a second identical request is served from memory; NOTIFY rtsa_commits invalidates', async (t) => {
  const { pool } = await setupDatabase(t)
  // The app's clock stands still: the rows stay relative to its minute.
  const clock = testClock()
  await seedKnownRows(pool, clock.now())
  const listener = trackedListener(pool)
  // A long max age, so only the notification can make the new row visible.
  const app = await makeApp(t, pool, {
    listen: listener.source,
    config: { cacheMaxAge: 50_000 },
    clock: clock.now,
  })
  await listener.connected()
  const first = await app.inject('/metrics/latest')
  assert.equal((first.json() as Body).rows.find((r) => r.stream_id === 'stream_a')?.active_viewers, 18)
  // Written without a notification: the cache does not see it...
  await putWindow(pool, { stream: 'stream_a', start: minuteStart(1, clock.now()), activeViewers: 77 })
  const second = await app.inject('/metrics/latest')
  assert.equal(second.body, first.body, 'served from memory, byte for byte')
  assert.equal(second.headers['content-type'], first.headers['content-type'])
  assert.deepEqual(await counters(app, '/metrics/latest'), { hits: 1, misses: 1 })
  // ...until the commit's NOTIFY arrives.
  await listener.notify({ streams: ['stream_a'] })
  assert.equal(await viewersOfA(app, '/metrics/latest'), 77)
  assert.deepEqual(await counters(app, '/metrics/latest'), { hits: 1, misses: 2 })
})

test('cache: entries expire after the max age even without a notification', async (t) => {
  const { pool } = await setupDatabase(t)
  const clock = testClock()
  await seedKnownRows(pool, clock.now())
  // Silent: no notifications.
  const app = await makeApp(t, pool, { config: { cacheMaxAge: 300 }, clock: clock.now })
  assert.equal(await viewersOfA(app, '/state'), 20)
  await pool.query(`update stream_state set active_viewers = 21 where stream_id = 'stream_a'`)
  assert.equal(await viewersOfA(app, '/state'), 20, 'within the max age: from memory')
  clock.advance(350)
  assert.equal(await viewersOfA(app, '/state'), 21, 'after it: read again')
})

test('cache: API_CACHE_MAX_AGE=0 disables it (the uncached path)', async (t) => {
  assert.equal(loadApiConfig({}).cacheMaxAge, 1000)
  assert.equal(loadApiConfig({ API_CACHE_MAX_AGE: '0' }).cacheMaxAge, 0)
  assert.throws(() => loadApiConfig({ API_CACHE_MAX_AGE: 'soon' }), /API_CACHE_MAX_AGE/)
  const { pool } = await setupDatabase(t)
  // Seed and read in the same minute: the rows are relative to it.
  const clock = testClock()
  await seedKnownRows(pool, clock.now())
  const app = await makeApp(t, pool, {
    clock: clock.now,
    config: { cacheMaxAge: loadApiConfig({ API_CACHE_MAX_AGE: '0' }).cacheMaxAge },
  })
  assert.equal(await viewersOfA(app, '/state'), 20)
  await pool.query(`update stream_state set active_viewers = 22 where stream_id = 'stream_a'`)
  assert.equal(await viewersOfA(app, '/state'), 22)
  assert.deepEqual(await counters(app, '/state'), { hits: 0, misses: 0 })
})

test('cache: different queries do not share entries; the same normalized query does', async (t) => {
  const { pool } = await setupDatabase(t)
  // Seed and read in the same minute: the rows are relative to it.
  const clock = testClock()
  await seedKnownRows(pool, clock.now())
  const app = await makeApp(t, pool, {
    clock: clock.now,
    config: { cacheMaxAge: 50_000 },
  })
  const short = await app.inject('/metrics/history?minutes=2')
  const long = await app.inject('/metrics/history?minutes=60')
  assert.notEqual((short.json() as Body).rows.length, (long.json() as Body).rows.length)
  const a = await app.inject('/metrics/history?minutes=60&stream_id=stream_a')
  assert.ok((a.json() as Body).rows.every((r) => r.stream_id === 'stream_a'))
  assert.deepEqual(await counters(app, '/metrics/history'), { hits: 0, misses: 3 })
  // Defaults applied and keys sorted: these are the same query.
  await app.inject('/state')
  await app.inject('/state?limit=1000')
  const live = await app.inject('/state?live=false')
  assert.deepEqual(
    (live.json() as Body).rows.map((r) => r.stream_id),
    ['stream_b'],
  )
  await app.inject('/streams/top?by=events&minutes=10')
  await app.inject('/streams/top?minutes=10&by=events')
  assert.deepEqual(await counters(app, '/state'), { hits: 1, misses: 2 })
  assert.deepEqual(await counters(app, '/streams/top'), { hits: 1, misses: 1 })
})

test('cache: concurrent identical requests share one read; bodies equal the uncached ones', async (t) => {
  const { pool } = await setupDatabase(t)
  // Seed and read in the same minute: the rows are relative to it.
  const clock = testClock()
  await seedKnownRows(pool, clock.now())
  const cached = await makeApp(t, pool, { clock: clock.now })
  const uncached = await makeApp(t, pool, { config: { cacheMaxAge: 0 }, clock: clock.now })
  const url = `/metrics/history?from=${minuteStart(200, clock.now()).toISOString()}&to=${minuteStart(0, clock.now()).toISOString()}`
  const all = await Promise.all(Array.from({ length: 5 }, () => cached.inject(url)))
  assert.deepEqual(await counters(cached, '/metrics/history'), { hits: 4, misses: 1 })
  const plain = await uncached.inject(url)
  for (const res of all) {
    assert.equal(res.statusCode, 200)
    assert.equal(res.body, plain.body)
    assert.equal(res.headers['content-type'], plain.headers['content-type'])
    assert.equal(res.headers['content-length'], plain.headers['content-length'])
  }
  // Endpoints that echo the clock: equal once server_time_utc/since are set aside.
  for (const path of ['/metrics/latest', '/state', '/metrics?minutes=60', '/streams', '/streams/top']) {
    await cached.inject(path)
    const hit = (await cached.inject(path)).json() as Record<string, unknown>
    const fresh = (await uncached.inject(path)).json() as Record<string, unknown>
    for (const o of [hit, fresh]) {
      delete o.server_time_utc
      delete o.since
      if (typeof o.filters === 'object' && o.filters !== null)
        delete (o.filters as Record<string, unknown>).since
    }
    assert.deepEqual(hit, fresh, path)
  }
})
