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
  /** Instants (ascending, unique) where the present count changes, and by how much. */
  readonly pts: number[]
  readonly dls: number[]
  joins: number
  leaves: number
  chat: number
  donationsCents: number
  donationCount: number
  events: number
  chatters: Set<string> | null
}

export function newWindowAcc(): WindowAcc {
  return {
    starts: 0,
    ends: 0,
    endsAtStart: 0,
    gaps: 0,
    pts: [],
    dls: [],
    joins: 0,
    leaves: 0,
    chat: 0,
    donationsCents: 0,
    donationCount: 0,
    events: 0,
    chatters: null,
  }
}

/** Adds `delta` to the count change at instant `t` (usually the newest instant: scan from the end). */
export function addPoint(acc: WindowAcc, t: number, delta: number): void {
  const pts = acc.pts
  let i = pts.length
  while (i > 0 && pts[i - 1]! > t) i--
  if (i > 0 && pts[i - 1] === t) {
    const d = acc.dls[i - 1]! + delta
    if (d === 0) {
      // Keep the arrays as small as the live points: a removed interval leaves nothing behind.
      pts.splice(i - 1, 1)
      acc.dls.splice(i - 1, 1)
    } else acc.dls[i - 1] = d
    return
  }
  if (i === pts.length) {
    pts.push(t)
    acc.dls.push(delta)
  } else {
    pts.splice(i, 0, t)
    acc.dls.splice(i, 0, delta)
  }
}

/** True when the window has no record and no point (its row depends on `entering` only). */
export function hasRecordsOrPoints(acc: WindowAcc): boolean {
  return acc.events > 0 || acc.pts.length > 0 || acc.starts !== 0 || acc.ends !== 0 || acc.gaps !== 0
}

/** Users present at the window's last instant, i.e. entering the next window. */
export function nextEntering(acc: WindowAcc | undefined, entering: number): number {
  return acc === undefined ? entering : entering + acc.starts - acc.ends
}

/** Present users at instant `t` of the window (after everything at `t`). */
export function countAt(acc: WindowAcc | undefined, entering: number, t: number): number {
  if (acc === undefined) return entering
  let n = entering
  const pts = acc.pts
  for (let i = 0; i < pts.length && pts[i]! <= t; i++) n += acc.dls[i]!
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
  const pts = acc.pts
  // The count at s is `entering` only when nothing changes at s itself.
  let peak = pts.length > 0 && pts[0] === windowStart ? 0 : entering
  let n = entering
  for (let i = 0; i < pts.length; i++) {
    n += acc.dls[i]!
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
