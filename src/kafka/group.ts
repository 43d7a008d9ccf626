/**
 * A consumer-group member whose positions are owned by the caller, not by Kafka.
 *
 * Kafka decides which partitions this member gets (the group protocol); the caller
 * decides where each one starts (PostgreSQL checkpoints). `onAssignment` runs after
 * every (re)join; until the caller `seek`s a partition, its records are not delivered.
 * Delivered records of a partition are contiguous from the seek position: anything
 * before it is skipped, and a gap (a fetch issued before the seek) re-seeks.
 *
 *   joined ──assignment──▶ partition pending ──seek(p, o)──▶ ready (delivering from o)
 *      ▲                                                        │
 *      └──────────────── rebalance (partition kept or dropped) ◀┘
 */
import { Consumer, type MessagesStream } from '@platformatic/kafka'
import { messageOf, RtsaError } from '../errors/catalogue.ts'
import { handleClientErrors, type IncomingRecord } from './client.ts'
import { type KafkaTarget, libraryOptions, securityFailureOf } from './connection.ts'

export interface GroupMemberOptions {
  readonly bootstrap: KafkaTarget
  readonly groupId: string
  readonly topic: string
  readonly clientId: string
  readonly sessionTimeoutMs?: number
  /**
   * Static membership (KIP-345): a member that rejoins under the same name replaces its
   * earlier self at once, keeping the assignment, instead of waiting for the broker to
   * expire it. Two live members with one name fence each other: one name per instance.
   */
  readonly groupInstanceId?: string
  readonly heartbeatIntervalMs?: number
  readonly maxWaitMs?: number
  /** Called with the full new assignment after each join (not awaited by the client). */
  readonly onAssignment: (partitions: number[]) => void
  /** Called when the consumer or its stream fails; the member is unusable afterwards. */
  readonly onError: (error: unknown) => void
  /** Maximum buffered records before fetching pauses (backpressure). */
  readonly maxBuffered?: number
  /** Maximum buffered bytes of keys and values before fetching pauses (default 64 MiB). */
  readonly maxBufferedBytes?: number
  /**
   * Bytes one fetch may return in all (default 16 MiB) and per partition (default 4 MiB).
   * The client's own default, 50 MB for both, read a 60 MB topic in one response:
   * nothing was delivered until all of it had arrived and been parsed (0.9 s), so
   * processing could not overlap fetching.
   */
  readonly fetchMaxBytes?: number
  readonly partitionFetchMaxBytes?: number
}

const FETCH_MAX_BYTES = 16 * 1024 * 1024
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024
const PARTITION_FETCH_MAX_BYTES = 4 * 1024 * 1024

export class GroupMember {
  readonly #options: GroupMemberOptions
  readonly #consumer: Consumer
  #stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined
  readonly #next = new Map<number, bigint>()
  #buffer: IncomingRecord[] = []
  /** Bytes of keys and values in #buffer. */
  #bytes = 0
  #waiter: (() => void) | undefined
  #closed = false
  /** Records dropped because they came before a seek or out of sequence (re-fetched later). */
  skipped = 0

  constructor(options: GroupMemberOptions) {
    this.#options = options
    // A rejoin that fails (the broker went away after a heartbeat asked for it) arrives
    // only as an 'error' event: the member is unusable, the owner reconnects.
    const failed = (error: unknown) => {
      if (this.#closed) return
      const message = `The group membership failed (rejoining): ${messageOf(error)}`
      options.onError(
        securityFailureOf(error, options.bootstrap) ??
          new RtsaError('KAFKA_REQUEST_FAILED', message, { cause: error }),
      )
    }
    this.#consumer = handleClientErrors(
      new Consumer({
        clientId: options.clientId,
        groupId: options.groupId,
        ...(options.groupInstanceId === undefined ? {} : { groupInstanceId: options.groupInstanceId }),
        ...libraryOptions(options.bootstrap),
        sessionTimeout: options.sessionTimeoutMs ?? 10_000,
        heartbeatInterval: options.heartbeatIntervalMs ?? 1000,
        rebalanceTimeout: options.sessionTimeoutMs ?? 10_000,
        autocommit: false,
        maxWaitTime: options.maxWaitMs ?? 100,
        maxBytes: options.fetchMaxBytes ?? FETCH_MAX_BYTES,
        maxBytesPerPartition: options.partitionFetchMaxBytes ?? PARTITION_FETCH_MAX_BYTES,
        retries: 3,
        timeout: 10_000,
      }),
      failed,
    )
    this.#consumer.on('consumer:group:join', () => {
      const mine = this.assignment()
      for (const p of [...this.#next.keys()]) if (!mine.includes(p)) this.#next.delete(p)
      this.#keep((r) => this.#next.has(r.partition))
      options.onAssignment(mine)
    })
  }

  /** Joins the group and starts fetching. `placeholder` positions are used only until `seek`. */
  async start(placeholder: ReadonlyMap<number, bigint>): Promise<void> {
    const offsets = [...placeholder].map(([partition, offset]) => ({
      topic: this.#options.topic,
      partition,
      offset,
    }))
    try {
      this.#stream = await this.#consumer.consume({
        topics: [this.#options.topic],
        mode: 'manual',
        offsets,
        autocommit: false,
        maxWaitTime: this.#options.maxWaitMs ?? 100,
        maxBytes: this.#options.fetchMaxBytes ?? FETCH_MAX_BYTES,
        maxBytesPerPartition: this.#options.partitionFetchMaxBytes ?? PARTITION_FETCH_MAX_BYTES,
      })
    } catch (error) {
      // A missing Read permission on the group or topic is a setting to fix, not a fault to retry.
      throw securityFailureOf(error, this.#options.bootstrap) ?? error
    }
    this.#stream.on('data', (m) => this.#accept(m))
    this.#stream.on('error', (error) => {
      if (!this.#closed) this.#options.onError(securityFailureOf(error, this.#options.bootstrap) ?? error)
    })
  }

  /** Partitions currently assigned to this member by the group. */
  assignment(): number[] {
    const a = this.#consumer.assignments?.find((x) => x.topic === this.#options.topic)
    return a ? [...a.partitions].sort((x, y) => x - y) : []
  }

  /** Starts delivering `partition` from `offset` (records before it are never delivered). */
  seek(partition: number, offset: bigint): void {
    this.#next.set(partition, offset)
    this.#keep((r) => r.partition !== partition)
    this.#stream?.offsetsToFetch.set(`${this.#options.topic}:${partition}`, offset)
    this.#stream?.resume()
  }

  /** Stops delivering a partition (it was lost or given up). */
  forget(partition: number): void {
    this.#next.delete(partition)
    this.#keep((r) => r.partition !== partition)
  }

  #keep(keep: (r: IncomingRecord) => boolean): void {
    this.#buffer = this.#buffer.filter(keep)
    this.#bytes = 0
    for (const r of this.#buffer) this.#bytes += sizeOf(r)
  }

  #full(): boolean {
    return (
      this.#buffer.length >= (this.#options.maxBuffered ?? 50_000) ||
      this.#bytes >= (this.#options.maxBufferedBytes ?? MAX_BUFFERED_BYTES)
    )
  }

  #accept(m: {
    topic: string
    partition: number
    offset: bigint
    key: Buffer | null | undefined
    value: Buffer | null | undefined
    timestamp: bigint
  }) {
    const expected = this.#next.get(m.partition)
    if (expected === undefined || m.offset < expected) {
      this.skipped++
      return
    }
    if (m.offset > expected) {
      // A fetch issued before our seek skipped ahead: fetch again from the expected position.
      this.skipped++
      this.#stream?.offsetsToFetch.set(`${m.topic}:${m.partition}`, expected)
      return
    }
    this.#next.set(m.partition, expected + 1n)
    const r: IncomingRecord = {
      topic: m.topic,
      partition: m.partition,
      offset: m.offset,
      key: m.key ?? null,
      value: m.value ?? Buffer.alloc(0),
      timestamp: Number(m.timestamp),
    }
    this.#buffer.push(r)
    this.#bytes += sizeOf(r)
    if (this.#full()) this.#stream?.pause()
    const w = this.#waiter
    if (w) {
      this.#waiter = undefined
      w()
    }
  }

  /**
   * Waits up to `maxWaitMs` for records, then returns at most `max` buffered ones and at
   * most `maxBytes` of keys and values (but always the first, however large), possibly
   * none. Records of one partition come in offset order, without gaps.
   */
  async poll(max: number, maxWaitMs: number, maxBytes = Number.POSITIVE_INFINITY): Promise<IncomingRecord[]> {
    if (this.#buffer.length < max && this.#bytes < maxBytes && !this.#closed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#waiter = undefined
          resolve()
        }, maxWaitMs)
        this.#waiter = this.#waiterFor(timer, resolve, max, maxBytes)
      })
    }
    let n = 0
    let bytes = 0
    const limit = Math.min(max, this.#buffer.length)
    while (n < limit) {
      const size = sizeOf(this.#buffer[n]!)
      if (n > 0 && bytes + size > maxBytes) break
      bytes += size
      n++
    }
    const out = n === this.#buffer.length ? this.#buffer : this.#buffer.slice(0, n)
    this.#buffer = n === this.#buffer.length ? [] : this.#buffer.slice(n)
    this.#bytes -= bytes
    if (
      this.#buffer.length < (this.#options.maxBuffered ?? 50_000) / 2 &&
      this.#bytes < (this.#options.maxBufferedBytes ?? MAX_BUFFERED_BYTES) / 2
    )
      this.#stream?.resume()
    return out
  }

  #waiterFor(timer: NodeJS.Timeout, resolve: () => void, max: number, maxBytes: number): () => void {
    return () => {
      if (this.#buffer.length >= max || this.#bytes >= maxBytes) {
        clearTimeout(timer)
        resolve()
      } else this.#waiter = this.#waiterFor(timer, resolve, max, maxBytes)
    }
  }

  /** Leaves the group and closes the connection. */
  async close(): Promise<void> {
    this.#closed = true
    this.#waiter?.()
    await this.#stream?.close().catch(() => {})
    await this.#consumer.close().catch(() => this.#consumer.close(true).catch(() => {}))
  }
}

/** What a buffered record holds in memory, for the byte bounds. */
function sizeOf(r: IncomingRecord): number {
  return r.value.length + (r.key?.length ?? 0)
}
