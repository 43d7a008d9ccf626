import assert from 'node:assert/strict'
import { test } from 'node:test'
import { assertMatchesOpenApi, clearOfMinuteEdge, makeApp, seedKnownRows, setupDatabase } from './fixtures.ts'

type Row = Record<string, unknown>
type App = Awaited<ReturnType<typeof makeApp>>

async function getJson(app: App, url: string) {
  const res = await app.inject({ method: 'GET', url })
  assert.equal(res.statusCode, 200, `${url}: ${res.body}`)
  assertMatchesOpenApi(app, 'GET', url, res)
  return res.json() as Row & { rows: Row[] }
}

test('/state: per-stream state with counters, live status and partition watermark', async (t) => {
  const now = clearOfMinuteEdge()
  const { pool } = await setupDatabase(t)
  await seedKnownRows(pool, now())
  const app = await makeApp(t, pool, { clock: now })
  const s = await getJson(app, '/state')
  assert.deepEqual(
    s.rows.map((r) => [r.stream_id, r.active_viewers, r.status]),
    [
      ['stream_b', 30, 'offline'],
      ['stream_a', 20, 'live'],
    ],
  )
  const a = s.rows.find((r) => r.stream_id === 'stream_a')!
  assert.equal(a.late_count, 2)
  assert.equal(a.duplicate_count, 3)
  assert.equal(a.rejected_count, 1)
  assert.equal(a.accepted_count, 104)
  assert.equal(typeof a.last_event_ts, 'string')
  assert.equal(typeof a.partition_watermark, 'string')
  const live = await getJson(app, '/state?live=true')
  assert.deepEqual(
    live.rows.map((r) => r.stream_id),
    ['stream_a'],
  )
  const one = await getJson(app, '/state?stream_id=stream_b&limit=1')
  assert.equal(one.rows.length, 1)
})

test('/streams: streams seen in the last minutes with last_seen', async (t) => {
  const now = clearOfMinuteEdge()
  const { pool } = await setupDatabase(t)
  await seedKnownRows(pool, now())
  const app = await makeApp(t, pool, { clock: now })
  const recent = await getJson(app, '/streams?minutes=10')
  assert.deepEqual(recent.rows.map((r) => r.stream_id).sort(), ['stream_a', 'stream_b'])
  assert.ok(recent.rows.every((r) => typeof r.last_seen === 'string'))
  const wider = await getJson(app, '/streams?minutes=60')
  assert.equal(wider.rows.length, 3)
  const limited = await getJson(app, '/streams?minutes=60&limit=1')
  assert.equal(limited.rows.length, 1)
})

test('/streams/top: ranked by viewers, chat or money over the last minutes', async (t) => {
  const now = clearOfMinuteEdge()
  const { pool } = await setupDatabase(t)
  await seedKnownRows(pool, now())
  const app = await makeApp(t, pool, { clock: now })
  const byViewers = await getJson(app, '/streams/top?minutes=10')
  assert.deepEqual(
    byViewers.rows.map((r) => [r.rank, r.stream_id, r.active_viewers]),
    [
      [1, 'stream_b', 30],
      [2, 'stream_a', 20],
    ],
  )
  const byChat = await getJson(app, '/streams/top?minutes=10&by=chat_messages&n=1')
  assert.deepEqual(
    byChat.rows.map((r) => [r.stream_id, r.chat_messages]),
    [['stream_a', 27]],
  )
  const byMoney = await getJson(app, '/streams/top?minutes=10&by=donations_usd')
  assert.deepEqual(
    byMoney.rows.map((r) => [r.stream_id, r.donations_usd]),
    [
      ['stream_a', '12.60'],
      ['stream_b', '1.99'],
    ],
  )
  const byPeak = await getJson(app, '/streams/top?minutes=60&by=peak_viewers&limit=2')
  assert.equal(byPeak.n, 2)
  assert.deepEqual(
    byPeak.rows.map((r) => [r.stream_id, r.peak_viewers]),
    [
      ['stream_b', 55],
      ['stream_a', 21],
    ],
  )
})

test('/dead-letters: newest first, text or base64, paginated', async (t) => {
  const now = clearOfMinuteEdge()
  const { pool } = await setupDatabase(t)
  await seedKnownRows(pool, now())
  const app = await makeApp(t, pool, { clock: now })
  const page1 = await getJson(app, '/dead-letters?limit=1')
  assert.equal(page1.rows.length, 1)
  const binary = page1.rows[0] as Row & { value: Row; key: Row }
  assert.equal(binary.reason, 'bad_field')
  assert.deepEqual(binary.value, { encoding: 'base64', data: '//4AAQ==', bytes: 4, truncated: false })
  assert.deepEqual(binary.key, { encoding: 'utf8', data: 'stream_a', bytes: 8, truncated: false })
  assert.equal(typeof page1.next_before_id, 'string')
  const page2 = await getJson(app, `/dead-letters?limit=1&before_id=${page1.next_before_id}`)
  assert.equal(page2.rows.length, 1)
  const text = page2.rows[0] as Row & { value: Row }
  assert.deepEqual(text.value, { encoding: 'utf8', data: '{"not json', bytes: 10, truncated: false })
  assert.equal(text.key, null)
  assert.equal(page2.next_before_id, null)
  const filtered = await getJson(app, '/dead-letters?reason=not_json')
  assert.equal(filtered.rows.length, 1)
})
