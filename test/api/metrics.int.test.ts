import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  assertMatchesOpenApi,
  clearOfMinuteEdge,
  makeApp,
  minuteStart,
  putWindow,
  seedKnownRows,
  setupDatabase,
} from './fixtures.ts'

type Row = Record<string, unknown>

async function getJson(app: Awaited<ReturnType<typeof makeApp>>, url: string, status = 200) {
  const res = await app.inject({ method: 'GET', url })
  assert.equal(res.statusCode, status, `${url}: ${res.body}`)
  assertMatchesOpenApi(app, 'GET', url, res)
  return res.json() as Record<string, unknown> & { rows: Row[] }
}

test('/metrics/latest: per stream the newest ended window, provisional or final as asked', async (t) => {
  const now = clearOfMinuteEdge()
  const { pool } = await setupDatabase(t)
  await seedKnownRows(pool, now())
  const app = await makeApp(t, pool, { clock: now })

  const latest = await getJson(app, '/metrics/latest')
  const byStream = Object.fromEntries(latest.rows.map((r) => [r.stream_id, r]))
  assert.deepEqual(Object.keys(byStream).sort(), ['stream_a', 'stream_b', 'stream_c'])
  // The open window (viewers 20) has not ended: the newest ended one is m0-1.
  assert.equal(byStream.stream_a!.active_viewers, 18)
  assert.equal(byStream.stream_a!.is_final, false)
  assert.equal(byStream.stream_a!.window_start, minuteStart(1, now()).toISOString())
  assert.equal(byStream.stream_a!.donations_usd, '0.30')
  assert.equal(byStream.stream_b!.donations_usd, '1.99')
  assert.equal(byStream.stream_b!.is_final, true)
  assert.equal(byStream.stream_c!.active_viewers, 7)

  const final = await getJson(app, '/metrics/latest?final=true&stream_id=stream_a')
  assert.equal(final.rows.length, 1)
  assert.equal(final.rows[0]!.active_viewers, 14)
  assert.equal(final.rows[0]!.is_final, true)

  const none = await getJson(app, '/metrics/latest?stream_id=nope')
  assert.deepEqual(none.rows, [])
})

test('/metrics/history: {since, minutes, rows} oldest first, by stream or time range', async (t) => {
  const now = clearOfMinuteEdge()
  const { pool } = await setupDatabase(t)
  await seedKnownRows(pool, now())
  const app = await makeApp(t, pool, { clock: now })

  const h = await getJson(app, '/metrics/history?minutes=10&stream_id=stream_a')
  assert.equal(h.minutes, 10)
  assert.equal(typeof h.since, 'string')
  assert.deepEqual(
    h.rows.map((r) => r.active_viewers),
    [10, 12, 14, 16, 18, 20],
  )
  const money = h.rows.map((r) => r.donations_usd)
  assert.deepEqual(money, ['0.00', '0.00', '0.00', '12.30', '0.30', '0.00'])
  const all = await getJson(app, '/metrics/history?minutes=10')
  assert.equal(all.rows.length, 9) // a: 6, b: 3
  const ranged = await getJson(
    app,
    `/metrics/history?from=${encodeURIComponent(minuteStart(3, now()).toISOString())}&to=${encodeURIComponent(minuteStart(2, now()).toISOString())}`,
  )
  assert.deepEqual(
    ranged.rows.map((r) => `${r.stream_id}:${r.active_viewers}`),
    ['stream_a:14', 'stream_b:50', 'stream_a:16', 'stream_b:40'],
  )
  const limited = await getJson(app, '/metrics/history?minutes=10&limit=2')
  assert.equal(limited.rows.length, 2)
  assert.equal(limited.truncated, true)
  // `to` before `from`: an empty range, not an error (no schema can forbid it).
  const backwards = await getJson(
    app,
    `/metrics/history?from=${minuteStart(1, now()).toISOString()}&to=${minuteStart(3, now()).toISOString()}`,
  )
  assert.deepEqual(backwards.rows, [])
})

test('/metrics: the reference filters, whitelist ordering, latest_window_start, filters echoed', async (t) => {
  const now = clearOfMinuteEdge()
  const { pool } = await setupDatabase(t)
  await seedKnownRows(pool, now())
  const app = await makeApp(t, pool, { clock: now })

  const m = await getJson(app, '/metrics?minutes=10')
  assert.equal(m.rows.length, 9)
  assert.equal(m.latest_window_start, minuteStart(0, now()).toISOString())
  assert.equal(typeof m.server_time_utc, 'string')
  assert.deepEqual(m.filters, {
    stream_id: null,
    minutes: 10,
    limit: 500,
    order_by: 'window_start',
    direction: 'desc',
    since: (m.filters as Row).since,
  })
  assert.equal(m.rows[0]!.window_start, minuteStart(0, now()).toISOString())

  const byViewers = await getJson(app, '/metrics?minutes=10&order_by=active_viewers&direction=asc&limit=3')
  assert.deepEqual(
    byViewers.rows.map((r) => r.active_viewers),
    [10, 12, 14],
  )
  const byMoney = await getJson(app, '/metrics?minutes=1440&order_by=donations_usd&limit=1')
  assert.equal(byMoney.rows[0]!.donations_usd, '12.30')
  const one = await getJson(app, '/metrics?stream_id=stream_b&minutes=1440')
  assert.equal(one.rows.length, 4)
  assert.ok(one.rows.every((r) => r.stream_id === 'stream_b'))
  // Every spec column is there.
  for (const col of [
    'window_start',
    'window_end',
    'stream_id',
    'active_viewers',
    'peak_viewers',
    'unique_viewers',
    'viewer_joins',
    'viewer_leaves',
    'chat_messages',
    'unique_chatters',
    'donations_usd',
    'donation_count',
    'events',
    'is_final',
    'updated_at',
  ]) {
    assert.ok(col in one.rows[0]!, col)
  }
})

test('money is exact: float artefacts in donations_usd never show, cents decide', async (t) => {
  const { pool } = await setupDatabase(t)
  const app = await makeApp(t, pool)
  // 0.1 + 0.2 dollars as cents: 30. The float column says 0.30000000000000004; the API says "0.30".
  await putWindow(pool, { stream: 's', start: minuteStart(1), cents: 30 })
  await pool.query('update stream_metrics_minute set donations_usd = 0.1 + 0.2')
  await putWindow(pool, { stream: 't', start: minuteStart(1), cents: 123456789 })
  const res = await getJson(app, '/metrics/latest')
  const money = Object.fromEntries(res.rows.map((r) => [r.stream_id, r.donations_usd]))
  assert.deepEqual(money, { s: '0.30', t: '1234567.89' })
})
