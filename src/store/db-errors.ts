/**
 * How a failed read is reported: a database that does not answer (or has no schema yet)
 * is POSTGRES_UNREACHABLE and a pool with no free connection POSTGRES_BUSY, which the API
 * answers 503 (with Retry-After); anything else is a failed query.
 * Every read model of src/store runs its queries through {@link readRows}.
 */
import type pg from 'pg'
import { RtsaError } from '../errors/catalogue.ts'

// Connection-level failures: the database is down, restarting, refusing us or gone.
// These become 503 (retry later); anything else the server reports is a failed query.
// SQLSTATE classes: 08 connection, 57 operator intervention (shutdown, terminated),
// 53 insufficient resources, 28 authorization, 3D no such database.
const UNREACHABLE_CLASSES = ['08', '57', '53', '28', '3D']

/** pg-pool's error when no connection of a full pool came free within the connect timeout. */
const POOL_WAIT_TIMEOUT = 'timeout exceeded when trying to connect'

/** Turns a `pg` error into an RtsaError the HTTP layer maps to 503 (unreachable/schema missing) or 500. */
export function classifyDbError(error: unknown): RtsaError {
  if (error instanceof RtsaError) return error
  const e = error as { code?: unknown; message?: unknown; severity?: unknown }
  const code = typeof e?.code === 'string' ? e.code : ''
  const message = typeof e?.message === 'string' ? e.message : String(error)
  if (message === POOL_WAIT_TIMEOUT) {
    // The database answers; every connection of the pool is in use and none came free in time.
    return new RtsaError('POSTGRES_BUSY', 'every database connection is busy; retry shortly', {
      cause: error,
      details: { reason: message },
    })
  }
  // No `severity`: not an error the server reported but a network or client-side
  // connection failure (ECONNREFUSED, timeouts, "Connection terminated unexpectedly").
  const fromServer = typeof e?.severity === 'string'
  const clientBug = error instanceof TypeError || error instanceof RangeError
  const unreachable =
    (!fromServer && !clientBug) ||
    UNREACHABLE_CLASSES.some((c) => code.startsWith(c)) ||
    (code === '55000' && /not currently accepting connections/.test(message))
  if (unreachable) {
    return new RtsaError('POSTGRES_UNREACHABLE', 'the database does not answer', {
      cause: error,
      details: { reason: message },
    })
  }
  if (code === '42P01') {
    // The processor creates the schema; until it has run the API has nothing to read.
    return new RtsaError(
      'POSTGRES_UNREACHABLE',
      'the database schema is not there yet (run the processor once)',
      {
        cause: error,
        retryable: true,
        details: { reason: message },
      },
    )
  }
  return new RtsaError('POSTGRES_QUERY_FAILED', 'a database query failed', {
    cause: error,
    details: { reason: message },
  })
}

/** Runs a read query; a failure becomes {@link classifyDbError}'s error. */
export async function readRows<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  try {
    const result = await pool.query<R>(sql, params)
    return result.rows
  } catch (error) {
    throw classifyDbError(error)
  }
}
