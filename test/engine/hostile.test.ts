/**
 * The checks of docs/semantics.md section 1 that come after decoding (`key_mismatch`, `future_ts`), the
 * bounds of section 7 (a stream the engine does not need is not held), and `fail()`,
 * the processor's way past a record the engine threw on.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { Writer } from '../../src/engine/codec.ts'
import { createPartitionEngine } from '../../src/engine/index.ts'
import { keyIs } from '../../src/engine/partition.ts'
import { HEAD, unpackPieces } from '../../src/engine/snapshot.ts'
import type { InputRecord, SnapshotPiece } from '../../src/engine/types.ts'
import { decodeEvent, encodeEvent } from '../../src/events/decode.ts'
import type { EventType } from '../../src/events/types.ts'
import { config, partitionInput } from './gen.ts'
import { ev, records, TableModel, testDecode } from './helpers.ts'

const M = 60_000
const CFG = { windowMs: M, watermarkMs: 10 * M, viewerTimeoutMs: 5 * M, maxClockSkewMs: 5 * M }
const T0 = Date.UTC(2026, 10, 20, 18, 0, 0)

let offset = 0n
/** A wire record as a producer sends it: key and Kafka timestamp as given. */
function wire(
  ts: number,
  type: EventType,
  opts: { stream?: string; user?: string; key?: string | null; kafkaTs?: number; id?: string } = {},
): InputRecord {
  const stream = opts.stream ?? 's1'
  const key = opts.key === undefined ? stream : opts.key
  return {
    partition: 0,
    offset: offset++,
    key: key === null ? null : Buffer.from(key),
    value: encodeEvent({
      event_id: opts.id ?? `e${offset}`,
      ts: new Date(ts).toISOString(),
      event_type: type,
      stream_id: stream,
      user_id: opts.user ?? 'u1',
    }),
    timestamp: opts.kafkaTs ?? ts,
  }
}

test('a valid event with no key or another key is key_mismatch: counted per partition, no stream state', () => {
  const engine = createPartitionEngine(CFG, 0, { decode: decodeEvent })
  const res = engine.process([
    wire(T0, 'viewer_join', { key: null }),
    wire(T0, 'viewer_join', { key: 's2' }),
    wire(T0, 'viewer_join', { stream: 'ß', key: 'ss' }),
  ])
  assert.deepEqual(
    res.deadLetters.map((d) => [d.reason, d.streamId]),
    [
      ['key_mismatch', 's1'],
      ['key_mismatch', 's1'],
      ['key_mismatch', 'ß'],
    ],
  )
  assert.match(res.deadLetters[0]!.detail, /no key/)
  assert.match(res.deadLetters[1]!.detail, /"s2" is not the stream_id "s1"/)
  assert.deepEqual(res.counters.rejectedByReason, { key_mismatch: 3 })
  assert.deepEqual([res.states, res.counts, res.windows, res.watermark], [[], [], [], null])
  assert.equal(engine.stats().streams, 0)
  // Non-ASCII ids compare as UTF-8 bytes.
  assert.ok(keyIs(Buffer.from('ß'), 'ß'))
  assert.ok(!keyIs(Buffer.from('ss'), 'ß'))
  assert.ok(!keyIs(Buffer.from('s1x'), 's1'))
  assert.ok(!keyIs(Buffer.from('s'), 's1'))
})

test('future_ts: more than MAX_CLOCK_SKEW ahead of the Kafka timestamp; it never moves the watermark', () => {
  const engine = createPartitionEngine(CFG, 0, { decode: decodeEvent })
  const tables = new TableModel()
  const far = Date.UTC(9999, 11, 31)
  const batch = [
    wire(T0, 'viewer_join'),
    wire(far, 'heartbeat', { kafkaTs: T0 }),
    wire(T0 + 5 * M, 'heartbeat', { kafkaTs: T0 }), // exactly the skew: accepted
    wire(T0 + 5 * M + 1, 'heartbeat', { kafkaTs: T0 }),
    wire(far, 'heartbeat', { kafkaTs: -1 }), // no Kafka timestamp: no check (accepted)
  ]
  const res = engine.process(batch.slice(0, 4))
  tables.apply(res)
  assert.deepEqual(
    res.deadLetters.map((d) => [d.offset - batch[0]!.offset, d.reason]),
    [
      [1n, 'future_ts'],
      [3n, 'future_ts'],
    ],
  )
  assert.match(res.deadLetters[0]!.detail, /ahead of the record's Kafka timestamp/)
  assert.equal(res.watermark, T0 + 5 * M - 10 * M)
  // Counted on the stream, which had an accepted record before.
  assert.equal(tables.states.get('s1')?.rejectedCount, 2)
  tables.apply(engine.process(batch.slice(4)))
  assert.equal(engine.watermark(), far - 10 * M)
})

test('a record that is not applied counts on its stream only from its first accepted record on', () => {
  const engine = createPartitionEngine(CFG, 0, { decode: testDecode })
  const tables = new TableModel()
  const early = records([ev(T0, 'viewer_join', 'u', { stream: 'a' })])[0]!
  const garbage = (stream: string, at: bigint): InputRecord => ({
    partition: 0,
    offset: at,
    key: Buffer.from(stream),
    value: Buffer.from('{not json'),
    timestamp: -1,
  })
  // "b" is named only by rejected records: nothing is held, no row, no counts that land.
  const res = engine.process([garbage('b', 0n), garbage('b', 1n), { ...early, offset: 2n }, garbage('a', 3n)])
  tables.apply(res)
  assert.deepEqual(
    res.counts.map((c) => [c.streamId, c.rejected]),
    [['b', 2]],
  )
  assert.deepEqual([...tables.states.keys()], ['a'])
  assert.equal(tables.states.get('a')?.rejectedCount, 1)
  assert.equal(engine.stats().streams, 1)
})

test('200k streams that go idle leave no state and no stored pieces; they come back with the same rows', () => {
  const engine = createPartitionEngine(CFG, 0, { decode: testDecode, retainLog: false })
  const store = new Map<string, Buffer>()
  const tables = new TableModel()
  const save = () => {
    const c = engine.snapshotChanges()
    for (const p of c.put) store.set(p.key, p.data)
    for (const k of c.delete) store.delete(k)
  }
  const N = 200_000
  const evs = []
  for (let i = 0; i < N; i++) {
    const t = T0 + Math.floor(i / 100)
    evs.push(ev(t, 'stream_start', 'host', { stream: `s${i}`, id: `start${i}` }))
    evs.push(ev(t, 'viewer_join', 'u', { stream: `s${i}`, id: `join${i}` }))
    evs.push(ev(t + 1, 'viewer_leave', 'u', { stream: `s${i}`, id: `leave${i}` }))
  }
  const input = records(evs)
  for (let i = 0; i < input.length; i += 20_000) {
    tables.apply(engine.process(input.slice(i, i + 20_000)))
    save()
  }
  const busy = engine.stats().streams
  assert.equal(busy, N)
  assert.ok(store.size > N, `${store.size} pieces stored while the streams are live`)
  // One stream's records move the watermark far past everything else.
  const later = records([ev(T0 + 60 * M, 'heartbeat', 'u', { stream: 'clock' })], 0, BigInt(input.length))
  tables.apply(engine.process(later))
  save()
  const idle = engine.stats()
  assert.deepEqual(
    [idle.streams, idle.users, idle.pendingRecords, idle.openWindows],
    [1, 1, 1, 1],
    'only the stream of the newest record is held',
  )
  assert.ok(store.size < 10, `${store.size} pieces stored after the streams went idle`)
  const restored = createPartitionEngine(CFG, 0, {
    decode: testDecode,
    snapshot: [...store].map(([key, data]): SnapshotPiece => ({ key, data })),
  })
  assert.equal(restored.stats().streams, 1)
  // Stream s7 comes back: an empty state again; its row keeps `live` and its counters go on.
  const back = records(
    [
      ev(T0 + 60 * M, 'viewer_join', 'v', { stream: 's7', id: 'again' }),
      ev(T0 + 60 * M, 'viewer_join', 'v', { stream: 's7', id: 'again' }),
    ],
    0,
    BigInt(input.length + 1),
  )
  const res = restored.process(back)
  assert.equal(res.states[0]?.live, null)
  tables.apply(res)
  const s7 = tables.states.get('s7')!
  assert.deepEqual([s7.live, s7.acceptedCount, s7.duplicateCount, s7.activeViewers], [true, 4, 1, 1])
  assert.equal(tables.rows.get(`s7@${T0 + 60 * M}`)?.activeViewers, 1)
  assert.equal(tables.rows.get(`s7@${T0}`)?.activeViewers, 0)
})

test('fail() dead-letters a record as processing_error and moves past it without changing state', () => {
  const engine = createPartitionEngine(CFG, 0, { decode: decodeEvent })
  offset = 100n
  const [a, b, c] = [
    wire(T0, 'viewer_join'),
    wire(T0 + M, 'viewer_join', { user: 'u2' }),
    wire(T0, 'heartbeat'),
  ]
  engine.process([a!])
  const before = engine.snapshot()
  const res = engine.fail(b!, 'TypeError: boom')
  assert.deepEqual(
    res.deadLetters.map((d) => [d.offset, d.reason, d.detail]),
    [[101n, 'processing_error', 'TypeError: boom']],
  )
  assert.deepEqual(res.counters.rejectedByReason, { processing_error: 1 })
  assert.equal(engine.nextOffset(), 102n)
  assert.equal(engine.watermark(), T0 - 10 * M)
  // A redelivery of the failed record is skipped like any applied one.
  assert.equal(engine.process([b!]).counters.skipped, 1)
  assert.equal(engine.process([c!]).counters.accepted, 1)
  assert.ok(before.length > 0)
})

test('a snapshot of an earlier build: streams it held without an accepted record are dropped with their pieces', () => {
  const engine = createPartitionEngine(CFG, 0, { decode: testDecode })
  engine.process(records([ev(T0, 'viewer_join', 'u', { stream: 'kept' })]))
  // The head piece the earlier format (kind 2, with counters) wrote for a stream named only by a rejected record.
  const w = new Writer()
  w.u8(1)
  w.u8(HEAD)
  w.str('junk')
  for (const n of [0, 0, 0, 3]) w.uint(n)
  w.u8(2)
  w.f64(Number.NEGATIVE_INFINITY)
  w.str('')
  w.f64(Number.NEGATIVE_INFINITY)
  w.uint(0)
  w.f64(Number.NaN)
  w.uint(0)
  w.f64(Number.POSITIVE_INFINITY)
  w.f64(Number.NEGATIVE_INFINITY)
  const pieces = [...unpackPieces(engine.snapshot()), { key: 'h:junk', data: w.done() }]
  const restored = createPartitionEngine(CFG, 0, { decode: testDecode, snapshot: pieces })
  assert.equal(restored.stats().streams, 1)
  const junk: InputRecord = {
    partition: 0,
    offset: 5n,
    key: Buffer.from('junk'),
    value: Buffer.from('{bad'),
    timestamp: -1,
  }
  const res = restored.process([junk])
  assert.deepEqual(res.states, [])
  assert.deepEqual(
    res.counts.map((c) => [c.streamId, c.rejected]),
    [['junk', 1]],
  )
  assert.ok(restored.snapshotChanges().delete.includes('h:junk'))
})

test('pieces stored every few batches only (a stream forgotten and back in between) = snapshot()', () => {
  fc.assert(
    fc.property(
      config,
      partitionInput(0, 60),
      fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1 }),
      fc.nat(),
      (cfg, input, sizes, seed) => {
        const engine = createPartitionEngine(cfg, 0, { decode: testDecode })
        const store = new Map<string, Buffer>()
        let pos = 0
        // At least one batch: no input still stores a header.
        for (let i = 0; i === 0 || pos < input.length; i++) {
          const n = sizes[i % sizes.length]!
          engine.process(input.slice(pos, pos + n))
          pos += n
          if ((seed >> (i % 30)) & 1 || pos >= input.length) {
            const c = engine.snapshotChanges()
            for (const p of c.put) store.set(p.key, p.data)
            for (const k of c.delete) store.delete(k)
          }
        }
        const want = new Map(unpackPieces(engine.snapshot()).map((p) => [p.key, p.data]))
        assert.deepEqual(new Map([...store].sort()), new Map([...want].sort()))
      },
    ),
    { numRuns: 1000 },
  )
})
