/**
 * Runs the API on a port: `rtsa serve` (PORT, default 8000; HOST, default 127.0.0.1).
 * Stops gracefully on SIGINT/SIGTERM: new requests get 503, live streams end, in-flight
 * requests finish, then the database pool closes.
 */
import type pg from 'pg'
import pino, { type Logger } from 'pino'
import { pgConnectionOf } from '../config/settings.ts'
import { migrate } from '../store/migrations.ts'
import { createPool } from '../store/pool.ts'
import { buildApp } from './app.ts'
import { type ApiConfig, loadApiConfig } from './config.ts'
import type { Api } from './context.ts'

/** A PostgreSQL pool for the API: fails fast when the database is away so requests get 503 quickly. */
export function createApiPool(config: ApiConfig, log?: Logger): pg.Pool {
  return createPool(pgConnectionOf(config, 'reader'), {
    max: config.poolSize,
    applicationName: 'rtsa-api',
    // How long a request waits for a free connection (then 503 POSTGRES_BUSY) or for a new
    // one (then 503 POSTGRES_UNREACHABLE).
    connectionTimeoutMs: 3000,
    statementTimeoutMs: config.queryTimeout,
    // A database that drops packets never reports a server-side timeout.
    queryTimeoutMs: config.queryTimeout + 1000,
    // An idle client losing its connection must not crash the process; the next query reconnects.
    onError: (error) => log?.warn({ err: error }, 'idle database connection failed'),
  })
}

export interface RunningApi {
  readonly app: Api
  readonly url: string
  /** Stops listening, ends live streams, waits for in-flight requests, closes the pool. */
  stop(): Promise<void>
}

/**
 * The schema is the processor's, but creating it here too (under its advisory lock) lets
 * the API start first, when its role may create tables. A read-only role (the local
 * server's reader, the recommended setup) never tries: requests answer 503 until the
 * processor has made the schema.
 */
async function migrateIfAllowed(pool: pg.Pool, logger: Logger): Promise<void> {
  try {
    const { rows } = await pool.query<{ can: boolean }>(
      "select has_schema_privilege(current_user, 'public', 'CREATE') as can",
    )
    if (rows[0]?.can !== true) {
      logger.info('reading as a role that cannot change the schema; the processor creates it')
      return
    }
    await migrate(pool)
  } catch (error) {
    logger.warn({ err: error }, 'could not check the database schema; serving anyway')
  }
}

/** Builds the app from `env` and listens on HOST:PORT. */
export async function startApi(env: NodeJS.ProcessEnv = process.env): Promise<RunningApi> {
  const config = loadApiConfig(env)
  const logger = pino({ level: config.logLevel, name: 'rtsa-api' })
  const pool = createApiPool(config, logger)
  await migrateIfAllowed(pool, logger)
  const app = await buildApp({ pool, config, logger })
  try {
    await app.listen({ port: config.port, host: config.host })
  } catch (error) {
    await app.close().catch(() => {})
    await pool.end().catch(() => {})
    throw error
  }
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : config.port
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`
  let stopping: Promise<void> | null = null
  return {
    app,
    url,
    stop: () => {
      stopping ??= (async () => {
        await app.close()
        await pool.end()
      })()
      return stopping
    },
  }
}

/** `rtsa serve`: runs until SIGINT/SIGTERM; returns the exit code. */
export async function serve(log: (line: string) => void = console.log): Promise<number> {
  const api = await startApi()
  log(`api        ${api.url} (dashboard ${api.url}/, docs ${api.url}/docs)`)
  await new Promise<void>((done) => {
    process.once('SIGINT', done)
    process.once('SIGTERM', done)
  })
  log('api stopping')
  await api.stop()
  return 0
}
