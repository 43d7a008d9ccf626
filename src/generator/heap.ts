/**
 * A min-heap ordered by `(at, seq)`: time first, then insertion order, so that ties
 * are broken the same way in every run (the generator must be deterministic).
 *
 * Performance matters: the model keeps one entry per viewer (hundreds of thousands at
 * 100k events/s) and does a pop and a push per event. The keys live in typed arrays
 * (not in the items), and the heap is 4-ary, so a sift touches few, adjacent cache
 * lines instead of chasing one object pointer per level: about 3x faster than a binary
 * heap of objects at 700k entries.
 */
export interface Scheduled {
  /** When, in the caller's unit (the generator uses epoch microseconds). */
  at: number
  /** Tie-breaker, set by the heap on push. */
  seq: number
}

export class TimeHeap<T extends Scheduled> {
  #at = new Float64Array(1024)
  #seqs = new Float64Array(1024)
  #items: (T | undefined)[] = new Array(1024)
  #n = 0
  #seq = 0

  get size(): number {
    return this.#n
  }

  /** The earliest item, without removing it. */
  peek(): T | undefined {
    return this.#n > 0 ? this.#items[0] : undefined
  }

  /** Adds `item` at its current `item.at` (later changes to `item.at` are not seen until it is pushed again). */
  push(item: T): void {
    if (this.#n === this.#at.length) this.#grow()
    const at = item.at
    const seq = this.#seq++
    item.seq = seq
    const keys = this.#at
    const seqs = this.#seqs
    const items = this.#items
    let i = this.#n++
    while (i > 0) {
      const parent = (i - 1) >> 2
      const pa = keys[parent]!
      if (pa < at || (pa === at && seqs[parent]! < seq)) break
      keys[i] = pa
      seqs[i] = seqs[parent]!
      items[i] = items[parent]
      i = parent
    }
    keys[i] = at
    seqs[i] = seq
    items[i] = item
  }

  /** Removes and returns the earliest item. */
  pop(): T | undefined {
    const n = this.#n
    if (n === 0) return undefined
    const items = this.#items
    const top = items[0]
    const last = n - 1
    this.#n = last
    if (last === 0) {
      items[0] = undefined
      return top
    }
    const keys = this.#at
    const seqs = this.#seqs
    const at = keys[last]!
    const seq = seqs[last]!
    const item = items[last]
    items[last] = undefined
    let i = 0
    for (;;) {
      const first = 4 * i + 1
      if (first >= last) break
      // The smallest of up to four children.
      let c = first
      let ca = keys[first]!
      let cs = seqs[first]!
      const end = Math.min(first + 4, last)
      for (let j = first + 1; j < end; j++) {
        const ja = keys[j]!
        if (ja < ca || (ja === ca && seqs[j]! < cs)) {
          c = j
          ca = ja
          cs = seqs[j]!
        }
      }
      if (at < ca || (at === ca && seq < cs)) break
      keys[i] = ca
      seqs[i] = cs
      items[i] = items[c]
      i = c
    }
    keys[i] = at
    seqs[i] = seq
    items[i] = item
    return top
  }

  #grow(): void {
    const size = this.#at.length * 2
    const at = new Float64Array(size)
    at.set(this.#at)
    const seqs = new Float64Array(size)
    seqs.set(this.#seqs)
    this.#at = at
    this.#seqs = seqs
    this.#items.length = size
  }
}
