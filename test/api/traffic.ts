/**
 * Three days of deterministic traffic through the real engine (hourly and daily windows
 * too) and the processor's own commit code: the history tests' database.
 */
import assert from 'node:assert/strict'
import type pg from 'pg'
import { createPartitionEngine } from '../../src/engine/index.ts'
import type { EngineConfig, InputRecord } from '../../src/engine/types.ts'
import type { StreamEvent } from '../../src/events/types.ts'
import { claimPartition, commitBatch } from '../../src/store/checkpoints.ts'
import { records, testDecode } from '../engine/helpers.ts'

export const M = 60_000
export const H = 60 * M
export const DAY = 24 * H
export const CFG: EngineConfig = {
  windowMs: M,
  watermarkMs: 10 * M,
  viewerTimeoutMs: 5 * M,
  rollupMs: [H, DAY],
}
export const START = Date.UTC(2026, 10, 20)
export const END = START + 3 * DAY

/**
 * Viewers come and go in sessions of 10 to 70 minutes, with heartbeats and chat; each
 * stream goes live at 06:00 and offline at 23:00 every day; a late record of s1 at the end.
 */
export function traffic(): StreamEvent[] {
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
    for (let day = START; day < END; day += DAY) {
      push(day + 6 * H, 'stream_start', stream, 'host')
      push(day + 23 * H, 'stream_stop', stream, 'host')
    }
    for (let t = START; t < END - 2 * H; t += Math.floor(rand() * 20 * M)) {
      const user = `u${Math.floor(rand() * 30)}`
      const until = t + 10 * M + Math.floor(rand() * 60 * M)
      push(t, 'viewer_join', stream, user)
      for (let h = t + 4 * M; h < until; h += 4 * M)
        push(h, rand() < 0.2 ? 'chat_message' : 'heartbeat', stream, user)
      push(until, 'viewer_leave', stream, user)
    }
  }
  out.sort((a, b) => a.ts - b.ts || (a.eventId < b.eventId ? -1 : 1))
  push(START + DAY, 'heartbeat', 's1', 'u1')
  return out
}

/** Processes `traffic()` in batches of 2,000 and commits each as the processor does; returns the input. */
export async function loadTraffic(pool: pg.Pool): Promise<InputRecord[]> {
  const input = records(traffic())
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
      liveChanges: res.liveChanges,
      states: res.states,
      counts: res.counts,
      deadLetters: res.deadLetters,
      outcomes: {},
      snapshot: engine.snapshotChanges(),
    })
    assert.equal(outcome, 'committed')
  }
  return input
}
