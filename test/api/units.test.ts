import assert from 'node:assert/strict'
import { test } from 'node:test'
import { loadApiConfig } from '../../src/api/config.ts'
import { RateSampler } from '../../src/api/rate.ts'
import { showBytes } from '../../src/api/routes/dead-letters.ts'
import { formatCents } from '../../src/api/rows.ts'
import { isRtsaError } from '../../src/errors/catalogue.ts'
import { parseCommitNotice as parseNotice } from '../../src/store/commit-notice.ts'
import { classifyDbError } from '../../src/store/db-errors.ts'

test('formatCents: exact two decimals from integer cents', () => {
  assert.equal(formatCents(0), '0.00')
  assert.equal(formatCents(5), '0.05')
  assert.equal(formatCents(30), '0.30')
  assert.equal(formatCents(1230), '12.30')
  assert.equal(formatCents('123456789012345678'), '1234567890123456.78')
  assert.equal(formatCents(-199), '-1.99')
  assert.equal(formatCents(10n), '0.10')
})

test('showBytes: UTF-8 text when valid, base64 otherwise, a cut character tolerated', () => {
  assert.deepEqual(showBytes(Buffer.from('héllo'), null), {
    encoding: 'utf8',
    data: 'héllo',
    bytes: 6,
    truncated: false,
  })
  assert.deepEqual(showBytes(Buffer.from([0xc3, 0x28]), null), {
    encoding: 'base64',
    data: 'wyg=',
    bytes: 2,
    truncated: false,
  })
  // A preview that ends inside "é" (0xc3 0xa9) is still text.
  const cut = Buffer.from('abé').subarray(0, 3)
  assert.deepEqual(showBytes(cut, 4), { encoding: 'utf8', data: 'ab', bytes: 4, truncated: true })
  assert.equal(showBytes(null, null), null)
})

test('parseNotice: streams when listed, null (= all) when truncated or unreadable', () => {
  assert.deepEqual(parseNotice('{"topic":"t","partition":2,"streams":["a","b"],"committedAt":"x"}').streams, [
    'a',
    'b',
  ])
  assert.equal(parseNotice('{"streams":["a"],"streamsTruncated":true}').streams, null)
  assert.equal(parseNotice('not json').streams, null)
  assert.equal(parseNotice(undefined).streams, null)
  assert.equal(parseNotice('{"streams":[1,2]}').streams, null)
  assert.equal(parseNotice('{"partition":3}').partition, 3)
})

test('RateSampler: slope over the span, null until a second of data, reset on a counter drop', () => {
  const r = new RateSampler(10_000)
  assert.equal(r.add(0, 100), null)
  assert.equal(r.add(500, 150), null)
  assert.equal(r.add(2000, 300), 100)
  assert.equal(r.add(30_000, 300), 0) // old samples leave the span
  assert.equal(r.add(31_000, 10), null) // counters went down: a reset, start over
  assert.equal(r.add(33_000, 30), 10)
})

test('classifyDbError: connection trouble is 503-worthy, query errors are not', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })
  assert.ok(isRtsaError(classifyDbError(refused), 'POSTGRES_UNREACHABLE'))
  const terminated = Object.assign(new Error('terminating connection'), { code: '57P01', severity: 'FATAL' })
  assert.ok(isRtsaError(classifyDbError(terminated), 'POSTGRES_UNREACHABLE'))
  assert.ok(
    isRtsaError(classifyDbError(new Error('Connection terminated unexpectedly')), 'POSTGRES_UNREACHABLE'),
  )
  const syntax = Object.assign(new Error('syntax error'), { code: '42601', severity: 'ERROR' })
  assert.ok(isRtsaError(classifyDbError(syntax), 'POSTGRES_QUERY_FAILED'))
  const noTable = Object.assign(new Error('relation does not exist'), { code: '42P01', severity: 'ERROR' })
  assert.ok(isRtsaError(classifyDbError(noTable), 'POSTGRES_UNREACHABLE'))
  // pg-pool's wait for a free connection timed out: busy, not down.
  assert.ok(
    isRtsaError(classifyDbError(new Error('timeout exceeded when trying to connect')), 'POSTGRES_BUSY'),
  )
  // A new connection that could not be made in time: down.
  const slowConnect = new Error('Connection terminated due to connection timeout')
  assert.ok(isRtsaError(classifyDbError(slowConnect), 'POSTGRES_UNREACHABLE'))
})

test('API config: defaults, and a bad value names its variable', () => {
  const c = loadApiConfig({})
  assert.equal(c.port, 8000)
  assert.equal(c.host, '127.0.0.1')
  assert.equal(c.apiToken, undefined)
  assert.throws(() => loadApiConfig({ PORT: 'eighty' }), /PORT="eighty" is invalid/)
  assert.throws(() => loadApiConfig({ API_STALE_COMMIT_AGE: 'soon' }), /API_STALE_COMMIT_AGE/)
  // The limits: defaults, and every bad value named.
  assert.deepEqual(
    [c.cacheMaxEntries, c.cacheMaxBytes, c.liveMaxClients, c.queryTimeout, c.rateLimit, c.rateWindow],
    [1000, 64 * 1024 * 1024, 1000, 15_000, 1200, 60_000],
  )
  for (const [name, value] of [
    ['API_CACHE_MAX_ENTRIES', '0'],
    ['API_CACHE_MAX_BYTES', 'lots'],
    ['API_LIVE_MAX_CLIENTS', '-1'],
    ['API_LIVE_MAX_CLIENTS', '9'.repeat(400)],
    ['API_QUERY_TIMEOUT', 'forever'],
    ['API_RATE_WINDOW', '1 fortnight'],
  ] as const) {
    assert.throws(() => loadApiConfig({ [name]: value }), new RegExp(name), `${name}=${value.slice(0, 20)}`)
  }
})
