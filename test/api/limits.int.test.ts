/** Per-client rate limiting and response compression. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { gunzipSync } from 'node:zlib'
import { loadApiConfig } from '../../src/api/config.ts'
import { assertMatchesOpenApi, clearOfMinuteEdge, makeApp, seedKnownRows, setupDatabase } from './fixtures.ts'

test('rate limit: past API_RATE_LIMIT a client gets 429 RATE_LIMITED with Retry-After; probes are never limited', async (t) => {
  const now = clearOfMinuteEdge()
  const { pool } = await setupDatabase(t)
  await seedKnownRows(pool, now())
  const app = await makeApp(t, pool, { clock: now, config: { rateLimit: 5, rateWindow: 60_000 } })
  for (let i = 0; i < 5; i++) assert.equal((await app.inject('/state')).statusCode, 200, `request ${i + 1}`)
  const limited = await app.inject('/metrics/latest')
  assert.equal(limited.statusCode, 429, limited.body)
  const body = limited.json()
  assert.equal(body.code, 'RATE_LIMITED')
  assert.equal(body.error, 'too_many_requests')
  assert.match(body.message, /more than 5 requests in 1 minute/)
  assert.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After says when')
  assertMatchesOpenApi(app, 'GET', '/metrics/latest', limited)
  // Another client is not affected.
  const other = await app.inject({ url: '/state', remoteAddress: '10.1.2.3' })
  assert.equal(other.statusCode, 200)
  for (let i = 0; i < 20; i++) {
    assert.equal((await app.inject('/health')).statusCode, 200)
    assert.equal((await app.inject('/ready')).statusCode, 200)
  }
  const prom = await app.inject('/prometheus')
  assert.equal(prom.statusCode, 200)
  assert.match(prom.body, /^api_rate_limited_total 1$/m)
})

test('rate limit: on by default in the service settings, off with 0', () => {
  const defaults = loadApiConfig({})
  assert.equal(defaults.rateLimit, 1200)
  assert.equal(defaults.rateWindow, 60_000)
  assert.equal(loadApiConfig({ API_RATE_LIMIT: '0' }).rateLimit, 0)
  assert.throws(() => loadApiConfig({ API_RATE_LIMIT: 'lots' }), /API_RATE_LIMIT/)
})

test('compression: large JSON is gzipped for clients that accept it, cached or not', async (t) => {
  const now = clearOfMinuteEdge()
  const { pool } = await setupDatabase(t)
  await seedKnownRows(pool, now())
  const app = await makeApp(t, pool, { clock: now })
  const plain = await app.inject('/metrics/history?minutes=180')
  assert.equal(plain.statusCode, 200)
  assert.equal(plain.headers['content-encoding'], undefined)
  assert.ok(plain.rawPayload.length > 4096, `a large body (${plain.rawPayload.length} B)`)
  for (let i = 0; i < 2; i++) {
    const gz = await app.inject({
      url: '/metrics/history?minutes=180',
      headers: { 'accept-encoding': 'gzip' },
    })
    assert.equal(gz.headers['content-encoding'], 'gzip')
    assert.ok(gz.rawPayload.length < plain.rawPayload.length / 2)
    assert.deepEqual(JSON.parse(gunzipSync(gz.rawPayload).toString()).rows, plain.json().rows)
  }
  const small = await app.inject({ url: '/health', headers: { 'accept-encoding': 'gzip' } })
  assert.equal(small.headers['content-encoding'], undefined, 'small answers go as they are')
})
