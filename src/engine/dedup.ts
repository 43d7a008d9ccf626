/**
 * De-duplication of one partition (spec section 3): an accepted record's event id is
 * remembered with its ts; a later record with that id is a duplicate while the
 * remembered ts is not below the watermark. Ids are forgotten in whole windows once
 * the watermark passed the window (a copy arriving later is late anyway); an id whose
 * ts fell below the watermark but is not evicted yet is ignored by the ts check, so
 * when eviction runs never changes a verdict.
 */
export class Dedup {
  /**
   * Id -> ts - base. Epoch milliseconds do not fit V8's small integers and would each be
   * a boxed number; relative to `base` (the first ts remembered) they stay small for
   * weeks of event time. Still exact either way: only the memory depends on it.
   */
  private readonly seen = new Map<string, number>()
  private base = Number.NaN
  /** Ids by the window of their ts, for eviction. */
  private readonly byWindow = new Map<number, string[]>()
  private readonly windowMs: number

  constructor(windowMs: number) {
    this.windowMs = windowMs
  }

  get size(): number {
    return this.seen.size
  }

  /** True when `id` was accepted before with a ts at or above `watermark` (a duplicate). */
  seenAtOrAbove(id: string, watermark: number): boolean {
    const rel = this.seen.get(id)
    return rel !== undefined && rel + this.base >= watermark
  }

  /** Remembers a record just accepted: `seenAtOrAbove` said no, so any entry is older. */
  addChecked(id: string, ts: number): void {
    if (Number.isNaN(this.base)) this.base = ts
    this.seen.set(id, ts - this.base)
    this.index(id, ts)
  }

  /** Remembers an accepted record read back from a snapshot (in any order: keeps the newest ts). */
  add(id: string, ts: number): void {
    // A second accepted record with the same id always has a later ts (the first one fell below the
    // watermark), so keeping the largest ts also makes a restore independent of replay order.
    if (Number.isNaN(this.base)) this.base = ts
    const prev = this.seen.get(id)
    if (prev !== undefined && prev + this.base >= ts) return
    this.seen.set(id, ts - this.base)
    this.index(id, ts)
  }

  private index(id: string, ts: number): void {
    const idx = Math.floor(ts / this.windowMs)
    const list = this.byWindow.get(idx)
    if (list === undefined) this.byWindow.set(idx, [id])
    else list.push(id)
  }

  /** Forgets the ids of windows that end at or below the watermark. */
  evict(watermark: number): void {
    const limit = Math.floor(watermark / this.windowMs)
    for (const [idx, ids] of this.byWindow) {
      if (idx >= limit) continue
      for (const id of ids) {
        const rel = this.seen.get(id)
        if (rel !== undefined && rel + this.base < watermark) this.seen.delete(id)
      }
      this.byWindow.delete(idx)
    }
  }
}
