/**
 * Fault injection between the model and Kafka, and the merged, ordered record stream
 * the producer sends. Off by default (all rates 0). Each rate is a probability per
 * model event, drawn from its own seeded PRNG, so turning faults on never changes the
 * model's own events, only adds to or delays them:
 *
 * - `duplicate`: the same bytes are sent again 0..2 s later (exact duplicate);
 * - `disorder`: the record is held back 0..`disorderMaxMs` (out of order, but within
 *   the watermark when disorderMaxMs < WATERMARK, so still applied);
 * - `late`: the record is held back `lateByMs` (the watermark) + 5..60 s, so that its
 *   partition has moved on and the processor finds it below the watermark;
 * - `malformed`: an extra, broken record is sent right after the event (the event
 *   itself is still sent), with the reason the decoder must give it.
 */
import { encodeEventString } from '../events/decode.ts'
import type { RejectReason, WireEvent } from '../events/types.ts'
import { type Scheduled, TimeHeap } from './heap.ts'
import type { GeneratedEvent } from './model.ts'
import { Random } from './random.ts'

export interface FaultRates {
  readonly duplicate: number
  readonly disorder: number
  readonly disorderMaxMs: number
  readonly late: number
  /** How far behind a late record arrives, at least: the processor's WATERMARK. */
  readonly lateByMs: number
  readonly malformed: number
}

export const NO_FAULTS: FaultRates = {
  duplicate: 0,
  disorder: 0,
  disorderMaxMs: 30_000,
  late: 0,
  lateByMs: 600_000,
  malformed: 0,
}

export type FaultKind = 'duplicate' | 'disorder' | 'late' | 'malformed'

/** One record to send, in send order. */
export interface OutRecord {
  /** When the record is sent, epoch microseconds (its event time unless a fault delays it). */
  readonly emitMicros: number
  /** Kafka key: the stream id. */
  readonly key: string
  /** Kafka value: the JSON bytes, as a string (UTF-8 encoded by the producer). */
  readonly value: string
  readonly fault: FaultKind | null
  /** For malformed records: the reason `decodeEvent` gives them. */
  readonly expectedReason?: RejectReason
}

interface Pending extends Scheduled {
  readonly record: OutRecord
}

/** Something that yields events in event-time order (the {@link EventModel}). */
export interface EventSource {
  next(): GeneratedEvent
}

/**
 * The record stream: model events, encoded, with faults applied, ordered by emit
 * time (ties: model events first, then held-back records in scheduling order).
 */
export class RecordSource {
  readonly #source: EventSource
  readonly #rates: FaultRates
  readonly #rng: Random
  readonly #pending = new TimeHeap<Pending>()
  #ahead: GeneratedEvent
  /**
   * Faulty records sent so far (returned by `next`), by kind. Records still held back
   * are not counted: a late record is held for WATERMARK + 5..60 s of event time, so a
   * run shorter than that sends none, and the ones still held when a run ends are never
   * sent.
   */
  readonly counts: Record<FaultKind, number> = { duplicate: 0, disorder: 0, late: 0, malformed: 0 }

  constructor(source: EventSource, rates: FaultRates, seed: string | number) {
    this.#source = source
    this.#rates = rates
    this.#rng = new Random(`${seed}/faults`)
    this.#ahead = source.next()
  }

  /** The next record to send. */
  next(): OutRecord {
    for (;;) {
      const held = this.#pending.peek()
      if (held !== undefined && held.at < this.#ahead.atMicros)
        return this.#count(this.#pending.pop()!.record)
      const g = this.#ahead
      this.#ahead = this.#source.next()
      const out = this.#apply(g)
      if (out !== undefined) return this.#count(out)
    }
  }

  /** Emit time of the next record (a lower bound until faults are drawn). */
  peekMicros(): number {
    const held = this.#pending.peek()
    return held !== undefined && held.at < this.#ahead.atMicros ? held.at : this.#ahead.atMicros
  }

  #count(r: OutRecord): OutRecord {
    if (r.fault !== null) this.counts[r.fault]++
    return r
  }

  #hold(at: number, record: OutRecord): void {
    this.#pending.push({ at, seq: 0, record })
  }

  #apply(g: GeneratedEvent): OutRecord | undefined {
    const r = this.#rates
    const rng = this.#rng
    const key = g.event.stream_id
    const value = encodeEventString(g.event)
    const at = g.atMicros
    let emitAt = at
    let fault: FaultKind | null = null
    if (rng.chance(r.late)) {
      fault = 'late'
      emitAt = at + (r.lateByMs + rng.uniform(5_000, 60_000)) * 1000
    } else if (rng.chance(r.disorder)) {
      fault = 'disorder'
      emitAt = at + Math.round(rng.uniform(1, r.disorderMaxMs) * 1000)
    }
    const record: OutRecord = { emitMicros: Math.round(emitAt), key, value, fault }
    if (rng.chance(r.duplicate)) {
      const dupAt = Math.round(emitAt + rng.uniform(0, 2_000_000))
      this.#hold(dupAt, { emitMicros: dupAt, key, value, fault: 'duplicate' })
    }
    if (rng.chance(r.malformed)) {
      const [value, expectedReason] = malformed(g.event, rng)
      this.#hold(at, { emitMicros: at, key, value, fault: 'malformed', expectedReason })
    }
    if (emitAt !== at) {
      this.#hold(record.emitMicros, record)
      return undefined
    }
    return record
  }
}

const BROKEN_TS = ['2025-02-30T10:00:00Z', '2025-12-20T18:34:38.300308', 'yesterday', '2025-12-20T24:00:00Z']

/** A broken version of `e` and the reason the decoder must give it. */
export function malformed(e: WireEvent, rng: Random): [string, RejectReason] {
  const json = encodeEventString(e)
  const o: Record<string, unknown> = { ...e }
  switch (rng.int(7)) {
    case 0:
      return [json.slice(0, 1 + rng.int(json.length - 2)), 'not_json']
    case 1:
      return [`[${json}]`, 'not_object']
    case 2: {
      const field = ['event_id', 'ts', 'event_type', 'user_id'][rng.int(4)]!
      delete o[field]
      return [JSON.stringify(o), 'missing_field']
    }
    case 3:
      o.ts = BROKEN_TS[rng.int(BROKEN_TS.length)]
      return [JSON.stringify(o), 'bad_ts']
    case 4:
      o.event_type = rng.chance(0.5) ? 'viewer_dance' : 'JOIN'
      return [JSON.stringify(o), 'bad_event_type']
    case 5:
      o.event_type = 'donation'
      o.amount_usd = rng.chance(0.5) ? -5 : '12.50'
      return [JSON.stringify(o), 'bad_amount']
    default:
      if (rng.chance(0.5)) o.user_id = ''
      else o.event_id = 42
      return [JSON.stringify(o), 'bad_field']
  }
}
