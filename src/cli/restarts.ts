/**
 * When `rtsa up` restarts a part that exited: at once-ish with a growing delay, and not
 * forever. Pure (the caller passes the time), so the policy is tested without processes.
 *
 *   running --exit--> waiting (delay 1 s, 2 s, 4 s, ...) --delay over--> running
 *      \--exit, the tries within the window used up--> given up (up reports and exits 1)
 *
 * A part that ran longer than the window before exiting starts counting afresh: a crash a
 * day is restarted every time, a crash loop is stopped after `maxRestarts` tries.
 */
export interface RestartOptions {
  readonly maxRestarts: number
  readonly windowMs: number
  readonly baseDelayMs: number
  readonly maxDelayMs: number
}

export const DEFAULT_RESTARTS: RestartOptions = {
  maxRestarts: 4,
  windowMs: 60_000,
  baseDelayMs: 1000,
  maxDelayMs: 15_000,
}

export type RestartDecision =
  | { readonly action: 'restart'; readonly delayMs: number; readonly attempt: number }
  | { readonly action: 'give-up'; readonly exits: number }

export class RestartPolicy {
  readonly #o: RestartOptions
  /** Exit times within the window (epoch ms). */
  #exits: number[] = []

  constructor(options: RestartOptions = DEFAULT_RESTARTS) {
    this.#o = options
  }

  /** The part exited at `nowMs`: restart it after a delay, or give up. */
  onExit(nowMs: number): RestartDecision {
    this.#exits = [...this.#exits.filter((t) => nowMs - t < this.#o.windowMs), nowMs]
    const attempt = this.#exits.length
    if (attempt > this.#o.maxRestarts) return { action: 'give-up', exits: attempt }
    const delayMs = Math.min(this.#o.maxDelayMs, this.#o.baseDelayMs * 2 ** (attempt - 1))
    return { action: 'restart', delayMs, attempt }
  }

  get maxRestarts(): number {
    return this.#o.maxRestarts
  }
}
