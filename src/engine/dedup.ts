/**
 * De-duplication of one partition (docs/semantics.md section 1): an accepted record's event id is
 * remembered with its ts; a later record with that id is a duplicate while the
 * remembered ts is not below the watermark. An id whose ts fell below the watermark is
 * ignored by the ts check (the watermark never goes back), so when eviction runs never
 * changes a verdict.
 *
 * Storage: ids that are canonical UUIDs (almost all) live in an open-addressing table
 * (linear probing) of 24-byte slots in one buffer: the id packed into four words
 * (src/engine/ids.ts) and the ts, so a probe usually reads one cache line and no heap
 * object is kept per id. Other ids live in a Map. Both are exact (no false
 * positives or negatives). Entries below the watermark are dropped by a rebuild when
 * the table fills up.
 */
import { EventKey, hashWords } from './ids.ts'

const MIN_CAP = 1024
/** Rebuild when more than this share of the slots is used. */
const MAX_LOAD = 0.65
/**
 * Share of the slots the live ids fill right after a rebuild. The table has exactly
 * the size that gives it (not a power of two: a 1.1M-id table would take 4M slots at
 * times), so memory follows the live ids and a rebuild comes after 0.2 x size inserts.
 */
const REBUILT_LOAD = 0.4
/** Slot layout: four id words (32-bit), then the ts as a float64; 24 bytes. */
const SLOT_U32 = 6
const SLOT_F64 = 3
/** The ts of an empty slot (a record's ts is always finite). */
const FREE = Number.NEGATIVE_INFINITY

function table(cap: number): { u32: Uint32Array; f64: Float64Array } {
  const f64 = new Float64Array(cap * SLOT_F64).fill(FREE)
  return { u32: new Uint32Array(f64.buffer), f64 }
}

export class Dedup {
  private cap = MIN_CAP
  private u32: Uint32Array
  private f64: Float64Array
  private count = 0
  /** Ids that are not canonical UUIDs -> newest accepted ts. */
  private readonly others = new Map<string, number>()
  private readonly windowMs: number
  /** The highest watermark given to evict(): ids below it are dead. */
  private watermark = Number.NEGATIVE_INFINITY
  /** Window index of the watermark at the last sweep of `others`. */
  private evictedIdx = Number.NEGATIVE_INFINITY
  /** The id being looked up (packed once). */
  private readonly scratch = new EventKey()
  private key = this.scratch.words
  // The last lookup: where `lastId` is (or would go), so that addChecked does not probe again.
  private lastId: string | null = null
  private lastSlot = 0

  constructor(windowMs: number) {
    this.windowMs = windowMs
    const t = table(MIN_CAP)
    this.u32 = t.u32
    this.f64 = t.f64
  }

  /** Ids held, including those below the watermark not yet dropped by a rebuild. */
  get size(): number {
    return this.count + this.others.size
  }

  /** The slot holding the id in `key`, or the free slot where it would go. */
  private find(): number {
    const u32 = this.u32
    const f64 = this.f64
    const key = this.key
    const cap = this.cap
    const k0 = key[0]!
    let i = (hashWords(key, 0) & 0x7fffffff) % cap
    for (;;) {
      if (f64[i * SLOT_F64 + 2] === FREE) return i
      const o = i * SLOT_U32
      if (u32[o] === k0 && u32[o + 1] === key[1] && u32[o + 2] === key[2] && u32[o + 3] === key[3]) return i
      if (++i === cap) i = 0
    }
  }

  /** True when `id` was accepted before with a ts at or above `watermark` (a duplicate). */
  seenAtOrAbove(id: string, watermark: number): boolean {
    return this.seen(this.scratch.set(id), watermark)
  }

  /** {@link seenAtOrAbove} for an id already packed. */
  seen(k: EventKey, watermark: number): boolean {
    if (!k.packed) {
      this.lastId = null
      const t = this.others.get(k.id)
      return t !== undefined && t >= watermark
    }
    this.key = k.words
    const i = this.find()
    this.lastId = k.id
    this.lastSlot = i
    const ts = this.f64[i * SLOT_F64 + 2]!
    // The watermark is -Infinity before the first record: a free slot must not pass it.
    return ts !== FREE && ts >= watermark
  }

  /** Remembers a record just accepted: `seen` said no, so any entry is older. */
  addChecked(k: EventKey, ts: number): void {
    if (k.id === this.lastId) {
      this.lastId = null
      this.key = k.words
      this.put(this.lastSlot, ts)
    } else this.add(k, ts)
  }

  /** Makes room for `n` more ids at once (a restore knows how many it will add). */
  reserve(n: number): void {
    const want = this.count + n
    if (want > this.cap * MAX_LOAD)
      this.rebuild(Math.max(MIN_CAP, Math.ceil(want / REBUILT_LOAD)), this.watermark)
  }

  /** Remembers an accepted record read back from a snapshot (in any order: keeps the newest ts). */
  add(k: EventKey, ts: number): void {
    // A second accepted record with the same id always has a later ts (the first one fell below the
    // watermark), so keeping the largest ts also makes a restore independent of replay order.
    this.lastId = null
    if (!k.packed) {
      const t = this.others.get(k.id)
      if (t === undefined || t < ts) this.others.set(k.id, ts)
      return
    }
    this.key = k.words
    const i = this.find()
    if (this.f64[i * SLOT_F64 + 2]! >= ts) return
    this.put(i, ts)
  }

  /** Sets slot `i` to the id in `key` with `ts`. */
  private put(i: number, ts: number): void {
    const at = i * SLOT_F64 + 2
    const free = this.f64[at] === FREE
    this.f64[at] = ts
    if (!free) return
    const o = i * SLOT_U32
    const u32 = this.u32
    const key = this.key
    u32[o] = key[0]!
    u32[o + 1] = key[1]!
    u32[o + 2] = key[2]!
    u32[o + 3] = key[3]!
    this.count++
    if (this.count > this.cap * MAX_LOAD) this.resize()
  }

  /**
   * The table is full: drops the ids below the watermark, into a table sized for the
   * live ones (so it shrinks after a burst too). Rebuilding only here, not each time the
   * watermark moves, costs O(1) per insert.
   */
  private resize(): void {
    const wm = this.watermark
    let live = 0
    for (let j = 0; j < this.cap; j++) {
      const ts = this.f64[j * SLOT_F64 + 2]!
      if (ts !== FREE && ts >= wm) live++
    }
    this.rebuild(Math.max(MIN_CAP, Math.ceil(live / REBUILT_LOAD)), wm)
  }

  /** Moves the entries with ts at or above `keepFrom` into a table of `cap` slots. */
  private rebuild(cap: number, keepFrom: number): void {
    const ou = this.u32
    const of = this.f64
    const n = this.cap
    const t = table(cap)
    this.cap = cap
    this.u32 = t.u32
    this.f64 = t.f64
    this.count = 0
    this.lastId = null
    const u32 = t.u32
    const f64 = t.f64
    for (let j = 0; j < n; j++) {
      const ts = of[j * SLOT_F64 + 2]!
      if (ts === FREE || ts < keepFrom) continue
      const from = j * SLOT_U32
      let i = (hashWords(ou, from) & 0x7fffffff) % cap
      while (f64[i * SLOT_F64 + 2] !== FREE) if (++i === cap) i = 0
      const to = i * SLOT_U32
      u32[to] = ou[from]!
      u32[to + 1] = ou[from + 1]!
      u32[to + 2] = ou[from + 2]!
      u32[to + 3] = ou[from + 3]!
      f64[i * SLOT_F64 + 2] = ts
      this.count++
    }
  }

  /**
   * Notes the watermark: ids below it are forgotten at the next rebuild (the ts check
   * already ignores them). The id map is swept once per window the watermark enters.
   */
  evict(watermark: number): void {
    if (watermark > this.watermark) this.watermark = watermark
    const idx = Math.floor(watermark / this.windowMs)
    if (idx <= this.evictedIdx) return
    this.evictedIdx = idx
    for (const [id, t] of this.others) if (t < watermark) this.others.delete(id)
  }
}
