/**
 * The state of one stream of a partition: its users, the accumulators of its
 * non-final windows, its pending stream_stop records and its counters.
 *
 * Everything below the fold frontier F (a window boundary at or below the partition
 * watermark) is folded: windows before F were emitted final and dropped, and each
 * user keeps only a base (present just before F, last activity). Everything at or
 * above F is kept as records and derived points, so an out-of-order record changes
 * only the points of its own user (or of every user, for a stream_stop).
 *
 * A window's row over its life:
 *
 *   (no row) ──record or presence──▶ PROVISIONAL ──watermark >= end──▶ FINAL (emitted once, then dropped)
 *                                     │  ▲
 *                                     │  └── re-emitted when a batch changes it (up to the horizon)
 *                                     └───── nothing left in it ──▶ removed (removedWindows)
 */
import { RtsaError } from '../errors/catalogue.ts'
import type { StreamEvent } from '../events/types.ts'
import type { EventKey } from './ids.ts'
import type { Resolution, RollupAcc, RollupOut } from './rollup.ts'
import { type FinalBase, foldRollups, provisionalRollups } from './rollup-pass.ts'
import type { StreamStateRow, WindowKey, WindowRow } from './types.ts'
import {
  appendUser,
  BASE_LAST,
  baseAt,
  before,
  dropBefore,
  insertPending,
  JOIN,
  LEAVE,
  newUser,
  type Pending,
  REFRESH,
  replayUser,
  type Stops,
  T_LAST,
  trimBefore,
  type User,
  type UserTimes,
} from './viewers.ts'
import {
  addPoint,
  countAt,
  isEmptyAcc,
  newWindowAcc,
  nextEntering,
  type WindowAcc,
  windowRow,
} from './window.ts'

/** Settings and the partition's fold frontier, shared by the streams of a partition. */
export interface Ctx {
  readonly windowMs: number
  readonly timeoutMs: number
  /** Index of the first non-final window (F = foldIdx * windowMs); -Infinity before the first fold. */
  foldIdx: number
  /** The pending records of the partition's users. */
  readonly pool: Pending
  /** The timestamps of the partition's users. */
  readonly times: UserTimes
  /** The longer resolutions (WINDOWS after the first), shortest first. */
  readonly rollups: readonly Resolution[]
}

export class Stream {
  readonly id: string
  readonly ctx: Ctx
  readonly users = new Map<string, User>()
  readonly windows = new Map<number, WindowAcc>()
  readonly stops: Stops = { ts: [], id: [] }
  /** Users present just before F. */
  baseCount = 0
  // Head: what the state row shows, and the counters of the batch being processed
  // (the row carries what they add; the stored totals are the table's).
  accepted = 0
  late = 0
  duplicate = 0
  rejected = 0
  live: boolean | null = null
  liveTs = Number.NEGATIVE_INFINITY
  liveId = ''
  lastEventTs = Number.NEGATIVE_INFINITY
  /** Its state row waits for a batch that writes provisional output (the counters keep adding up). */
  statePending = false
  /** Present users at lastEventTs, as of the last computation. */
  activeAtLast = 0
  watermarkAtLast: number | null = null
  /** Non-final windows emitted as provisional rows (to delete them if they end up without a row). */
  readonly emitted = new Set<number>()
  /** Window range changed since provisional rows were last emitted. */
  dirtyFrom = Number.POSITIVE_INFINITY
  dirtyTo = Number.NEGATIVE_INFINITY
  /** The open longer windows' folded parts, per resolution of ctx.rollups (rollup.ts). */
  readonly rollups: Map<number, RollupAcc>[]
  /** Base window range changed since the longer windows' provisional rows were last emitted. */
  ldFrom = Number.POSITIVE_INFINITY
  ldTo = Number.NEGATIVE_INFINITY
  /** The dirty range read from a snapshot, set again after the restore replay (see clean()). */
  savedDirty: [number, number] = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]
  /** Partition bookkeeping without set lookups per record: batch last named in, set memberships. */
  batchMark = 0
  inActive = false
  inDirty = false
  /** The log chunk (seq) that last named the stream, and the stream's index in it. */
  logSeq = -1
  logIdx = 0
  /** Snapshot bookkeeping: head / base pieces changed since the last snapshotChanges(). */
  headDirty = false
  baseDirty = false

  constructor(id: string, ctx: Ctx) {
    this.id = id
    this.ctx = ctx
    this.rollups = ctx.rollups.map(() => new Map())
  }

  private acc(idx: number): WindowAcc {
    let a = this.windows.get(idx)
    if (a === undefined) {
      a = newWindowAcc()
      this.windows.set(idx, a)
    }
    return a
  }

  private touch(idx: number): void {
    if (idx < this.dirtyFrom) this.dirtyFrom = idx
    if (idx > this.dirtyTo) this.dirtyTo = idx
    if (this.rollups.length > 0) {
      if (idx < this.ldFrom) this.ldFrom = idx
      if (idx > this.ldTo) this.ldTo = idx
    }
  }

  /** Applies an accepted record (counters are the caller's); `key` holds its event id. */
  apply(ev: StreamEvent, key: EventKey): void {
    const w = this.ctx.windowMs
    const t = ev.ts
    const idx = Math.floor(t / w)
    const a = this.acc(idx)
    this.touch(idx)
    a.events++
    switch (ev.eventType) {
      case 'viewer_join':
        a.joins++
        this.applyUser(ev, key, JOIN)
        break
      case 'viewer_leave':
        a.leaves++
        this.applyUser(ev, key, LEAVE)
        break
      case 'heartbeat':
        this.applyUser(ev, key, REFRESH)
        break
      case 'chat_message':
        a.chat++
        if (a.chatters === null) a.chatters = new Set()
        a.chatters.add(ev.userId)
        this.applyUser(ev, key, REFRESH)
        break
      case 'donation':
        a.donationCount++
        a.donationsCents += ev.amountCents ?? 0
        this.applyUser(ev, key, REFRESH)
        break
      case 'stream_start':
        this.setLive(ev, true)
        break
      case 'stream_stop':
        this.setLive(ev, false)
        this.applyStop(ev)
        break
    }
  }

  private setLive(ev: StreamEvent, live: boolean): void {
    if (before(this.liveTs, this.liveId, ev.ts, ev.eventId)) {
      this.live = live
      this.liveTs = ev.ts
      this.liveId = ev.eventId
    }
  }

  private applyUser(ev: StreamEvent, key: EventKey, kind: number): void {
    let u = this.users.get(ev.userId)
    if (u === undefined) {
      u = newUser(ev.userId, this.ctx.times)
      this.users.set(ev.userId, u)
    }
    const atEnd = insertPending(u, this.ctx.pool, ev.ts, key, kind)
    const s = this.stops
    const n = s.ts.length
    const iv = u.iv
    if (!atEnd || (n > 0 && ev.ts <= s.ts[n - 1]! && before(ev.ts, ev.eventId, s.ts[n - 1]!, s.id[n - 1]!))) {
      // Out of order for this user: replay it.
      replayUser(u, this.ctx.pool, this.ctx.times, s, this.ctx.timeoutMs)
      this.diff(iv, u.iv)
    } else if (!u.tPresent && kind === JOIN && iv.length > 0 && iv[iv.length - 1] === ev.ts) {
      // A join where the last interval ended continues that interval: its start is not in the tail.
      const old = iv.slice()
      appendUser(u, this.ctx.times, ev.ts, kind, this.ctx.timeoutMs)
      this.diff(old, u.iv)
    } else if (
      u.tPresent &&
      kind !== LEAVE &&
      this.ctx.times.v[u.at + T_LAST]! + this.ctx.timeoutMs > ev.ts
    ) {
      // The most common record of all: a heartbeat (or chat, donation, join) of a present user
      // before their timeout. The open interval keeps its start; only its provisional end moves.
      const t = this.ctx.timeoutMs
      const last = iv.length - 1
      const oldEnd = iv[last]!
      const newEnd = ev.ts + t
      this.ctx.times.v[u.at + T_LAST] = ev.ts
      if (newEnd === oldEnd) return
      iv[last] = newEnd
      this.end(oldEnd, -1)
      this.end(newEnd, 1)
    } else {
      // In order for this user: only the provisional last interval can change.
      const had = u.tPresent
      const k = had ? iv.length - 2 : iv.length
      const prevEnd = k > 0 ? iv[k - 1]! : Number.NaN
      const oa = had ? iv[k]! : 0
      const ob = had ? iv[k + 1]! : 0
      appendUser(u, this.ctx.times, ev.ts, kind, this.ctx.timeoutMs)
      const nv = u.iv
      if (had && nv.length === k + 2 && nv[k] === oa && nv[k + 1] === ob) return
      const sameStart = had && nv.length > k && nv[k] === oa
      if (had) this.interval(prevEnd, oa, ob, -1, sameStart)
      this.intervals(prevEnd, nv, k, 1, sameStart)
    }
  }

  private applyStop(ev: StreamEvent): void {
    const s = this.stops
    let i = s.ts.length
    while (i > 0 && before(ev.ts, ev.eventId, s.ts[i - 1]!, s.id[i - 1]!)) i--
    s.ts.splice(i, 0, ev.ts)
    s.id.splice(i, 0, ev.eventId)
    // A stop ends every presence: replay every user whose intervals reach past it.
    for (const u of this.users.values()) {
      const iv = u.iv
      if (iv.length === 0 || iv[iv.length - 1]! <= ev.ts) continue
      replayUser(u, this.ctx.pool, this.ctx.times, s, this.ctx.timeoutMs)
      this.diff(iv, u.iv)
    }
  }

  /** Moves the window points from the old intervals of a user to the new ones (from the first difference on). */
  private diff(old: number[], iv: number[]): void {
    let k = 0
    const n = Math.min(old.length, iv.length)
    while (k < n && old[k] === iv[k] && old[k + 1] === iv[k + 1]) k += 2
    if (k === old.length && k === iv.length) return
    // Usually only the end of the last interval moved (a refresh): its start and the gap before stay.
    const sameStart = k < n && old[k] === iv[k]
    const prevEnd = k > 0 ? iv[k - 1]! : Number.NaN
    this.intervals(prevEnd, old, k, -1, sameStart)
    this.intervals(prevEnd, iv, k, 1, sameStart)
  }

  /**
   * Adds (sign 1) or removes (-1) the points of the intervals arr[lo..]: starts, ends,
   * and the gaps between consecutive intervals of the user (`prevEnd`: end of the
   * interval before arr[lo], NaN if none). `sameStart`: the first interval's start and
   * the gap before it are unchanged, skip them.
   */
  private intervals(prevEnd: number, arr: number[], lo: number, sign: number, sameStart: boolean): void {
    let pe = prevEnd
    for (let i = lo; i < arr.length; i += 2) {
      this.interval(pe, arr[i]!, arr[i + 1]!, sign, sameStart && i === lo)
      pe = arr[i + 1]!
    }
  }

  /** The points of one interval [a, b) after an interval ending at `pe` (see `intervals`). */
  private interval(pe: number, a: number, b: number, sign: number, skipStart: boolean): void {
    const w = this.ctx.windowMs
    const f = this.ctx.foldIdx * w
    if (!skipStart) {
      if (!Number.isNaN(pe)) {
        // A gap [pe, a) inside one window, not at its start: the user would count twice there.
        const gi = Math.floor(pe / w)
        if (pe >= f && pe !== gi * w && Math.floor(a / w) === gi) {
          this.acc(gi).gaps += sign
          this.touch(gi)
        }
      }
      if (a >= f && a !== Number.NEGATIVE_INFINITY) {
        const ai = Math.floor(a / w)
        const acc = this.acc(ai)
        acc.starts += sign
        addPoint(acc, a - ai * w, sign)
        this.touch(ai)
      }
    }
    this.end(b, sign)
  }

  /** Adds (sign 1) or removes (-1) the end point of an interval at `b` (see `interval`). */
  private end(b: number, sign: number): void {
    const w = this.ctx.windowMs
    const bi = Math.floor(b / w)
    const acc = this.acc(bi)
    acc.ends += sign
    if (b === bi * w) acc.endsAtStart += sign
    addPoint(acc, b - bi * w, -sign)
    this.touch(bi)
  }

  /** Sets the users present just before the fold frontier (restore), with their carried intervals. */
  restoreBase(users: readonly [string, number][]): void {
    for (const [id, last] of users) {
      const u = newUser(id, this.ctx.times)
      u.basePresent = true
      this.ctx.times.v[u.at + BASE_LAST] = last
      this.users.set(id, u)
      replayUser(u, this.ctx.pool, this.ctx.times, this.stops, this.ctx.timeoutMs)
      this.diff([], u.iv)
    }
    this.baseCount = users.length
  }

  /** After a restore: only the windows that were still waiting for the horizon are changed. */
  clean(): void {
    this.dirtyFrom = this.savedDirty[0]
    this.dirtyTo = this.savedDirty[1]
    this.headDirty = false
    this.baseDirty = false
  }

  /** True while the stream holds anything above the fold frontier (open longer windows included: folds must visit them). */
  hasLiveState(): boolean {
    return this.hasBaseState() || this.rollups.some((m) => m.size > 0)
  }

  /** True while the stream holds users, base windows or pending stops. */
  hasBaseState(): boolean {
    return this.users.size > 0 || this.windows.size > 0 || this.stops.ts.length > 0
  }

  /** Changes not yet emitted as provisional rows (base or longer windows). */
  isDirty(): boolean {
    return this.dirtyFrom !== Number.POSITIVE_INFINITY || this.ldFrom !== Number.POSITIVE_INFINITY
  }

  /**
   * Walks the windows from F to `toIdx` (inclusive), calling `visit` for each window
   * that has an accumulator or present users; returns users entering `toIdx + 1`.
   */
  walk(toIdx: number, visit: (idx: number, acc: WindowAcc | undefined, entering: number) => void): number {
    const keys = [...this.windows.keys()].sort((x, y) => x - y)
    let k = 0
    let entering = this.baseCount
    let idx = this.ctx.foldIdx
    if (entering === 0 || !Number.isFinite(idx)) idx = keys.length > 0 ? keys[0]! : toIdx + 1
    while (idx <= toIdx) {
      while (k < keys.length && keys[k]! < idx) k++
      const acc = keys[k] === idx ? this.windows.get(idx) : undefined
      if (acc === undefined && entering === 0) {
        // Nobody present and no record: jump to the next window that has something.
        idx = k < keys.length ? keys[k]! : toIdx + 1
        continue
      }
      visit(idx, acc, entering)
      entering = nextEntering(acc, entering)
      idx++
    }
    return entering
  }

  /** Emits the final rows of the windows before `newFoldIdx` and folds everything before it. */
  fold(newFoldIdx: number, rows: WindowRow[], removed: WindowKey[], out: RollupOut): void {
    const w = this.ctx.windowMs
    const withRollups = this.rollups.length > 0
    const finals: FinalBase[] = []
    const removedIdx: number[] = []
    const entering = this.walk(newFoldIdx - 1, (idx, acc, ent) => {
      const row = windowRow(this.id, idx, w, acc, ent, true)
      if (row !== null) {
        rows.push(row)
        if (withRollups) finals.push({ row, acc })
        if (this.emitted.delete(idx)) this.headDirty = true
      }
    })
    for (const idx of this.emitted) {
      if (idx < newFoldIdx) {
        removed.push({ streamId: this.id, windowStart: idx * w })
        removedIdx.push(idx)
        this.emitted.delete(idx)
        this.headDirty = true
      }
    }
    // Before the users are trimmed: the longer windows need who was present in [F, F').
    if (withRollups) foldRollups(this, finals, removedIdx, newFoldIdx, out)
    // Husks (see isEmptyAcc) go too: whether one is left depends on the order records came
    // in, and a stream must go idle at the same batch however it got there.
    for (const [idx, acc] of this.windows) if (idx < newFoldIdx || isEmptyAcc(acc)) this.windows.delete(idx)
    const frontier = newFoldIdx * w
    const t = this.ctx.timeoutMs
    const pool = this.ctx.pool
    const times = this.ctx.times
    let count = 0
    for (const u of this.users.values()) {
      if ((u.pHead !== -1 && pool.ts[u.pHead]! < frontier) || this.stopsBefore(frontier) || u.basePresent) {
        const [p, l] = baseAt(u, pool, times, this.stops, t, frontier)
        const last = p ? l : 0
        if (p !== u.basePresent || last !== times.v[u.at + BASE_LAST]) this.baseDirty = true
        u.basePresent = p
        times.v[u.at + BASE_LAST] = last
        dropBefore(u, pool, frontier)
        trimBefore(u, times, frontier)
      }
      if (u.basePresent) count++
      else if (u.pHead === -1) {
        this.users.delete(u.id)
        times.release(u.at)
      }
    }
    let n = 0
    while (n < this.stops.ts.length && this.stops.ts[n]! < frontier) n++
    if (n > 0) {
      this.stops.ts.splice(0, n)
      this.stops.id.splice(0, n)
    }
    // (The caller moves ctx.foldIdx once every stream of the partition is folded.)
    if (count !== entering)
      throw new RtsaError(
        'INTERNAL',
        `engine invariant broken: ${count} users present at the fold, ${entering} counted`,
        {
          details: { streamId: this.id, foldIdx: newFoldIdx },
        },
      )
    this.baseCount = count
    if (this.dirtyFrom < newFoldIdx) {
      this.dirtyFrom = newFoldIdx
      this.headDirty = true
    }
  }

  private stopsBefore(frontier: number): boolean {
    return this.stops.ts.length > 0 && this.stops.ts[0]! < frontier
  }

  /**
   * Emits provisional rows for the changed windows up to `horizonIdx` (the window of
   * the partition's newest record); changes beyond it wait until the horizon reaches them.
   */
  provisional(
    horizonIdx: number,
    maxTs: number,
    rows: WindowRow[],
    removed: WindowKey[],
    out: RollupOut,
  ): void {
    this.baseProvisional(horizonIdx, rows, removed)
    if (this.rollups.length > 0) provisionalRollups(this, maxTs, out)
    // What is left waits for the horizon, and keeps the stream (see idle()). With nothing but
    // husks beyond it there is nothing to emit there, and whether a husk is left depends on
    // the order records came in (a restore replays them in another): the wait goes.
    if (this.isDirty() && !this.holdsBeyond(horizonIdx)) {
      this.dirtyFrom = Number.POSITIVE_INFINITY
      this.dirtyTo = Number.NEGATIVE_INFINITY
      this.ldFrom = Number.POSITIVE_INFINITY
      this.ldTo = Number.NEGATIVE_INFINITY
      this.headDirty = true
    }
  }

  /**
   * True when a window after `idx` holds anything but a husk. (A user present there has an
   * interval end there, so it counts.)
   */
  private holdsBeyond(idx: number): boolean {
    for (const [i, acc] of this.windows) if (i > idx && !isEmptyAcc(acc)) return true
    return false
  }

  private baseProvisional(horizonIdx: number, rows: WindowRow[], removed: WindowKey[]): void {
    if (this.dirtyTo < this.ctx.foldIdx) {
      this.headDirty = true
      this.dirtyFrom = Number.POSITIVE_INFINITY
      this.dirtyTo = Number.NEGATIVE_INFINITY
      return
    }
    const lo = Math.max(this.dirtyFrom, this.ctx.foldIdx)
    const hi = Math.min(this.dirtyTo, horizonIdx)
    if (lo > hi) return
    const w = this.ctx.windowMs
    const seen = new Set<number>()
    this.walk(hi, (idx, acc, ent) => {
      if (idx < lo) return
      const row = windowRow(this.id, idx, w, acc, ent, false)
      if (row === null) return
      rows.push(row)
      seen.add(idx)
      if (!this.emitted.has(idx)) {
        this.emitted.add(idx)
        this.headDirty = true
      }
    })
    for (const idx of this.emitted) {
      if (idx >= lo && idx <= hi && !seen.has(idx)) {
        removed.push({ streamId: this.id, windowStart: idx * w })
        this.emitted.delete(idx)
        this.headDirty = true
      }
    }
    this.headDirty = true
    if (this.dirtyTo > hi) this.dirtyFrom = hi + 1
    else {
      this.dirtyFrom = Number.POSITIVE_INFINITY
      this.dirtyTo = Number.NEGATIVE_INFINITY
    }
  }

  /** Present users at the newest record (recomputed while that instant is above the fold frontier). */
  refreshActive(): void {
    const w = this.ctx.windowMs
    const t = this.lastEventTs
    const ti = Math.floor(t / w)
    if (!Number.isFinite(t) || ti < this.ctx.foldIdx) return
    let result = 0
    const entering = this.walk(ti - 1, () => {})
    result = countAt(this.windows.get(ti), entering, t - ti * w)
    if (result !== this.activeAtLast) {
      this.activeAtLast = result
      this.headDirty = true
    }
  }

  /** The state row of the batch that ends, with what it added to the counters (which start again at 0). */
  stateRow(partition: number): StreamStateRow {
    const row: StreamStateRow = {
      streamId: this.id,
      partition,
      activeViewers: this.activeAtLast,
      live: this.live,
      lastEventTs: this.lastEventTs,
      acceptedAdded: this.accepted,
      lateAdded: this.late,
      duplicateAdded: this.duplicate,
      rejectedAdded: this.rejected,
      watermark: this.watermarkAtLast,
    }
    this.accepted = 0
    this.late = 0
    this.duplicate = 0
    this.rejected = 0
    return row
  }

  /**
   * True when the stream holds nothing that a later record could need (docs/semantics.md
   * section 7): no user, window, pending stop or provisional row above the fold frontier, and
   * nothing waiting to be emitted. Forgetting it and building it again empty when it comes
   * back gives the same rows (its stored row keeps `live` and the counters).
   */
  idle(): boolean {
    // (Open longer windows do not keep a stream: the partition parks them, see forgetIdle.)
    if (
      this.inDirty ||
      this.statePending ||
      this.emitted.size > 0 ||
      this.users.size > 0 ||
      this.stops.ts.length > 0
    )
      return false
    for (const acc of this.windows.values()) if (!isEmptyAcc(acc)) return false
    return true
  }
}
