import pg from 'pg'
import type { PgConnection } from '../config/settings.ts'

const INT8_OID = 20

/**
 * rtsa's one convention for bigints, given to every pool and client it opens (never set
 * globally, so importing a module changes nothing): int8 comes back as a JS number (pg's
 * default is a string). rtsa's int8 values (offsets, counters, cents, ids) stay well inside
 * 2^53; sums are cast back to bigint in SQL (sum() is numeric). The only text is what the
 * API serves as a 64-bit string on purpose (dead-letter ids and offsets).
 */
export const PG_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
}

/**
 * A connection pool: every service of rtsa makes its pool here. Idle-client errors (the server restarted) are reported to
 * `onError` instead of crashing the process: the next query reconnects.
 */
export function createPool(
  connection: PgConnection | string,
  options: {
    max?: number
    applicationName?: string
    onError?: (error: Error) => void
    /** Aborts a transaction left idle this long (a frozen client must not hold locks forever). */
    idleInTransactionTimeoutMs?: number
    /** Gives up waiting for a lock after this long (the caller retries). */
    lockTimeoutMs?: number
    /** Gives up connecting after this long (default 10 s). */
    connectionTimeoutMs?: number
    /** Cancels a statement running this long (on the server). */
    statementTimeoutMs?: number
    /**
     * Fails a query with no answer after this long (in the client): what notices a server
     * that drops packets instead of refusing them (a network partition), where a
     * server-side timeout never reports back.
     */
    queryTimeoutMs?: number
  } = {},
): pg.Pool {
  const base = typeof connection === 'string' ? { connectionString: connection } : connection
  const pool = new pg.Pool({
    ...base,
    types: PG_TYPES,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'rtsa',
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
    idleTimeoutMillis: 30_000,
    // A connection whose peer vanished (no FIN, no RST) is found by TCP keepalive.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...(options.idleInTransactionTimeoutMs === undefined
      ? {}
      : { idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs }),
    ...(options.lockTimeoutMs === undefined ? {} : { lock_timeout: options.lockTimeoutMs }),
    ...(options.statementTimeoutMs === undefined ? {} : { statement_timeout: options.statementTimeoutMs }),
    ...(options.queryTimeoutMs === undefined ? {} : { query_timeout: options.queryTimeoutMs }),
  })
  pool.on('error', options.onError ?? (() => {}))
  return pool
}

/**
 * Checks a client out of the pool. While checked out, a connection the server ends
 * (restart, idle-in-transaction timeout) must not crash the process with an unhandled
 * 'error' event: the pending or next query fails instead, and release() discards it.
 */
export async function checkout(pool: pg.Pool): Promise<pg.PoolClient> {
  const client = await pool.connect()
  const ignore = () => {}
  client.on('error', ignore)
  const release = client.release.bind(client)
  client.release = (destroy?: boolean | Error) => {
    client.off('error', ignore)
    return release(destroy)
  }
  return client
}

/**
 * Runs `work` in one transaction (opened with `begin`) on a client of its own, and commits.
 * On any failure the transaction is rolled back; a connection whose rollback fails too
 * (broken, timed out, its server gone) is discarded instead of going back to the pool,
 * where the next caller would inherit it.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  begin: string,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await checkout(pool)
  try {
    await client.query(begin)
    const result = await work(client)
    await client.query('commit')
    client.release()
    return result
  } catch (error) {
    const broken = await client.query('rollback').then(
      () => undefined,
      (rollbackError: unknown) =>
        rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError)),
    )
    client.release(broken)
    throw error
  }
}
