/**
 * Snapshot format compatibility: log chunks written by an earlier rtsa (kind LOG, the
 * records of a batch grouped by stream) are still restored, and give the same engine
 * as the chunks written now (kind LOG_STREAMED, records as they were accepted).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createPartitionEngine } from '../../src/engine/index.ts'
import {
  decodeStreamedLog,
  encodeLog,
  LOG,
  LOG_STREAMED,
  open,
  unpackPieces,
} from '../../src/engine/snapshot.ts'
import type { SnapshotPiece } from '../../src/engine/types.ts'
import type { StreamEvent } from '../../src/events/types.ts'
import { ev, records, testDecode } from './helpers.ts'

const M = 60_000
const CFG = { windowMs: M, watermarkMs: 10 * M, viewerTimeoutMs: 5 * M }
const T0 = Date.UTC(2025, 11, 20, 18, 0, 0)

/** Canonical UUIDs (packed in the log) and other ids, chat lengths, donations, three streams. */
function traffic(n: number, from: number): StreamEvent[] {
  const out: StreamEvent[] = []
  const types = ['viewer_join', 'heartbeat', 'chat_message', 'donation', 'viewer_leave'] as const
  for (let i = from; i < from + n; i++) {
    const id = i % 2 === 0 ? `${i.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000` : `id-${i}`
    const type = types[i % types.length]!
    out.push(
      ev(T0 + i * 7_000 - (i % 4) * 20_000, type, `u${i % 11}`, {
        id,
        stream: `s${i % 3}`,
        ...(type === 'chat_message' ? { len: i % 40 } : {}),
        ...(type === 'donation' ? { cents: 100 + i } : {}),
      }),
    )
  }
  return out
}

test('log chunks of the earlier format (grouped by stream) restore to the same engine', () => {
  const engine = createPartitionEngine(CFG, 0, { decode: testDecode })
  const stored = new Map<string, Buffer>()
  let offset = 0n
  for (let b = 0; b < 6; b++) {
    const batch = records(traffic(40, b * 40), 0, offset)
    offset += BigInt(batch.length)
    engine.process(batch)
    const changes = engine.snapshotChanges()
    for (const p of changes.put) stored.set(p.key, p.data)
    for (const k of changes.delete) stored.delete(k)
  }
  const now: SnapshotPiece[] = [...stored].map(([key, data]) => ({ key, data }))
  let converted = 0
  const earlier = now.map((p) => {
    const { kind, r } = open(p.data)
    if (kind !== LOG_STREAMED) return p
    converted++
    const { seq, events } = decodeStreamedLog(r)
    return { key: p.key, data: encodeLog(seq, events).data }
  })
  assert.ok(converted > 0, 'the stored state has log chunks')
  assert.ok(earlier.every((p) => open(p.data).kind !== LOG_STREAMED))
  assert.ok(earlier.some((p) => open(p.data).kind === LOG))

  const a = createPartitionEngine(CFG, 0, { decode: testDecode, snapshot: now })
  const b = createPartitionEngine(CFG, 0, { decode: testDecode, snapshot: earlier })
  // The same records from here on (duplicates of stored ones included) give the same results.
  const more = records([...traffic(30, 200), ...traffic(10, 150)], 0, offset)
  const ra = a.process(more)
  const rb = b.process(more)
  assert.deepEqual(rb, ra)
  assert.ok(ra.counters.duplicate > 0, 'the replayed ids are known to de-duplication')
  // And the same state: the same pieces, equal byte for byte except the log chunks' encoding.
  const pieces = (e: typeof a) =>
    unpackPieces(e.snapshot()).map((p) => [p.key, p.key.startsWith('l:') ? 'log' : p.data.toString('hex')])
  assert.deepEqual(pieces(b), pieces(a))
})

test('while output is held back a batch stores its heads as one redo piece; the emitting batch gives them their own again', () => {
  const engine = createPartitionEngine(CFG, 0, { decode: testDecode })
  const stored = new Map<string, Buffer>()
  const keep = () => {
    const changes = engine.snapshotChanges()
    for (const p of changes.put) stored.set(p.key, p.data)
    for (const k of changes.delete) stored.delete(k)
    return changes
  }
  const kinds = (keys: Iterable<string>) => [...keys].map((k) => k.slice(0, 2)).sort()
  let offset = 0n
  const next = (n: number, from: number) => {
    const batch = records(traffic(n, from), 0, offset)
    offset += BigInt(batch.length)
    return batch
  }
  engine.process(next(40, 0))
  keep()
  const heads = [...stored.keys()].filter((k) => k.startsWith('h:')).length
  assert.equal(heads, 3, 'three streams, three heads')
  // Three held-back batches over the three streams: one redo piece each, no head piece.
  const restores: SnapshotPiece[][] = []
  for (let b = 1; b <= 3; b++) {
    engine.process(next(20, b * 40), { provisional: false })
    const c = keep()
    assert.deepEqual(
      kinds(c.put.map((p) => p.key)).filter((k) => k !== 'pa' && k !== 'b:'),
      ['d:', 'l:'],
      `held-back batch ${b} puts one redo piece and its log chunk (and bases, the frontier moved)`,
    )
    restores.push([...stored].map(([key, data]) => ({ key, data })))
  }
  // Restored from the pieces of any of those points, the state is the live engine's then.
  const last = restores.at(-1)!
  const restored = createPartitionEngine(CFG, 0, { decode: testDecode, snapshot: last })
  const byKey = (e: typeof engine) =>
    new Map(unpackPieces(e.snapshot()).map((p) => [p.key, p.data.toString('hex')]))
  assert.deepEqual(byKey(restored), byKey(engine))
  // The emitting batch writes every head a redo piece held and deletes the redo pieces.
  const emit = engine.process(next(5, 200))
  const c = keep()
  assert.equal(kinds(c.put.map((p) => p.key)).filter((k) => k === 'h:').length, 3)
  assert.equal(kinds(c.delete).filter((k) => k === 'd:').length, 3)
  assert.equal(kinds(stored.keys()).includes('d:'), false)
  // And the restored engine, given the same batch, writes the same rows and pieces.
  const again = restored.process(records(traffic(5, 200), 0, offset - 5n))
  assert.deepEqual(unordered(again), unordered(emit))
  const c2 = restored.snapshotChanges()
  assert.deepEqual(
    c2.put.map((p) => [p.key, p.data.toString('hex')]).sort(),
    c.put.map((p) => [p.key, p.data.toString('hex')]).sort(),
  )
  assert.deepEqual([...c2.delete].sort(), [...c.delete].sort())
})

test('redo pieces older than the header says are stale: ignored on restore, then deleted', () => {
  const engine = createPartitionEngine(CFG, 0, { decode: testDecode })
  engine.process(records(traffic(30, 0), 0, 0n), { provisional: false })
  const first = engine.snapshotChanges()
  const staleKey = first.put.find((p) => p.key.startsWith('d:'))!.key
  // A restore from a buffer rewrites the store whole, heads each in their own piece.
  const fromBuffer = createPartitionEngine(CFG, 0, { decode: testDecode, snapshot: engine.snapshot() })
  const rewrite = fromBuffer.snapshotChanges()
  const store = new Map(first.put.map((p) => [p.key, p.data]))
  for (const p of rewrite.put) store.set(p.key, p.data)
  assert.ok(store.has(staleKey), 'the store still holds the earlier redo piece')
  const restored = createPartitionEngine(CFG, 0, {
    decode: testDecode,
    snapshot: [...store].map(([key, data]) => ({ key, data })),
  })
  const byKey = (e: typeof engine) =>
    new Map(unpackPieces(e.snapshot()).map((p) => [p.key, p.data.toString('hex')]))
  assert.deepEqual(byKey(restored), byKey(fromBuffer))
  restored.process(records(traffic(3, 30), 0, 30n))
  assert.ok(restored.snapshotChanges().delete.includes(staleKey))
})

/** A batch result with its lists in a fixed order (streams come in map order, which a restore changes). */
function unordered(res: object): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(res).map(([k, v]) => [
      k,
      Array.isArray(v)
        ? v.map((x) => JSON.stringify(x, (_, y) => (typeof y === 'bigint' ? `${y}` : y))).sort()
        : v,
    ]),
  )
}
