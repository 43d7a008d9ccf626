/**
 * The longer windows (docs/semantics.md section 8) on hand-written input with the
 * default settings: what minutes cannot give (an hour's unique viewers and peak), the
 * parking of a quiet stream's open windows, and adding a length to stored state.
 * The property tests hold them to the oracle on random input.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createPartitionEngine } from '../../src/engine/index.ts'
import type {
  BatchResult,
  EngineConfig,
  PartitionEngine,
  SnapshotPiece,
  WindowRow,
} from '../../src/engine/types.ts'
import type { StreamEvent } from '../../src/events/types.ts'
import { ev, records, testDecode } from './helpers.ts'

const M = 60_000
const H = 60 * M
const DAY = 24 * H
const CFG: EngineConfig = { windowMs: M, watermarkMs: 10 * M, viewerTimeoutMs: 5 * M, rollupMs: [H, DAY] }
const T0 = Date.UTC(2026, 11, 2, 0, 0, 0)
const at = (minutes: number) => T0 + Math.round(minutes * M)

/** Stores every batch's pieces, as the processor does. */
class Stored {
  readonly pieces = new Map<string, Buffer>()
  keep(engine: PartitionEngine): void {
    const c = engine.snapshotChanges()
    for (const p of c.put) this.pieces.set(p.key, p.data)
    for (const k of c.delete) this.pieces.delete(k)
  }
  list(): SnapshotPiece[] {
    return [...this.pieces].map(([key, data]) => ({ key, data }))
  }
}

function feed(engine: PartitionEngine, events: StreamEvent[], store?: Stored, first = 0n): BatchResult[] {
  return records(events, 0, first).map((r) => {
    const res = engine.process([r])
    store?.keep(engine)
    return res
  })
}

function finalRollups(results: BatchResult[], ms: number): WindowRow[] {
  return results.flatMap((r) => r.rollups).filter((r) => r.isFinal && r.windowEnd - r.windowStart === ms)
}

/** A viewer who heartbeats every 2 minutes from `from` to `to` (minutes). */
function watch(user: string, from: number, to: number, stream = 's1'): StreamEvent[] {
  const out = [ev(at(from), 'viewer_join', user, { stream })]
  for (let m = from + 2; m < to; m += 2) out.push(ev(at(m), 'heartbeat', user, { stream }))
  out.push(ev(at(to), 'viewer_leave', user, { stream }))
  return out
}

const byTs = (a: StreamEvent, b: StreamEvent) => a.ts - b.ts

test('an hour counts a viewer present all hour once, and its peak is at one instant', () => {
  const engine = createPartitionEngine(CFG, 0, { decode: testDecode })
  // a: the whole first hour; b: 0:10-0:20; c: 0:15-0:40 (a, b and c at once from 0:15 to 0:20).
  const events = [...watch('a', 0, 60), ...watch('b', 10, 20), ...watch('c', 15, 40)].sort(byTs)
  events.push(ev(at(60 + 11), 'stream_start', 'x', { stream: 'other' }))
  const results = feed(engine, events)
  const minutes = results.flatMap((r) => r.windows).filter((r) => r.streamId === 's1' && r.isFinal)
  const hour = finalRollups(results, H).find((r) => r.streamId === 's1')
  assert.ok(hour !== undefined, 'the hour is final once the watermark passed 1:00')
  assert.equal(minutes.reduce((n, r) => n + r.uniqueViewers, 0) > 60, true, 'the minutes count a many times')
  assert.equal(hour.uniqueViewers, 3)
  assert.equal(hour.peakViewers, 3)
  assert.equal(hour.activeViewers, 1, 'a leaves at 1:00: present at the last instant of the hour')
})

test('a quiet stream is forgotten, its open hour and day are parked and closed with the right rows', () => {
  const store = new Stored()
  let engine = createPartitionEngine(CFG, 0, { decode: testDecode })
  const quiet = [
    ev(at(1), 'viewer_join', 'q', { stream: 'lone' }),
    ev(at(2), 'chat_message', 'q', { stream: 'lone' }),
  ]
  // Another stream's traffic moves the watermark past lone's minutes, not past the hour.
  const busy = [...watch('a', 0, 40, 'busy')]
  const all = [...quiet, ...busy].sort(byTs)
  const results = feed(engine, all, store)
  assert.equal(store.pieces.has('h:lone'), false, 'the idle stream left no head behind')
  assert.ok(
    [...store.pieces.keys()].some((k) => k.startsWith('r:')),
    'its open windows are stored',
  )
  // Restart from the stored pieces, then close the hour and the day.
  engine = createPartitionEngine(CFG, 0, { decode: testDecode, snapshot: store.list(), retainLog: false })
  const later = feed(
    engine,
    [ev(at(DAY / M + 11), 'stream_start', 'x', { stream: 'busy' })],
    store,
    BigInt(all.length),
  )
  const rows = [...results, ...later]
  const hour = finalRollups(rows, H).find((r) => r.streamId === 'lone')
  const day = finalRollups(rows, DAY).find((r) => r.streamId === 'lone')
  for (const r of [hour, day]) {
    assert.ok(r !== undefined)
    assert.deepEqual(
      [r.events, r.viewerJoins, r.chatMessages, r.uniqueChatters, r.uniqueViewers, r.peakViewers],
      [2, 1, 1, 1, 1, 1],
    )
  }
  assert.equal(
    [...store.pieces.keys()].some((k) => k.startsWith('r:')),
    false,
    'every rollup piece went once its windows were final',
  )
})

test('a length added to stored state starts with its next window; earlier ones get no row', () => {
  const store = new Stored()
  const base: EngineConfig = { ...CFG, rollupMs: [] }
  let engine = createPartitionEngine(base, 0, { decode: testDecode })
  // 0:00 to 1:30 of traffic without longer windows, then WINDOWS gains 1 hour.
  const first = watch('a', 0, 90)
  feed(engine, first, store)
  engine = createPartitionEngine({ ...CFG, rollupMs: [H] }, 0, { decode: testDecode, snapshot: store.list() })
  const more = [...watch('b', 95, 200), ev(at(300), 'stream_start', 'x')]
  const results = feed(engine, more, store, BigInt(first.length))
  const hours = finalRollups(results, H).map((r) => (r.windowStart - T0) / H)
  // The frontier was at 1:20 at the restart: hour 1 (1:00-2:00) began before it.
  assert.deepEqual(hours, [2, 3])
  assert.equal(
    results.flatMap((r) => r.rollups).some((r) => r.windowStart < at(120)),
    false,
    'no row, final or provisional, for a window that began before the length was added',
  )
})

test('WINDOWS that are not multiples of WINDOW are refused', () => {
  assert.throws(() => createPartitionEngine({ ...CFG, rollupMs: [90_000] }, 0), /whole multiples of windowMs/)
  assert.throws(() => createPartitionEngine({ ...CFG, rollupMs: [DAY, H] }, 0), /ascending/)
})
