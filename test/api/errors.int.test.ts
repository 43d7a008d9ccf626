import assert from 'node:assert/strict'
import { test } from 'node:test'
import { loadApiConfig } from '../../src/api/config.ts'
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
    ['/metrics/history?from=yesterday', /from must be an ISO-8601 time such as/],
    ['/metrics/latest?final=maybe', /final must be boolean/],
    ['/streams/top?by=followers', /by must be equal to one of the allowed values/],
    ['/streams/top?n=0', /n must be >= 1/],
    ['/streams?limit=99999', /limit must be <= 5000/],
    ['/dead-letters?before_id=abc', /before_id must match pattern/],
    ['/dead-letters?limit=501', /limit must be <= 500/],
    ['/dead-letters?reason=whatever', /reason must be equal to one of the allowed values: not_json/],
    ['/live?minutes=1000', /minutes must be <= 180/],
    ['/metrics?minutes=5&foo=1', /querystring\/foo is not a parameter of this endpoint/],
    ['/state?limit=1&constructor=x', /querystring\/constructor is not a parameter/],
    ['/dead-letters?__proto__=1', /is not a parameter/],
    ['/live?minutes=5&cachebuster=9', /cachebuster is not a parameter/],
    ['/metrics/history?from=2024-06-30T23:59:60Z', /from must be an ISO-8601 time .*seconds 00-59/],
    ['/metrics/history?to=2024-02-30T00:00:00Z', /to must match format "date-time"/],
    ['/metrics/history?from=2023-02-29T00:00:00Z', /from must match format "date-time"/],
    ['/state?stream_id=a%00b', /stream_id must match pattern/],
    ['/metrics?stream_id=%1B%5B31m', /stream_id must match pattern/],
    ['/dead-letters?stream_id=x%7F', /stream_id must match pattern/],
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

test('unknown paths: 404 JSON; a known path with another method: 405 with Allow', async (t) => {
  const { pool } = await setupDatabase(t)
  const app = await makeApp(t, pool)
  for (const [method, url] of [
    ['POST', '/metrics'],
    ['DELETE', '/state?limit=1'],
    ['PUT', '/health'],
    // A method with a body, without a content type: still the method's fault, not the body's.
    ['QUERY', '/metrics/latest'],
  ] as const) {
    const res = await app.inject({ method, url })
    assert.equal(res.statusCode, 405, `${method} ${url}`)
    assert.equal(res.headers.allow, 'GET, HEAD')
    assert.equal(res.json().code, 'METHOD_NOT_ALLOWED')
    assert.equal(res.json().error, 'method_not_allowed')
  }
  for (const [method, url] of [
    ['GET', '/nope'],
    ['GET', '/metrics/nope'],
    ['POST', '/nope'],
    ['GET', '/vendor/uplot/../../package.json'],
    ['GET', '/vendor/uplot/uPlot.d.ts'],
    ['GET', '/vendor/uplot/constructor'],
    ['GET', '/vendor/uplot/__proto__'],
    ['GET', '/vendor/uplot/toString'],
  ] as const) {
    const res = await app.inject({ method, url })
    assert.equal(res.statusCode, 404, `${method} ${url}`)
    assert.match(res.headers['content-type'] as string, /application\/json/)
    assert.equal(res.json().error, 'not_found')
  }
})

test('API_TOKEN(S): a token on every endpoint except /health, /ready and dashboard assets', async (t) => {
  const now = clearOfMinuteEdge()
  const { pool } = await setupDatabase(t)
  await seedKnownRows(pool, now())
  const old = 'old-token-0123456789'
  const fresh = 'new-token-0123456789'
  const app = await makeApp(t, pool, { clock: now, config: { apiToken: old, apiTokens: [fresh] } })
  // Orchestrators' probes stay open.
  assert.equal((await app.inject('/health')).statusCode, 200)
  assert.notEqual((await app.inject('/ready')).statusCode, 401)
  for (const url of [
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
    '/docs/json',
    '/nope',
  ]) {
    const none = await app.inject(url)
    assert.equal(none.statusCode, 401, url)
    assert.equal(none.json().error, 'unauthorized')
    // Pages a browser opens by itself get a Basic challenge (the browser asks for the token once).
    const browser = url.startsWith('/docs') || url === '/openapi.json'
    assert.equal(
      none.headers['www-authenticate'],
      browser ? 'Basic realm="rtsa API", charset="UTF-8"' : 'Bearer',
      url,
    )
    for (const authorization of [
      'Bearer nope',
      'Bearer',
      `Basic ${Buffer.from('u:nope').toString('base64')}`,
    ]) {
      const wrong = await app.inject({ url, headers: { authorization } })
      assert.equal(wrong.statusCode, 401, `${url} with ${authorization}`)
    }
  }
  // Both tokens work (rotation), as Bearer and as Basic's password.
  for (const authorization of [
    `Bearer ${old}`,
    `Bearer ${fresh}`,
    `Basic ${Buffer.from(`anyone:${fresh}`).toString('base64')}`,
  ]) {
    const ok = await app.inject({ url: '/metrics', headers: { authorization } })
    assert.equal(ok.statusCode, 200, authorization)
    assertMatchesOpenApi(app, 'GET', '/metrics', ok)
  }
  const docs = await app.inject({
    url: '/docs/json',
    headers: { authorization: `Basic ${Buffer.from(`me:${old}`).toString('base64')}` },
  })
  assert.equal(docs.statusCode, 200)
  // Swagger UI's Authorize button: the document declares the bearer scheme.
  assert.deepEqual(docs.json().security, [{ bearer: [] }])
  const unauthorized = await app.inject('/state')
  assertMatchesOpenApi(app, 'GET', '/state', unauthorized)
  // The dashboard page itself holds no data; it asks for the token.
  assert.equal((await app.inject('/')).statusCode, 200)
  assert.equal((await app.inject('/vendor/uplot/uPlot.iife.min.js')).statusCode, 200)
})

test('API_TOKEN: a short token is refused at startup', () => {
  assert.throws(() => loadApiConfig({ API_TOKEN: 'short' }), /CONFIG_INVALID|shorter than 16 characters/)
  assert.throws(() => loadApiConfig({ API_TOKENS: 'long-enough-token-1,tiny' }), /shorter than 16 characters/)
  assert.deepEqual(loadApiConfig({ API_TOKENS: 'long-enough-token-1, long-enough-token-2' }).apiTokens, [
    'long-enough-token-1',
    'long-enough-token-2',
  ])
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

test('random extra query parameters: every one a 400, none reaches the database or the cache', async (t) => {
  const { pool } = await setupDatabase(t)
  const app = await makeApp(t, pool)
  const routes = ['/metrics', '/metrics/latest', '/metrics/history', '/state', '/streams', '/streams/top']
  let seed = 7
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed / 2 ** 31
  }
  const word = () =>
    Array.from({ length: 1 + Math.floor(rnd() * 12) }, () =>
      String.fromCharCode(97 + Math.floor(rnd() * 26)),
    ).join('')
  const known = new Set([
    'stream_id',
    'minutes',
    'limit',
    'order_by',
    'direction',
    'final',
    'from',
    'to',
    'live',
    'n',
    'by',
  ])
  for (let i = 0; i < 500; i++) {
    let name = word()
    while (known.has(name)) name = word()
    const url = `${routes[i % routes.length]}?${encodeURIComponent(name)}=${encodeURIComponent(word())}`
    const res = await app.inject(url)
    assert.equal(res.statusCode, 400, `${url}: ${res.body}`)
    assert.match(res.json().message, /is not a parameter of this endpoint/)
  }
  const res = await app.inject('/prometheus')
  assert.match(res.body, /^api_cache_entries 0$/m, 'nothing was cached')
  // A handler that ran would have counted a cache miss (its database read).
  assert.doesNotMatch(res.body, /^api_cache_misses_total\{/m, 'no handler read the database')
  assert.match(res.body, /^api_http_requests_total\{method="GET",path="\/metrics",status="400"\} 84$/m)
})
