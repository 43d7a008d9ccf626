/**
 * The output contract of the engine: what the processor writes to PostgreSQL and
 * the API serves. Columns follow ../shared/spec/semantics.md sections 5 and 6.
 * Times are epoch milliseconds; money is integer cents.
 */
import type { RejectReason } from '../events/types.ts'

/** One row of `stream_metrics_minute`, key `(windowStart, streamId)`. */
export interface WindowRow {
  readonly streamId: string
  readonly windowStart: number
  readonly windowEnd: number
  readonly activeViewers: number
  readonly peakViewers: number
  readonly uniqueViewers: number
  readonly viewerJoins: number
  readonly viewerLeaves: number
  readonly chatMessages: number
  readonly uniqueChatters: number
  readonly donationsCents: number
  readonly donationCount: number
  readonly events: number
  /** The partition watermark has reached `windowEnd`: the row will never change again. */
  readonly isFinal: boolean
}

/** One row of `stream_state`, key `streamId`. Counters are totals since the first record. */
export interface StreamStateRow {
  readonly streamId: string
  readonly partition: number
  /** Present users with all accepted records applied (provisional above the watermark). */
  readonly activeViewers: number
  /** Whether the latest of stream_start / stream_stop was a start (null: neither seen yet). */
  readonly live: boolean | null
  /** Event time of the newest accepted record of the stream. */
  readonly lastEventTs: number
  readonly acceptedCount: number
  readonly lateCount: number
  readonly duplicateCount: number
  readonly rejectedCount: number
  /** The partition watermark when the row was produced (null before any record). */
  readonly watermark: number | null
}

/** A record that was not applied, with the original bytes and where it came from. */
export interface DeadLetter {
  readonly partition: number
  readonly offset: bigint
  readonly key: Buffer | null
  readonly value: Buffer
  readonly reason: RejectReason
  readonly detail: string
  /** The stream the record names, when that could be read. */
  readonly streamId: string | null
  /** The record's event time, when that could be read. */
  readonly ts: number | null
}

/** One input record: a Kafka record of one partition, in offset order. */
export interface InputRecord {
  readonly partition: number
  readonly offset: bigint
  readonly key: Buffer | null
  readonly value: Buffer
}
