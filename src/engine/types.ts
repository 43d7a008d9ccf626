/**
 * The output contract of the engine: what the processor writes to PostgreSQL and
 * the API serves. Columns follow ../shared/spec/semantics.md sections 5 and 6.
 * Times are epoch milliseconds; money is integer cents.
 */
import type { DecodeResult, RejectReason, StreamEvent } from '../events/types.ts'

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
  /** The partition watermark right after the stream's latest record was read (independent of batch boundaries). */
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

// ---------------------------------------------------------------------------
// The engine's own interface (added with the engine; the shapes above are unchanged).

/** Engine settings, all in milliseconds (from `engineSettings`: WINDOW, WATERMARK, VIEWER_TIMEOUT). */
export interface EngineConfig {
  readonly windowMs: number
  readonly watermarkMs: number
  readonly viewerTimeoutMs: number
}

/** Turns a record's bytes into an event or a rejection (`decodeEvent` of src/events/decode.ts). */
export type Decoder = (value: Buffer, key: Buffer | null) => DecodeResult

/** An already-decoded record (benchmarks, tests). Dead letters built from it carry `value` or empty bytes. */
export interface DecodedRecord {
  readonly offset: bigint
  readonly event: StreamEvent
  readonly key?: Buffer | null
  readonly value?: Buffer
}

/** Identifies one row of `stream_metrics_minute`. */
export interface WindowKey {
  readonly streamId: string
  readonly windowStart: number
}

/** What one batch did, by outcome. `skipped`: records below the engine's next offset (already applied). */
export interface BatchCounters {
  accepted: number
  late: number
  duplicate: number
  rejected: number
  skipped: number
  rejectedByReason: Partial<Record<RejectReason, number>>
}

/**
 * The outcome of one batch. Apply it in one transaction together with the snapshot
 * changes and the next offset.
 */
export interface BatchResult {
  readonly partition: number
  /**
   * Window rows that changed (upsert on `(windowStart, streamId)`). A row with
   * `isFinal: true` is emitted exactly once per window and never changes after;
   * provisional rows may be emitted many times before. At most one row per key.
   */
  readonly windows: readonly WindowRow[]
  /** Windows emitted earlier as provisional rows that turned out to have no row at all: delete them. */
  readonly removedWindows: readonly WindowKey[]
  /** State rows of the streams this batch's records named (accepted or not), once the stream has an accepted record. */
  readonly states: readonly StreamStateRow[]
  /** Rejected (decoder), late and duplicate records, in offset order. */
  readonly deadLetters: readonly DeadLetter[]
  /** The partition watermark after the batch (null: no accepted record yet). */
  readonly watermark: number | null
  /** Last processed offset + 1 (null: nothing processed yet). */
  readonly nextOffset: bigint | null
  readonly counters: BatchCounters
}

/** A piece of engine state, stored under `key` (unique within the partition). */
export interface SnapshotPiece {
  readonly key: string
  readonly data: Buffer
}

/** What changed in the stored state since the previous `snapshotChanges()` call: upsert `put`, delete `delete`. */
export interface SnapshotChanges {
  readonly put: readonly SnapshotPiece[]
  readonly delete: readonly string[]
}

/** Sizes of the live state, for metrics and the benchmark. */
export interface EngineStats {
  readonly streams: number
  readonly users: number
  readonly presentUsers: number
  readonly pendingRecords: number
  readonly openWindows: number
  /** Event ids held for de-duplication, including those below the watermark not yet dropped (they go at the table's next rebuild). */
  readonly dedupIds: number
}

/**
 * The pure, deterministic engine of one Kafka partition (no I/O, no clock).
 * Records must be given in ascending offset order (as Kafka delivers them); the records
 * a batch starts with that are below `nextOffset()` (a redelivery) are skipped.
 * Final rows are identical whatever the batch boundaries and snapshot/restore points.
 */
export interface PartitionEngine {
  readonly partition: number
  readonly config: EngineConfig
  /** Decodes (with the injected decoder) and applies the records. */
  process(records: readonly InputRecord[]): BatchResult
  /** Applies already-decoded records. */
  processEvents(records: readonly DecodedRecord[]): BatchResult
  watermark(): number | null
  nextOffset(): bigint | null
  /** The whole state as one buffer (restore with `createPartitionEngine(..., { snapshot })`). */
  snapshot(): Buffer
  /**
   * The stored-state changes since the previous call (the first call after creation
   * or restore returns every piece). Storing every batch's changes and restoring from
   * all stored pieces gives an engine identical to this one.
   */
  snapshotChanges(): SnapshotChanges
  stats(): EngineStats
}

/** Options of {@link createPartitionEngine}. */
export interface PartitionEngineOptions {
  /** Needed by `process` (bytes in); `processEvents` works without it. */
  readonly decode?: Decoder
  /** Restore from `snapshot()` output, or from all stored pieces of `snapshotChanges()`. */
  readonly snapshot?: Buffer | Iterable<SnapshotPiece>
  /**
   * Keep the log chunks (the accepted records above the watermark, about a fifth of the
   * state) in memory after `snapshotChanges()` handed them out. Default true; a processor
   * that stores every `snapshotChanges()` and never calls `snapshot()` can pass false.
   * Without it, `snapshot()` throws.
   */
  readonly retainLog?: boolean
}
