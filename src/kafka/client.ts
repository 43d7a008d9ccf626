/**
 * rtsa's own small Kafka interface. Every other part talks to Kafka through this
 * module, so the client library (`@platformatic/kafka`) can change without touching
 * the processor, the generator or the CLI.
 */
import type { EventEmitter } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { Admin, Consumer, Producer } from '@platformatic/kafka'
import { messageOf, RtsaError } from '../errors/catalogue.ts'
import {
  connectionOf,
  describeConnection,
  type KafkaTarget,
  libraryOptions,
  securityFailureOf,
} from './connection.ts'

/** A record to send. `key` decides the partition unless `partition` is given; a null value is a tombstone. */
export interface OutgoingRecord {
  readonly topic: string
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly partition?: number
  /** The record's CreateTime (epoch ms); default: now. */
  readonly timestamp?: number
}

/** A record read back from a topic. */
export interface IncomingRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
  readonly key: Buffer | null
  readonly value: Buffer
  /** The record's Kafka timestamp (CreateTime or LogAppendTime), epoch ms; -1: none. */
  readonly timestamp: number
}

export interface TopicPartitionOffsets {
  readonly partition: number
  readonly earliest: bigint
  readonly latest: bigint
}

const CLIENT_ID = 'rtsa'

/**
 * True when `error` comes from the Kafka client library (its codes start `PLT_KFK`): the
 * one place outside the library's own calls that knows its error shape.
 */
export function isKafkaClientError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && code.startsWith('PLT_KFK')
}

/**
 * Gives a client of the library a listener for its 'error' event. The library emits one
 * for failures that no call of ours awaits (the consumer's rejoin after a heartbeat that
 * asked for it, when the broker is gone): without a listener Node ends the process. Every
 * client made in src/kafka goes through here; `onError` decides what the failure means
 * (the group member reconnects; the admin and the producer fail their next call anyway).
 */
export function handleClientErrors<T extends EventEmitter>(
  client: T,
  onError: (error: unknown) => void = () => {},
): T {
  client.on('error', onError)
  return client
}

/** The broker's answers that mean "too large", whatever the retries: sending the same again cannot work. */
const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE'])

/**
 * True when the client's error (or one it wraps, in `cause` or `errors`) is the broker
 * refusing records for their size. Walks at most 50 errors: an error from anywhere
 * must not make the check itself throw or run long.
 */
function isTooLarge(error: unknown): boolean {
  const todo: unknown[] = [error]
  for (let seen = 0; todo.length > 0 && seen < 50; seen++) {
    const e = todo.pop()
    if (typeof e !== 'object' || e === null) continue
    const id = (e as { apiId?: unknown }).apiId
    if (typeof id === 'string' && TOO_LARGE.has(id)) return true
    const inner = (e as { errors?: unknown }).errors
    if (Array.isArray(inner)) todo.push(...inner.slice(0, 20))
    if ('cause' in e) todo.push((e as { cause?: unknown }).cause)
  }
  return false
}

/** A failed call as an RtsaError: the security failure it means (not retryable), or a failed request. */
function wrap(action: string, target: KafkaTarget, error: unknown): RtsaError {
  return (
    securityFailureOf(error, target) ??
    new RtsaError(
      'KAFKA_REQUEST_FAILED',
      `Kafka ${action} failed (${describeConnection(target)}): ${messageOf(error)}`,
      { cause: error },
    )
  )
}

/** How a topic rtsa needs is provisioned (KAFKA_PARTITIONS, KAFKA_REPLICATION_FACTOR, KAFKA_CREATE_TOPICS). */
export interface TopicPolicy {
  readonly partitions: number
  /** Undefined: the broker's `default.replication.factor`. */
  readonly replicationFactor?: number
  /** False: never create; a missing topic is KAFKA_TOPIC_MISSING. Default true. */
  readonly create?: boolean
  readonly configs?: Readonly<Record<string, string>>
}

/** Topic administration: create, list, delete, and partition offsets. */
export class KafkaAdmin {
  readonly #admin: Admin
  readonly #bootstrap: KafkaTarget

  constructor(target: KafkaTarget, options: { timeoutMs?: number } = {}) {
    this.#bootstrap = target
    this.#admin = handleClientErrors(
      new Admin({
        clientId: `${CLIENT_ID}-admin`,
        ...libraryOptions(target),
        timeout: options.timeoutMs ?? 10_000,
        retries: 2,
      }),
    )
  }

  async listTopics(): Promise<string[]> {
    try {
      return await this.#admin.listTopics()
    } catch (error) {
      throw wrap('listTopics', this.#bootstrap, error)
    }
  }

  /**
   * Creates the topic unless it exists. Returns true when it was created. With
   * `create: false` it only checks, and a missing topic is KAFKA_TOPIC_MISSING (a cluster
   * where rtsa has no CreateTopics permission).
   */
  async ensureTopic(name: string, policy: TopicPolicy): Promise<boolean> {
    if ((await this.listTopics()).includes(name)) return false
    if (policy.create === false) {
      throw new RtsaError(
        'KAFKA_TOPIC_MISSING',
        `Topic ${name} does not exist on Kafka ${describeConnection(this.#bootstrap)} and KAFKA_CREATE_TOPICS=false: create it (${policy.partitions} partitions) or set KAFKA_CREATE_TOPICS=true`,
        { details: { topic: name } },
      )
    }
    try {
      await this.#admin.createTopics({
        topics: [name],
        partitions: policy.partitions,
        // -1: the broker's default.replication.factor (a managed cluster's is 3).
        replicas: policy.replicationFactor ?? -1,
        configs: Object.entries(policy.configs ?? {}).map(([name, value]) => ({ name, value })),
      })
      return true
    } catch (error) {
      const denied = securityFailureOf(error, this.#bootstrap)
      if (denied !== undefined) throw denied
      // Another process may have created it between the list and the create; the
      // metadata can take a moment to show it.
      for (let i = 0; i < 10; i++) {
        if ((await this.listTopics()).includes(name)) return false
        await sleep(200)
      }
      throw wrap(`createTopics ${name}`, this.#bootstrap, error)
    }
  }

  /** The topic's `max.message.bytes` (the largest record batch it takes), or undefined when it cannot be read. */
  async maxMessageBytes(topic: string): Promise<number | undefined> {
    try {
      const [d] = await this.#admin.describeConfigs({
        resources: [{ resourceType: 2, resourceName: topic, configurationKeys: ['max.message.bytes'] }],
      })
      const v = Number(d?.configs.find((c) => c.name === 'max.message.bytes')?.value)
      return Number.isSafeInteger(v) && v > 0 ? v : undefined
    } catch {
      return undefined
    }
  }

  async deleteTopic(name: string): Promise<void> {
    if (!(await this.listTopics()).includes(name)) return
    try {
      await this.#admin.deleteTopics({ topics: [name] })
    } catch (error) {
      throw wrap(`deleteTopics ${name}`, this.#bootstrap, error)
    }
  }

  /** Earliest and latest (next) offset of every partition of a topic. */
  async offsets(topic: string): Promise<TopicPartitionOffsets[]> {
    try {
      const metadata = await this.#admin.metadata({ topics: [topic] })
      const count = metadata.topics.get(topic)?.partitionsCount ?? 0
      const partitions = Array.from({ length: count }, (_, i) => i)
      const ask = (timestamp: bigint) =>
        this.#admin.listOffsets({
          topics: [{ name: topic, partitions: partitions.map((p) => ({ partitionIndex: p, timestamp })) }],
        })
      const [earliest, latest] = await Promise.all([ask(-2n), ask(-1n)])
      const offsetOf = (list: typeof earliest, p: number) =>
        list[0]?.partitions.find((x) => x.partitionIndex === p)?.offset ?? 0n
      return partitions.map((p) => ({
        partition: p,
        earliest: offsetOf(earliest, p),
        latest: offsetOf(latest, p),
      }))
    } catch (error) {
      throw wrap(`offsets ${topic}`, this.#bootstrap, error)
    }
  }

  async close(): Promise<void> {
    await this.#admin.close().catch(() => {})
  }
}

/**
 * Waits until a broker answers a metadata request through the Kafka protocol.
 * Throws `KAFKA_UNREACHABLE` naming `settingName` (e.g. `KAFKA_BOOTSTRAP`) after `timeoutMs`.
 */
export async function waitForKafka(
  target: KafkaTarget,
  options: { timeoutMs: number; settingName?: string },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    const admin = new KafkaAdmin(target, {
      timeoutMs: Math.min(5000, Math.max(500, deadline - Date.now())),
    })
    try {
      await admin.listTopics()
      return
    } catch (error) {
      // Wrong credentials or an untrusted certificate stay wrong: fail now, not at the deadline.
      if (error instanceof RtsaError && !error.retryable) throw error
      last = error
    } finally {
      await admin.close()
    }
    await sleep(250)
  }
  const where = describeConnection(target)
  const name = options.settingName ? `${options.settingName}=${where}` : where
  // A TLS listener that wants a client certificate, or a port that is not TLS at all, only
  // closes the connection: say what to check, since the error itself cannot.
  const tls = ['SSL', 'SASL_SSL'].includes(connectionOf(target).protocol)
  const hint = tls
    ? ' (with TLS: check that KAFKA_SECURITY_PROTOCOL matches the listener, and whether it requires a client certificate, KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE)'
    : ''
  throw new RtsaError(
    'KAFKA_UNREACHABLE',
    `Kafka broker ${name} did not answer within ${options.timeoutMs} ms: ${messageOf(cause(last))}${hint}`,
    { cause: last },
  )
}

/** The innermost error of a chain (the client wraps network errors in several layers). */
function cause(error: unknown): unknown {
  let e = error
  for (let depth = 0; depth < 10; depth++) {
    if (e instanceof AggregateError && e.errors.length > 0) e = e.errors[0]
    else if (e instanceof Error && Array.isArray((e as { errors?: unknown }).errors)) {
      const inner = (e as unknown as { errors: unknown[] }).errors
      if (inner.length === 0) break
      e = inner[0]
    } else if (e instanceof Error && e.cause !== undefined) e = e.cause
    else break
  }
  return e
}

/** An idempotent (`acks=all`) producer. `send` resolves once the broker has the records. */
export class KafkaProducer {
  readonly #producer: Producer
  readonly #bootstrap: KafkaTarget

  constructor(target: KafkaTarget, options: { clientId?: string; idempotent?: boolean } = {}) {
    this.#bootstrap = target
    this.#producer = handleClientErrors(
      new Producer({
        clientId: options.clientId ?? `${CLIENT_ID}-producer`,
        ...libraryOptions(target),
        idempotent: options.idempotent ?? true,
        acks: -1,
        retries: 5,
      }),
    )
  }

  async send(records: readonly OutgoingRecord[]): Promise<void> {
    if (records.length === 0) return
    try {
      await this.#producer.send({
        messages: records.map((r) => ({
          topic: r.topic,
          key: r.key ?? undefined,
          value: r.value ?? undefined,
          ...(r.partition === undefined ? {} : { partition: r.partition }),
          ...(r.timestamp === undefined ? {} : { timestamp: BigInt(r.timestamp) }),
        })),
      })
    } catch (error) {
      if (isTooLarge(error)) {
        throw new RtsaError(
          'KAFKA_RECORD_TOO_LARGE',
          `Kafka refused ${records.length} record(s) as too large: ${messageOf(error)}`,
          { cause: error },
        )
      }
      throw wrap('produce', this.#bootstrap, error)
    }
  }

  async close(): Promise<void> {
    await this.#producer.close().catch(() => {})
  }
}

/**
 * Reads a whole topic from its earliest offsets up to the end offsets seen at the
 * start (no consumer group offsets are committed). For tests and tools, not the processor.
 */
export async function readTopic(
  bootstrap: KafkaTarget,
  topic: string,
  options: { timeoutMs?: number } = {},
): Promise<IncomingRecord[]> {
  const admin = new KafkaAdmin(bootstrap)
  let ends: TopicPartitionOffsets[]
  try {
    ends = await admin.offsets(topic)
  } finally {
    await admin.close()
  }
  const remaining = new Map(ends.filter((p) => p.latest > p.earliest).map((p) => [p.partition, p.latest]))
  const out: IncomingRecord[] = []
  if (remaining.size === 0) return out
  const consumer = handleClientErrors(
    new Consumer({
      clientId: `${CLIENT_ID}-reader`,
      groupId: `rtsa-reader-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`,
      ...libraryOptions(bootstrap),
    }),
  )
  let timer: NodeJS.Timeout | undefined
  try {
    const stream = await consumer.consume({
      topics: [topic],
      mode: 'earliest',
      autocommit: false,
      maxWaitTime: 200,
    })
    // A topic that stops short of its end offsets must not hang the reader: close the stream.
    timer = setTimeout(() => void stream.close().catch(() => {}), options.timeoutMs ?? 30_000)
    for await (const m of stream) {
      out.push({
        topic: m.topic,
        partition: m.partition,
        offset: m.offset,
        key: m.key ?? null,
        // A tombstone reads as an empty value, as the processor sees it.
        value: m.value ?? Buffer.alloc(0),
        timestamp: Number(m.timestamp),
      })
      const end = remaining.get(m.partition)
      if (end !== undefined && m.offset + 1n >= end) remaining.delete(m.partition)
      if (remaining.size === 0) break
    }
    await stream.close()
  } catch (error) {
    throw wrap(`read ${topic}`, bootstrap, error)
  } finally {
    clearTimeout(timer)
    await consumer.close(true).catch(() => {})
  }
  if (remaining.size > 0) {
    throw new RtsaError('SERVICE_TIMEOUT', `Reading ${topic} did not reach the end offsets in time`)
  }
  return out
}
