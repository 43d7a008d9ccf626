/**
 * Marker events for the freshness benchmark: each marker is a donation to a stream of
 * its own (`bmk_<tag>_<i>`), so the first time that stream id appears on `/live` (or in
 * a commit NOTIFY) is exactly when the marker's effect became visible.
 */
import { performance } from 'node:perf_hooks'
import pg from 'pg'
import { encodeEvent } from '../../src/events/decode.ts'
import { KafkaProducer } from '../../src/kafka/client.ts'
import { COMMIT_CHANNEL } from '../../src/store/commit-notice.ts'
import { connectSse } from './sse.ts'

export interface Marker {
  readonly id: string
  /** performance.now() just before the send. */
  readonly sentAt: number
  /** Producer ack. */
  ackedAt?: number
  /** First commit NOTIFY naming its stream. */
  committedAt?: number
  /** First /live event naming its stream. */
  liveAt?: number
}

const MARKER = /"bmk_[a-z0-9]+_\d+"/g

/** Watches /live and LISTEN rtsa_commits for marker stream ids. */
export class MarkerWatch {
  readonly markers = new Map<string, Marker>()
  readonly #producer: KafkaProducer
  readonly #topic: string
  #listen: pg.Client | undefined
  #sse: ReturnType<typeof connectSse> | undefined
  liveEvents = 0
  liveBytes = 0
  snapshots = 0

  constructor(bootstrap: readonly string[], topic: string) {
    this.#producer = new KafkaProducer(bootstrap, { clientId: 'bench-markers' })
    this.#topic = topic
  }

  async start(apiUrl: string, databaseUrl: string): Promise<void> {
    this.#listen = new pg.Client({ connectionString: databaseUrl })
    await this.#listen.connect()
    this.#listen.on('notification', (n) => {
      const at = performance.now()
      for (const m of n.payload?.match(MARKER) ?? []) {
        const marker = this.markers.get(m.slice(1, -1))
        if (marker && marker.committedAt === undefined) marker.committedAt = at
      }
    })
    await this.#listen.query(`listen ${COMMIT_CHANNEL}`)
    this.#sse = connectSse(`${apiUrl}/live?minutes=1`, (name, data, at) => {
      this.liveEvents++
      this.liveBytes += data.length
      if (name === 'snapshot') this.snapshots++
      for (const m of data.match(MARKER) ?? []) {
        const marker = this.markers.get(m.slice(1, -1))
        if (marker && marker.liveAt === undefined) marker.liveAt = at
      }
    })
    await this.#sse.ready
  }

  /** Produces one marker (a donation of $1.00 at the current wall time) to its own stream. */
  send(tag: string, i: number): void {
    const id = `bmk_${tag}_${i}`
    const marker: Marker = { id, sentAt: performance.now() }
    this.markers.set(id, marker)
    const value = encodeEvent({
      event_id: `${id}-e`,
      ts: new Date().toISOString().replace('Z', '+00:00'),
      event_type: 'donation',
      stream_id: id,
      user_id: 'bench_marker',
      amount_usd: 1,
    })
    void this.#producer.send([{ topic: this.#topic, key: Buffer.from(id), value }]).then(() => {
      marker.ackedAt = performance.now()
    })
  }

  async close(): Promise<void> {
    this.#sse?.close()
    await this.#listen?.end().catch(() => {})
    await this.#producer.close()
  }
}
