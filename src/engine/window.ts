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
   * Instant (ms after the window start, a small integer key) -> change of the present
   * count there (no zero entries). A map, not a sorted array: most changes are
   * provisional timeouts moved by heartbeats, in windows ahead of the newest record;
   * sorting happens only when a row is read.
   */
  readonly pts: Map<number, number>
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
    pts: new Map(),
    joins: 0,
    leaves: 0,
    chat: 0,
    donationsCents: 0,
    donationCount: 0,
    events: 0,
    chatters: null,
  }
}

/** Adds `delta` to the count change at `dt` ms after the window start. */
export function addPoint(acc: WindowAcc, dt: number, delta: number): void {
  const d = (acc.pts.get(dt) ?? 0) + delta
  // Keep the map as small as the live points: a removed interval leaves nothing behind.
  if (d === 0) acc.pts.delete(dt)
  else acc.pts.set(dt, d)
}

/** Users present at the window's last instant, i.e. entering the next window. */
export function nextEntering(acc: WindowAcc | undefined, entering: number): number {
  return acc === undefined ? entering : entering + acc.starts - acc.ends
}

/** Present users `dt` ms after the window start (after everything at that instant). */
export function countAt(acc: WindowAcc | undefined, entering: number, dt: number): number {
  if (acc === undefined) return entering
  let n = entering
  for (const [at, d] of acc.pts) if (at <= dt) n += d
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
  // The count at s is `entering` only when nothing changes at s itself.
  let peak = acc.pts.has(0) ? 0 : entering
  if (acc.pts.size > 0) {
    const times = [...acc.pts.keys()].sort((x, y) => x - y)
    let n = entering
    for (const t of times) {
      n += acc.pts.get(t)!
      if (n > peak) peak = n
    }
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
