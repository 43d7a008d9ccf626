/**
 * The engine's stored state, as pieces that change little per batch:
 *
 *   key            holds                                                changes
 *   'partition'    settings, newest ts, fold frontier, next offset      every batch (tiny)
 *   'h:<stream>'   live, last record, emitted windows                   batches naming the stream (tiny);
 *                                                                       deleted when the stream goes idle
 *   'b:<stream>'   users present just before the fold frontier          when the frontier moves
 *   'l:<seq>'      the accepted records of one batch (a log chunk)      written once, deleted once
 *                                                                       all its records are folded
 *   'r:<seq>'      what one fold added to the open longer windows       written once, deleted once
 *                  (rollup.ts: sums, peaks, new viewer/chatter ids)     all those windows are final
 *   'd:<seq>'      the heads one batch changed while its output was     written once, deleted by the
 *                  held back (PROVISIONAL_INTERVAL), and the streams    next batch that emits (which
 *                  it forgot: one piece instead of one per stream       writes those heads as 'h:')
 *
 * Restoring = the heads, the 'd:' pieces over them in batch order, the bases, then the
 * log chunks' records at or above the frontier replayed into the streams (and all of them
 * into de-duplication). Every piece starts with the format version and its kind; another
 * version is SNAPSHOT_INCOMPATIBLE.
 */

import { RtsaError } from '../errors/catalogue.ts'
import type { EventType, StreamEvent } from '../events/types.ts'
import { EVENT_TYPES } from '../events/types.ts'
import { Reader, Writer } from './codec.ts'
import { type EventKey, unpackId } from './ids.ts'
import { type Resolution, type RollupDelta, readDeltas, writeDeltas } from './rollup.ts'
import type { Stream } from './stream.ts'
import type { EngineConfig, SnapshotPiece } from './types.ts'
import { BASE_LAST } from './viewers.ts'

export const SNAPSHOT_VERSION = 1
export const HEADER = 1
/** A stream head as written before the counters moved to the table (still read; its counters are skipped). */
export const HEAD = 2
/** A stream head without counters: the table holds them (still read). */
export const HEAD_V2 = 6
/** A stream head with its pending state row: the counters the table does not hold yet ({@link encodeHead}). */
export const HEAD_V3 = 8
export const BASE = 3
/** A log chunk as written before the streaming format (still read). */
export const LOG = 4
/** A log chunk written record by record as they are accepted ({@link LogWriter}). */
export const LOG_STREAMED = 5
/** The longer windows' deltas of one fold (rollup.ts). */
export const ROLLUP = 7
const PACK = 9
/** The heads a batch changed while its output was held back, and the streams it forgot ({@link encodeRedo}). */
export const REDO = 10

export const HEADER_KEY = 'partition'
export const headKey = (streamId: string): string => `h:${streamId}`
export const baseKey = (streamId: string): string => `b:${streamId}`
/** Zero-padded so that keys sort in batch order. */
export const logKey = (seq: number): string => `l:${String(seq).padStart(12, '0')}`
export const rollupKey = (seq: number): string => `r:${String(seq).padStart(12, '0')}`
export const redoKey = (seq: number): string => `d:${String(seq).padStart(12, '0')}`

function start(kind: number, size?: number): Writer {
  const w = new Writer(size)
  w.u8(SNAPSHOT_VERSION)
  w.u8(kind)
  return w
}

/** Opens a piece: checks the format version and returns the kind and a reader after it. */
export function open(data: Buffer): { kind: number; r: Reader } {
  const r = new Reader(data)
  const version = r.u8()
  if (version !== SNAPSHOT_VERSION) {
    throw new RtsaError(
      'SNAPSHOT_INCOMPATIBLE',
      `engine snapshot has format version ${version}, this rtsa reads version ${SNAPSHOT_VERSION}`,
      { details: { version, expected: SNAPSHOT_VERSION } },
    )
  }
  return { kind: r.u8(), r }
}

export interface Header {
  readonly config: EngineConfig
  readonly partition: number
  readonly maxTs: number
  readonly foldIdx: number
  readonly next: bigint | null
  readonly seq: number
  /** The longer resolutions the state holds, with their first window (absent in headers of earlier builds). */
  readonly rollups: readonly Resolution[]
  /**
   * 'd:' pieces of a lower seq are stale (a store that a restore from a buffer rewrote whole
   * may still hold them): ignored and deleted. 0 in headers of earlier builds.
   */
  readonly redoFrom: number
}

export function encodeHeader(h: Header): Buffer {
  const w = start(HEADER)
  w.f64(h.config.windowMs)
  w.f64(h.config.watermarkMs)
  w.f64(h.config.viewerTimeoutMs)
  w.uint(h.partition)
  w.f64(h.maxTs)
  w.f64(h.foldIdx)
  w.u8(h.next === null ? 0 : 1)
  if (h.next !== null) w.i64(h.next)
  w.uint(h.seq)
  w.uint(h.rollups.length)
  for (const res of h.rollups) {
    w.f64(res.ms)
    w.f64(res.startIdx)
  }
  w.uint(h.redoFrom)
  return w.done()
}

export function decodeHeader(r: Reader): Header {
  const config = { windowMs: r.f64(), watermarkMs: r.f64(), viewerTimeoutMs: r.f64() }
  const partition = r.uint()
  const maxTs = r.f64()
  const foldIdx = r.f64()
  const next = r.u8() === 1 ? r.i64() : null
  const seq = r.uint()
  const rollups: Resolution[] = []
  if (!r.atEnd) for (let n = r.uint(); n > 0; n--) rollups.push({ ms: r.f64(), startIdx: r.f64() })
  const redoFrom = r.atEnd ? 0 : r.uint()
  return { config, partition, maxTs, foldIdx, next, seq, rollups, redoFrom }
}

/** A redo piece: `heads` are whole head pieces ({@link encodeHead}), `gone` the ids of the streams forgotten. */
export interface Redo {
  readonly seq: number
  readonly heads: readonly Buffer[]
  readonly gone: readonly string[]
}

export function encodeRedo(redo: Redo): Buffer {
  let size = 32
  for (const h of redo.heads) size += h.length + 5
  const w = start(REDO, size)
  w.uint(redo.seq)
  w.uint(redo.heads.length)
  for (const h of redo.heads) w.bytes(h)
  w.uint(redo.gone.length)
  for (const id of redo.gone) w.str(id)
  return w.done()
}

export function decodeRedo(r: Reader): Redo {
  const seq = r.uint()
  const heads: Buffer[] = []
  // Views of the piece: read at once by the restore.
  for (let n = r.uint(); n > 0; n--) heads.push(r.bytes())
  const gone: string[] = []
  for (let n = r.uint(); n > 0; n--) gone.push(r.str())
  return { seq, heads, gone }
}

export function encodeRollup(seq: number, maxEnd: number, deltas: readonly RollupDelta[]): Buffer {
  const w = start(ROLLUP)
  writeDeltas(w, seq, maxEnd, deltas)
  return w.done()
}

export function decodeRollup(r: Reader): { seq: number; maxEnd: number; deltas: RollupDelta[] } {
  return readDeltas(r)
}

export function encodeHead(s: Stream): Buffer {
  const w = start(HEAD_V3)
  w.str(s.id)
  w.u8(s.live === null ? 2 : s.live ? 1 : 0)
  w.f64(s.liveTs)
  w.str(s.liveId)
  w.f64(s.lastEventTs)
  w.uint(s.activeAtLast)
  w.f64(s.watermarkAtLast ?? Number.NaN)
  // Sorted: the same state gives the same bytes, whatever happened before (restores included).
  w.uint(s.emitted.size)
  for (const idx of [...s.emitted].sort((a, b) => a - b)) w.f64(idx)
  w.f64(s.dirtyFrom)
  w.f64(s.dirtyTo)
  // A state row not written yet: what it will add (PROVISIONAL_INTERVAL), else zeros.
  w.u8(s.statePending ? 1 : 0)
  w.uint(s.accepted)
  w.uint(s.late)
  w.uint(s.duplicate)
  w.uint(s.rejected)
  return w.done()
}

/**
 * Reads a head piece (kind HEAD, HEAD_V2 or HEAD_V3) into a fresh stream made by `make(id)`. The
 * counters of a HEAD piece were totals that the table holds too: they are skipped.
 */
export function decodeHead(r: Reader, kind: number, make: (id: string) => Stream): Stream {
  const s = make(r.str())
  if (kind === HEAD) for (let i = 0; i < 4; i++) r.uint()
  const live = r.u8()
  s.live = live === 2 ? null : live === 1
  s.liveTs = r.f64()
  s.liveId = r.str()
  s.lastEventTs = r.f64()
  s.activeAtLast = r.uint()
  const wm = r.f64()
  s.watermarkAtLast = Number.isNaN(wm) ? null : wm
  for (let n = r.uint(); n > 0; n--) s.emitted.add(r.f64())
  s.savedDirty = [r.f64(), r.f64()]
  if (kind === HEAD_V3) {
    s.statePending = r.u8() === 1
    s.accepted = r.uint()
    s.late = r.uint()
    s.duplicate = r.uint()
    s.rejected = r.uint()
  }
  return s
}

export function encodeBase(s: Stream): Buffer {
  const w = start(BASE)
  w.str(s.id)
  w.uint(s.baseCount)
  const present = [...s.users.values()].filter((u) => u.basePresent)
  present.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const times = s.ctx.times.v
  for (const u of present) {
    w.str(u.id)
    w.f64(times[u.at + BASE_LAST]!)
  }
  return w.done()
}

export function decodeBase(r: Reader): { streamId: string; users: [string, number][] } {
  const streamId = r.str()
  const users: [string, number][] = []
  for (let n = r.uint(); n > 0; n--) users.push([r.str(), r.f64()])
  return { streamId, users }
}

const TYPE_CODES: Readonly<Record<EventType, number>> = Object.fromEntries(
  EVENT_TYPES.map((t, i) => [t, i]),
) as Record<EventType, number>
const HAS_LEN = 16
const HAS_AMOUNT = 32

/**
 * Encodes the accepted records of one batch, grouped by stream: the format before
 * {@link LogWriter} (kind LOG). The engine no longer writes it; it stays as the
 * definition of what `decodeLog` reads, for the compatibility test.
 */
export function encodeLog(seq: number, events: readonly StreamEvent[]): { maxTs: number; data: Buffer } {
  const groups = new Map<string, StreamEvent[]>()
  let maxTs = Number.NEGATIVE_INFINITY
  for (const e of events) {
    if (e.ts > maxTs) maxTs = e.ts
    const g = groups.get(e.streamId)
    if (g === undefined) groups.set(e.streamId, [e])
    else g.push(e)
  }
  // About 60 bytes a record (two ids, ts, type, user); a guess only saves copies.
  const w = start(LOG, 64 + events.length * 64)
  w.uint(seq)
  w.f64(maxTs)
  w.uint(groups.size)
  for (const [streamId, list] of groups) {
    w.str(streamId)
    w.uint(list.length)
    for (const e of list) {
      w.str(e.eventId)
      w.f64(e.ts)
      w.u8(
        TYPE_CODES[e.eventType] |
          (e.messageLen === undefined ? 0 : HAS_LEN) |
          (e.amountCents === undefined ? 0 : HAS_AMOUNT),
      )
      w.str(e.userId)
      if (e.messageLen !== undefined) w.uint(e.messageLen)
      if (e.amountCents !== undefined) w.uint(e.amountCents)
    }
  }
  return { maxTs, data: w.done() }
}

/** The record names a stream not named before in the chunk: its id follows (else its index in the chunk). */
const NEW_STREAM = 64
/** The event id is a canonical UUID, as four 32-bit words (else a string). */
const PACKED_ID = 128

/**
 * Writes one batch's accepted records as they are accepted, while they are still in
 * the CPU caches (a pass over the batch at its end reads them all from memory again).
 *
 *   version, kind, seq, maxTs (f64), count (u32), then per record:
 *   code (type | HAS_LEN | HAS_AMOUNT | NEW_STREAM | PACKED_ID), stream id or index,
 *   event id (4 words or a string), ts (f64), user id, [message_len], [amount cents]
 */
export class LogWriter {
  readonly seq: number
  private readonly w: Writer
  private readonly headerAt: number
  private maxTs = Number.NEGATIVE_INFINITY
  private count = 0
  private streams = 0
  constructor(seq: number, expected: number) {
    this.seq = seq
    this.w = start(LOG_STREAMED, 64 + expected * 48)
    this.w.uint(seq)
    this.headerAt = this.w.pos
    this.w.f64(0)
    this.w.u32(0)
  }

  /** Appends an accepted record of stream `s` (its chunk index is kept on the stream); `key` holds its id. */
  add(e: StreamEvent, s: Stream, key: EventKey): void {
    const w = this.w
    if (e.ts > this.maxTs) this.maxTs = e.ts
    this.count++
    const packed = key.packed
    const isNew = s.logSeq !== this.seq
    w.u8(
      TYPE_CODES[e.eventType] |
        (e.messageLen === undefined ? 0 : HAS_LEN) |
        (e.amountCents === undefined ? 0 : HAS_AMOUNT) |
        (isNew ? NEW_STREAM : 0) |
        (packed ? PACKED_ID : 0),
    )
    if (isNew) {
      s.logSeq = this.seq
      s.logIdx = this.streams++
      w.str(e.streamId)
    } else w.uint(s.logIdx)
    if (packed) {
      const words = key.words
      w.u32(words[0]!)
      w.u32(words[1]!)
      w.u32(words[2]!)
      w.u32(words[3]!)
    } else w.str(e.eventId)
    w.f64(e.ts)
    w.str(e.userId)
    if (e.messageLen !== undefined) w.uint(e.messageLen)
    if (e.amountCents !== undefined) w.uint(e.amountCents)
  }

  get size(): number {
    return this.count
  }

  done(): { maxTs: number; data: Buffer } {
    this.w.patchF64(this.headerAt, this.maxTs)
    this.w.patchU32(this.headerAt + 8, this.count)
    return { maxTs: this.maxTs, data: this.w.done() }
  }
}

/** The optional fields a record's code announces (the same flags in both log formats), added to `e`. */
function readOptional(r: Reader, code: number, e: StreamEvent): StreamEvent {
  const messageLen = code & HAS_LEN ? r.uint() : undefined
  const amountCents = code & HAS_AMOUNT ? r.uint() : undefined
  if (messageLen === undefined && amountCents === undefined) return e
  return {
    ...e,
    ...(messageLen === undefined ? {} : { messageLen }),
    ...(amountCents === undefined ? {} : { amountCents }),
  }
}

/**
 * A log chunk read from storage: its header, and its records visited one by one in
 * order, so that a restore never holds every record of the state at once. `words` is the
 * record's packed event id, or null when the id is not a canonical UUID.
 */
export interface LogChunk {
  readonly seq: number
  readonly maxTs: number
  readonly count: number
  forEach(visit: (e: StreamEvent, words: Uint32Array | null) => void): void
}

/** Opens a {@link LogWriter} chunk (after `open`): the header now, the records on `forEach`. */
export function openStreamedLog(r: Reader): LogChunk {
  const seq = r.uint()
  const maxTs = r.f64()
  const count = r.u32()
  return { seq, maxTs, count, forEach: (visit) => readStreamedRecords(r, count, visit) }
}

function readStreamedRecords(
  r: Reader,
  count: number,
  visit: (e: StreamEvent, words: Uint32Array | null) => void,
): void {
  const streams: string[] = []
  const words = new Uint32Array(4)
  for (let n = count; n > 0; n--) {
    const code = r.u8()
    const eventType = EVENT_TYPES[code & 15]
    if (eventType === undefined)
      throw new RtsaError('SNAPSHOT_INCOMPATIBLE', `unknown event type code ${code}`)
    let streamId: string | undefined
    if (code & NEW_STREAM) {
      streamId = r.str()
      streams.push(streamId)
    } else streamId = streams[r.uint()]
    if (streamId === undefined)
      throw new RtsaError('SNAPSHOT_INCOMPATIBLE', 'log chunk names an unknown stream')
    let eventId: string
    const packed = (code & PACKED_ID) !== 0
    if (packed) {
      for (let k = 0; k < 4; k++) words[k] = r.u32()
      eventId = unpackId(words, 0)
    } else eventId = r.str()
    const ts = r.f64()
    const userId = r.str()
    visit(readOptional(r, code, { eventId, ts, eventType, streamId, userId }), packed ? words : null)
  }
}

/** Reads a {@link LogWriter} chunk (after `open`) into an array. */
export function decodeStreamedLog(r: Reader): { seq: number; maxTs: number; events: StreamEvent[] } {
  const chunk = openStreamedLog(r)
  const events: StreamEvent[] = []
  chunk.forEach((e) => {
    events.push(e)
  })
  return { seq: chunk.seq, maxTs: chunk.maxTs, events }
}

/** Opens a chunk of the earlier format (after `open`); it is read whole at once. */
export function openLog(r: Reader): LogChunk {
  const { seq, maxTs, events } = decodeLog(r)
  return {
    seq,
    maxTs,
    count: events.length,
    forEach: (visit) => {
      for (const e of events) visit(e, null)
    },
  }
}

export function decodeLog(r: Reader): { seq: number; maxTs: number; events: StreamEvent[] } {
  const seq = r.uint()
  const maxTs = r.f64()
  const events: StreamEvent[] = []
  for (let g = r.uint(); g > 0; g--) {
    const streamId = r.str()
    for (let n = r.uint(); n > 0; n--) {
      const eventId = r.str()
      const ts = r.f64()
      const code = r.u8()
      const eventType = EVENT_TYPES[code & 15]
      if (eventType === undefined)
        throw new RtsaError('SNAPSHOT_INCOMPATIBLE', `unknown event type code ${code}`)
      const userId = r.str()
      events.push(readOptional(r, code, { eventId, ts, eventType, streamId, userId }))
    }
  }
  return { seq, maxTs, events }
}

/** All pieces in one buffer (what `snapshot()` returns). */
export function packPieces(pieces: Iterable<SnapshotPiece>): Buffer {
  const w = start(PACK)
  const list = [...pieces]
  w.uint(list.length)
  for (const p of list) {
    w.str(p.key)
    w.bytes(p.data)
  }
  return w.done()
}

export function unpackPieces(buf: Buffer): SnapshotPiece[] {
  const { kind, r } = open(buf)
  if (kind !== PACK) throw new RtsaError('SNAPSHOT_INCOMPATIBLE', 'not an engine snapshot buffer')
  const out: SnapshotPiece[] = []
  for (let n = r.uint(); n > 0; n--) out.push({ key: r.str(), data: Buffer.from(r.bytes()) })
  return out
}
