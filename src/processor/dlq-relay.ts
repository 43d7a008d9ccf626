import { setTimeout as sleep } from 'node:timers/promises'
import type pg from 'pg'
import type { Logger } from 'pino'
import { isRtsaError, messageOf } from '../errors/catalogue.ts'
import type { KafkaProducer, OutgoingRecord } from '../kafka/client.ts'
import { markRelayed, type PendingDeadLetter, pendingDeadLetters } from '../store/dead-letters.ts'
import type { ProcessorMetrics } from './metrics.ts'

interface RelayDeps {
  readonly pool: pg.Pool
  readonly producer: KafkaProducer
  readonly topic: string
  readonly dlqTopic: string
  readonly owned: () => number[]
  /** The DLQ topic's `max.message.bytes`, when it can be read. */
  readonly maxMessageBytes: () => Promise<number | undefined>
  readonly log: Logger
  readonly metrics: ProcessorMetrics
}

/** Kafka's default `max.message.bytes` (1 MiB + 12), used when the topic's cannot be read. */
const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588
/** What a record batch and one record add beyond keys and values (headers, varints), with room to spare. */
const BATCH_OVERHEAD = 1024
const RECORD_OVERHEAD = 128
/** The original key is kept whole up to this size; a larger one is cut (`key_truncated`). */
const MAX_KEY_BYTES = 1024
/** One round reads at most this many rows and bytes from the table. */
const ROUND_ROWS = 2000
const ROUND_BYTES = 8 * 1024 * 1024

/** One DLQ record ready to send, and what it is made of. */
interface Envelope {
  readonly letter: PendingDeadLetter
  readonly record: OutgoingRecord
  readonly size: number
  readonly truncated: boolean
}

/**
 * Publishes the dead letters of the partitions this instance owns from the
 * dead_letters table to the DLQ topic, keyed by source partition and offset, then
 * records the progress: at least once (a crash between the two re-sends a few).
 *
 * It cannot wedge on what it sends: a round is bounded in rows and bytes, records are
 * sent in groups that fit the topic's `max.message.bytes`, a value that does not fit is
 * cut (with its full size, `value_truncated`, and the source partition and offset,
 * where the source topic still holds it whole), and a record the broker still refuses
 * as too large is cut further, down to its metadata. Only a broker that cannot be
 * reached is retried, with backoff, until it answers.
 */
export class DeadLetterRelay {
  readonly deps: RelayDeps
  readonly #running: Promise<void>
  #stop = false
  #wake: (() => void) | undefined
  #maxMessage: number | undefined

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

  async #limit(): Promise<number> {
    this.#maxMessage ??= (await this.deps.maxMessageBytes()) ?? DEFAULT_MAX_MESSAGE_BYTES
    return this.#maxMessage
  }

  async #round(): Promise<number> {
    const { pool, topic } = this.deps
    const max = await this.#limit()
    const rows = await pendingDeadLetters(pool, topic, this.deps.owned(), {
      rows: ROUND_ROWS,
      maxBytes: ROUND_BYTES,
      valueLimit: max,
    })
    if (rows.length === 0) return 0
    const budget = max - BATCH_OVERHEAD
    let group: Envelope[] = []
    let bytes = 0
    for (const d of rows) {
      const e = envelope(topic, this.deps.dlqTopic, d, budget)
      if (group.length > 0 && bytes + e.size > budget) {
        await this.#publish(group)
        group = []
        bytes = 0
      }
      group.push(e)
      bytes += e.size
    }
    await this.#publish(group)
    return rows.length
  }

  /** Sends a group and records the progress; a group refused as too large goes one by one. */
  async #publish(group: readonly Envelope[]): Promise<void> {
    try {
      await this.deps.producer.send(group.map((e) => e.record))
      this.#count(group)
    } catch (error) {
      if (!isRtsaError(error, 'KAFKA_RECORD_TOO_LARGE')) throw error
      if (group.length > 1) for (const e of group) await this.#publish([e])
      else await this.#shrink(group[0]!)
    }
    const last = new Map<number, number>()
    for (const e of group)
      last.set(e.letter.partition, Math.max(last.get(e.letter.partition) ?? 0, e.letter.id))
    for (const [partition, id] of last) await markRelayed(this.deps.pool, this.deps.topic, partition, id)
  }

  /**
   * One record the broker refused as too large although it fits the limit we read (the
   * broker's own limit is lower): it is cut to a quarter, then to its metadata alone.
   */
  async #shrink(e: Envelope): Promise<void> {
    const { log, metrics, topic, dlqTopic } = this.deps
    this.#maxMessage = Math.max(64 * 1024, Math.floor((this.#maxMessage ?? DEFAULT_MAX_MESSAGE_BYTES) / 2))
    for (const budget of [Math.floor(e.size / 4), 0]) {
      const smaller = envelope(topic, dlqTopic, e.letter, budget)
      try {
        await this.deps.producer.send([smaller.record])
        this.#count([smaller])
        return
      } catch (error) {
        if (!isRtsaError(error, 'KAFKA_RECORD_TOO_LARGE')) throw error
      }
    }
    // Even its metadata is refused: give up on this one rather than retry it forever (it
    // stays in dead_letters, and the source topic holds the record).
    metrics.dlqDropped.inc()
    log.error(
      { partition: e.letter.partition, offset: e.letter.offset },
      'the DLQ topic refuses even the metadata of this dead letter; it is kept in dead_letters only',
    )
  }

  #count(group: readonly Envelope[]): void {
    const { metrics } = this.deps
    metrics.dlqRelayed.inc(group.length)
    for (const e of group) if (e.truncated) metrics.dlqTruncated.inc()
  }
}

/**
 * The DLQ record of a dead letter, at most `budget` bytes with its key: the value (and
 * the original key past 1 KiB) is cut to what fits, and the record says so.
 */
export function envelope(topic: string, dlqTopic: string, d: PendingDeadLetter, budget: number): Envelope {
  const key = Buffer.from(`${topic}:${d.partition}:${d.offset}`)
  const keyCut = d.key !== null && d.key.length > MAX_KEY_BYTES
  const body = {
    source_topic: topic,
    source_partition: d.partition,
    source_offset: String(d.offset),
    reason: d.reason,
    detail: d.detail,
    stream_id: d.streamId,
    key_base64: d.key === null ? null : d.key.subarray(0, MAX_KEY_BYTES).toString('base64'),
    ...(keyCut ? { key_truncated: true, key_size: d.key!.length } : {}),
    value_size: d.valueSize,
    value_truncated: false,
    value_base64: '',
  }
  const fixed = Buffer.byteLength(JSON.stringify(body)) + key.length + RECORD_OVERHEAD
  // Base64 takes 4 bytes for each 3.
  const room = Math.max(0, Math.floor((budget - fixed) / 4) * 3)
  const value = d.value.length <= room ? d.value : d.value.subarray(0, room)
  const truncated = value.length < d.valueSize
  body.value_truncated = truncated
  body.value_base64 = value.toString('base64')
  const bytes = Buffer.from(JSON.stringify(body))
  return {
    letter: d,
    record: { topic: dlqTopic, key, value: bytes },
    size: bytes.length + key.length + RECORD_OVERHEAD,
    truncated,
  }
}
