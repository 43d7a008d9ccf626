/**
 * fast-check arbitraries for engine inputs: small partitions with disorder within
 * and beyond the watermark, duplicates (exact copies and reused ids), garbage
 * records, idle users, stream stops, same-millisecond records and window boundaries.
 * Times are in a tiny unit (settings of a few ms) so that every rule fires often.
 */
import fc from 'fast-check'
import type { EngineConfig, InputRecord } from '../../src/engine/types.ts'
import type { EventType, StreamEvent } from '../../src/events/types.ts'

export const CONFIGS: readonly EngineConfig[] = [
  { windowMs: 10, watermarkMs: 25, viewerTimeoutMs: 15 },
  { windowMs: 10, watermarkMs: 0, viewerTimeoutMs: 7 },
  { windowMs: 5, watermarkMs: 12, viewerTimeoutMs: 30 },
  { windowMs: 7, watermarkMs: 20, viewerTimeoutMs: 10 },
  { windowMs: 4, watermarkMs: 10, viewerTimeoutMs: 21 },
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
      stream: fc.integer({ min: 0, max: 2 }),
      pooledId: fc.option(fc.integer({ min: 0, max: 4 }), { freq: 5 }),
      cents: fc.integer({ min: 0, max: 500 }),
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
  const push = (key: string, value: string) =>
    out.push({ partition, offset: BigInt(out.length), key: Buffer.from(key), value: Buffer.from(value) })
  for (const o of ops) {
    if (o.k === 'event') {
      cursor = Math.max(0, cursor + o.dt)
      const e: StreamEvent = {
        eventId: asId(o.pooledId === null ? `p${partition}e${n++}` : `pool${o.pooledId}`),
        ts: Math.max(0, cursor - o.back),
        eventType: o.type,
        streamId: `s${o.stream}`,
        userId: `u${o.user}`,
        ...(o.type === 'donation' ? { amountCents: o.cents } : {}),
        ...(o.type === 'chat_message' ? { messageLen: o.cents % 50 } : {}),
      }
      events.push(e)
      push(e.streamId, JSON.stringify(e))
    } else if (o.k === 'copy') {
      if (events.length === 0) continue
      const e = events[o.pick % events.length]!
      push(e.streamId, JSON.stringify(e))
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
