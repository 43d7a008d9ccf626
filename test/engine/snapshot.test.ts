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
