import assert from 'node:assert/strict'
import { test } from 'node:test'
import pg from 'pg'
import { createPool } from '../../src/store/pool.ts'
import {
  assertMatchesOpenApi,
  clearOfMinuteEdge,
  makeApp,
  putCheckpoint,
  seedKnownRows,
  setupDatabase,
  trackedListener,
} from './fixtures.ts'

test('/health is exactly {"ok":true}; /ready has database and processor detail', async (t) => {
  const now = clearOfMinuteEdge()
  const { pool } = await setupDatabase(t)
  const app = await makeApp(t, pool, { clock: now, config: { staleCommitAge: 60_000 } })
  const health = await app.inject('/health')
  assert.equal(health.statusCode, 200)
  assert.equal(health.body, '{"ok":true}')

  const empty = await app.inject('/ready')
  assert.equal(empty.statusCode, 200)
  assertMatchesOpenApi(app, 'GET', '/ready', empty)
  assert.equal(empty.json().components.processor.status, 'no_commits')
  assert.equal(empty.json().ok, false)

  await seedKnownRows(pool, now())
  const ready = await app.inject('/ready')
  assertMatchesOpenApi(app, 'GET', '/ready', ready)
  const body = ready.json()
  assert.equal(body.ok, true)
  assert.equal(body.components.database.ok, true)
  assert.equal(body.components.processor.status, 'fresh')
  assert.equal(body.components.processor.lag, 40) // (130-100) + (60-50)
  assert.equal(body.components.processor.partitions.length, 2)
  assert.ok(body.components.processor.last_commit_age_seconds < 10)
  assert.equal(body.pipeline.late, 2)
  assert.equal(body.pipeline.duplicate, 3)
  assert.equal(body.pipeline.rejected, 1)

  await putCheckpoint(pool, { partition: 0, next: 100, end: 130, ageMs: 600_000 })
  await putCheckpoint(pool, { partition: 1, next: 50, end: 60, ageMs: 600_000 })
  const stale = (await app.inject('/ready')).json()
  assert.equal(stale.components.processor.status, 'stale')
})

test('/prometheus: reference names, route patterns as path labels, pipeline figures', async (t) => {
  const now = clearOfMinuteEdge()
  const { pool } = await setupDatabase(t)
  await seedKnownRows(pool, now())
  const app = await makeApp(t, pool, { clock: now })
  await app.inject('/metrics?minutes=5')
  await app.inject('/metrics?minutes=6')
  await app.inject('/no/such/path')
  const res = await app.inject('/prometheus')
  assert.equal(res.statusCode, 200)
  assert.match(res.headers['content-type'] as string, /^text\/plain/)
  const text = res.body
  assert.match(text, /api_http_requests_total\{method="GET",path="\/metrics",status="200"\} 2/)
  assert.match(text, /api_http_requests_total\{method="GET",path="unmatched",status="404"\} 1/)
  assert.doesNotMatch(text, /minutes=5/)
  assert.match(text, /api_http_request_duration_seconds_bucket\{le="0.005",method="GET",path="\/metrics"\}/)
  assert.match(text, /^api_db_ok 1$/m)
  assert.match(text, /^api_stream_metrics_rows_recent 8$/m) // windows starting in the last 5 minutes: a m0-4..m0, b
  assert.match(text, /^api_donation_rows_recent 3$/m)
  assert.match(text, /^api_latest_window_age_seconds \d/m)
  assert.match(text, /^rtsa_pipeline_lag_records 40$/m)
  assert.match(text, /^rtsa_pipeline_late_records_total 2$/m)
  assert.match(text, /^rtsa_pipeline_duplicate_records_total 3$/m)
  assert.match(text, /^rtsa_pipeline_rejected_records_total 1$/m)
  assert.match(text, /^rtsa_pipeline_last_commit_age_seconds \d/m)
})

test('database outage: /health 503 {ok:false}, data routes 503 JSON, /prometheus api_db_ok 0', async (t) => {
  // A pool on a port where nothing listens: connection refused.
  const pool = createPool('postgres://rt@127.0.0.1:1/x', { connectionTimeoutMs: 2000 })
  t.after(() => pool.end())
  const app = await makeApp(t, pool)
  const health = await app.inject('/health')
  assert.equal(health.statusCode, 503)
  assert.equal(health.json().ok, false)
  assert.equal(typeof health.json().error, 'string')
  assertMatchesOpenApi(app, 'GET', '/health', health)
  for (const url of [
    '/metrics',
    '/metrics/latest',
    '/metrics/history',
    '/state',
    '/streams',
    '/streams/top',
    '/dead-letters',
    '/live',
  ]) {
    const res = await app.inject(url)
    assert.equal(res.statusCode, 503, url)
    assert.equal(res.json().code, 'POSTGRES_UNREACHABLE', url)
    assert.equal(res.headers['retry-after'], '5', url)
    assert.doesNotMatch(res.body, /at .*\.ts:\d+/, 'no stack trace')
    if (url !== '/live') assertMatchesOpenApi(app, 'GET', url, res)
  }
  const ready = await app.inject('/ready')
  assert.equal(ready.statusCode, 503)
  assertMatchesOpenApi(app, 'GET', '/ready', ready)
  const prom = await app.inject('/prometheus')
  assert.equal(prom.statusCode, 200)
  assert.match(prom.body, /^api_db_ok 0$/m)
})

test('database terminated mid-life: 503 while down, answers again after', async (t) => {
  const now = clearOfMinuteEdge()
  const { pool, url } = await setupDatabase(t)
  await seedKnownRows(pool, now())
  // The production LISTEN client: when the database goes away it loses that connection too.
  const listener = trackedListener(pool)
  const app = await makeApp(t, pool, { clock: now, listen: listener.source })
  await listener.connected()
  assert.equal((await app.inject('/state')).statusCode, 200)
  const name = new URL(url).pathname.slice(1)
  const base = new URL(url)
  base.pathname = '/realtime'
  const admin = new pg.Client({ connectionString: base.toString() })
  await admin.connect()
  t.after(() => admin.end())
  // Refuse new connections and kill the pool's: the database is "down" for the API.
  await admin.query(`alter database ${pg.escapeIdentifier(name)} allow_connections false`)
  await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name])
  // The API has noticed (its LISTEN connection is gone): no answer from memory any more.
  await listener.lost()
  const down = await app.inject('/state')
  assert.equal(down.statusCode, 503, down.body)
  assert.equal((await app.inject('/health')).statusCode, 503)
  await admin.query(`alter database ${pg.escapeIdentifier(name)} allow_connections true`)
  assert.equal((await app.inject('/state')).statusCode, 200)
})

test('a busy pool is not an outage: data routes 503 POSTGRES_BUSY with Retry-After, /health 200, counted', async (t) => {
  const { url } = await setupDatabase(t)
  // One connection, held by "another request" for the whole test.
  const pool = createPool(url, { max: 1, connectionTimeoutMs: 300 })
  t.after(() => pool.end())
  const app = await makeApp(t, pool)
  const held = await pool.connect()
  try {
    for (const path of ['/state', '/metrics', '/streams/top']) {
      const res = await app.inject(path)
      assert.equal(res.statusCode, 503, `${path}: ${res.body}`)
      assert.equal(res.json().code, 'POSTGRES_BUSY', path)
      assert.match(res.json().message, /busy/)
      assert.equal(res.headers['retry-after'], '1', path)
      assertMatchesOpenApi(app, 'GET', path, res)
    }
    const health = await app.inject('/health')
    assert.equal(health.statusCode, 200, 'the database answers, on the health connection')
    assert.deepEqual(health.json(), { ok: true })
    const ready = await app.inject('/ready')
    assert.equal(ready.statusCode, 503)
    const db = ready.json().components.database
    assert.equal(db.ok, true)
    assert.equal(db.pool.max, 1)
    assertMatchesOpenApi(app, 'GET', '/ready', ready)
    const prom = (await app.inject('/prometheus')).body
    assert.match(prom, /^api_db_ok 1$/m)
    assert.match(prom, /^api_db_busy_total [3-9]$/m)
  } finally {
    held.release()
  }
  assert.equal((await app.inject('/state')).statusCode, 200, 'answers again once a connection is free')
})

test('/health under a flood of probes: shared checks on one connection of its own', async (t) => {
  const { url, pool } = await setupDatabase(t)
  const app = await makeApp(t, pool)
  const calls = await Promise.all(Array.from({ length: 200 }, () => app.inject('/health')))
  assert.ok(calls.every((c) => c.statusCode === 200))
  const probe = createPool(url, { max: 1 })
  t.after(() => probe.end())
  const r = await probe.query(
    "select count(*)::int as n from pg_stat_activity where application_name = 'rtsa-api-health' and datname = current_database()",
  )
  assert.equal(r.rows[0].n, 1, 'one connection serves every health check')
})
