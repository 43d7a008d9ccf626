/**
 * The output contract of the engine: what the processor writes to PostgreSQL and
 * the API serves. Columns follow docs/semantics.md sections 4 and 5.
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

/**
 * One row of `stream_state`, key `streamId`, as a change to apply: the counters are
 * what this batch ADDS (the engine forgets an idle stream, docs/semantics.md section 7, so it
 * cannot know the totals), `live` null keeps the stored value, `lastEventTs` never
 * lowers it. The row exists from the stream's first accepted record on.
 */
export interface StreamStateRow {
  readonly streamId: string
  readonly partition: number
  /** Present users with all accepted records applied (provisional above the watermark). */
  readonly activeViewers: number
  /**
   * Whether the latest stream_start / stream_stop the engine holds was a start; null:
   * neither since the engine (re)built the stream, keep the stored value. (A stream is
   * forgotten only once its records are all below the watermark, so any start or stop it
   * gets afterwards is later than the stored one.)
   */
  readonly live: boolean | null
  /** Event time of the newest accepted record of the stream. */
  readonly lastEventTs: number
  /** Accepted records of the stream in this batch. */
  readonly acceptedAdded: number
  /** Late records of the stream in this batch. */
  readonly lateAdded: number
  /** Duplicate records of the stream in this batch. */
  readonly duplicateAdded: number
  /** Rejected records naming the stream in this batch (decoder reasons and future_ts). */
  readonly rejectedAdded: number
  /** The partition watermark right after the stream's latest record was read (independent of batch boundaries). */
  readonly watermark: number | null
}

/**
 * Counter increments for a stream the engine holds no state of (never accepted, or
 * forgotten while idle): apply them to its `stream_state` row only if the row exists and
 * belongs to this partition, BEFORE the batch's {@link StreamStateRow}s (a record counts on its stream from the
 * stream's first accepted record on, in offset order). They never create a row.
 */
export interface StreamCounts {
  readonly streamId: string
  readonly late: number
  readonly duplicate: number
  readonly rejected: number
  /** The partition watermark right after the stream's latest record in this batch was read. */
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
  /** The Kafka timestamp stored with the record (CreateTime or LogAppendTime), epoch ms; -1: none. */
  readonly timestamp: number
}

// ---------------------------------------------------------------------------
// The engine's own interface (added with the engine; the shapes above are unchanged).

/** Engine settings, all in milliseconds (from `engineSettings`: WINDOW, WATERMARK, VIEWER_TIMEOUT, MAX_CLOCK_SKEW). */
export interface EngineConfig {
  readonly windowMs: number
  readonly watermarkMs: number
  readonly viewerTimeoutMs: number
  /**
   * A record whose `ts` is more than this ahead of its Kafka timestamp is `future_ts`
   * (default {@link DEFAULT_MAX_CLOCK_SKEW_MS}). Not part of the stored state: changing it
   * decides the records read from then on.
   */
  readonly maxClockSkewMs?: number
  /**
   * The longer windows computed beside `windowMs` (WINDOWS after the first), ascending,
   * each a whole multiple of `windowMs`; rows in {@link BatchResult.rollups}. Default none.
   */
  readonly rollupMs?: readonly number[]
}

/** MAX_CLOCK_SKEW's default: 5 minutes. */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 300_000

/** Turns a record's bytes into an event or a rejection (`decodeEvent` of src/events/decode.ts). */
export type Decoder = (value: Buffer, key: Buffer | null) => DecodeResult

/** An already-decoded record (benchmarks, tests). Dead letters built from it carry `value` or empty bytes. */
export interface DecodedRecord {
  readonly offset: bigint
  readonly event: StreamEvent
  readonly key?: Buffer | null
  readonly value?: Buffer
}

/** An accepted stream_start (live) or stream_stop (offline). */
export interface LiveChange {
  readonly streamId: string
  readonly ts: number
  readonly eventId: string
  readonly live: boolean
}

/** Identifies one row of a longer resolution: its stream, start and length. */
export interface RollupKey {
  readonly streamId: string
  readonly windowStart: number
  readonly windowMs: number
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
  /**
   * Rows of the longer windows (`config.rollupMs`; the resolution is `windowEnd - windowStart`),
   * under the same contract as `windows`: final exactly once, provisional many times before.
   */
  readonly rollups: readonly WindowRow[]
  /**
   * Longer windows that have no row (delete them). May name a window never emitted:
   * deleting it is then a no-op.
   */
  readonly removedRollups: readonly RollupKey[]
  /**
   * Every accepted stream_start / stream_stop of the batch, in offset order (insert them
   * keyed by stream, ts and event id): sorted by (ts, event id) they give a stream's
   * live and offline periods.
   */
  readonly liveChanges: readonly LiveChange[]
  /** State rows of the streams the engine holds that this batch's records named (accepted or not). */
  readonly states: readonly StreamStateRow[]
  /** Counters of streams the engine holds no state of that this batch's records named (see {@link StreamCounts}). */
  readonly counts: readonly StreamCounts[]
  /** Every record not applied (rejected, late, duplicate, processing_error), in offset order. */
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
  process(records: readonly InputRecord[], options?: BatchOptions): BatchResult
  /** Applies already-decoded records (no key or clock-skew check: they are taken as valid). */
  processEvents(records: readonly DecodedRecord[], options?: BatchOptions): BatchResult
  /**
   * A batch with `provisional: false` left provisional or state rows for a later batch:
   * `process([])` writes them (the processor's flush when no records come).
   */
  hasPendingOutput(): boolean
  /**
   * Dead-letters `record` as `processing_error` with `detail` and moves past it, changing
   * no other state: the processor's way out when processing the record threw (the engine
   * it threw in is discarded; this is called on one restored from the committed state).
   */
  fail(record: InputRecord, detail: string): BatchResult
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

/** Options of one batch. */
export interface BatchOptions {
  /**
   * Emit the provisional rows (base and longer windows, removals included) and the state
   * rows that changed since the last batch that did (default true). False: only final
   * rows, dead letters and the rest; the pending rows are kept in the state (and its
   * snapshot) and come with the next batch that emits them, so the rows a table holds
   * after such a batch are the same as if every batch had emitted (PROVISIONAL_INTERVAL).
   */
  readonly provisional?: boolean
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
