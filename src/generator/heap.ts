/**
 * A binary min-heap ordered by `(at, seq)`: time first, then insertion order, so that
 * ties are broken the same way in every run (the generator must be deterministic).
 */
export interface Scheduled {
  /** When, in the caller's unit (the generator uses epoch microseconds). */
  at: number
  /** Tie-breaker, set by the heap on push. */
  seq: number
}

export class TimeHeap<T extends Scheduled> {
  readonly #items: T[] = []
  #seq = 0

  get size(): number {
    return this.#items.length
  }

  /** The earliest item, without removing it. */
  peek(): T | undefined {
    return this.#items[0]
  }

  push(item: T): void {
    item.seq = this.#seq++
    const items = this.#items
    items.push(item)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      const p = items[parent]!
      if (!before(item, p)) break
      items[i] = p
      i = parent
    }
    items[i] = item
  }

  /** Removes and returns the earliest item. */
  pop(): T | undefined {
    const items = this.#items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined || items.length === 0) return top
    const n = items.length
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const c = r < n && before(items[r]!, items[l]!) ? r : l
      const child = items[c]!
      if (!before(child, last)) break
      items[i] = child
      i = c
    }
    items[i] = last
    return top
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}
