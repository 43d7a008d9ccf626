/**
 * fast-check arbitraries for engine inputs: small partitions with disorder within
 * and beyond the watermark, duplicates (exact copies and reused ids), garbage
 * records, records with a wrong or no key, records dated ahead of their Kafka timestamp,
 * streams named once and never again (they go idle and are forgotten), idle users,
 * stream stops, same-millisecond records and window boundaries. Times are in a tiny
 * unit (settings of a few ms) so that every rule fires often.
 */
import fc from 'fast-check'
import type { EngineConfig, InputRecord } from '../../src/engine/types.ts'
import type { EventType, StreamEvent } from '../../src/events/types.ts'

export const CONFIGS: readonly EngineConfig[] = [
  // Longer windows (rollupMs) of 2 to 15 base windows, so that their boundaries fall often too.
  { windowMs: 10, watermarkMs: 25, viewerTimeoutMs: 15, maxClockSkewMs: 8, rollupMs: [30, 60] },
  { windowMs: 10, watermarkMs: 0, viewerTimeoutMs: 7, maxClockSkewMs: 0, rollupMs: [20] },
  { windowMs: 5, watermarkMs: 12, viewerTimeoutMs: 30, maxClockSkewMs: 5, rollupMs: [15, 75] },
  { windowMs: 7, watermarkMs: 20, viewerTimeoutMs: 10, maxClockSkewMs: 6, rollupMs: [21, 70] },
  { windowMs: 4, watermarkMs: 10, viewerTimeoutMs: 21, maxClockSkewMs: 3 },
]

const TYPES: readonly [number, EventType][] = [
  [1, 'stream_start'],
  [1, 'stream_stop'],
  [6, 'viewer_join'],
  [4, 'viewer_leave'],
  [5, 'heartbeat'],
  [3, 'chat_message'],
  [2, 'donation'],
]

const op = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      k: fc.constant('event' as const),
      dt: fc.integer({ min: -2, max: 6 }),
      back: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 35 })),
      type: fc.oneof(...TYPES.map(([weight, t]) => ({ weight, arbitrary: fc.constant(t) }))),
      user: fc.integer({ min: 0, max: 3 }),
      // -1: a stream named by this record only.
      stream: fc.integer({ min: -1, max: 2 }),
      pooledId: fc.option(fc.integer({ min: 0, max: 4 }), { freq: 5 }),
      cents: fc.integer({ min: 0, max: 500 }),
      // How far the Kafka timestamp trails ts (null: the record has none); past the skew: future_ts.
      lag: fc.option(
        fc.oneof(
          { weight: 8, arbitrary: fc.integer({ min: -5, max: 4 }) },
          { weight: 1, arbitrary: fc.integer({ min: 5, max: 1000 }) },
        ),
        { freq: 6 },
      ),
      key: fc.oneof(
        { weight: 20, arbitrary: fc.constant('stream' as const) },
        { weight: 1, arbitrary: fc.constantFrom('none' as const, 'other' as const) },
      ),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('copy' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant('garbage' as const), stream: fc.integer({ min: 0, max: 2 }) }),
  },
)

export type Op = typeof op extends fc.Arbitrary<infer T> ? T : never

/**
 * About half the ids become canonical UUIDs (the engine packs those into words) and
 * the rest stay plain strings, so that ties in event time compare packed with packed,
 * packed with plain and plain with plain ids.
 */
function asId(base: string): string {
  let h = 0x811c9dc5
  for (let i = 0; i < base.length; i++) h = Math.imul(h ^ base.charCodeAt(i), 0x01000193)
  if ((h & 1) === 0) return base
  const hex = (x: number) => (x >>> 0).toString(16).padStart(8, '0')
  const a = hex(h)
  const b = hex(Math.imul(h, 0x9e3779b1))
  const c = hex(Math.imul(h ^ 0x5bd1e995, 0x85ebca6b))
  return `${a}-${b.slice(0, 4)}-4${b.slice(5)}-8${c.slice(1, 4)}-${c.slice(4)}${hex(base.length)}`
}

export function buildRecords(ops: readonly Op[], partition: number, trailing: boolean): InputRecord[] {
  const out: InputRecord[] = []
  const events: StreamEvent[] = []
  let cursor = 20
  let n = 0
  // The record's Kafka timestamp and key, by event id (a copy keeps them).
  const sent = new Map<string, { timestamp: number; key: string | null }>()
  const push = (key: string | null, value: string, timestamp = -1) =>
    out.push({
      partition,
      offset: BigInt(out.length),
      key: key === null ? null : Buffer.from(key),
      value: Buffer.from(value),
      timestamp,
    })
  for (const o of ops) {
    if (o.k === 'event') {
      cursor = Math.max(0, cursor + o.dt)
      const ts = Math.max(0, cursor - o.back)
      const eventId = asId(o.pooledId === null ? `p${partition}e${n++}` : `pool${o.pooledId}`)
      const e: StreamEvent = {
        eventId,
        ts,
        eventType: o.type,
        streamId: o.stream < 0 ? `lone${partition}-${n++}` : `s${o.stream}`,
        userId: `u${o.user}`,
        ...(o.type === 'donation' ? { amountCents: o.cents } : {}),
        ...(o.type === 'chat_message' ? { messageLen: o.cents % 50 } : {}),
      }
      events.push(e)
      const key = o.key === 'stream' ? e.streamId : o.key === 'none' ? null : `s${(o.stream + 1) % 3}`
      const timestamp = o.lag === null ? -1 : Math.max(0, ts - o.lag)
      sent.set(e.eventId, { timestamp, key })
      push(key, JSON.stringify(e), timestamp)
    } else if (o.k === 'copy') {
      if (events.length === 0) continue
      const e = events[o.pick % events.length]!
      const how = sent.get(e.eventId)!
      push(how.key, JSON.stringify(e), how.timestamp)
    } else push(`s${o.stream}`, '{not json')
  }
  if (trailing) {
    // Far in the future: the watermark passes everything before, so every window is final.
    const e = {
      eventId: `p${partition}end`,
      ts: cursor + 500,
      eventType: 'stream_start',
      streamId: 'zz',
      userId: 'u0',
    }
    push('zz', JSON.stringify(e))
  }
  return out
}

export const partitionInput = (partition: number, maxLength = 70) =>
  fc
    .record({ ops: fc.array(op, { minLength: 3, maxLength, size: 'max' }), trailing: fc.boolean() })
    .map(({ ops, trailing }) => buildRecords(ops, partition, trailing))

/** Batch boundaries and restore points: for each batch, its size and how to restore after it. */
export const plan = fc.array(
  fc.record({
    size: fc.integer({ min: 1, max: 12 }),
    restore: fc.constantFrom('none', 'none', 'none', 'buffer', 'pieces' as const),
  }),
  { minLength: 1, maxLength: 40 },
)

export const config = fc.constantFrom(...CONFIGS)
