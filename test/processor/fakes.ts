/**
 * In-memory stand-ins for the processor's ports (src/processor/ports.ts), for unit
 * tests of its partition lifecycle without a broker or a database: a partitioned log
 * with an assignment the test controls, and a checkpoint store that fences by epoch and
 * keeps the tables the way src/store/checkpoints.ts does (TableModel).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { InputRecord, SnapshotPiece } from '../../src/engine/types.ts'
import { encodeEvent } from '../../src/events/decode.ts'
import type { EventType } from '../../src/events/types.ts'
import type {
  Broker,
  BrokerSession,
  CheckpointStore,
  GroupHandlers,
  GroupSource,
  PartitionOffsets,
  Relay,
} from '../../src/processor/ports.ts'
import type { BatchCommit, PartitionCheckpoint } from '../../src/store/checkpoints.ts'
import { TableModel } from '../engine/helpers.ts'

/** The input topic: records per partition, appended by the test. */
export class FakeTopic {
  readonly partitions: InputRecord[][]

  constructor(count: number) {
    this.partitions = Array.from({ length: count }, () => [])
  }

  /** Appends a valid wire event, keyed by its stream, to `partition`. */
  add(partition: number, ts: number, type: EventType, user: string, stream = `s${partition}`, id?: string) {
    const list = this.partitions[partition]!
    list.push({
      partition,
      offset: BigInt(list.length),
      key: Buffer.from(stream),
      value: encodeEvent({
        event_id: id ?? `p${partition}-${list.length}`,
        ts: new Date(ts).toISOString(),
        event_type: type,
        stream_id: stream,
        user_id: user,
      }),
      timestamp: ts,
    })
  }

  ends(): PartitionOffsets[] {
    return this.partitions.map((l, partition) => ({ partition, earliest: 0n, latest: BigInt(l.length) }))
  }
}

class FakeSource implements GroupSource {
  readonly #topic: FakeTopic
  readonly positions = new Map<number, bigint>()
  closed = false
  /** Polls that returned records. */
  deliveries = 0

  constructor(topic: FakeTopic) {
    this.#topic = topic
  }

  async start(): Promise<void> {}

  async poll(max: number, maxWaitMs: number): Promise<InputRecord[]> {
    const out: InputRecord[] = []
    for (const [p, at] of this.positions) {
      const list = this.#topic.partitions[p]!
      for (let o = Number(at); o < list.length && out.length < max; o++) out.push(list[o]!)
      this.positions.set(p, at + BigInt(out.filter((r) => r.partition === p).length))
    }
    if (out.length === 0) await sleep(Math.min(maxWaitMs, 5))
    else this.deliveries++
    return out
  }

  seek(partition: number, offset: bigint): void {
    this.positions.set(partition, offset)
  }

  forget(partition: number): void {
    this.positions.delete(partition)
  }

  async close(): Promise<void> {
    this.closed = true
  }
}

/** The broker: the test decides the assignment (`assign`) and can break the connection (`breakNext`). */
export class FakeBroker implements Broker {
  readonly #topic: FakeTopic
  #handlers: GroupHandlers | undefined
  source: FakeSource | undefined
  connections = 0
  nudges = 0
  /** The next connect() fails with this. */
  breakNext: Error | undefined

  constructor(topic: FakeTopic) {
    this.#topic = topic
  }

  async connect(): Promise<BrokerSession> {
    const error = this.breakNext
    this.breakNext = undefined
    if (error) throw error
    this.connections++
    const relay: Relay = {
      nudge: () => {
        this.nudges++
      },
      stop: async () => {},
    }
    return {
      join: (handlers) => {
        this.#handlers = handlers
        this.source = new FakeSource(this.#topic)
        return this.source
      },
      offsets: async () => this.#topic.ends(),
      relay: () => relay,
      close: async () => {},
    }
  }

  /** A rebalance gave this member `partitions`. */
  assign(partitions: number[]): void {
    this.#handlers?.onAssignment(partitions)
  }

  /** The membership failed (the processor reconnects). */
  fail(error: Error): void {
    this.#handlers?.onError(error)
  }
}

interface Checkpoint {
  epoch: number
  owner: string | null
  next: bigint | null
  flushSeq: number
  pieces: Map<string, Buffer>
}

/** The checkpoint store: epochs, fencing, idempotent commits, and the tables. */
export class FakeCheckpoints implements CheckpointStore {
  readonly rows = new Map<number, Checkpoint>()
  readonly tables = new TableModel()
  readonly dead: string[] = []
  readonly owner: string
  /** The next commits that fail (a database error) before reaching the store. */
  failCommits = 0
  /** The database is unreachable: every call fails until this is false again. */
  down = false
  pings = 0
  commits = 0
  /** Provisional window rows and state rows written (PROVISIONAL_INTERVAL's measure). */
  provisionalRows = 0
  releases: number[] = []

  constructor(owner = 'test') {
    this.owner = owner
  }

  #row(partition: number): Checkpoint {
    let r = this.rows.get(partition)
    if (r === undefined) {
      r = { epoch: 0, owner: null, next: null, flushSeq: 0, pieces: new Map() }
      this.rows.set(partition, r)
    }
    return r
  }

  async claim(partition: number): Promise<PartitionCheckpoint> {
    if (this.down) throw new Error('connect ECONNREFUSED')
    const r = this.#row(partition)
    r.epoch++
    r.owner = this.owner
    return {
      topic: 't',
      partition,
      epoch: r.epoch,
      nextOffset: r.next,
      pieces: [...r.pieces].map(([key, data]): SnapshotPiece => ({ key, data })),
      flushSeq: r.flushSeq,
    }
  }

  /** Another instance claims the partition: our next commit for it is refused. */
  steal(partition: number): void {
    const r = this.#row(partition)
    r.epoch++
    r.owner = 'thief'
  }

  async ping(): Promise<void> {
    this.pings++
    await sleep(0)
    if (this.down) throw new Error('connect ECONNREFUSED')
  }

  async commit(batch: BatchCommit): Promise<'committed' | 'fenced'> {
    await sleep(0)
    if (this.down) throw new Error('Query read timeout')
    if (this.failCommits > 0) {
      this.failCommits--
      throw new Error('connection terminated unexpectedly')
    }
    const r = this.#row(batch.partition)
    if (r.epoch !== batch.epoch) return 'fenced'
    // As the store: a batch of records moves the offset on; a flush (same offset) has its number.
    const flush = batch.flushSeq ?? 0
    if (
      r.next !== null &&
      (r.next > batch.nextOffset || (r.next === batch.nextOffset && r.flushSeq >= flush))
    )
      return 'committed'
    r.next = batch.nextOffset
    r.flushSeq = flush
    this.provisionalRows += batch.windows.filter((w) => !w.isFinal).length + batch.states.length
    this.tables.apply(batch as never)
    for (const d of batch.deadLetters) this.dead.push(`${d.partition}:${d.offset}:${d.reason}`)
    for (const p of batch.snapshot.put) r.pieces.set(p.key, p.data)
    for (const k of batch.snapshot.delete) r.pieces.delete(k)
    this.commits++
    return 'committed'
  }

  async load(partition: number): Promise<{ epoch: number; pieces: SnapshotPiece[] }> {
    if (this.down) throw new Error('connect ECONNREFUSED')
    const r = this.#row(partition)
    return { epoch: r.epoch, pieces: [...r.pieces].map(([key, data]) => ({ key, data })) }
  }

  async release(partition: number, epoch: number): Promise<void> {
    const r = this.#row(partition)
    if (r.epoch === epoch) r.owner = null
    this.releases.push(partition)
  }

  /** The committed next offset of each partition. */
  next(partition: number): bigint | null {
    return this.rows.get(partition)?.next ?? null
  }
}
