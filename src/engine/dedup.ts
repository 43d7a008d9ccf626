/**
 * De-duplication of one partition (spec section 3): an accepted record's event id is
 * remembered with its ts; a later record with that id is a duplicate while the
 * remembered ts is not below the watermark. An id whose ts fell below the watermark is
 * ignored by the ts check (the watermark never goes back), so when eviction runs never
 * changes a verdict.
 *
 * Storage: ids that are canonical UUIDs (almost all) live in an open-addressing table
 * (linear probing) of 32-byte slots in one buffer: a 32-bit hash, the id packed into
 * four words (src/engine/ids.ts) and the ts, so a probe usually reads one cache line
 * and no heap object is kept per id. Other ids live in a Map. Both are exact (no false
 * positives or negatives). Entries below the watermark are dropped by a rebuild when
 * the table fills up.
 */
import { EventKey, hashWords } from './ids.ts'

const EMPTY = 0
const MIN_CAP = 1024
/** Grow when more than this share of the slots is used. */
const MAX_LOAD = 0.7
/** Share of the slots the live ids fill at most right after a rebuild. */
const SHRUNK_LOAD = 0.5
/** Slot layout, in 32-bit words: hash, four id words, a pad, then the ts as a float64 (words 6-7). */
const SLOT = 8

export class Dedup {
  private cap = MIN_CAP
  private mask = MIN_CAP - 1
  private i32 = new Int32Array(MIN_CAP * SLOT)
  private u32 = new Uint32Array(this.i32.buffer)
  private f64 = new Float64Array(this.i32.buffer)
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
  private lastHash = 0
  private lastSlot = 0

  constructor(windowMs: number) {
    this.windowMs = windowMs
  }

  /** Ids held, including those below the watermark not yet dropped by a rebuild. */
  get size(): number {
    return this.count + this.others.size
  }

  /** The slot holding the id in `key` (hash `h`), or the empty slot where it would go. */
  private find(h: number): number {
    const i32 = this.i32
    const u32 = this.u32
    const key = this.key
    const mask = this.mask
    let i = h & mask
    for (;;) {
      const o = i * SLOT
      const x = i32[o]!
      if (x === EMPTY) return i
      if (
        x === h &&
        u32[o + 1] === key[0] &&
        u32[o + 2] === key[1] &&
        u32[o + 3] === key[2] &&
        u32[o + 4] === key[3]
      )
        return i
      i = (i + 1) & mask
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
    const h = hashWords(k.words, 0)
    const i = this.find(h)
    this.lastId = k.id
    this.lastHash = h
    this.lastSlot = i
    return this.i32[i * SLOT] !== EMPTY && this.f64[i * (SLOT / 2) + 3]! >= watermark
  }

  /** Remembers a record just accepted: `seen` said no, so any entry is older. */
  addChecked(k: EventKey, ts: number): void {
    if (k.id === this.lastId) {
      this.lastId = null
      this.key = k.words
      this.put(this.lastSlot, this.lastHash, ts)
    } else this.addKey(k, ts)
  }

  /** Remembers an accepted record read back from a snapshot (in any order: keeps the newest ts). */
  add(id: string, ts: number): void {
    this.addKey(this.scratch.set(id), ts)
  }

  private addKey(k: EventKey, ts: number): void {
    // A second accepted record with the same id always has a later ts (the first one fell below the
    // watermark), so keeping the largest ts also makes a restore independent of replay order.
    this.lastId = null
    if (!k.packed) {
      const t = this.others.get(k.id)
      if (t === undefined || t < ts) this.others.set(k.id, ts)
      return
    }
    this.key = k.words
    const h = hashWords(k.words, 0)
    const i = this.find(h)
    if (this.i32[i * SLOT] !== EMPTY && this.f64[i * (SLOT / 2) + 3]! >= ts) return
    this.put(i, h, ts)
  }

  /** Sets slot `i` to the id in `key` (hash `h`) with `ts`. */
  private put(i: number, h: number, ts: number): void {
    const o = i * SLOT
    this.f64[i * (SLOT / 2) + 3] = ts
    if (this.i32[o] !== EMPTY) return
    this.i32[o] = h
    const u32 = this.u32
    const key = this.key
    u32[o + 1] = key[0]!
    u32[o + 2] = key[1]!
    u32[o + 3] = key[2]!
    u32[o + 4] = key[3]!
    this.count++
    if (this.count > this.cap * MAX_LOAD) this.resize()
  }

  /**
   * The table is full: drops the ids below the watermark, into the smallest table
   * they fill at most half of (so it shrinks after a burst too). Rebuilding only here,
   * not each time the watermark moves, costs O(1) per insert.
   */
  private resize(): void {
    const wm = this.watermark
    let live = 0
    for (let j = 0; j < this.cap; j++)
      if (this.i32[j * SLOT] !== EMPTY && this.f64[j * (SLOT / 2) + 3]! >= wm) live++
    let cap = MIN_CAP
    while (live > cap * SHRUNK_LOAD) cap *= 2
    this.rebuild(cap, wm)
  }

  /** Moves the entries with ts at or above `keepFrom` into a table of `cap` slots. */
  private rebuild(cap: number, keepFrom: number): void {
    const oi = this.i32
    const ou = this.u32
    const of = this.f64
    const n = this.cap
    this.cap = cap
    this.mask = cap - 1
    this.i32 = new Int32Array(cap * SLOT)
    this.u32 = new Uint32Array(this.i32.buffer)
    this.f64 = new Float64Array(this.i32.buffer)
    this.count = 0
    this.lastId = null
    const i32 = this.i32
    const u32 = this.u32
    const mask = this.mask
    for (let j = 0; j < n; j++) {
      const h = oi[j * SLOT]!
      if (h === EMPTY || of[j * (SLOT / 2) + 3]! < keepFrom) continue
      let i = h & mask
      while (i32[i * SLOT] !== EMPTY) i = (i + 1) & mask
      const from = j * SLOT
      const to = i * SLOT
      for (let k = 0; k < SLOT; k++) u32[to + k] = ou[from + k]!
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
