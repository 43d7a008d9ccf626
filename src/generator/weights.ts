/**
 * Weighted choice among items whose weights change (streams going live and offline):
 * a Fenwick tree over integer weights, so a pick and an update both cost O(log n) even
 * with a million streams. Weights are integers so that sums are exact (no drift after
 * many updates, and an item of weight 0 can never be picked).
 */
export class WeightedPicker {
  readonly #tree: Float64Array
  readonly #weights: Float64Array
  #total = 0
  #top = 1

  constructor(size: number) {
    this.#tree = new Float64Array(size + 1)
    this.#weights = new Float64Array(size)
    while (this.#top * 2 <= size) this.#top *= 2
  }

  /** Sum of all weights. */
  get total(): number {
    return this.#total
  }

  /** Sets item `i`'s weight (a non-negative integer below 2^40). */
  set(i: number, weight: number): void {
    const delta = weight - this.#weights[i]!
    if (delta === 0) return
    this.#weights[i] = weight
    this.#total += delta
    for (let j = i + 1; j < this.#tree.length; j += j & -j) this.#tree[j]! += delta
  }

  /**
   * The item at cumulative position `r` in [0, total): item i is chosen for
   * r in [sum of weights before i, that + weight i). Uniform `r` picks by weight.
   */
  find(r: number): number {
    let pos = 0
    let rest = r
    for (let step = this.#top; step > 0; step >>= 1) {
      const next = pos + step
      if (next < this.#tree.length && this.#tree[next]! <= rest) {
        pos = next
        rest -= this.#tree[next]!
      }
    }
    return pos // 0-based index of the item: `pos` 1-based slots were skipped
  }
}

/**
 * Zipf-like integer weights for `n` ranks: weight(rank) proportional to 1 / rank^s,
 * none below 1, and scaled so that even their sum stays an exact integer in a double
 * (below 2^52). With s ~ 1 a few ranks are big and the long tail is small, like stream
 * audiences.
 */
export function zipfIntegerWeights(n: number, s: number): number[] {
  const scale = Math.min(2 ** 40, Math.floor(2 ** 52 / Math.max(1, n)))
  return Array.from({ length: n }, (_, i) => Math.max(1, Math.round(scale / (i + 1) ** s)))
}
