/**
 * The live feed behind `/live` (Server-Sent Events). One hub per app: it listens for
 * processor commits, coalesces bursts (one database read per `coalesceMs` at most,
 * whatever the number of clients), and broadcasts what changed. Each connection first
 * gets a full snapshot, so a reconnecting client (`Last-Event-ID`) is always whole.
 *
 * Events: `snapshot` (on connect), `update` (changed windows and states, per-minute
 * totals of the minutes that may have changed, and per covered stream the provisional
 * windows that still exist: a client drops its other provisional rows), `pipeline` (every `pipelineMs`), `status` (database trouble), and a comment
 * line every `heartbeatMs` so proxies keep the connection open.
 */
import type { ServerResponse } from 'node:http'
import type pg from 'pg'
import type { Logger } from 'pino'
import { messageOf } from '../../errors/catalogue.ts'
import type { CommitNotice } from '../../store/commit-notice.ts'
import { changesSince } from '../../store/read/activity.ts'
import { streamStates } from '../../store/read/streams.ts'
import {
  type MinuteTotalDbRow,
  minuteTotals,
  provisionalStarts,
  windowsBetween,
} from '../../store/read/windows.ts'
import { readPipeline } from '../pipeline.ts'
import type { RateSampler } from '../rate.ts'
import { count, formatCents, iso, toStateRow, toWindowRow } from '../rows.ts'
import type { CommitSource } from './listener.ts'

export interface LiveOptions {
  /** Minimum time between two change reads (bursts of commits are merged). */
  readonly coalesceMs?: number
  readonly heartbeatMs?: number
  readonly pipelineMs?: number
  /**
   * Re-read rows updated up to this long before the previous read: a commit's rows carry
   * its transaction's start time, which can precede the previous read.
   */
  readonly slackMs?: number
  /** Changed rows one update may carry; beyond it clients get a fresh snapshot instead. */
  readonly changeLimit?: number
  /** Open connections at most (API_LIVE_MAX_CLIENTS); past it `admit` refuses. */
  readonly maxClients?: number
  /** How long a snapshot read serves further clients of the same depth while nothing was committed. */
  readonly snapshotReuseMs?: number
}

const MINUTE = 60_000
/** The deepest snapshot `/live` serves (its `minutes` maximum). */
export const MAX_SNAPSHOT_MINUTES = 180
const MAX_BUFFERED = 8 * 1024 * 1024

function toTotal(r: MinuteTotalDbRow) {
  return {
    window_start: iso(r.window_start),
    streams: r.streams,
    active_viewers: count(r.active_viewers),
    chat_messages: count(r.chat_messages),
    donations_usd: formatCents(r.donations_cents),
    donations_cents: count(r.donations_cents),
    donation_count: count(r.donation_count),
    events: count(r.events),
  }
}

export type Snapshot = Awaited<ReturnType<LiveHub['snapshot']>>

/** Fan-out of commit-driven updates to SSE connections. */
export class LiveHub {
  readonly #pool: pg.Pool
  readonly #rate: RateSampler
  readonly #source: CommitSource
  /** The clock of the horizons (scheduling stays on real time). */
  readonly #now: () => number
  readonly #log: Logger | undefined
  readonly #coalesceMs: number
  readonly #heartbeatMs: number
  readonly #pipelineMs: number
  readonly #slackMs: number
  readonly #changeLimit: number
  readonly #maxClients: number
  readonly #snapshotReuseMs: number
  /** Admitted connections still reading their snapshot. */
  #admitting = 0
  /** Bumped by every commit notice, resync and lost connection: a cached snapshot of an older generation is stale. */
  #generation = 0
  readonly #snapshots = new Map<number, { generation: number; at: number; read: Promise<Snapshot> }>()
  readonly #onDrop: (() => void) | undefined
  /** Each connection with the snapshot depth it asked for. */
  readonly #clients = new Map<ServerResponse, number>()
  #started = false
  #closed = false
  #seq = 0
  #cursor: Date | null = null
  #pending: Set<string> | 'all' | null = null
  #timer: NodeJS.Timeout | null = null
  #flushing = false
  #lastFlushAt = 0
  #databaseFailed = false
  /** Notifications can arrive; while false the hub polls for changes every `pipelineMs`. */
  #listening = false
  #intervals: NodeJS.Timeout[] = []

  constructor(
    deps: {
      pool: pg.Pool
      rate: RateSampler
      source: CommitSource
      now?: () => number
      log?: Logger
      /** A slow client was dropped (its unread data passed the byte budget). */
      onDrop?: () => void
    },
    options: LiveOptions = {},
  ) {
    this.#pool = deps.pool
    this.#rate = deps.rate
    this.#source = deps.source
    this.#now = deps.now ?? Date.now
    this.#log = deps.log
    this.#coalesceMs = options.coalesceMs ?? 250
    this.#heartbeatMs = options.heartbeatMs ?? 15_000
    this.#pipelineMs = options.pipelineMs ?? 2000
    this.#slackMs = options.slackMs ?? 10_000
    this.#changeLimit = options.changeLimit ?? 5000
    this.#maxClients = options.maxClients ?? 1000
    this.#snapshotReuseMs = options.snapshotReuseMs ?? 1000
    this.#onDrop = deps.onDrop
  }

  get clients(): number {
    return this.#clients.size
  }

  get maxClients(): number {
    return this.#maxClients
  }

  /** Reserves a place for a new connection; false when the hub is full. Pair with `attach` or `release`. */
  admit(): boolean {
    if (this.#clients.size + this.#admitting >= this.#maxClients) return false
    this.#admitting += 1
    return true
  }

  /** Gives an admitted place back (its snapshot could not be read). */
  release(): void {
    this.#admitting = Math.max(0, this.#admitting - 1)
  }

  /**
   * The snapshot of `minutes` for a new connection. Connections of the same depth share one
   * read while it runs, and, while the hub listens and nothing was committed since, for
   * `snapshotReuseMs` after it: a crowd connecting at once costs one read, not one each.
   */
  sharedSnapshot(minutes: number): Promise<Snapshot> {
    const cached = this.#snapshots.get(minutes)
    const now = performance.now()
    if (
      cached !== undefined &&
      cached.generation === this.#generation &&
      (now - cached.at < this.#snapshotReuseMs || cached.at === Number.POSITIVE_INFINITY)
    )
      return cached.read
    const entry = { generation: this.#generation, at: Number.POSITIVE_INFINITY, read: this.snapshot(minutes) }
    this.#snapshots.set(minutes, entry)
    entry.read.then(
      () => {
        // Reused afterwards only while commits are notified (else a change could go unseen).
        if (this.#listening) entry.at = performance.now()
        else if (this.#snapshots.get(minutes) === entry) this.#snapshots.delete(minutes)
      },
      () => {
        if (this.#snapshots.get(minutes) === entry) this.#snapshots.delete(minutes)
      },
    )
    return entry.read
  }

  /** A full picture: states, the windows and per-minute totals of the last `minutes`, pipeline figures. */
  async snapshot(minutes: number) {
    const pipeline = await readPipeline({ pool: this.#pool, rate: this.#rate })
    const now = new Date(pipeline.server_time_utc)
    const from = new Date(now.getTime() - minutes * MINUTE)
    const [states, windows, totals] = await Promise.all([
      streamStates(this.#pool, { limit: 1000 }),
      windowsBetween(this.#pool, { from, to: null, limit: 20_000, keep: 'newest' }),
      minuteTotals(this.#pool, { from, limit: 2000 }),
    ])
    return {
      server_time_utc: pipeline.server_time_utc,
      minutes,
      states: states.map(toStateRow),
      windows: windows.map(toWindowRow),
      totals: totals.map(toTotal),
      pipeline,
    }
  }

  /** Adds a connection whose headers are written: sends `snapshot` first, then live events. */
  attach(res: ServerResponse, snapshot: Snapshot): void {
    this.release()
    if (this.#closed) {
      res.end()
      return
    }
    if (this.#clients.size === 0 || this.#cursor === null) this.#cursor = new Date(snapshot.server_time_utc)
    this.#clients.set(res, snapshot.minutes)
    res.on('close', () => this.#clients.delete(res))
    // Tell EventSource to come back after 2 s, then the whole picture.
    res.write('retry: 2000\n\n')
    this.#send(res, 'snapshot', snapshot)
    this.#start()
  }

  #start(): void {
    if (this.#started) return
    this.#started = true
    this.#source.start({
      onNotice: (n) => this.#notice(n),
      onResync: () => {
        this.#generation += 1
        this.#listening = true
        this.#markAll()
      },
      onLost: () => {
        this.#generation += 1
        this.#listening = false
      },
    })
    const heartbeat = setInterval(() => {
      for (const res of this.#clients.keys()) res.write(`: heartbeat ${new Date().toISOString()}\n\n`)
    }, this.#heartbeatMs)
    const pipeline = setInterval(() => void this.#pushPipeline(), this.#pipelineMs)
    heartbeat.unref()
    pipeline.unref()
    this.#intervals.push(heartbeat, pipeline)
  }

  #notice(n: CommitNotice): void {
    this.#generation += 1
    if (this.#clients.size === 0) return
    if (n.streams === null) this.#markAll()
    else {
      if (this.#pending === null) this.#pending = new Set()
      if (this.#pending !== 'all') for (const s of n.streams) this.#pending.add(s)
      this.#schedule()
    }
  }

  #markAll(): void {
    if (this.#clients.size === 0) return
    this.#pending = 'all'
    this.#schedule()
  }

  #schedule(): void {
    if (this.#timer !== null || this.#flushing || this.#closed) return
    const wait = Math.max(0, this.#lastFlushAt + this.#coalesceMs - Date.now())
    this.#timer = setTimeout(() => void this.#flush(), wait)
  }

  async #flush(): Promise<void> {
    this.#timer = null
    const pending = this.#pending
    if (pending === null || this.#clients.size === 0) return
    this.#pending = null
    this.#flushing = true
    try {
      const since = new Date((this.#cursor?.getTime() ?? this.#now()) - this.#slackMs)
      const streams = pending === 'all' ? null : [...pending]
      const horizon = new Date(this.#now() - (MAX_SNAPSHOT_MINUTES + 5) * MINUTE)
      const changes = await changesSince(this.#pool, { since, streams, limit: this.#changeLimit, horizon })
      this.#cursor = changes.now
      if (changes.windows.length >= this.#changeLimit || changes.states.length >= this.#changeLimit) {
        // Too much changed for a diff (e.g. after an outage): everyone starts over.
        await this.#resnapshot()
        return
      }
      // The processor may delete provisional windows; tell clients which ones still exist
      // for every stream this update covers, so they can drop the others.
      const covered = streams ?? [
        ...new Set([...changes.states.map((s) => s.stream_id), ...changes.windows.map((w) => w.stream_id)]),
      ]
      const provisional = await provisionalStarts(this.#pool, { streams: covered, since: horizon })
      // Per-minute totals of every minute that may have changed: changed windows and
      // the provisional range (deleted windows lie there), at least the last 15 minutes.
      const candidates = [
        changes.now.getTime() - 15 * MINUTE,
        ...changes.windows.map((w) => Date.parse(w.window_start)),
        ...[...provisional.values()].flatMap((starts) => starts.map((d) => d.getTime())),
      ]
      const from = new Date(Math.max(Math.min(...candidates), horizon.getTime()))
      const totals = await minuteTotals(this.#pool, { from, limit: 2000 })
      const pipeline = await readPipeline({ pool: this.#pool, rate: this.#rate })
      this.#databaseFailed = false
      this.#broadcast('update', {
        server_time_utc: iso(changes.now),
        states: changes.states.map(toStateRow),
        windows: changes.windows.map(toWindowRow),
        totals: totals.map(toTotal),
        provisional: Object.fromEntries(
          covered.map((id) => [id, (provisional.get(id) ?? []).map((d) => d.toISOString())]),
        ),
        pipeline,
      })
    } catch (error) {
      // Keep the work: the next successful read covers everything since the cursor.
      this.#pending = 'all'
      this.#databaseTrouble(error)
    } finally {
      this.#flushing = false
      this.#lastFlushAt = Date.now()
      if (this.#pending !== null && !this.#databaseFailed) this.#schedule()
    }
  }

  /** Sends every connection a fresh `snapshot` of the depth it asked for. */
  async #resnapshot(): Promise<void> {
    const depths = new Set(this.#clients.values())
    for (const minutes of depths) {
      const snapshot = await this.snapshot(minutes)
      this.#seq += 1
      for (const [res, m] of this.#clients) if (m === minutes) this.#send(res, 'snapshot', snapshot)
    }
  }

  async #pushPipeline(): Promise<void> {
    if (this.#clients.size === 0 || this.#closed) return
    try {
      const pipeline = await readPipeline({ pool: this.#pool, rate: this.#rate })
      if (this.#databaseFailed) {
        this.#databaseFailed = false
        this.#broadcast('status', { database_ok: true, error: null })
        this.#markAll()
      }
      this.#broadcast('pipeline', pipeline)
      // Without LISTEN (connecting, lost, or a pooler that cannot LISTEN) poll instead.
      if (!this.#listening) this.#markAll()
    } catch (error) {
      this.#databaseTrouble(error)
    }
  }

  #databaseTrouble(error: unknown): void {
    if (!this.#databaseFailed) this.#log?.warn({ err: error }, 'live feed cannot read the database')
    this.#databaseFailed = true
    this.#broadcast('status', { database_ok: false, error: messageOf(error) })
  }

  #broadcast(event: string, data: unknown): void {
    const text = JSON.stringify(data)
    this.#seq += 1
    for (const res of this.#clients.keys())
      this.#write(res, `id: ${this.#seq}\nevent: ${event}\ndata: ${text}\n\n`)
  }

  #send(res: ServerResponse, event: string, data: unknown): void {
    this.#write(res, `id: ${this.#seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
  }

  #write(res: ServerResponse, chunk: string): void {
    // A client that does not read falls behind without bound: drop it, it will reconnect.
    if (res.writableLength > MAX_BUFFERED) {
      this.#clients.delete(res)
      res.destroy()
      this.#onDrop?.()
      return
    }
    res.write(chunk)
  }

  /** Ends every connection and stops listening (graceful shutdown). */
  async close(): Promise<void> {
    this.#closed = true
    if (this.#timer !== null) clearTimeout(this.#timer)
    for (const t of this.#intervals) clearInterval(t)
    for (const res of this.#clients.keys()) res.end()
    this.#clients.clear()
    await this.#source.close()
  }
}
