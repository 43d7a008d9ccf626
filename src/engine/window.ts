/**
 * Per-window accumulators of one stream, and how a window row is read from them.
 *
 * Viewer metrics are kept as points of the stream's presence intervals instead of
 * per-user flags, so an out-of-order record only changes the points of one user:
 *
 *   entering(w)  users present just before the window (instant s - 1)
 *                = P0 + sum over earlier windows of (starts - ends)
 *   active(w)    = entering(w) + starts(w) - ends(w)            (present at e - 1)
 *   peak(w)      = max over the instants of [s, e) of entering + deltas up to it
 *   unique(w)    = entering(w) + starts(w) - endsAtStart(w) - gaps(w)
 *
 * where a user's intervals are merged (adjacent ones joined, empty ones dropped) and a
 * gap is the time between two intervals of one user that lies inside (s, e): such a
 * user would otherwise be counted twice.
 */
import type { WindowRow } from './types.ts'

export interface WindowAcc {
  /** Interval starts / ends at instants of this window. */
  starts: number
  ends: number
  /** Ends exactly at the window start (absent for the whole window). */
  endsAtStart: number
  /** Gaps between two intervals of one user, inside the window. */
  gaps: number
  /**
   * The change of the present count at each instant (ms after the window start, no
   * zero entries): `at[0..n)` sorted, with the changes in `d`. Most changes are
   * provisional timeouts moved by heartbeats, in windows ahead of the newest record, so
   * a change is first appended to `ops` (a +1 or -1 at an instant, packed as
   * `dt * 2 + (delta > 0 ? 1 : 0)`) and merged only when the window is read or `ops` is
   * full: an append is a store, a merge one native sort.
   */
  at: Float64Array
  d: Float64Array
  n: number
  ops: Float64Array
  opsN: number
  joins: number
  leaves: number
  chat: number
  donationsCents: number
  donationCount: number
  events: number
  chatters: Set<string> | null
}

const NONE = new Float64Array(0)

/**
 * True when the accumulator adds nothing to any row: no record, and every interval
 * point put in was taken out again (an out-of-order record moves points and can leave
 * such a husk behind). It stands for the same as no accumulator at all.
 */
export function isEmptyAcc(a: WindowAcc): boolean {
  return a.events === 0 && a.starts === 0 && a.ends === 0 && a.endsAtStart === 0 && a.gaps === 0
}

export function newWindowAcc(): WindowAcc {
  return {
    starts: 0,
    ends: 0,
    endsAtStart: 0,
    gaps: 0,
    at: NONE,
    d: NONE,
    n: 0,
    ops: new Float64Array(16),
    opsN: 0,
    joins: 0,
    leaves: 0,
    chat: 0,
    donationsCents: 0,
    donationCount: 0,
    events: 0,
    chatters: null,
  }
}

/** Adds `delta` (+1 or -1) to the count change at `dt` ms after the window start. */
export function addPoint(acc: WindowAcc, dt: number, delta: number): void {
  if (acc.opsN === acc.ops.length) {
    // Full: merge when the merged points would free at least half, else grow.
    if (acc.ops.length >= 2 * acc.n + 64) merge(acc)
    else {
      const ops = new Float64Array(acc.ops.length * 2)
      ops.set(acc.ops)
      acc.ops = ops
    }
  }
  acc.ops[acc.opsN++] = dt * 2 + (delta > 0 ? 1 : 0)
}

// Merge output, reused (grown as needed) so that a merge allocates only when a window outgrows its arrays.
let outAt = new Float64Array(256)
let outD = new Float64Array(256)

/** Folds the pending `ops` into the sorted points. */
function merge(acc: WindowAcc): void {
  const m = acc.opsN
  if (m === 0) return
  const ops = acc.ops.subarray(0, m).sort()
  const cap = acc.n + m
  if (outAt.length < cap) {
    outAt = new Float64Array(cap * 2)
    outD = new Float64Array(cap * 2)
  }
  const at = acc.at
  const d = acc.d
  let i = 0
  let j = 0
  let k = 0
  while (i < acc.n || j < m) {
    let t: number
    let v = 0
    const tj = j < m ? Math.floor(ops[j]! / 2) : Number.POSITIVE_INFINITY
    if (i < acc.n && at[i]! <= tj) {
      t = at[i]!
      v = d[i++]!
    } else t = tj
    while (j < m && Math.floor(ops[j]! / 2) === t) v += ops[j++]! % 2 === 1 ? 1 : -1
    if (v !== 0) {
      outAt[k] = t
      outD[k++] = v
    }
  }
  if (at.length < k) {
    acc.at = new Float64Array(Math.max(k * 2, 16))
    acc.d = new Float64Array(Math.max(k * 2, 16))
  }
  acc.at.set(outAt.subarray(0, k))
  acc.d.set(outD.subarray(0, k))
  acc.n = k
  acc.opsN = 0
}

/** Users present at the window's last instant, i.e. entering the next window. */
export function nextEntering(acc: WindowAcc | undefined, entering: number): number {
  return acc === undefined ? entering : entering + acc.starts - acc.ends
}

/** Present users `dt` ms after the window start (after everything at that instant). */
export function countAt(acc: WindowAcc | undefined, entering: number, dt: number): number {
  if (acc === undefined) return entering
  merge(acc)
  let n = entering
  for (let i = 0; i < acc.n && acc.at[i]! <= dt; i++) n += acc.d[i]!
  return n
}

/** The row of window `idx`, or null when the window has no row (no record and nobody present). */
export function windowRow(
  streamId: string,
  idx: number,
  windowMs: number,
  acc: WindowAcc | undefined,
  entering: number,
  isFinal: boolean,
): WindowRow | null {
  const windowStart = idx * windowMs
  if (acc === undefined) {
    if (entering === 0) return null
    return {
      streamId,
      windowStart,
      windowEnd: windowStart + windowMs,
      activeViewers: entering,
      peakViewers: entering,
      uniqueViewers: entering,
      viewerJoins: 0,
      viewerLeaves: 0,
      chatMessages: 0,
      uniqueChatters: 0,
      donationsCents: 0,
      donationCount: 0,
      events: 0,
      isFinal,
    }
  }
  const unique = entering + acc.starts - acc.endsAtStart - acc.gaps
  if (acc.events === 0 && unique === 0) return null
  merge(acc)
  // The count at s is `entering` only when nothing changes at s itself.
  let peak = acc.n > 0 && acc.at[0] === 0 ? 0 : entering
  let n = entering
  for (let i = 0; i < acc.n; i++) {
    n += acc.d[i]!
    if (n > peak) peak = n
  }
  return {
    streamId,
    windowStart,
    windowEnd: windowStart + windowMs,
    activeViewers: entering + acc.starts - acc.ends,
    peakViewers: peak,
    uniqueViewers: unique,
    viewerJoins: acc.joins,
    viewerLeaves: acc.leaves,
    chatMessages: acc.chat,
    uniqueChatters: acc.chatters === null ? 0 : acc.chatters.size,
    donationsCents: acc.donationsCents,
    donationCount: acc.donationCount,
    events: acc.events,
    isFinal,
  }
}
