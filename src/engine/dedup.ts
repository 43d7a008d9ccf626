/**
 * De-duplication of one partition (spec section 3): an accepted record's event id is
 * remembered with its ts; a later record with that id is a duplicate while the
 * remembered ts is not below the watermark. An id whose ts fell below the watermark is
 * ignored by the ts check (the watermark never goes back), so when eviction runs never
 * changes a verdict.
 *
 * Storage: an open-addressing table (linear probing) of a 32-bit hash of the id, the
 * ts and the id itself, in parallel typed arrays. A lookup reads the hash array only,
 * except when the hash matches, where the ids are compared exactly (so the table is
 * exact: no false positives or negatives). Entries below the watermark are dropped by a
 * rebuild once per window the watermark passes.
 */

const EMPTY = 0
const MIN_CAP = 1024
/** Grow when more than this share of the slots is used. */
const MAX_LOAD = 0.7
/**
 * Load after an eviction at most. Not much lower than MAX_LOAD: the ids of about one
 * window are evicted at a time, and a table twice as large would stay half empty.
 */
const EVICT_LOAD = 0.6

/** FNV-1a over the UTF-16 code units, then a murmur3 finalizer; never 0 (0 marks an empty slot). */
function hashId(id: string): number {
  let h = 0x811c9dc5 | 0
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h === EMPTY ? 1 : h
}

export class Dedup {
  private cap = MIN_CAP
  private mask = MIN_CAP - 1
  private hashes = new Int32Array(MIN_CAP)
  private ts = new Float64Array(MIN_CAP)
  private ids: (string | undefined)[] = new Array<string | undefined>(MIN_CAP).fill(undefined)
  private count = 0
  private readonly windowMs: number
  /** Window index of the watermark at the last rebuild. */
  private evictedIdx = Number.NEGATIVE_INFINITY
  // The last lookup: where `lastId` is (or would go), so that addChecked does not probe again.
  private lastId: string | null = null
  private lastHash = 0
  private lastSlot = 0

  constructor(windowMs: number) {
    this.windowMs = windowMs
  }

  get size(): number {
    return this.count
  }

  /** The slot holding `id`, or the empty slot where it would go. */
  private find(id: string, h: number): number {
    const hashes = this.hashes
    const mask = this.mask
    let i = h & mask
    for (;;) {
      const x = hashes[i]!
      if (x === EMPTY) return i
      if (x === h && this.ids[i] === id) return i
      i = (i + 1) & mask
    }
  }

  /** True when `id` was accepted before with a ts at or above `watermark` (a duplicate). */
  seenAtOrAbove(id: string, watermark: number): boolean {
    const h = hashId(id)
    const i = this.find(id, h)
    this.lastId = id
    this.lastHash = h
    this.lastSlot = i
    return this.hashes[i] !== EMPTY && this.ts[i]! >= watermark
  }

  /** Remembers a record just accepted: `seenAtOrAbove` said no, so any entry is older. */
  addChecked(id: string, ts: number): void {
    if (id === this.lastId) {
      this.lastId = null
      this.put(this.lastSlot, this.lastHash, id, ts)
    } else {
      const h = hashId(id)
      this.put(this.find(id, h), h, id, ts)
    }
  }

  /** Remembers an accepted record read back from a snapshot (in any order: keeps the newest ts). */
  add(id: string, ts: number): void {
    // A second accepted record with the same id always has a later ts (the first one fell below the
    // watermark), so keeping the largest ts also makes a restore independent of replay order.
    this.lastId = null
    const h = hashId(id)
    const i = this.find(id, h)
    if (this.hashes[i] !== EMPTY && this.ts[i]! >= ts) return
    this.put(i, h, id, ts)
  }

  private put(i: number, h: number, id: string, ts: number): void {
    if (this.hashes[i] !== EMPTY) {
      this.ts[i] = ts
      return
    }
    this.hashes[i] = h
    this.ts[i] = ts
    this.ids[i] = id
    this.count++
    if (this.count > this.cap * MAX_LOAD) this.rebuild(this.cap * 2, Number.NEGATIVE_INFINITY)
  }

  /** Moves the entries with ts at or above `keepFrom` into a table of `cap` slots. */
  private rebuild(cap: number, keepFrom: number): void {
    const oh = this.hashes
    const ots = this.ts
    const oids = this.ids
    this.cap = cap
    this.mask = cap - 1
    this.hashes = new Int32Array(cap)
    this.ts = new Float64Array(cap)
    this.ids = new Array<string | undefined>(cap).fill(undefined)
    this.count = 0
    this.lastId = null
    const hashes = this.hashes
    const mask = this.mask
    for (let j = 0; j < oh.length; j++) {
      const h = oh[j]!
      if (h === EMPTY || ots[j]! < keepFrom) continue
      let i = h & mask
      while (hashes[i] !== EMPTY) i = (i + 1) & mask
      hashes[i] = h
      this.ts[i] = ots[j]!
      this.ids[i] = oids[j]
      this.count++
    }
  }

  /** Forgets the ids below the watermark, once per window the watermark enters. */
  evict(watermark: number): void {
    const idx = Math.floor(watermark / this.windowMs)
    if (idx <= this.evictedIdx) return
    this.evictedIdx = idx
    let live = 0
    for (let j = 0; j < this.cap; j++) if (this.hashes[j] !== EMPTY && this.ts[j]! >= watermark) live++
    if (live === this.count) return
    let cap = MIN_CAP
    while (live > cap * EVICT_LOAD) cap *= 2
    this.rebuild(cap, watermark)
  }
}
