/** autocannon (a devDependency) with the few options and results the API benchmark uses. */
import { createRequire } from 'node:module'

export interface LoadOptions {
  readonly url: string
  readonly connections: number
  /** Seconds. */
  readonly duration: number
  /** Requests per second over all connections; unset: as fast as possible. */
  readonly overallRate?: number
}

export interface LoadResult {
  readonly requestsPerSec: number
  readonly total: number
  readonly p50: number
  readonly p99: number
  readonly max: number
  readonly non2xx: number
  readonly errors: number
  readonly timeouts: number
}

interface AutocannonResult {
  readonly latency: { readonly p50: number; readonly p99: number; readonly max: number }
  readonly requests: { readonly average: number; readonly total: number }
  readonly non2xx: number
  readonly errors: number
  readonly timeouts: number
  readonly duration: number
}

// autocannon ships no types (a plain `import` fails the type check): loaded untyped and
// given the slice of its API used here.
const autocannon = createRequire(import.meta.url)('autocannon') as (
  opts: Record<string, unknown>,
) => Promise<AutocannonResult>

export async function load(o: LoadOptions): Promise<LoadResult> {
  const r = await autocannon({
    url: o.url,
    connections: o.connections,
    duration: o.duration,
    pipelining: 1,
    ...(o.overallRate === undefined ? {} : { overallRate: o.overallRate }),
  })
  return {
    requestsPerSec: r.requests.total / r.duration,
    total: r.requests.total,
    p50: r.latency.p50,
    p99: r.latency.p99,
    max: r.latency.max,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  }
}
