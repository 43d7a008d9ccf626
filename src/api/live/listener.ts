/**
 * The source of commit notifications for `/live`: a dedicated PostgreSQL connection
 * doing `LISTEN rtsa_commits` (a pooled connection cannot hold a LISTEN). It
 * reconnects with backoff after any failure and then signals a resync, because
 * notifications sent while it was away are lost.
 */
import pg from 'pg'
import type { Logger } from 'pino'
import { COMMIT_CHANNEL, type CommitNotice, parseCommitNotice } from '../../store/commit-notice.ts'
import { PG_TYPES } from '../../store/pool.ts'

export const LISTENER_APPLICATION_NAME = 'rtsa-api-listen'

export interface CommitHandlers {
  /** A commit happened. */
  readonly onNotice: (notice: CommitNotice) => void
  /** (Re)connected: notices may have been missed, re-read everything changed. */
  readonly onResync: () => void
  /** The connection is gone (until the next `onResync`): notices cannot arrive now. */
  readonly onLost?: () => void
}

/** Where `/live` learns about commits; tests may pass their own. */
export interface CommitSource {
  /** Starts delivering to `handlers` (called once). */
  start(handlers: CommitHandlers): void
  close(): Promise<void>
}

/** LISTENs on its own `pg.Client`, reconnecting (250 ms doubling to 5 s) until closed. */
export class PgCommitListener implements CommitSource {
  readonly #config: pg.ClientConfig
  readonly #log: Logger | undefined
  #client: pg.Client | null = null
  #closed = false
  #timer: NodeJS.Timeout | null = null
  #backoff = 250
  #handlers: CommitHandlers | null = null

  readonly #pingMs: number
  #ping: NodeJS.Timeout | null = null

  /** `pingMs`: how often the idle connection is checked (a LISTEN-only socket can die silently). */
  constructor(config: pg.ClientConfig, log?: Logger, pingMs = 30_000) {
    // Named so operators (and tests) can tell it from pooled connections in pg_stat_activity.
    this.#config = {
      ...config,
      types: PG_TYPES,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      application_name: LISTENER_APPLICATION_NAME,
    }
    this.#log = log
    this.#pingMs = pingMs
  }

  start(handlers: CommitHandlers): void {
    if (this.#handlers !== null) return
    this.#handlers = handlers
    void this.#connect()
  }

  async #connect(): Promise<void> {
    if (this.#closed) return
    const client = new pg.Client(this.#config)
    let failed = false
    const fail = (error: unknown) => {
      if (failed) return
      failed = true
      if (this.#client === client) {
        this.#client = null
        if (this.#ping !== null) clearInterval(this.#ping)
        this.#ping = null
        this.#handlers?.onLost?.()
      }
      client.removeAllListeners('notification')
      client.end().catch(() => {})
      if (this.#closed) return
      this.#log?.warn({ err: error }, 'LISTEN connection lost; reconnecting')
      this.#timer = setTimeout(() => void this.#connect(), this.#backoff)
      this.#backoff = Math.min(this.#backoff * 2, 5000)
    }
    client.on('error', fail)
    client.on('end', () => fail(new Error('connection ended')))
    client.on('notification', (msg) => {
      if (msg.channel === COMMIT_CHANNEL) this.#handlers?.onNotice(parseCommitNotice(msg.payload))
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${COMMIT_CHANNEL}`)
    } catch (error) {
      fail(error)
      return
    }
    if (this.#closed) {
      await client.end().catch(() => {})
      return
    }
    this.#client = client
    this.#backoff = 250
    // A query that does not come back in time means a dead socket: start over.
    this.#ping = setInterval(() => {
      const timeout = setTimeout(() => fail(new Error('LISTEN connection does not answer')), 10_000)
      client.query('select 1').then(
        () => clearTimeout(timeout),
        (error: unknown) => {
          clearTimeout(timeout)
          fail(error)
        },
      )
    }, this.#pingMs)
    this.#ping.unref()
    this.#handlers?.onResync()
  }

  async close(): Promise<void> {
    this.#closed = true
    if (this.#timer !== null) clearTimeout(this.#timer)
    if (this.#ping !== null) clearInterval(this.#ping)
    const client = this.#client
    this.#client = null
    if (client !== null) await client.end().catch(() => {})
  }
}
