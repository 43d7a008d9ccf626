import assert from 'node:assert/strict'
import { test } from 'node:test'
import { assertMatchesOpenApi, clearOfMinuteEdge, makeApp, seedKnownRows, setupDatabase } from './fixtures.ts'

test('bad query parameters: 400 with a message naming the parameter', async (t) => {
  const { pool } = await setupDatabase(t)
  const app = await makeApp(t, pool)
  const cases: Array<[string, RegExp]> = [
    ['/metrics?minutes=0', /minutes must be >= 1/],
    ['/metrics?minutes=1441', /minutes must be <= 1440/],
    ['/metrics?minutes=abc', /minutes must be integer/],
    ['/metrics?limit=5001', /limit must be <= 5000/],
    ['/metrics?order_by=password', /order_by must be equal to one of the allowed values: window_start/],
    ['/metrics?order_by=window_start;drop%20table%20x', /order_by/],
    ['/metrics?direction=sideways', /direction/],
    ['/metrics/history?from=yesterday', /from must match format "date-time"/],
    ['/metrics/latest?final=maybe', /final must be boolean/],
    ['/streams/top?by=followers', /by must be equal to one of the allowed values/],
    ['/streams/top?n=0', /n must be >= 1/],
    ['/streams?limit=99999', /limit must be <= 5000/],
    ['/dead-letters?before_id=abc', /before_id must match pattern/],
    ['/dead-letters?limit=501', /limit must be <= 500/],
    ['/dead-letters?reason=whatever', /reason must be equal to one of the allowed values: not_json/],
    ['/live?minutes=1000', /minutes must be <= 180/],
  ]
  for (const [url, message] of cases) {
    const res = await app.inject(url)
    assert.equal(res.statusCode, 400, `${url}: ${res.body}`)
    const body = res.json()
    assert.match(body.message, message, url)
    assert.equal(body.error, 'bad_request')
    assert.equal(body.code, 'INPUT_INVALID')
    assert.match(body.message, /^querystring\//, url)
    if (!url.startsWith('/live')) assertMatchesOpenApi(app, 'GET', url, res)
  }
})

test('unknown paths and methods: 404 JSON', async (t) => {
  const { pool } = await setupDatabase(t)
  const app = await makeApp(t, pool)
  for (const [method, url] of [
    ['GET', '/nope'],
    ['GET', '/metrics/nope'],
    ['POST', '/metrics'],
    ['GET', '/vendor/uplot/../../package.json'],
    ['GET', '/vendor/uplot/uPlot.d.ts'],
  ] as const) {
    const res = await app.inject({ method, url })
    assert.equal(res.statusCode, 404, `${method} ${url}`)
    assert.match(res.headers['content-type'] as string, /application\/json/)
    assert.equal(res.json().error, 'not_found')
  }
})

test('API_TOKEN: bearer token on every endpoint except /health and dashboard assets', async (t) => {
  const now = clearOfMinuteEdge()
  const { pool } = await setupDatabase(t)
  await seedKnownRows(pool, now())
  const app = await makeApp(t, pool, { clock: now, config: { apiToken: 's3cret' } })
  assert.equal((await app.inject('/health')).statusCode, 200)
  for (const url of [
    '/ready',
    '/metrics',
    '/metrics/latest',
    '/metrics/history',
    '/state',
    '/streams',
    '/streams/top',
    '/dead-letters',
    '/prometheus',
    '/live',
    '/openapi.json',
    '/docs',
    '/nope',
  ]) {
    const none = await app.inject(url)
    assert.equal(none.statusCode, 401, url)
    assert.equal(none.json().error, 'unauthorized')
    assert.equal(none.headers['www-authenticate'], 'Bearer')
    const wrong = await app.inject({ url, headers: { authorization: 'Bearer nope' } })
    assert.equal(wrong.statusCode, 401, url)
  }
  const ok = await app.inject({ url: '/metrics', headers: { authorization: 'Bearer s3cret' } })
  assert.equal(ok.statusCode, 200)
  assertMatchesOpenApi(app, 'GET', '/metrics', ok)
  const unauthorized = await app.inject('/state')
  assertMatchesOpenApi(app, 'GET', '/state', unauthorized)
  // The dashboard page itself holds no data; it asks for the token.
  assert.equal((await app.inject('/')).statusCode, 200)
  assert.equal((await app.inject('/vendor/uplot/uPlot.iife.min.js')).statusCode, 200)
})

test('CORS: off by default, configurable origins', async (t) => {
  const { pool } = await setupDatabase(t)
  const closed = await makeApp(t, pool)
  const none = await closed.inject({ url: '/health', headers: { origin: 'https://example.com' } })
  assert.equal(none.headers['access-control-allow-origin'], undefined)
  const open = await makeApp(t, pool, { config: { corsOrigin: 'https://dash.example.com' } })
  const allowed = await open.inject({ url: '/health', headers: { origin: 'https://dash.example.com' } })
  assert.equal(allowed.headers['access-control-allow-origin'], 'https://dash.example.com')
  const other = await open.inject({ url: '/health', headers: { origin: 'https://evil.example.com' } })
  assert.notEqual(other.headers['access-control-allow-origin'], 'https://evil.example.com')
  const preflight = await open.inject({
    method: 'OPTIONS',
    url: '/metrics',
    headers: { origin: 'https://dash.example.com', 'access-control-request-method': 'GET' },
  })
  assert.equal(preflight.statusCode, 204)
})
