/**
 * One user's presence in one stream, replayed in event-time order.
 *
 * A user's state above the fold frontier F is: a base (present just before F, and the
 * last activity then), the user's own pending records (ts >= F, sorted by ts then
 * event id), and the stream's pending stream_stop records. Replaying them gives the
 * user's presence intervals from F on, the last one ending at its provisional timeout.
 *
 *              join                          leave / stream_stop / timeout (a + T)
 *   ABSENT ─────────────▶ PRESENT(from, a) ─────────────────────────────────────▶ ABSENT
 *     │  ▲                  │  ▲
 *     └──┘ leave, hb,       └──┘ join, heartbeat, chat, donation: a = t
 *          chat, donation
 *
 * Before a record at t, a present user with a + T <= t times out at a + T (a timeout
 * at the instant of a record comes first). Intervals are half-open [from, until);
 * an interval that starts where the previous one ended continues it, and an empty
 * one (join and leave at the same instant, in that order) is dropped.
 */

import { type EventKey, unpackId } from './ids.ts'

/** Presence-relevant record kinds of a user. stream_start changes nothing and is not kept. */
export const JOIN = 0
export const LEAVE = 1
export const REFRESH = 2

export interface User {
  readonly id: string
  /**
   * Where the user's three timestamps are in the partition's {@link UserTimes}: the last
   * activity before the fold frontier F (`at`), and the tail state's interval start
   * (`at + 1`) and last activity (`at + 2`).
   */
  readonly at: number
  /** Present just before the fold frontier F (its last activity then: {@link UserTimes}). */
  basePresent: boolean
  /** Pending own records, sorted by (ts, event id): a list in the partition's {@link Pending} pool (-1: none). */
  pHead: number
  pTail: number
  pCount: number
  /** Provisional intervals from F on, flat [from0, until0, from1, until1, ...]; a carried start is -Infinity. */
  iv: number[]
  /** State after all pending records and stops (the last interval of `iv` is its provisional timeout). */
  tPresent: boolean
}

/**
 * The users' timestamps, three float64 per user in one array. V8 keeps each float field
 * of an object as a separate 16-byte heap number, so on the user object they cost 72
 * bytes per user, here 24.
 */
export class UserTimes {
  v = new Float64Array(3 * 1024)
  private readonly free: number[] = []
  private used = 0

  /** A zeroed slot; returns its first index. */
  alloc(): number {
    let at = this.free.pop()
    if (at === undefined) {
      at = this.used
      this.used += 3
      if (this.used > this.v.length) {
        const v = new Float64Array(grown(this.v.length / 3) * 3)
        v.set(this.v)
        this.v = v
      }
    }
    this.v[at] = 0
    this.v[at + 1] = 0
    this.v[at + 2] = 0
    return at
  }

  release(at: number): void {
    this.free.push(at)
  }
}

/**
 * The next capacity of a growing table: 1.5 times, not 2, so that a table is on average
 * 83% used instead of 75% (it holds the state of a million viewers for long).
 */
function grown(n: number): number {
  return Math.ceil(n * 1.5)
}

/** Base last activity, tail interval start, tail last activity: offsets from `User.at`. */
export const BASE_LAST = 0
export const T_FROM = 1
export const T_LAST = 2

export function newUser(id: string, times: UserTimes): User {
  return {
    id,
    at: times.alloc(),
    basePresent: false,
    pHead: -1,
    pTail: -1,
    pCount: 0,
    iv: [],
    tPresent: false,
  }
}

/**
 * The pending records of the users of one partition, struct-of-arrays: a record is a
 * slot (ts, kind, event id) linked to the next record of its user, so a user costs no
 * arrays of its own. An event id is packed into four words (src/engine/ids.ts), or kept
 * in `strs` when it is not a canonical UUID; ids are read only to order records with
 * equal ts. Freed slots are reused.
 */
export class Pending {
  ts = new Float64Array(1024)
  kind = new Uint8Array(1024)
  next = new Int32Array(1024)
  words = new Uint32Array(1024 * 4)
  /** Ids of the slots whose id is not packed. */
  private readonly strs = new Map<number, string>()
  private free = -1
  private used = 0

  alloc(ts: number, key: EventKey, kind: number): number {
    let i = this.free
    if (i !== -1) this.free = this.next[i]!
    else {
      i = this.used++
      if (i === this.ts.length) this.grow()
    }
    if (key.packed) {
      const w = this.words
      const o = i * 4
      const k = key.words
      w[o] = k[0]!
      w[o + 1] = k[1]!
      w[o + 2] = k[2]!
      w[o + 3] = k[3]!
    } else this.strs.set(i, key.id)
    this.ts[i] = ts
    this.kind[i] = kind
    this.next[i] = -1
    return i
  }

  release(i: number): void {
    if (this.strs.size > 0) this.strs.delete(i)
    this.next[i] = this.free
    this.free = i
  }

  /** The event id of slot `i`. */
  id(i: number): string {
    return this.strs.get(i) ?? unpackId(this.words, i * 4)
  }

  /** Makes room for `n` more records at once (a restore knows how many it will add). */
  reserve(n: number): void {
    if (this.used + n > this.ts.length) this.grow(this.used + n)
  }

  private grow(n = grown(this.ts.length)): void {
    const ts = new Float64Array(n)
    ts.set(this.ts)
    this.ts = ts
    const kind = new Uint8Array(n)
    kind.set(this.kind)
    this.kind = kind
    const next = new Int32Array(n)
    next.set(this.next)
    this.next = next
    const words = new Uint32Array(n * 4)
    words.set(this.words)
    this.words = words
  }
}

/** The stream's pending stream_stop records, sorted by (ts, event id). */
export interface Stops {
  readonly ts: number[]
  readonly id: string[]
}

/** Orders (ts, id) pairs as the spec does: event time, then event id by plain string comparison. */
export function before(t1: number, id1: string, t2: number, id2: string): boolean {
  return t1 < t2 || (t1 === t2 && id1 < id2)
}

/** `before(t, id, <pooled record k>)`, reading the pooled id only on a tie. */
function beforeAt(t: number, id: string, pool: Pending, k: number): boolean {
  const tk = pool.ts[k]!
  return t < tk || (t === tk && id < pool.id(k))
}

/** `before(<pooled record k>, t, id)`, reading the pooled id only on a tie. */
function pooledBefore(pool: Pending, k: number, t: number, id: string): boolean {
  const tk = pool.ts[k]!
  return tk < t || (tk === t && pool.id(k) < id)
}

/** Inserts a record into the user's pending list; returns true when it went last (the common case). */
export function insertPending(u: User, pool: Pending, ts: number, key: EventKey, kind: number): boolean {
  const i = pool.alloc(ts, key, kind)
  const id = key.id
  u.pCount++
  const tail = u.pTail
  if (tail === -1) {
    u.pHead = i
    u.pTail = i
    return true
  }
  const pts = pool.ts
  // Usually later than the tail: decided on ts alone, without reading the tail's id.
  const tailTs = pts[tail]!
  if (ts > tailTs || (ts === tailTs && id >= pool.id(tail))) {
    pool.next[tail] = i
    u.pTail = i
    return true
  }
  // Before the first record that sorts after it (after every equal one, as a stable insert).
  const next = pool.next
  let prev = -1
  let k = u.pHead
  while (!beforeAt(ts, id, pool, k)) {
    prev = k
    k = next[k]!
  }
  next[i] = k
  if (prev === -1) u.pHead = i
  else next[prev] = i
  return false
}

/** Drops the user's pending records before `frontier` (they are folded into the base). */
export function dropBefore(u: User, pool: Pending, frontier: number): void {
  let k = u.pHead
  while (k !== -1 && pool.ts[k]! < frontier) {
    const n = pool.next[k]!
    pool.release(k)
    u.pCount--
    k = n
  }
  u.pHead = k
  if (k === -1) u.pTail = -1
}

// The replay machine. Module-level registers avoid allocating a state object per replay.
let present = false
let from = 0
let last = 0
let out: number[] = []
/** Where replays build their intervals (copied out at the end). */
const scratch: number[] = []

function close(until: number): void {
  if (from < until) out.push(from, until)
  present = false
}

function open(t: number): void {
  const n = out.length
  // Continuing where the previous interval ended keeps one interval (no dip, no gap).
  if (n > 0 && out[n - 1] === t) {
    from = out[n - 2]!
    out.length = n - 2
  } else from = t
  present = true
}

function step(t: number, kind: number, timeoutMs: number): void {
  if (present && last + timeoutMs <= t) close(last + timeoutMs)
  if (kind === JOIN) {
    if (!present) open(t)
    last = t
  } else if (kind === REFRESH) {
    if (present) last = t
  } else if (present) close(t) // LEAVE, or a stream_stop (kind -1)
}

/** Sets the replay state to the user's base, collecting intervals in the shared scratch array. */
function startFromBase(u: User, times: UserTimes): void {
  present = u.basePresent
  from = Number.NEGATIVE_INFINITY
  last = times.v[u.at + BASE_LAST]!
  scratch.length = 0
  out = scratch
}

/** Replays the user from its base over all pending records and stops; sets `iv` and the tail state. */
export function replayUser(u: User, pool: Pending, times: UserTimes, stops: Stops, timeoutMs: number): void {
  startFromBase(u, times)
  const pTs = pool.ts
  const pNext = pool.next
  const sTs = stops.ts
  let i = u.pHead
  let j = 0
  while (i !== -1 || j < sTs.length) {
    if (j >= sTs.length || (i !== -1 && pooledBefore(pool, i, sTs[j]!, stops.id[j]!))) {
      step(pTs[i]!, pool.kind[i]!, timeoutMs)
      i = pNext[i]!
    } else {
      step(sTs[j]!, -1, timeoutMs)
      j++
    }
  }
  finish(u, times, timeoutMs)
  // A copy of exactly the intervals: a pushed-to array keeps 16 or more spare slots per user.
  u.iv = out.slice()
}

/**
 * Applies one record that sorts after every pending record and stop of the user,
 * continuing from the tail state (O(1) instead of a replay). Sets `u.iv`: the same array
 * changed in place, or a new one (read `u.iv` again afterwards).
 */
export function appendUser(u: User, times: UserTimes, t: number, kind: number, timeoutMs: number): void {
  present = u.tPresent
  from = times.v[u.at + T_FROM]!
  last = times.v[u.at + T_LAST]!
  // In place: the caller saved the provisional interval it needs for the diff.
  out = u.iv
  if (present) out.length -= 2
  step(t, kind, timeoutMs)
  finish(u, times, timeoutMs)
}

function finish(u: User, times: UserTimes, timeoutMs: number): void {
  u.tPresent = present
  times.v[u.at + T_FROM] = from
  times.v[u.at + T_LAST] = last
  // The provisional end: the timeout, unless a later record refreshes or ends it.
  if (out === scratch) {
    // A replay: replayUser copies the scratch intervals out at their size.
    if (present) out.push(from, last + timeoutMs)
    return
  }
  // In place (appendUser). A user keeps its array for long, so it gets one of exactly its
  // size: a push would leave 17 spare slots (136 bytes) in the array of each present user.
  u.iv = present ? out.concat(from, last + timeoutMs) : out
}

/**
 * After the fold frontier moved to `frontier` (the base is the state just before it):
 * drops the intervals that ended before it and carries the one across it (start
 * -Infinity). Gives what a replay from the new base gives, without the replay: the
 * state machine is the same from the frontier on, only the starts before it are lost.
 * An interval ending exactly at the frontier stays (the user is present just before it).
 */
export function trimBefore(u: User, times: UserTimes, frontier: number): void {
  const iv = u.iv
  let k = 0
  while (k < iv.length && iv[k + 1]! < frontier) k += 2
  if (k > 0) u.iv = iv.slice(k)
  if (u.iv.length > 0 && u.iv[0]! < frontier) u.iv[0] = Number.NEGATIVE_INFINITY
  const tFrom = u.at + T_FROM
  if (u.tPresent && times.v[tFrom]! < frontier) times.v[tFrom] = Number.NEGATIVE_INFINITY
}

/**
 * The base just before `frontier` (> current F), from the current base and the
 * pending records and stops before `frontier`. Returns [present, last].
 */
export function baseAt(
  u: User,
  pool: Pending,
  times: UserTimes,
  stops: Stops,
  timeoutMs: number,
  frontier: number,
): [boolean, number] {
  startFromBase(u, times)
  const pTs = pool.ts
  const sTs = stops.ts
  let i = u.pHead
  let j = 0
  for (;;) {
    const ri = i !== -1 && pTs[i]! < frontier
    const sj = j < sTs.length && sTs[j]! < frontier
    if (!ri && !sj) break
    if (!sj || (ri && pooledBefore(pool, i, sTs[j]!, stops.id[j]!))) {
      step(pTs[i]!, pool.kind[i]!, timeoutMs)
      i = pool.next[i]!
    } else {
      step(sTs[j]!, -1, timeoutMs)
      j++
    }
  }
  // A timeout at the frontier itself still leaves the user present just before it.
  if (present && last + timeoutMs < frontier) present = false
  return [present, last]
}
