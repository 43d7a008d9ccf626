import { setTimeout as sleep } from 'node:timers/promises'
import type pg from 'pg'
import type { Logger } from 'pino'
import { messageOf } from '../errors/catalogue.ts'
import type { KafkaProducer } from '../kafka/client.ts'
import { markRelayed, type PendingDeadLetter, pendingDeadLetters } from '../store/dead-letters.ts'
import type { ProcessorMetrics } from './metrics.ts'

interface RelayDeps {
  readonly pool: pg.Pool
  readonly producer: KafkaProducer
  readonly topic: string
  readonly dlqTopic: string
  readonly owned: () => number[]
  readonly log: Logger
  readonly metrics: ProcessorMetrics
}

/**
 * Publishes the dead letters of the partitions this instance owns from the
 * dead_letters table to the DLQ topic, keyed by source partition and offset, then
 * records the progress: at least once (a crash between the two re-sends a few).
 */
export class DeadLetterRelay {
  readonly deps: RelayDeps
  readonly #running: Promise<void>
  #stop = false
  #wake: (() => void) | undefined

  constructor(deps: RelayDeps) {
    this.deps = deps
    this.#running = this.#loop()
  }

  /** New dead letters were committed: relay soon. */
  nudge(): void {
    this.#wake?.()
  }

  /** Finishes the round in progress and stops. */
  async stop(): Promise<void> {
    this.#stop = true
    this.#wake?.()
    await this.#running
  }

  async #loop(): Promise<void> {
    let failures = 0
    while (!this.#stop) {
      let relayed = 0
      try {
        relayed = await this.#round()
        failures = 0
      } catch (error) {
        failures++
        this.deps.metrics.dlqFailures.inc()
        this.deps.log.warn({ err: messageOf(error) }, 'relaying dead letters failed; will retry')
      }
      if (relayed === 0 && !this.#stop) {
        const wait = failures > 0 ? Math.min(500 * 2 ** failures, 10_000) : 1000
        await Promise.race([sleep(wait), new Promise<void>((r) => (this.#wake = r))])
        this.#wake = undefined
      }
    }
  }

  async #round(): Promise<number> {
    const { pool, producer, topic, dlqTopic } = this.deps
    const rows = await pendingDeadLetters(pool, topic, this.deps.owned(), 2000)
    if (rows.length === 0) return 0
    await producer.send(
      rows.map((d) => ({
        topic: dlqTopic,
        key: Buffer.from(`${topic}:${d.partition}:${d.offset}`),
        value: encode(topic, d),
      })),
    )
    const last = new Map<number, number>()
    for (const d of rows) last.set(d.partition, Math.max(last.get(d.partition) ?? 0, d.id))
    for (const [partition, id] of last) await markRelayed(pool, topic, partition, id)
    return rows.length
  }
}

function encode(topic: string, d: PendingDeadLetter): Buffer {
  return Buffer.from(
    JSON.stringify({
      source_topic: topic,
      source_partition: d.partition,
      source_offset: String(d.offset),
      reason: d.reason,
      detail: d.detail,
      stream_id: d.streamId,
      key_base64: d.key?.toString('base64') ?? null,
      value_base64: d.value.toString('base64'),
    }),
  )
}
