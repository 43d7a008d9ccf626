/**
 * History over long ranges: three days of generated traffic through the real engine
 * (with its hourly and daily windows) and the processor's own commit code, read back by
 * `/metrics/history` and `/metrics/totals` at each resolution and held to the test
 * oracle run with that window length.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createPartitionEngine } from '../../src/engine/index.ts'
import type { EngineConfig, WindowRow } from '../../src/engine/types.ts'
import type { StreamEvent } from '../../src/events/types.ts'
import { claimPartition, commitBatch } from '../../src/store/checkpoints.ts'
import { records, testDecode } from '../engine/helpers.ts'
import { oracle } from '../engine/oracle.ts'
import { assertMatchesOpenApi, makeApp, setupDatabase, testClock } from './fixtures.ts'

const M = 60_000
const H = 60 * M
const DAY = 24 * H
const CFG: EngineConfig = { windowMs: M, watermarkMs: 10 * M, viewerTimeoutMs: 5 * M, rollupMs: [H, DAY] }
const START = Date.UTC(2026, 10, 20)
const END = START + 3 * DAY

/** Deterministic traffic: viewers come and go in sessions of 10 to 70 minutes, with heartbeats and chat. */
function traffic(): StreamEvent[] {
  let seed = 7
  const rand = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
    return seed / 2 ** 31
  }
  const out: StreamEvent[] = []
  let n = 0
  const push = (ts: number, eventType: StreamEvent['eventType'], stream: string, user: string) =>
    out.push({ eventId: `e${n++}`, ts, eventType, streamId: stream, userId: user })
  for (const stream of ['s1', 's2']) {
    for (let t = START; t < END - 2 * H; t += Math.floor(rand() * 20 * M)) {
      const user = `u${Math.floor(rand() * 30)}`
      const until = t + 10 * M + Math.floor(rand() * 60 * M)
      push(t, 'viewer_join', stream, user)
      for (let h = t + 4 * M; h < until; h += 4 * M)
        push(h, rand() < 0.2 ? 'chat_message' : 'heartbeat', stream, user)
      push(until, 'viewer_leave', stream, user)
    }
  }
  return out.sort((a, b) => a.ts - b.ts || (a.eventId < b.eventId ? -1 : 1))
}

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
  const events = traffic()
  const input = records(events)
  const engine = createPartitionEngine(CFG, 0, { decode: testDecode })
  const claim = await claimPartition(pool, 'stream.events', 0, 'history-test')
  for (let i = 0; i < input.length; i += 2000) {
    const res = engine.process(input.slice(i, i + 2000))
    const outcome = await commitBatch(pool, {
      topic: 'stream.events',
      partition: 0,
      epoch: claim.epoch,
      nextOffset: res.nextOffset!,
      watermark: res.watermark,
      endOffset: null,
      windows: res.windows,
      removedWindows: res.removedWindows,
      rollups: res.rollups,
      removedRollups: res.removedRollups,
      states: res.states,
      counts: res.counts,
      deadLetters: res.deadLetters,
      outcomes: {},
      snapshot: engine.snapshotChanges(),
    })
    assert.equal(outcome, 'committed')
  }
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
})
