/**
 * The longer windows of one stream (WINDOWS after the first: 1 hour and 1 day by
 * default), exact in every column of docs/semantics.md section 4, made from the base
 * windows (docs/semantics.md section 8):
 *
 *   folded part [S, F)   the final base rows the folds passed, composed into a RollupAcc:
 *                        sums added, the largest peak, the last base window's active
 *                        viewers, and the distinct viewers and chatters as sets of ids
 *   live part  [F, E)    read from the live base windows and users when a row is emitted
 *
 * A row is final once the fold frontier reaches the window's end: the folded part is the
 * whole window then. A provisional row is the folded part joined with the live part
 * (viewers assumed to time out, as for base rows). Unique viewers and chatters are the
 * only columns that need identities; nothing else is kept per user.
 *
 * A longer window's row over its life (as for base windows, see stream.ts):
 *
 *   (no row) ──a base row in it──▶ PROVISIONAL ──frontier >= end──▶ FINAL (emitted once, acc dropped)
 *                                   └── no base row left ──▶ removed
 */
import type { Reader, Writer } from './codec.ts'
import type { RollupKey, WindowRow } from './types.ts'
import type { WindowAcc } from './window.ts'

/** One longer resolution of a partition: its length, and the first window it emits. */
export interface Resolution {
  readonly ms: number
  /**
   * Windows before this index began before the resolution was configured for stored
   * state (an earlier build, or another WINDOWS): their first part is gone, so they get
   * no row at all. -Infinity: every window.
   */
  startIdx: number
}

/** The figures of a longer window that compose from its final base rows. */
interface RollupSums {
  events: number
  joins: number
  leaves: number
  chat: number
  donationsCents: number
  donationCount: number
  peak: number
  /**
   * Users present at the window's last instant: set when its last base window is folded
   * (in a delta, -1: the fold did not reach it).
   */
  active: number
}

/** The folded part of one open longer window. */
export interface RollupAcc extends RollupSums {
  readonly viewers: Set<string>
  readonly chatters: Set<string>
}

/** What one fold added to one longer window: stored in a rollup piece, replayed on restore. */
export interface RollupDelta extends RollupSums {
  readonly streamId: string
  readonly ms: number
  readonly idx: number
  readonly viewers: string[]
  readonly chatters: string[]
}

const noSums = (active: number): RollupSums => ({
  events: 0,
  joins: 0,
  leaves: 0,
  chat: 0,
  donationsCents: 0,
  donationCount: 0,
  peak: 0,
  active,
})

/** What folds and provisional passes of one batch produce for the longer windows. */
export interface RollupOut {
  readonly rows: WindowRow[]
  readonly removed: RollupKey[]
  readonly deltas: RollupDelta[]
}

export function newRollupAcc(): RollupAcc {
  return { ...noSums(0), viewers: new Set(), chatters: new Set() }
}

export function newDelta(streamId: string, ms: number, idx: number): RollupDelta {
  return { streamId, ms, idx, ...noSums(-1), viewers: [], chatters: [] }
}

/** Adds a final base row (and its accumulator's chatters) to a longer window's folded part and its delta. */
export function addFinalRow(
  a: RollupAcc,
  d: RollupDelta,
  row: WindowRow,
  acc: WindowAcc | undefined,
  end: number,
): void {
  a.events += row.events
  d.events += row.events
  a.joins += row.viewerJoins
  d.joins += row.viewerJoins
  a.leaves += row.viewerLeaves
  d.leaves += row.viewerLeaves
  a.chat += row.chatMessages
  d.chat += row.chatMessages
  a.donationsCents += row.donationsCents
  d.donationsCents += row.donationsCents
  a.donationCount += row.donationCount
  d.donationCount += row.donationCount
  if (row.peakViewers > a.peak) a.peak = row.peakViewers
  if (row.peakViewers > d.peak) d.peak = row.peakViewers
  if (row.windowEnd === end) {
    a.active = row.activeViewers
    d.active = row.activeViewers
  }
  if (acc?.chatters)
    for (const c of acc.chatters) {
      if (!a.chatters.has(c)) {
        a.chatters.add(c)
        d.chatters.push(c)
      }
    }
}

/** Replays a stored delta into the folded part (restore). */
export function applyDelta(a: RollupAcc, d: RollupDelta): void {
  a.events += d.events
  a.joins += d.joins
  a.leaves += d.leaves
  a.chat += d.chat
  a.donationsCents += d.donationsCents
  a.donationCount += d.donationCount
  if (d.peak > a.peak) a.peak = d.peak
  if (d.active >= 0) a.active = d.active
  for (const v of d.viewers) a.viewers.add(v)
  for (const c of d.chatters) a.chatters.add(c)
}

/** The final row of a longer window from its folded part (the whole window). */
export function finalRollupRow(streamId: string, idx: number, ms: number, a: RollupAcc): WindowRow {
  return {
    streamId,
    windowStart: idx * ms,
    windowEnd: (idx + 1) * ms,
    activeViewers: a.active,
    peakViewers: a.peak,
    uniqueViewers: a.viewers.size,
    viewerJoins: a.joins,
    viewerLeaves: a.leaves,
    chatMessages: a.chat,
    uniqueChatters: a.chatters.size,
    donationsCents: a.donationsCents,
    donationCount: a.donationCount,
    events: a.events,
    isFinal: true,
  }
}

/** Writes the deltas of one fold (a rollup piece's body, after its kind). */
export function writeDeltas(w: Writer, seq: number, maxEnd: number, deltas: readonly RollupDelta[]): void {
  w.uint(seq)
  w.f64(maxEnd)
  w.uint(deltas.length)
  // Sorted: the same state gives the same bytes, whatever the order of the maps (restores included).
  const sorted = [...deltas].sort((a, b) =>
    a.streamId !== b.streamId ? (a.streamId < b.streamId ? -1 : 1) : a.ms - b.ms || a.idx - b.idx,
  )
  for (const d of sorted) {
    d.viewers.sort()
    d.chatters.sort()
    w.str(d.streamId)
    w.f64(d.ms)
    w.f64(d.idx)
    w.uint(d.events)
    w.uint(d.joins)
    w.uint(d.leaves)
    w.uint(d.chat)
    w.f64(d.donationsCents)
    w.uint(d.donationCount)
    w.uint(d.peak)
    w.uint(d.active + 1)
    w.uint(d.viewers.length)
    for (const v of d.viewers) w.str(v)
    w.uint(d.chatters.length)
    for (const c of d.chatters) w.str(c)
  }
}

export function readDeltas(r: Reader): { seq: number; maxEnd: number; deltas: RollupDelta[] } {
  const seq = r.uint()
  const maxEnd = r.f64()
  const deltas: RollupDelta[] = []
  for (let n = r.uint(); n > 0; n--) {
    const d = newDelta(r.str(), r.f64(), r.f64())
    d.events = r.uint()
    d.joins = r.uint()
    d.leaves = r.uint()
    d.chat = r.uint()
    d.donationsCents = r.f64()
    d.donationCount = r.uint()
    d.peak = r.uint()
    d.active = r.uint() - 1
    for (let k = r.uint(); k > 0; k--) d.viewers.push(r.str())
    for (let k = r.uint(); k > 0; k--) d.chatters.push(r.str())
    deltas.push(d)
  }
  return { seq, maxEnd, deltas }
}

/** Whether a user's flat intervals [from, until, ...] hold an instant of [lo, hi). */
export function presentIn(iv: readonly number[], lo: number, hi: number): boolean {
  for (let i = 0; i < iv.length; i += 2)
    if (iv[i]! < hi && iv[i + 1]! > lo && iv[i]! < iv[i + 1]!) return true
  return false
}
