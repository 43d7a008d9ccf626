import pg from 'pg'
import type { PgConnection } from '../config/settings.ts'

// Counts and sums come back as strings by default (int8/numeric); rtsa's int8 values
// (offsets, counters, cents) stay well inside 2^53, so read them as numbers.
pg.types.setTypeParser(20, (v) => Number(v))

/**
 * A connection pool. Idle-client errors (the server restarted) are reported to
 * `onError` instead of crashing the process: the next query reconnects.
 */
export function createPool(
  connection: PgConnection | string,
  options: { max?: number; applicationName?: string; onError?: (error: Error) => void } = {},
): pg.Pool {
  const base = typeof connection === 'string' ? { connectionString: connection } : connection
  const pool = new pg.Pool({
    ...base,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'rtsa',
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  })
  pool.on('error', options.onError ?? (() => {}))
  return pool
}
