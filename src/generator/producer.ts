/**
 * Batching, bounded-memory sending on top of {@link KafkaProducer} (idempotent,
 * acks=all). Records are collected into batches of `batchSize`; up to `maxInFlight`
 * batches await their acks at once, and `add` waits when that limit is reached
 * (backpressure), so memory stays at about batchSize * (maxInFlight + 1) records
 * however fast the caller is. Delivery errors are counted, never thrown: the caller
 * reports them at the end.
 *
 * Order: batches are handed to the client in order and the client assigns idempotent
 * sequence numbers in that order over one connection per broker, so records of one key
 * (one partition) arrive in `add` order. The first batch is sent alone, because the
 * client sets up its idempotent producer id on the first send.
 */
import { messageOf } from '../errors/catalogue.ts'
import { KafkaProducer, type OutgoingRecord } from '../kafka/client.ts'
import type { KafkaTarget } from '../kafka/connection.ts'

/** The part of KafkaProducer used here (a fake in unit tests). */
export interface RecordSender {
  send(records: readonly OutgoingRecord[]): Promise<void>
  close(): Promise<void>
}

export interface BatchingOptions {
  readonly topic: string
  readonly batchSize: number
  readonly maxInFlight: number
}

export interface DeliveryStats {
  /** Records handed to `add`. */
  readonly queued: number
  /** Records the broker acknowledged. */
  readonly acked: number
  /** Records whose batch failed. */
  readonly failed: number
  readonly bytes: number
  /** The first few distinct delivery error messages. */
  readonly errors: readonly string[]
}

export class BatchingProducer {
  readonly #sender: RecordSender
  readonly #options: BatchingOptions
  #batch: OutgoingRecord[] = []
  readonly #inFlight = new Set<Promise<void>>()
  #queued = 0
  #acked = 0
  #failed = 0
  #bytes = 0
  #sentOnce = false
  readonly #errors: string[] = []
  readonly #keys = new Map<string, Buffer>()

  constructor(sender: RecordSender, options: BatchingOptions) {
    this.#sender = sender
    this.#options = options
  }

  /** Queues one record; resolves once there is room for more (backpressure). */
  async add(key: string | Buffer | null, value: string | Buffer): Promise<void> {
    const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : value
    const k = typeof key === 'string' ? this.#keyBuffer(key) : key
    this.#batch.push({ topic: this.#options.topic, key: k, value: v })
    this.#queued++
    this.#bytes += v.length
    if (this.#batch.length >= this.#options.batchSize) await this.sendBatch()
  }

  /** Sends the current partial batch without waiting for its ack (waits only for room). */
  async sendBatch(): Promise<void> {
    if (this.#batch.length === 0) return
    const batch = this.#batch
    this.#batch = []
    if (!this.#sentOnce) {
      this.#sentOnce = true
      await this.#deliver(batch)
      return
    }
    while (this.#inFlight.size >= this.#options.maxInFlight) await Promise.race(this.#inFlight)
    const p = this.#deliver(batch).finally(() => this.#inFlight.delete(p))
    this.#inFlight.add(p)
  }

  /** Sends what is queued and waits for every ack (or failure). */
  async flush(): Promise<void> {
    await this.sendBatch()
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight])
  }

  /** Flushes, then closes the underlying producer. */
  async close(): Promise<void> {
    try {
      await this.flush()
    } finally {
      await this.#sender.close()
    }
  }

  get stats(): DeliveryStats {
    return {
      queued: this.#queued,
      acked: this.#acked,
      failed: this.#failed,
      bytes: this.#bytes,
      errors: [...this.#errors],
    }
  }

  /** Keys repeat (one per stream): encode each once. Bounded so that odd inputs cannot grow it forever. */
  #keyBuffer(key: string): Buffer {
    let b = this.#keys.get(key)
    if (b === undefined) {
      b = Buffer.from(key, 'utf8')
      if (this.#keys.size < 100_000) this.#keys.set(key, b)
    }
    return b
  }

  async #deliver(batch: OutgoingRecord[]): Promise<void> {
    try {
      await this.#sender.send(batch)
      this.#acked += batch.length
    } catch (error) {
      this.#failed += batch.length
      const message = messageOf(error)
      if (this.#errors.length < 5 && !this.#errors.includes(message)) this.#errors.push(message)
    }
  }
}

/** A batching producer over a new idempotent {@link KafkaProducer} (acks=all) on `bootstrap`. */
export function openKafkaProducer(bootstrap: KafkaTarget, options: BatchingOptions): BatchingProducer {
  return new BatchingProducer(new KafkaProducer(bootstrap, { clientId: 'rtsa-generator' }), options)
}
