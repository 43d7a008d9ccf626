/**
 * History over long ranges: three days of generated traffic through the real engine
 * (with its hourly and daily windows) and the processor's own commit code, read back by
 * `/metrics/history`, `/metrics/totals` and `/streams/periods` at each resolution and held
 * to the test oracle run with that window length.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { WindowRow } from '../../src/engine/types.ts'
import { testDecode } from '../engine/helpers.ts'
import { oracle } from '../engine/oracle.ts'
import { assertMatchesOpenApi, makeApp, setupDatabase, testClock } from './fixtures.ts'
import { CFG, DAY, END, H, loadTraffic, M, START } from './traffic.ts'

const pick = (r: WindowRow | Record<string, unknown>) => {
  const w = r as Record<string, unknown>
  return 'streamId' in w
    ? [
        w.streamId,
        new Date(w.windowStart as number).toISOString(),
        w.activeViewers,
        w.peakViewers,
        w.uniqueViewers,
        w.viewerJoins,
        w.chatMessages,
        w.uniqueChatters,
        w.events,
      ]
    : [
        w.stream_id,
        w.window_start,
        w.active_viewers,
        w.peak_viewers,
        w.unique_viewers,
        w.viewer_joins,
        w.chat_messages,
        w.unique_chatters,
        w.events,
      ]
}

test('/metrics/history and /metrics/totals at 1m, 1h and 1d are the exact rows of each window length', async (t) => {
  const { pool } = await setupDatabase(t)
  const input = await loadTraffic(pool)
  const clock = testClock(END)
  const app = await makeApp(t, pool, { clock: clock.now })
  const get = async (url: string) => {
    const res = await app.inject(url)
    assert.equal(res.statusCode, 200, `${url}: ${res.body}`)
    assertMatchesOpenApi(app, 'GET', url, res)
    return res.json() as { resolution: string; truncated: boolean; rows: Record<string, unknown>[] }
  }
  const from = new Date(START).toISOString()

  for (const [resolution, ms] of [
    ['1h', H],
    ['1d', DAY],
  ] as const) {
    const want = oracle({ ...CFG, windowMs: ms }, 0, input, testDecode).rows.filter(
      (r) => r.streamId === 's1' && r.isFinal,
    )
    const got = await get(`/metrics/history?stream_id=s1&from=${from}&resolution=${resolution}&limit=20000`)
    assert.equal(got.resolution, resolution)
    assert.ok(want.length >= (resolution === '1h' ? 60 : 2), `${resolution}: the input spans the range`)
    assert.deepEqual(
      got.rows.filter((r) => r.is_final).map(pick),
      want.map(pick),
      `${resolution} rows are the oracle's ${ms / M}-minute windows`,
    )
  }

  // What minutes cannot give: an hour counts a viewer once, however many minutes they watched.
  const hours = await get(`/metrics/history?stream_id=s1&from=${from}&resolution=1h&limit=20000`)
  const minutes = await get(`/metrics/history?stream_id=s1&from=${from}&resolution=1m&limit=20000`)
  const hour = hours.rows[5]!
  const inHour = minutes.rows.filter(
    (r) =>
      (r.window_start as string) >= (hour.window_start as string) &&
      (r.window_start as string) < (hour.window_end as string),
  )
  const summed = inHour.reduce((n, r) => n + (r.unique_viewers as number), 0)
  assert.ok((hour.unique_viewers as number) < summed, 'summing minutes would count viewers many times')

  // auto picks by range: 1m up to 6 hours, 1h up to 7 days, 1d beyond; a week of hours stays small.
  assert.equal((await get('/metrics/history?stream_id=s1&minutes=360')).resolution, '1m')
  const week = await get('/metrics/history?stream_id=s1&minutes=10080')
  assert.equal(week.resolution, '1h')
  assert.ok(week.rows.length <= 169 && week.rows.length >= 70, `a week of hours: ${week.rows.length} rows`)
  const month = await get('/metrics/history?minutes=43200')
  assert.equal(month.resolution, '1d')
  assert.equal(month.rows.length, 2 * 3, 'two streams, three days')

  // Totals: per window, the sums over both streams.
  const totals = await get(`/metrics/totals?from=${from}&resolution=1h`)
  assert.equal(totals.resolution, '1h')
  const both = oracle({ ...CFG, windowMs: H }, 0, input, testDecode).rows.filter((r) => r.isFinal)
  const byHour = new Map<string, number>()
  for (const r of both) {
    const k = new Date(r.windowStart).toISOString()
    byHour.set(k, (byHour.get(k) ?? 0) + r.events)
  }
  for (const row of totals.rows.filter((r) => r.final_streams === r.streams))
    assert.equal(row.events, byHour.get(row.window_start as string), `events of ${row.window_start}`)
  assert.equal((await get('/metrics/totals?minutes=120')).resolution, '1m')

  // Live and offline periods from the stream_start / stream_stop records: 06:00 to 23:00 each day.
  const periods = (await get(`/streams/periods?stream_id=s1&from=${from}`)) as unknown as {
    periods: { from: string; until: string | null; live: boolean }[]
  }
  const at = (d: number, h: number) => new Date(START + d * DAY + h * H).toISOString()
  assert.deepEqual(periods.periods, [
    { from: at(0, 6), until: at(0, 23), live: true },
    { from: at(0, 23), until: at(1, 6), live: false },
    { from: at(1, 6), until: at(1, 23), live: true },
    { from: at(1, 23), until: at(2, 6), live: false },
    { from: at(2, 6), until: at(2, 23), live: true },
    { from: at(2, 23), until: null, live: false },
  ])
  // A range starting at a change has no empty period before it.
  const atChange = (await get(
    `/streams/periods?stream_id=s1&from=${at(1, 23)}&to=${at(2, 0)}`,
  )) as unknown as {
    periods: { from: string; until: string | null; live: boolean }[]
  }
  assert.deepEqual(atChange.periods, [{ from: at(1, 23), until: null, live: false }])
  // A range that starts inside a period opens with it.
  const inside = (await get(
    `/streams/periods?stream_id=s1&from=${at(1, 12)}&to=${at(1, 23)}`,
  )) as unknown as {
    periods: { from: string; until: string | null; live: boolean }[]
  }
  assert.deepEqual(inside.periods, [
    { from: at(1, 12), until: at(1, 23), live: true },
    { from: at(1, 23), until: null, live: false },
  ])
})
