/**
 * The database side of each API endpoint, timed alone: the store function the route
 * calls (SQL round trip plus pg's row parsing), sequentially, in this process. With the
 * HTTP latency next to it, what is left is the API's own work (validation, mapping, JSON).
 */
import { performance } from 'node:perf_hooks'
import type pg from 'pg'
import { ping } from '../../src/store/read/activity.ts'
import { streamStates } from '../../src/store/read/streams.ts'
import { latestWindows, windowsBetween } from '../../src/store/read/windows.ts'
import { median } from './stats.ts'

export async function storeTimings(
  pool: pg.Pool,
  calls = 30,
): Promise<Record<string, { ms: number; rows: number }>> {
  const cases: Record<string, () => Promise<number>> = {
    '/health': async () => {
      await ping(pool)
      return 1
    },
    '/metrics/latest': async () =>
      (await latestWindows(pool, { now: new Date(), finalOnly: false, limit: 1000 })).length,
    '/state': async () => (await streamStates(pool, { limit: 1000 })).length,
    '/metrics/history?minutes=60': async () =>
      (await windowsBetween(pool, { from: new Date(Date.now() - 3_600_000), to: null, limit: 5001 })).length,
  }
  const out: Record<string, { ms: number; rows: number }> = {}
  for (const [name, f] of Object.entries(cases)) {
    const times: number[] = []
    let rows = 0
    for (let i = 0; i < calls; i++) {
      const t0 = performance.now()
      rows = await f()
      times.push(performance.now() - t0)
    }
    out[name] = { ms: median(times), rows }
  }
  return out
}
