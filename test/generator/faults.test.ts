import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decodeEvent, encodeEventString } from '../../src/events/decode.ts'
import { parseTimestamp } from '../../src/events/timestamp.ts'
import type { RejectReason } from '../../src/events/types.ts'
import {
  type FaultRates,
  malformed,
  NO_FAULTS,
  type OutRecord,
  RecordSource,
} from '../../src/generator/faults.ts'
import { EventModel, type ModelOptions } from '../../src/generator/model.ts'
import { Random } from '../../src/generator/random.ts'

const options: ModelOptions = {
  seed: 'faults',
  streamIds: ['stream_1001', 'stream_1002', 'stream_1003'],
  userCount: 2000,
  eventsPerSec: 50,
  startMs: Date.UTC(2025, 0, 1),
}

function records(rates: FaultRates, n: number, seed = 'faults'): { out: OutRecord[]; source: RecordSource } {
  const source = new RecordSource(new EventModel({ ...options, seed }), rates, seed)
  return { out: Array.from({ length: n }, () => source.next()), source }
}

const tsOf = (r: OutRecord) => parseTimestamp(JSON.parse(r.value).ts as string)!

describe('RecordSource', () => {
  it('without faults, sends exactly the model events in order', () => {
    const model = new EventModel(options)
    const { out } = records(NO_FAULTS, 3000)
    for (const r of out) {
      const g = model.next()
      assert.equal(r.value, encodeEventString(g.event))
      assert.equal(r.key, g.event.stream_id)
      assert.equal(r.emitMicros, g.atMicros)
      assert.equal(r.fault, null)
    }
  })

  const rates: FaultRates = {
    duplicate: 0.05,
    disorder: 0.1,
    disorderMaxMs: 20_000,
    late: 0.02,
    lateByMs: 600_000,
    malformed: 0.03,
  }

  it('is deterministic with faults on', () => {
    const a = records(rates, 5000).out.map((r) => `${r.key} ${r.value}`)
    const b = records(rates, 5000).out.map((r) => `${r.key} ${r.value}`)
    assert.deepEqual(a, b)
  })

  it('injects each fault at about its rate, counts what it sent, and never changes the model events', () => {
    const n = 40_000
    const { out, source } = records(rates, n)
    const tagged = (f: string) => out.filter((r) => r.fault === f).length
    for (const f of ['duplicate', 'disorder', 'late', 'malformed'] as const)
      assert.equal(source.counts[f], tagged(f), f)

    const base = out.filter((r) => r.fault !== 'duplicate' && r.fault !== 'malformed')
    const near = (got: number, want: number) =>
      assert.ok(Math.abs(got - want) <= want * 0.25 + 5, `${got} vs ${want}`)
    near(tagged('duplicate'), base.length * rates.duplicate)
    near(tagged('malformed'), base.length * rates.malformed)
    near(tagged('disorder'), base.length * rates.disorder * (1 - rates.late))
    // Late records are held back 605..660 s: only events that old by the end are out yet.
    const lastTs = tsOf(out.at(-1)!)
    const oldEnough = base.filter((r) => tsOf(r) < lastTs - 660_000).length
    near(tagged('late'), oldEnough * rates.late)

    // The model's events are all there, each exactly once apart from duplicates.
    const model = new EventModel(options)
    const modelValues = new Set(
      Array.from({ length: base.length }, () => encodeEventString(model.next().event)),
    )
    const foreign = base.filter((r) => !modelValues.has(r.value))
    // Only records held back past the end of this sample may be missing from it.
    assert.ok(foreign.length < base.length * 0.2, `${foreign.length} records not from the model`)
  })

  it('sends records in emit-time order with the delays each fault promises', () => {
    const { out } = records(rates, 30_000)
    let prev = -Infinity
    const seen = new Map<string, number>()
    for (const r of out) {
      assert.ok(r.emitMicros >= prev, 'emit order')
      prev = r.emitMicros
      if (r.fault === 'malformed') continue
      const delayMs = r.emitMicros / 1000 - tsOf(r)
      if (r.fault === null) assert.ok(delayMs >= 0 && delayMs < 1)
      if (r.fault === 'disorder') assert.ok(delayMs > 0 && delayMs <= 20_001, `disorder ${delayMs}`)
      if (r.fault === 'late') assert.ok(delayMs >= 605_000 && delayMs <= 660_001, `late ${delayMs}`)
      if (r.fault === 'duplicate') {
        assert.ok(seen.has(r.value), 'a duplicate follows its original')
        assert.ok(r.emitMicros - seen.get(r.value)! <= 2_000_000)
      } else seen.set(r.value, r.emitMicros)
    }
  })

  it('makes late records come after the partition has moved on by more than the watermark', () => {
    const { out } = records({ ...NO_FAULTS, late: 0.01 }, 60_000)
    const maxTs = new Map<string, number>()
    let late = 0
    for (const r of out) {
      const ts = tsOf(r)
      const max = maxTs.get(r.key) ?? -Infinity
      if (r.fault === 'late') {
        late++
        assert.ok(ts < max - 600_000, 'below the watermark of its stream')
      }
      maxTs.set(r.key, Math.max(max, ts))
    }
    assert.ok(late > 100)
  })

  it('produces malformed records that decodeEvent rejects with the expected reason', () => {
    const { out } = records({ ...NO_FAULTS, malformed: 0.2 }, 20_000)
    const reasons = new Map<RejectReason, number>()
    for (const r of out) {
      const result = decodeEvent(Buffer.from(r.value), Buffer.from(r.key))
      if (r.fault !== 'malformed') {
        assert.ok(result.ok)
        continue
      }
      assert.ok(!result.ok, r.value)
      assert.equal(result.reason, r.expectedReason, `${r.value}: ${result.detail}`)
      assert.equal(result.streamId, r.key)
      reasons.set(result.reason, (reasons.get(result.reason) ?? 0) + 1)
    }
    for (const reason of [
      'not_json',
      'not_object',
      'missing_field',
      'bad_ts',
      'bad_event_type',
      'bad_amount',
      'bad_field',
    ] as const) {
      assert.ok((reasons.get(reason) ?? 0) > 50, `${reason}: ${reasons.get(reason)}`)
    }
  })
})

describe('malformed', () => {
  it('breaks every kind of event in every way', () => {
    const rng = new Random(1)
    const e = {
      event_id: 'e',
      ts: '2025-01-01T00:00:00+00:00',
      event_type: 'chat_message' as const,
      stream_id: 's',
      user_id: 'u',
      message_len: 3,
    }
    for (let i = 0; i < 500; i++) {
      const [value, reason] = malformed(e, rng)
      const r = decodeEvent(Buffer.from(value))
      assert.ok(!r.ok)
      assert.equal(r.reason, reason, value)
    }
  })
})
