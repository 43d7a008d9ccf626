/**
 * The engine with the real decoder (src/events/decode.ts) on wire-format records, and
 * with the generator's realistic traffic: every window is final once a late record
 * pushes the watermark past it, and final rows equal the oracle's.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createPartitionEngine } from '../../src/engine/index.ts'
import type { InputRecord } from '../../src/engine/types.ts'
import { decodeEvent, encodeEvent } from '../../src/events/decode.ts'
import type { WireEvent } from '../../src/events/types.ts'
import { RecordSource } from '../../src/generator/faults.ts'
import { EventModel } from '../../src/generator/model.ts'
import { TableModel } from './helpers.ts'
import { oracle } from './oracle.ts'

const CFG = { windowMs: 60_000, watermarkMs: 600_000, viewerTimeoutMs: 300_000 }

const wire = (offset: number, e: WireEvent): InputRecord => ({
  partition: 0,
  offset: BigInt(offset),
  key: Buffer.from(e.stream_id),
  value: encodeEvent(e),
  timestamp: -1,
})

test('wire records through decodeEvent: dollars to cents, garbage to dead letters with its stream', () => {
  const base = { stream_id: 'stream_1001', user_id: 'user_1' }
  const recs = [
    wire(0, { ...base, event_id: 'a', ts: '2025-12-20T18:00:01.250+00:00', event_type: 'viewer_join' }),
    wire(1, {
      ...base,
      event_id: 'b',
      ts: '2025-12-20T18:00:02Z',
      event_type: 'donation',
      amount_usd: 19.99,
    }),
    wire(2, {
      ...base,
      event_id: 'c',
      ts: '2025-12-20T18:00:03.999999Z',
      event_type: 'donation',
      amount_usd: 0.015,
    }),
    {
      partition: 0,
      offset: 3n,
      key: Buffer.from('stream_1001'),
      value: Buffer.from('{"event_id":'),
      timestamp: -1,
    },
  ]
  const engine = createPartitionEngine(CFG, 0, { decode: decodeEvent })
  const res = engine.process(recs)
  const row = res.windows.find((r) => r.windowStart === Date.UTC(2025, 11, 20, 18, 0))!
  assert.equal(row.donationsCents, 1999 + 2)
  assert.equal(row.donationCount, 2)
  assert.equal(row.activeViewers, 1)
  assert.deepEqual(
    res.deadLetters.map((d) => [d.offset, d.reason, d.streamId]),
    [[3n, 'not_json', 'stream_1001']],
  )
  assert.equal(res.states[0]?.rejectedAdded, 1)
})

test('generator traffic with faults, in batches: final rows = oracle', () => {
  const model = new EventModel({
    seed: 'engine-test',
    streamIds: ['stream_1001', 'stream_1002', 'stream_1003'],
    userCount: 300,
    eventsPerSec: 2,
    startMs: Date.UTC(2025, 11, 20, 18, 0, 0),
  })
  const faults = {
    duplicate: 0.05,
    disorder: 0.1,
    disorderMaxMs: 60_000,
    late: 0.02,
    lateByMs: 600_000,
    malformed: 0.02,
  }
  const source = new RecordSource(model, faults, 'engine-test')
  const recs: InputRecord[] = []
  for (let i = 0; i < 5000; i++) {
    const r = source.next()
    recs.push({
      partition: 0,
      offset: BigInt(i),
      key: Buffer.from(r.key),
      value: Buffer.from(r.value),
      timestamp: -1,
    })
  }
  const engine = createPartitionEngine(CFG, 0, { decode: decodeEvent })
  const tables = new TableModel()
  for (let i = 0; i < recs.length; i += 97) tables.apply(engine.process(recs.slice(i, i + 97)))
  const want = oracle(CFG, 0, recs, decodeEvent)
  const finals = want.rows.filter((r) => r.isFinal)
  assert.ok(finals.length > 50, `${finals.length} final rows`)
  assert.ok(finals.some((r) => r.activeViewers > 3 && r.peakViewers > r.activeViewers))
  assert.deepEqual(tables.finalRows(), finals)
  assert.deepEqual(
    [...tables.states.values()].sort((a, b) => (a.streamId < b.streamId ? -1 : 1)),
    want.states,
  )
})
