/**
 * Events per second from the processor's `accepted_count` totals: every time the API
 * reads the totals it adds a sample; the rate is the slope over the samples of the
 * last `spanMs`. Counters only grow, so a drop means a reset and starts over.
 */
export class RateSampler {
  readonly #spanMs: number
  #samples: Array<{ at: number; total: number }> = []

  constructor(spanMs = 10_000) {
    this.#spanMs = spanMs
  }

  /** Records `total` at time `at` (ms) and returns the current rate (null: not enough data yet). */
  add(at: number, total: number): number | null {
    const last = this.#samples.at(-1)
    if (last !== undefined && total < last.total) this.#samples = []
    if (last === undefined || at > last.at) this.#samples.push({ at, total })
    // Keep one sample older than the span so the slope always covers about spanMs.
    while (this.#samples.length > 2 && this.#samples[1]!.at <= at - this.#spanMs) this.#samples.shift()
    return this.rate()
  }

  rate(): number | null {
    const first = this.#samples[0]
    const last = this.#samples.at(-1)
    if (first === undefined || last === undefined || last.at - first.at < 1000) return null
    return Math.round(((last.total - first.total) * 10_000) / (last.at - first.at)) / 10
  }
}
