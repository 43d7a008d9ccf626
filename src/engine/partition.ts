/**
 * The engine of one partition: reads records in offset order, decides late /
 * duplicate / accepted with the per-record watermark, hands accepted records to their
 * stream, and at the end of each batch folds the windows the watermark passed (final
 * rows), emits provisional rows of the changed windows, and the state rows.
 *
 *   record ─▶ decode ── invalid ─▶ rejected (dead letter, the decoder's reason)
 *                │ valid
 *                ▼
 *   key is not stream_id? ── yes ─▶ key_mismatch (dead letter, counted per partition only)
 *                │ no
 *                ▼
 *   ts > Kafka timestamp + MAX_CLOCK_SKEW? ── yes ─▶ future_ts (dead letter)
 *                │ no
 *                ▼
 *          ts < watermark? ── yes ─▶ late (dead letter)
 *                          │ no
 *                          ▼
 *                 id seen with ts >= watermark? ── yes ─▶ duplicate (dead letter)
 *                          │ no
 *                          ▼
 *                 accepted: newest ts, dedup, stream.apply, log chunk
 *
 * Only an accepted record makes the engine hold a stream; a record that is not applied
 * counts on a stream the engine holds, or else goes to `counts` (applied only to an
 * existing table row). At the end of a batch, a stream with nothing left above the fold
 * frontier is forgotten, with its stored pieces (docs/semantics.md section 7).
 */

import { RtsaError } from '../errors/catalogue.ts'
import type { RejectReason, StreamEvent } from '../events/types.ts'
import { Dedup } from './dedup.ts'
import { EventKey } from './ids.ts'
import { applyDelta, newRollupAcc, type RollupAcc, type RollupDelta, type RollupOut } from './rollup.ts'
import { closeWindows } from './rollup-pass.ts'
import {
  BASE,
  baseKey,
  decodeBase,
  decodeHead,
  decodeHeader,
  decodeRedo,
  decodeRollup,
  encodeBase,
  encodeHead,
  encodeHeader,
  encodeRedo,
  encodeRollup,
  HEAD,
  HEAD_V2,
  HEAD_V3,
  HEADER,
  HEADER_KEY,
  headKey,
  LOG,
  LOG_STREAMED,
  type LogChunk,
  LogWriter,
  logKey,
  open,
  openLog,
  openStreamedLog,
  packPieces,
  REDO,
  type Redo,
  ROLLUP,
  redoKey,
  rollupKey,
  unpackPieces,
} from './snapshot.ts'
import { type Ctx, Stream } from './stream.ts'
import {
  type BatchCounters,
  type BatchOptions,
  type BatchResult,
  DEFAULT_MAX_CLOCK_SKEW_MS,
  type DeadLetter,
  type DecodedRecord,
  type Decoder,
  type EngineConfig,
  type EngineStats,
  type InputRecord,
  type LiveChange,
  type PartitionEngine,
  type PartitionEngineOptions,
  type SnapshotChanges,
  type SnapshotPiece,
  type StreamCounts,
  type StreamStateRow,
  type WindowKey,
  type WindowRow,
} from './types.ts'
import { Pending, UserTimes } from './viewers.ts'

const EMPTY = Buffer.alloc(0)

interface Chunk {
  readonly maxTs: number
  /** Null once handed out by snapshotChanges() when the engine does not retain its log. */
  data: Buffer | null
}

class Partition implements PartitionEngine {
  readonly partition: number
  readonly config: EngineConfig
  private readonly decode: Decoder | undefined
  private readonly ctx: Ctx
  private maxTs = Number.NEGATIVE_INFINITY
  /** The last processed offset (null: none); kept instead of the next one so that a record costs no BigInt addition. */
  private lastOffset: bigint | null = null
  private readonly dedup: Dedup
  /** The event id of the record being applied, packed once for the tables that keep it. */
  private readonly key = new EventKey()
  private readonly streams = new Map<string, Stream>()
  /** Streams holding state above the fold frontier (the ones a fold must visit). */
  private readonly active = new Set<Stream>()
  /** Streams with changed windows not yet emitted as provisional rows. */
  private readonly dirty = new Set<Stream>()
  // Snapshot log: the live chunks, and what changed since the last snapshotChanges().
  private seq = 0
  private readonly chunks = new Map<number, Chunk>()
  private readonly newChunks: number[] = []
  private readonly droppedChunks: number[] = []
  /** Rollup pieces (the longer windows' deltas of one fold), deleted once every window they add to is final. */
  private readonly rollupPieces = new Map<number, { maxEnd: number; data: Buffer | null }>()
  private readonly newRollups: number[] = []
  /**
   * The open longer windows of forgotten streams, per resolution: a stream idle but for them
   * is forgotten all the same (its head and users go); they are closed by the folds, or
   * taken back when the stream returns.
   */
  private readonly parked = new Map<string, Map<number, RollupAcc>[]>()
  private readonly droppedRollups: number[] = []
  private allDirty = false
  /** Keep log chunks in memory after snapshotChanges() handed them out (needed by snapshot()). */
  private readonly retainLog: boolean
  /** Streams whose head or base may have changed since the last snapshotChanges(). */
  private readonly changed = new Set<Stream>()
  // The batch being processed.
  /** The log chunk of the batch being processed (null until it accepts a record). */
  private log: LogWriter | null = null
  /** Records in the batch being processed (sizes the log chunk's buffer). */
  private batchSize = 0
  /** Streams named by a record of this batch (in first-seen order); marked with `batchNo`. */
  private touched: Stream[] = []
  private batchNo = 1
  private letters: DeadLetter[] = []
  private liveChanges: LiveChange[] = []
  private counters: BatchCounters = newCounters()
  /** Counters of this batch for streams the engine does not hold (see StreamCounts). */
  private loose = new Map<
    string,
    { late: number; duplicate: number; rejected: number; watermark: number | null }
  >()
  /** Streams whose state row waits for a batch that writes provisional output. */
  private readonly pendingStates = new Set<Stream>()
  /** A batch left provisional or state rows for a later one (see hasPendingOutput). */
  private deferred = false
  /** Streams that may have gone idle in this batch (checked at its end). */
  private maybeIdle: Stream[] = []
  /** Ids of streams forgotten since the last snapshotChanges(): their pieces are deleted. */
  private readonly forgotten = new Set<string>()
  /**
   * Redo pieces ('d:', snapshot.ts): while output is held back, a batch stores the heads it
   * changed as one piece instead of one piece per stream; the next batch that emits writes
   * the heads of `redoStreams` as their own pieces and deletes `redoSeqs`' pieces.
   */
  private readonly redoSeqs: number[] = []
  private readonly redoStreams = new Set<Stream>()
  /** Redo pieces below this seq are stale (see Header.redoFrom); `staleRedo`: their keys, to delete. */
  private redoFrom = 0
  private staleRedo: string[] = []
  private readonly skewMs: number

  constructor(config: EngineConfig, partition: number, decode: Decoder | undefined, retainLog: boolean) {
    this.retainLog = retainLog
    const settings = {
      windowMs: config.windowMs,
      watermarkMs: config.watermarkMs,
      viewerTimeoutMs: config.viewerTimeoutMs,
    }
    for (const [name, v] of Object.entries(settings)) {
      // A zero watermark (no lateness allowed) makes sense; a zero window or timeout does not.
      if (!Number.isSafeInteger(v) || v < 0 || (v === 0 && name !== 'watermarkMs')) {
        throw new RtsaError('CONFIG_INVALID', `engine setting ${name} must be a positive whole number of ms`)
      }
    }
    const rollupMs = [...(config.rollupMs ?? [])]
    for (let i = 0; i < rollupMs.length; i++) {
      const ms = rollupMs[i]!
      if (
        !Number.isSafeInteger(ms) ||
        ms <= config.windowMs ||
        ms % config.windowMs !== 0 ||
        (i > 0 && ms <= rollupMs[i - 1]!)
      ) {
        throw new RtsaError(
          'CONFIG_INVALID',
          `engine setting rollupMs must be whole multiples of windowMs (${config.windowMs}), longer than it, in ascending order; got ${rollupMs.join(', ')}`,
        )
      }
    }
    this.config = { ...settings, rollupMs }
    const skew = config.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS
    if (!Number.isSafeInteger(skew) || skew < 0) {
      throw new RtsaError('CONFIG_INVALID', 'engine setting maxClockSkewMs must be a whole number of ms >= 0')
    }
    this.skewMs = skew
    this.partition = partition
    this.decode = decode
    this.ctx = {
      windowMs: config.windowMs,
      timeoutMs: config.viewerTimeoutMs,
      foldIdx: Number.NEGATIVE_INFINITY,
      pool: new Pending(),
      times: new UserTimes(),
      rollups: rollupMs.map((ms) => ({ ms, startIdx: Number.NEGATIVE_INFINITY })),
    }
    this.dedup = new Dedup(config.windowMs)
  }

  hasPendingOutput(): boolean {
    return this.deferred
  }

  watermark(): number | null {
    return this.maxTs === Number.NEGATIVE_INFINITY ? null : this.maxTs - this.config.watermarkMs
  }

  nextOffset(): bigint | null {
    return this.next
  }

  process(records: readonly InputRecord[], options: BatchOptions = {}): BatchResult {
    const decode = this.decode
    if (decode === undefined)
      throw new RtsaError('INTERNAL', 'process() needs a decoder: pass options.decode')
    for (let i = this.skipApplied(records); i < records.length; i++) {
      const r = records[i]!
      const d = decode(r.value, r.key)
      if (!d.ok) {
        // The value's stream (or the key's): counted there only when the key names it,
        // so that the count is made in the partition that owns the stream's row.
        const sid = d.streamId !== undefined && keyIs(r.key, d.streamId) ? d.streamId : null
        this.reject(r, d.reason, d.detail, d.streamId ?? null, null, sid)
        continue
      }
      const ev = d.event
      if (!keyIs(r.key, ev.streamId)) {
        this.reject(
          r,
          'key_mismatch',
          r.key === null
            ? `record has no key; it must be the stream_id ${show(ev.streamId)}`
            : `record key ${show(r.key.toString('utf8'))} is not the stream_id ${show(ev.streamId)}`,
          ev.streamId,
          ev.ts,
          null,
        )
      } else if (r.timestamp >= 0 && ev.ts - r.timestamp > this.skewMs) {
        this.reject(
          r,
          'future_ts',
          `ts ${ev.ts} is ${ev.ts - r.timestamp} ms ahead of the record's Kafka timestamp ${r.timestamp} (MAX_CLOCK_SKEW ${this.skewMs} ms)`,
          ev.streamId,
          ev.ts,
          ev.streamId,
        )
      } else this.step(r.offset, ev, r.key, r.value)
    }
    return this.endBatch(options.provisional ?? true)
  }

  processEvents(records: readonly DecodedRecord[], options: BatchOptions = {}): BatchResult {
    for (let i = this.skipApplied(records); i < records.length; i++) {
      const r = records[i]!
      this.step(r.offset, r.event, r.key ?? null, r.value ?? EMPTY)
    }
    return this.endBatch(options.provisional ?? true)
  }

  fail(record: InputRecord, detail: string): BatchResult {
    if (this.skipApplied([record]) === 0) {
      this.reject(record, 'processing_error', detail.slice(0, 1000), null, null, null)
    }
    return this.endBatch()
  }

  /** A record not applied, for a reason decided before the watermark (counted on `countOn` when given). */
  private reject(
    r: InputRecord,
    reason: RejectReason,
    detail: string,
    streamId: string | null,
    ts: number | null,
    countOn: string | null,
  ): void {
    const c = this.counters
    c.rejected++
    c.rejectedByReason[reason] = (c.rejectedByReason[reason] ?? 0) + 1
    if (countOn !== null) this.count(countOn, 'rejected')
    this.letters.push({
      partition: this.partition,
      offset: r.offset,
      key: r.key,
      value: r.value,
      reason,
      detail,
      streamId,
      ts,
    })
  }

  /** Counts a record that was not applied on its stream: the held one, or its loose counters. */
  private count(streamId: string, what: 'late' | 'duplicate' | 'rejected'): void {
    const s = this.streams.get(streamId)
    if (s !== undefined) {
      s[what]++
      this.noteRecord(s)
      return
    }
    let l = this.loose.get(streamId)
    if (l === undefined) {
      l = { late: 0, duplicate: 0, rejected: 0, watermark: null }
      this.loose.set(streamId, l)
    }
    l[what]++
    l.watermark = this.watermark()
  }

  /**
   * Counts the leading records at or below the last applied offset (a redelivery after
   * a restore) as skipped and returns the index of the first one to apply. The rest are
   * in ascending offset order (the contract), so no record after it is compared: a
   * BigInt comparison per record costs as much as a hash lookup.
   */
  private skipApplied(records: readonly { readonly offset: bigint }[]): number {
    const n = records.length
    let i = 0
    const last = this.lastOffset
    if (last !== null) while (i < n && records[i]!.offset <= last) i++
    this.counters.skipped += i
    this.batchSize = n - i
    if (i < n) this.lastOffset = records[n - 1]!.offset
    return i
  }

  private get next(): bigint | null {
    return this.lastOffset === null ? null : this.lastOffset + 1n
  }

  private stream(id: string): Stream {
    let s = this.streams.get(id)
    if (s === undefined) {
      s = new Stream(id, this.ctx)
      this.streams.set(id, s)
      const parked = this.parked.get(id)
      if (parked !== undefined) {
        for (let k = 0; k < parked.length; k++) for (const [j, a] of parked[k]!) s.rollups[k]!.set(j, a)
        this.parked.delete(id)
      }
      if (this.forgotten.delete(id)) {
        // Back before its pieces were deleted: write its head again and delete its base
        // (it has none), so no stale piece of the earlier life is left behind.
        s.headDirty = true
        s.baseDirty = true
        this.changed.add(s)
      }
    }
    return s
  }

  private noteRecord(s: Stream): void {
    s.watermarkAtLast = this.watermark()
    s.headDirty = true
    if (s.batchMark !== this.batchNo) {
      s.batchMark = this.batchNo
      this.touched.push(s)
    }
  }

  private step(offset: bigint, ev: StreamEvent, key: Buffer | null, value: Buffer): void {
    const wm = this.maxTs - this.config.watermarkMs
    let reason: 'late' | 'duplicate' | null = null
    if (ev.ts < wm) {
      reason = 'late'
      this.counters.late++
      this.count(ev.streamId, 'late')
    } else if (this.dedup.seen(this.key.set(ev.eventId), wm)) {
      reason = 'duplicate'
      this.counters.duplicate++
      this.count(ev.streamId, 'duplicate')
    } else {
      const s = this.stream(ev.streamId)
      this.counters.accepted++
      s.accepted++
      if (ev.ts > this.maxTs) this.maxTs = ev.ts
      if (ev.ts > s.lastEventTs) s.lastEventTs = ev.ts
      this.dedup.addChecked(this.key, ev.ts)
      s.apply(ev, this.key)
      if (ev.eventType === 'stream_start' || ev.eventType === 'stream_stop')
        this.liveChanges.push({
          streamId: ev.streamId,
          ts: ev.ts,
          eventId: ev.eventId,
          live: ev.eventType === 'stream_start',
        })
      if (this.log === null) this.log = new LogWriter(this.seq++, this.batchSize)
      this.log.add(ev, s, this.key)
      if (!s.inActive) {
        s.inActive = true
        this.active.add(s)
      }
      if (!s.inDirty) {
        s.inDirty = true
        this.dirty.add(s)
      }
      this.noteRecord(s)
    }
    if (reason !== null) {
      this.letters.push({
        partition: this.partition,
        offset,
        key,
        value,
        reason,
        detail:
          reason === 'late'
            ? `ts ${ev.ts} is below the partition watermark ${wm} (ms)`
            : `event_id already accepted in partition ${this.partition}`,
        streamId: ev.streamId,
        ts: ev.ts,
      })
    }
  }

  /**
   * Ends a batch: final rows always; provisional rows and state rows only when
   * `provisional` (else they stay pending, in the state and its snapshot, for a later batch).
   */
  private endBatch(provisional = true): BatchResult {
    const windows: WindowRow[] = []
    const removed: WindowKey[] = []
    const out: RollupOut = { rows: [], removed: [], deltas: [] }
    const wm = this.watermark()
    const w = this.config.windowMs
    // Before folding: the newest record of a stream may be about to fall below the frontier.
    for (const s of this.touched) s.refreshActive()
    if (wm !== null) {
      const foldIdx = Math.floor(wm / w)
      if (foldIdx > this.ctx.foldIdx) {
        for (const s of this.active) {
          s.fold(foldIdx, windows, removed, out)
          this.changed.add(s)
        }
        for (const [id, maps] of this.parked) {
          for (let k = 0; k < maps.length; k++)
            closeWindows(id, maps[k]!, this.ctx.rollups[k]!.ms, foldIdx * w, out)
          if (maps.every((m) => m.size === 0)) this.parked.delete(id)
        }
        this.ctx.foldIdx = foldIdx
        this.storeRollups(out.deltas, foldIdx * w)
        for (const s of this.active) {
          if (!s.hasLiveState()) {
            this.active.delete(s)
            s.inActive = false
            this.maybeIdle.push(s)
          } else if (!s.hasBaseState()) this.maybeIdle.push(s) // only open longer windows: it may be parked
        }
        const frontier = foldIdx * w
        for (const [seq, c] of this.chunks) {
          if (c.maxTs < frontier) {
            this.chunks.delete(seq)
            this.droppedChunks.push(seq)
          }
        }
      }
      this.dedup.evict(wm)
      const horizon = Math.floor(this.maxTs / w)
      for (const s of provisional ? this.dirty : []) {
        s.provisional(horizon, this.maxTs, windows, removed, out)
        this.changed.add(s)
        if (!s.isDirty()) {
          this.dirty.delete(s)
          s.inDirty = false
          this.maybeIdle.push(s)
        }
      }
    }
    if (this.log !== null) {
      this.chunks.set(this.log.seq, this.log.done())
      this.newChunks.push(this.log.seq)
      this.log = null
    }
    const states: StreamStateRow[] = []
    for (const s of this.touched) {
      this.changed.add(s)
      if (!s.statePending) {
        s.statePending = true
        this.pendingStates.add(s)
      }
    }
    if (provisional) {
      for (const s of this.pendingStates) {
        states.push(s.stateRow(this.partition))
        s.statePending = false
        s.headDirty = true
        this.changed.add(s)
        this.maybeIdle.push(s)
      }
      this.pendingStates.clear()
      this.deferred = false
    } else if (this.touched.length > 0 || this.dirty.size > 0) this.deferred = true
    const counts: StreamCounts[] = []
    for (const [streamId, l] of this.loose) counts.push({ streamId, ...l })
    this.forgetIdle()
    const result: BatchResult = {
      partition: this.partition,
      windows,
      removedWindows: removed,
      rollups: out.rows,
      removedRollups: out.removed,
      liveChanges: this.liveChanges,
      states,
      counts,
      deadLetters: this.letters,
      watermark: wm,
      nextOffset: this.next,
      counters: this.counters,
    }
    this.touched = []
    this.batchNo++
    this.letters = []
    this.liveChanges = []
    this.counters = newCounters()
    this.loose = new Map()
    return result
  }

  /** Keeps one fold's deltas as a rollup piece, and drops the pieces whose windows are all final at `frontier`. */
  private storeRollups(deltas: readonly RollupDelta[], frontier: number): void {
    for (const [seq, p] of this.rollupPieces) {
      if (p.maxEnd <= frontier) {
        this.rollupPieces.delete(seq)
        this.droppedRollups.push(seq)
      }
    }
    if (deltas.length === 0) return
    let maxEnd = Number.NEGATIVE_INFINITY
    for (const d of deltas) maxEnd = Math.max(maxEnd, (d.idx + 1) * d.ms)
    const seq = this.seq++
    this.rollupPieces.set(seq, { maxEnd, data: encodeRollup(seq, maxEnd, deltas) })
    this.newRollups.push(seq)
  }

  /** Forgets the streams that went idle (their rows are written; their pieces go at the next snapshotChanges()). */
  private forgetIdle(): void {
    for (const s of this.maybeIdle) {
      if (this.streams.get(s.id) !== s || !s.idle()) continue
      this.streams.delete(s.id)
      if (s.inActive) {
        this.active.delete(s)
        s.inActive = false
      }
      this.changed.delete(s)
      this.forgotten.add(s.id)
      if (s.rollups.some((m) => m.size > 0)) this.parked.set(s.id, s.rollups)
    }
    this.maybeIdle = []
  }

  // ---- snapshots -----------------------------------------------------------

  private header(): SnapshotPiece {
    const data = encodeHeader({
      config: this.config,
      partition: this.partition,
      maxTs: this.maxTs,
      foldIdx: this.ctx.foldIdx,
      next: this.next,
      seq: this.seq,
      rollups: this.ctx.rollups,
      redoFrom: this.redoFrom,
    })
    return { key: HEADER_KEY, data }
  }

  private *allPieces(): Generator<SnapshotPiece> {
    yield this.header()
    for (const s of this.streams.values()) {
      yield { key: headKey(s.id), data: encodeHead(s) }
      if (s.baseCount > 0) yield { key: baseKey(s.id), data: encodeBase(s) }
    }
    for (const [seq, c] of this.chunks) {
      if (c.data === null)
        throw new RtsaError('INTERNAL', 'snapshot() needs an engine created with retainLog')
      yield { key: logKey(seq), data: c.data }
    }
    for (const [seq, p] of this.rollupPieces) {
      if (p.data === null)
        throw new RtsaError('INTERNAL', 'snapshot() needs an engine created with retainLog')
      yield { key: rollupKey(seq), data: p.data }
    }
  }

  snapshot(): Buffer {
    return packPieces(this.allPieces())
  }

  /** Hands out a chunk's bytes once; without retainLog the engine forgets them then. */
  private release(c: Chunk): void {
    if (!this.retainLog) c.data = null
  }

  snapshotChanges(): SnapshotChanges {
    const put: SnapshotPiece[] = []
    const del: string[] = []
    if (this.allDirty) {
      // Every head goes to its own piece: a redo piece the store still holds is stale.
      this.redoFrom = this.seq
      this.redoSeqs.length = 0
      this.redoStreams.clear()
      put.push(...this.allPieces())
      this.allDirty = false
      for (const c of this.chunks.values()) this.release(c)
      if (!this.retainLog) for (const p of this.rollupPieces.values()) p.data = null
      for (const s of this.streams.values()) {
        s.headDirty = false
        s.baseDirty = false
      }
    } else {
      // Output held back: this batch's heads go to one redo piece (most are written again
      // when the output is emitted). Else the heads kept in redo pieces get their own again.
      const redo = this.deferred
      const heads: Buffer[] = []
      if (!redo) this.collapseRedo(del)
      for (const s of this.changed) {
        if (s.headDirty) {
          const data = encodeHead(s)
          if (redo) {
            heads.push(data)
            this.redoStreams.add(s)
          } else put.push({ key: headKey(s.id), data })
        }
        if (s.baseDirty) {
          if (s.baseCount > 0) put.push({ key: baseKey(s.id), data: encodeBase(s) })
          else del.push(baseKey(s.id))
        }
        s.headDirty = false
        s.baseDirty = false
      }
      for (const seq of this.newChunks) {
        const c = this.chunks.get(seq)
        if (c?.data) {
          put.push({ key: logKey(seq), data: c.data })
          this.release(c)
        }
      }
      for (const seq of this.droppedChunks) del.push(logKey(seq))
      for (const seq of this.newRollups) {
        const p = this.rollupPieces.get(seq)
        if (p?.data) {
          put.push({ key: rollupKey(seq), data: p.data })
          if (!this.retainLog) p.data = null
        }
      }
      for (const seq of this.droppedRollups) del.push(rollupKey(seq))
      // A stream forgotten now may have a head in an earlier redo piece: `gone` overrides it.
      if (redo && (heads.length > 0 || (this.forgotten.size > 0 && this.redoSeqs.length > 0))) {
        const seq = this.seq++
        const piece: Redo = { seq, heads, gone: [...this.forgotten] }
        put.push({ key: redoKey(seq), data: encodeRedo(piece) })
        this.redoSeqs.push(seq)
      }
      // After the redo piece took its seq: the header stores the next one.
      put.push(this.header())
    }
    for (const key of this.staleRedo) del.push(key)
    this.staleRedo = []
    // Not in allPieces() either way: a store restored from a buffer may still hold them.
    for (const id of this.forgotten) del.push(headKey(id), baseKey(id))
    this.forgotten.clear()
    this.changed.clear()
    this.newChunks.length = 0
    this.droppedChunks.length = 0
    this.newRollups.length = 0
    this.droppedRollups.length = 0
    return { put, delete: del }
  }

  /** Gives the heads kept in redo pieces their own pieces again (put with `changed`), and deletes the redo pieces. */
  private collapseRedo(del: string[]): void {
    for (const s of this.redoStreams) {
      if (this.streams.get(s.id) !== s) continue // forgotten: its head is deleted
      s.headDirty = true
      this.changed.add(s)
    }
    this.redoStreams.clear()
    for (const seq of this.redoSeqs) del.push(redoKey(seq))
    this.redoSeqs.length = 0
    this.redoFrom = this.seq
  }

  /** Loads stored pieces into this (new) engine. */
  restore(pieces: Iterable<SnapshotPiece>, fromBuffer: boolean): void {
    const bases: { streamId: string; users: [string, number][] }[] = []
    const logs: { chunk: LogChunk; data: Buffer }[] = []
    const rollups: { seq: number; maxEnd: number; deltas: RollupDelta[]; data: Buffer }[] = []
    const redos: Redo[] = []
    let sawHeader = false
    for (const p of pieces) {
      const { kind, r } = open(p.data)
      if (kind === HEADER) {
        const h = decodeHeader(r)
        const c = h.config
        if (
          c.windowMs !== this.config.windowMs ||
          c.watermarkMs !== this.config.watermarkMs ||
          c.viewerTimeoutMs !== this.config.viewerTimeoutMs ||
          h.partition !== this.partition
        ) {
          throw new RtsaError(
            'SNAPSHOT_INCOMPATIBLE',
            `engine snapshot was taken with other settings (partition ${h.partition}, WINDOW ${c.windowMs}ms, ` +
              `WATERMARK ${c.watermarkMs}ms, VIEWER_TIMEOUT ${c.viewerTimeoutMs}ms); reset the state to change them`,
            {
              details: {
                stored: { ...c, partition: h.partition },
                current: { ...this.config, partition: this.partition },
              },
            },
          )
        }
        this.maxTs = h.maxTs
        this.ctx.foldIdx = h.foldIdx
        this.lastOffset = h.next === null ? null : h.next - 1n
        this.seq = h.seq
        this.redoFrom = h.redoFrom
        // A resolution the state was not built with starts at its first window at or after
        // the fold frontier: everything from there on is still held, earlier is gone.
        const frontier = h.foldIdx * this.config.windowMs
        for (const res of this.ctx.rollups) {
          const stored = h.rollups.find((x) => x.ms === res.ms)
          res.startIdx =
            stored !== undefined
              ? stored.startIdx
              : Number.isFinite(frontier)
                ? Math.ceil(frontier / res.ms)
                : Number.NEGATIVE_INFINITY
        }
        sawHeader = true
      } else if (kind === HEAD || kind === HEAD_V2 || kind === HEAD_V3) {
        const s = decodeHead(r, kind, (id) => new Stream(id, this.ctx))
        this.streams.set(s.id, s)
      } else if (kind === REDO) redos.push(decodeRedo(r))
      else if (kind === BASE) bases.push(decodeBase(r))
      else if (kind === LOG_STREAMED) logs.push({ chunk: openStreamedLog(r), data: p.data })
      else if (kind === LOG) logs.push({ chunk: openLog(r), data: p.data })
      else if (kind === ROLLUP) rollups.push({ ...decodeRollup(r), data: p.data })
      else
        throw new RtsaError('SNAPSHOT_INCOMPATIBLE', `unknown engine snapshot piece kind ${kind} (${p.key})`)
    }
    if (!sawHeader) throw new RtsaError('SNAPSHOT_INCOMPATIBLE', 'engine snapshot has no partition header')
    this.restoreRedo(redos)
    for (const s of this.streams.values()) {
      // An earlier build stored streams named only by records it did not apply: they
      // are not held (no accepted record, so no row either); their pieces go.
      if (s.lastEventTs === Number.NEGATIVE_INFINITY) {
        this.forgotten.add(s.id)
        this.streams.delete(s.id)
        this.redoStreams.delete(s)
      }
    }
    for (const b of bases) this.stream(b.streamId).restoreBase(b.users)
    const frontier = this.ctx.foldIdx * this.config.windowMs
    logs.sort((a, b) => a.chunk.seq - b.chunk.seq)
    // Room for every record at once: growing the tables record by record would copy them
    // about twenty times over.
    // An id whose ts is below the watermark can never make a record a duplicate again (the
    // watermark never goes back): only the others are remembered.
    const live = this.watermark() ?? Number.NEGATIVE_INFINITY
    let ids = 0
    let pending = 0
    for (const { chunk } of logs) {
      // A chunk wholly below the watermark (or the frontier) has no such id (pending record).
      if (chunk.maxTs >= live) ids += chunk.count
      if (chunk.maxTs >= frontier) pending += chunk.count
    }
    this.dedup.reserve(ids)
    this.ctx.pool.reserve(pending)
    const key = this.key
    const dedup = this.dedup
    for (const { chunk, data } of logs) {
      // Pieces read from storage are stored already: without retainLog, keep only what a buffer restore must re-put.
      this.chunks.set(chunk.seq, { maxTs: chunk.maxTs, data: this.retainLog || fromBuffer ? data : null })
      chunk.forEach((ev, words) => {
        if (words === null) key.set(ev.eventId)
        else key.setPacked(ev.eventId, words)
        if (ev.ts >= live) dedup.add(key, ev.ts)
        if (ev.ts >= frontier) this.stream(ev.streamId).apply(ev, key)
      })
    }
    this.restoreRollups(rollups, fromBuffer)
    const wm = this.watermark()
    if (wm !== null) this.dedup.evict(wm)
    for (const s of this.streams.values()) {
      s.clean()
      this.markRollupsDirty(s)
      if (s.statePending) {
        this.pendingStates.add(s)
        this.deferred = true
      }
      if (s.hasLiveState()) {
        s.inActive = true
        this.active.add(s)
      }
      if (s.isDirty()) {
        s.inDirty = true
        this.dirty.add(s)
        this.deferred = true
      }
      // Stored by a build that kept idle streams: forgotten at the end of the next batch.
      this.maybeIdle.push(s)
    }
    this.allDirty = fromBuffer
  }

  /** Lays the redo pieces over the heads, in batch order; stale ones are deleted. */
  private restoreRedo(redos: Redo[]): void {
    redos.sort((a, b) => a.seq - b.seq)
    for (const d of redos) {
      if (d.seq < this.redoFrom) {
        this.staleRedo.push(redoKey(d.seq))
        continue
      }
      this.redoSeqs.push(d.seq)
      for (const id of d.gone) {
        const s = this.streams.get(id)
        if (s !== undefined) this.redoStreams.delete(s)
        this.streams.delete(id)
      }
      for (const data of d.heads) {
        const { kind, r } = open(data)
        const s = decodeHead(r, kind, (id) => new Stream(id, this.ctx))
        const before = this.streams.get(s.id)
        if (before !== undefined) this.redoStreams.delete(before)
        this.streams.set(s.id, s)
        this.redoStreams.add(s)
      }
    }
  }

  /** Replays the stored rollup pieces, in fold order, into the open longer windows. */
  private restoreRollups(
    pieces: { seq: number; maxEnd: number; deltas: RollupDelta[]; data: Buffer }[],
    fromBuffer: boolean,
  ): void {
    const frontier = this.ctx.foldIdx * this.config.windowMs
    pieces.sort((a, b) => a.seq - b.seq)
    for (const p of pieces) {
      this.rollupPieces.set(p.seq, { maxEnd: p.maxEnd, data: this.retainLog || fromBuffer ? p.data : null })
      for (const d of p.deltas) {
        const k = this.ctx.rollups.findIndex((x) => x.ms === d.ms)
        const res = this.ctx.rollups[k]
        // Another WINDOWS dropped the resolution, or the window is final (emitted) already.
        if (res === undefined || d.idx < res.startIdx || (d.idx + 1) * d.ms <= frontier) continue
        // A stream without a head was forgotten with open longer windows: they stay parked.
        const s = this.streams.get(d.streamId)
        let maps = s?.rollups ?? this.parked.get(d.streamId)
        if (maps === undefined) {
          maps = this.ctx.rollups.map(() => new Map())
          this.parked.set(d.streamId, maps)
        }
        const open = maps[k]!
        let a = open.get(d.idx)
        if (a === undefined) {
          a = newRollupAcc()
          open.set(d.idx, a)
        }
        applyDelta(a, d)
      }
    }
  }

  /**
   * After a restore the longer windows' provisional rows are emitted again once, from the
   * frontier to the stream's last window: which of them were waiting is not stored.
   */
  private markRollupsDirty(s: Stream): void {
    if (this.ctx.rollups.length === 0) return
    const w = this.config.windowMs
    let first = Number.POSITIVE_INFINITY
    let last = Number.NEGATIVE_INFINITY
    for (const idx of s.windows.keys()) {
      first = Math.min(first, idx)
      last = Math.max(last, idx)
    }
    // Users present at the frontier fill the windows from there on, with or without records.
    if (s.baseCount > 0) first = Math.min(first, this.ctx.foldIdx)
    // An open window with only a folded part may never have been emitted (a deferred batch).
    // Its folded part is below the frontier, so it starts at or before the newest record:
    // marked up to that record's window, so that nothing waits beyond it.
    const horizon = Math.floor(this.maxTs / w)
    s.rollups.forEach((open, k) => {
      const ms = this.ctx.rollups[k]!.ms
      for (const j of open.keys()) {
        first = Math.min(first, (j * ms) / w)
        last = Math.max(last, Math.min(((j + 1) * ms) / w - 1, horizon))
      }
    })
    if (last === Number.NEGATIVE_INFINITY) return
    s.ldFrom = first
    s.ldTo = last
  }

  stats(): EngineStats {
    let users = 0
    let present = 0
    let pending = 0
    let windows = 0
    for (const s of this.active) {
      users += s.users.size
      windows += s.windows.size
      for (const u of s.users.values()) {
        pending += u.pCount
        if (u.tPresent) present++
      }
    }
    return {
      streams: this.streams.size,
      users,
      presentUsers: present,
      pendingRecords: pending,
      openWindows: windows,
      dedupIds: this.dedup.size,
    }
  }
}

/**
 * Whether the record key is the UTF-8 bytes of `streamId` (a missing key is not). Ids are
 * nearly always ASCII: compared byte by byte without encoding the id.
 */
export function keyIs(key: Buffer | null, streamId: string): boolean {
  if (key === null) return false
  const n = streamId.length
  if (key.length < n) return false
  for (let i = 0; i < n; i++) {
    const c = streamId.charCodeAt(i)
    if (c >= 0x80) return key.equals(Buffer.from(streamId, 'utf8'))
    if (key[i] !== c) return false
  }
  return key.length === n
}

/** A value for a `detail`: JSON-quoted, cut to 80 characters. */
function show(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s)
}

function newCounters(): BatchCounters {
  return { accepted: 0, late: 0, duplicate: 0, rejected: 0, skipped: 0, rejectedByReason: {} }
}

/**
 * Creates the engine of one partition, empty or restored from a snapshot (a
 * `snapshot()` buffer, or every stored piece of `snapshotChanges()`). Throws RtsaError
 * SNAPSHOT_INCOMPATIBLE for another format version or other settings.
 */
export function createPartitionEngine(
  config: EngineConfig,
  partition: number,
  options: PartitionEngineOptions = {},
): PartitionEngine {
  const engine = new Partition(config, partition, options.decode, options.retainLog ?? true)
  const snap = options.snapshot
  if (snap !== undefined) {
    if (Buffer.isBuffer(snap)) engine.restore(unpackPieces(snap), true)
    else engine.restore(snap, false)
  }
  return engine
}
