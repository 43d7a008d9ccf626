/**
 * The database check of `/health` and `/ready`, on a connection of its own: a pool whose
 * connections are all busy with data requests must not make `/health` say the database is
 * down (an orchestrator would restart a healthy API under load). Concurrent checks share
 * one round-trip, and its answer serves for `reuseMs`, so a flood of probes costs the
 * database one query per interval. Every check is bounded by `timeoutMs` (a database that
 * drops packets is "down" after it, not a hung request).
 */
import pg from 'pg'
import { messageOf } from '../errors/catalogue.ts'
import { PG_TYPES } from '../store/pool.ts'

export type ProbeResult =
  | { readonly ok: true; readonly now: Date; readonly latencyMs: number }
  | { readonly ok: false; readonly error: string }

export class DatabaseProbe {
  readonly #pool: pg.Pool
  readonly #reuseMs: number
  #last: { at: number; result: ProbeResult } | undefined
  #inflight: Promise<ProbeResult> | undefined

  constructor(connection: pg.PoolConfig, options: { timeoutMs?: number; reuseMs?: number } = {}) {
    const timeoutMs = options.timeoutMs ?? 3000
    this.#reuseMs = options.reuseMs ?? 250
    this.#pool = new pg.Pool({
      ...connection,
      max: 1,
      types: PG_TYPES,
      application_name: 'rtsa-api-health',
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
      keepAlive: true,
    })
    // A dropped idle connection is found by the next check; it must not crash the process.
    this.#pool.on('error', () => {})
  }

  /** The database's answer to a trivial query (shared and reused, see above). */
  check(): Promise<ProbeResult> {
    const last = this.#last
    if (last !== undefined && performance.now() - last.at < this.#reuseMs) return Promise.resolve(last.result)
    this.#inflight ??= this.#run().finally(() => {
      this.#inflight = undefined
    })
    return this.#inflight
  }

  async #run(): Promise<ProbeResult> {
    const started = performance.now()
    let result: ProbeResult
    try {
      const r = await this.#pool.query<{ now: Date }>('select now() as now')
      result = {
        ok: true,
        now: r.rows[0]!.now,
        latencyMs: Math.round((performance.now() - started) * 10) / 10,
      }
    } catch (error) {
      result = { ok: false, error: `the database does not answer: ${messageOf(error)}` }
    }
    this.#last = { at: performance.now(), result }
    return result
  }

  async close(): Promise<void> {
    await this.#pool.end().catch(() => {})
  }
}
