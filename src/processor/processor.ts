/**
 * The stream processor: Kafka -> engine -> PostgreSQL, exactly once.
 *
 * For each assigned partition it claims ownership in PostgreSQL (a new fencing epoch),
 * restores the engine from the stored state and reads from the stored next offset.
 * Each micro-batch of a partition is committed in ONE transaction (rows, dead letters,
 * engine state, next offset) guarded by the epoch; a refused (fenced) commit drops
 * the partition. A failed commit is retried with the same content, which is
 * idempotent, so an unknown outcome (connection lost during COMMIT) is safe too.
 *
 *   assigned ─claim─▶ owned ─batch─▶ commit ─ok─▶ owned
 *                        │     │       └─fenced─▶ dropped (re-claimed after 3 s if still assigned)
 *                        │     └─engine threw─▶ isolating ─▶ owned (see #isolate)
 *                        └─revoked─▶ dropped (uncommitted work is simply redone by the next owner)
 *
 * A record that makes the engine throw (a bug nobody has found yet) must not stop the
 * partition: the batch is redone from the committed state in halves, each committed on
 * its own, down to the one record that throws, which is dead-lettered as
 * `processing_error`. The same records give the same result on every replay.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type pg from 'pg'
import type { Logger } from 'pino'
import type { BatchResult, InputRecord, PartitionEngine, SnapshotChanges } from '../engine/types.ts'
import { isRtsaError, messageOf } from '../errors/catalogue.ts'
import { KafkaAdmin, KafkaProducer } from '../kafka/client.ts'
import { GroupMember } from '../kafka/group.ts'
import {
  type BatchCommit,
  claimPartition,
  commitBatch,
  loadPartitionState,
  releasePartition,
} from '../store/checkpoints.ts'
import type { ProcessorConfig } from './config.ts'
import { DeadLetterRelay } from './dlq-relay.ts'
import type { EngineFactory } from './engine-adapter.ts'
import type { ProcessorMetrics } from './metrics.ts'

interface Owned {
  readonly partition: number
  readonly epoch: number
  /** Replaced by one restored from the committed state when processing threw. */
  engine: PartitionEngine
}

export type ProcessorStatus = 'starting' | 'running' | 'recovering' | 'stopping' | 'stopped'

export interface ProcessorDeps {
  readonly config: ProcessorConfig
  readonly bootstrap: readonly string[]
  readonly pool: pg.Pool
  readonly engineFactory: EngineFactory
  readonly log: Logger
  readonly metrics: ProcessorMetrics
}

export class Processor {
  readonly #deps: ProcessorDeps
  readonly #owned = new Map<number, Owned>()
  readonly #ends = new Map<number, bigint>()
  #assigned: number[] = []
  readonly #claims = new Map<number, Promise<void>>()
  #member: GroupMember | undefined
  #admin: KafkaAdmin | undefined
  #dlq: KafkaProducer | undefined
  #failure: unknown
  #relay: DeadLetterRelay | undefined
  readonly #inflight = new Map<number, Promise<void>>()
  #stopRequested = false
  #loop: Promise<void> | undefined
  status: ProcessorStatus = 'starting'
  lastCommitAt: number | null = null
  lastLoopAt = Date.now()
  committedBatches = 0

  constructor(deps: ProcessorDeps) {
    this.#deps = deps
  }

  /** Partitions this instance owns right now. */
  owned(): number[] {
    return [...this.#owned.keys()].sort((a, b) => a - b)
  }

  /** Starts the loop in the background; `stop()` ends it. */
  start(): void {
    this.#loop = this.#run()
  }

  /**
   * Reports a failure of the Kafka connection from outside the loop (e.g. a client
   * promise that rejected with nobody waiting): the loop reconnects with a new member.
   */
  fail(error: unknown): void {
    this.#failure ??= error
  }

  /** Finishes the batch in progress, commits it, gives the partitions up and leaves the group. */
  async stop(): Promise<void> {
    this.#stopRequested = true
    this.status = 'stopping'
    await this.#loop
    this.status = 'stopped'
  }

  async #run(): Promise<void> {
    let backoff = 500
    while (!this.#stopRequested) {
      try {
        await this.#connect()
        this.status = 'running'
        backoff = 500
        await this.#consume()
      } catch (error) {
        this.#deps.log.error({ err: messageOf(error) }, 'processor loop failed; reconnecting')
        this.status = 'recovering'
      }
      await this.#disconnect()
      if (!this.#stopRequested) {
        await sleep(backoff)
        backoff = Math.min(backoff * 2, 10_000)
      }
    }
  }

  async #connect(): Promise<void> {
    const { config, bootstrap } = this.#deps
    this.#failure = undefined
    this.#admin = new KafkaAdmin(bootstrap)
    this.#dlq = new KafkaProducer(bootstrap, { clientId: `${config.instanceId}-dlq` })
    // The dead-letter topic is the processor's own output: make sure it exists.
    await this.#admin.ensureTopic(config.kafkaDlqTopic, config.kafkaPartitions)
    // Until a claim seeks a partition to its checkpoint, fetch from the end: starting
    // at the earliest offsets made a restart read (and drop) the whole topic.
    const placeholder = new Map(
      (await this.#admin.offsets(config.kafkaTopic)).map((p) => [p.partition, p.latest]),
    )
    this.#member = new GroupMember({
      bootstrap,
      groupId: config.kafkaGroup,
      topic: config.kafkaTopic,
      clientId: config.instanceId,
      sessionTimeoutMs: config.sessionTimeout,
      ...(config.groupInstanceId === undefined ? {} : { groupInstanceId: config.groupInstanceId }),
      maxWaitMs: Math.min(config.batchMaxWait, 500),
      maxBuffered: config.batchMaxRecords * 2,
      maxBufferedBytes: config.batchMaxBytes * 2,
      onAssignment: (partitions) => this.#onAssignment(partitions),
      onError: (error) => {
        this.#failure = error
      },
    })
    await this.#member.start(placeholder)
    this.#relay = new DeadLetterRelay({
      pool: this.#deps.pool,
      producer: this.#dlq,
      topic: config.kafkaTopic,
      dlqTopic: config.kafkaDlqTopic,
      owned: () => this.owned(),
      maxMessageBytes: () => this.#admin?.maxMessageBytes(config.kafkaDlqTopic) ?? Promise.resolve(undefined),
      log: this.#deps.log,
      metrics: this.#deps.metrics,
    })
  }

  async #disconnect(): Promise<void> {
    await this.#settle()
    const owned = [...this.#owned.values()]
    this.#owned.clear()
    this.#deps.metrics.owned.set(0)
    await this.#member?.close()
    await this.#relay?.stop()
    this.#relay = undefined
    await this.#admin?.close()
    await this.#dlq?.close()
    this.#member = undefined
    if (this.#stopRequested) {
      for (const o of owned) {
        await releasePartition(this.#deps.pool, this.#deps.config.kafkaTopic, o.partition, o.epoch).catch(
          () => {},
        )
      }
    }
  }

  #onAssignment(partitions: number[]): void {
    this.#deps.metrics.rebalances.inc()
    this.#assigned = partitions
    this.#deps.log.info({ partitions }, 'partitions assigned')
    for (const p of [...this.#owned.keys()]) {
      if (!partitions.includes(p)) this.#drop(p, 'revoked')
    }
    for (const p of partitions) if (!this.#owned.has(p)) this.#claimLater(p)
  }

  #claimLater(partition: number): void {
    // Partitions are claimed independently: one that cannot be claimed (a database
    // error, an incompatible snapshot) must not hold the others back.
    if (this.#claims.has(partition)) return
    const claim = this.#claim(partition).finally(() => this.#claims.delete(partition))
    this.#claims.set(partition, claim)
  }

  async #claim(partition: number): Promise<void> {
    const { config, pool, log } = this.#deps
    for (let attempt = 0; !this.#stopRequested; attempt++) {
      if (!this.#assigned.includes(partition) || this.#owned.has(partition) || !this.#member) return
      try {
        const cp = await claimPartition(pool, config.kafkaTopic, partition, config.instanceId)
        const engine = this.#deps.engineFactory(partition, cp.pieces)
        const start = cp.nextOffset ?? (await this.#startingOffset(partition))
        if (!this.#assigned.includes(partition)) return
        this.#owned.set(partition, { partition, epoch: cp.epoch, engine })
        this.#deps.metrics.owned.set(this.#owned.size)
        this.#member.seek(partition, start)
        log.info({ partition, epoch: cp.epoch, offset: start.toString() }, 'partition claimed')
        return
      } catch (error) {
        if (isRtsaError(error) && !error.retryable) {
          // e.g. SNAPSHOT_INCOMPATIBLE after a change of WINDOW/WATERMARK: only a reset helps.
          log.error(
            { partition, err: messageOf(error), code: error.code },
            'cannot take this partition; retrying slowly',
          )
          await sleep(30_000)
        } else {
          log.warn({ partition, err: messageOf(error), attempt }, 'claiming a partition failed; retrying')
          await sleep(Math.min(200 * 2 ** attempt, 5000))
        }
      }
    }
  }

  async #startingOffset(partition: number): Promise<bigint> {
    const offsets = await this.#admin!.offsets(this.#deps.config.kafkaTopic)
    const p = offsets.find((o) => o.partition === partition)
    if (!p) return 0n
    return this.#deps.config.startingOffsets === 'latest' ? p.latest : p.earliest
  }

  /** Forgets a partition; with `expected`, only if it is still that ownership (not a newer claim). */
  #drop(partition: number, why: string, expected?: Owned): void {
    const current = this.#owned.get(partition)
    if (current === undefined || (expected !== undefined && current !== expected)) return
    this.#owned.delete(partition)
    // Another instance reports this partition now: stop exporting our stale figures.
    this.#deps.metrics.lag.remove({ partition })
    this.#deps.metrics.watermark.remove({ partition })
    this.#member?.forget(partition)
    this.#deps.metrics.owned.set(this.#owned.size)
    this.#deps.log.info({ partition, why }, 'partition dropped')
  }

  async #consume(): Promise<void> {
    const { config } = this.#deps
    let lastEnds = 0
    while (!this.#stopRequested) {
      if (this.#failure !== undefined) throw this.#failure
      this.lastLoopAt = Date.now()
      if (Date.now() - lastEnds > 2000) {
        lastEnds = Date.now()
        await this.#refreshEnds()
      }
      const records = await this.#member!.poll(
        config.batchMaxRecords,
        config.batchMaxWait,
        config.batchMaxBytes,
      )
      if (records.length === 0) continue
      const byPartition = new Map<number, InputRecord[]>()
      for (const r of records) {
        let list = byPartition.get(r.partition)
        if (!list) {
          list = []
          byPartition.set(r.partition, list)
        }
        list.push(r)
      }
      for (const [partition, list] of byPartition) await this.#processPartition(partition, list)
    }
    await this.#settle()
    await Promise.all(this.#claims.values())
  }

  async #refreshEnds(): Promise<void> {
    try {
      for (const p of await this.#admin!.offsets(this.#deps.config.kafkaTopic))
        this.#ends.set(p.partition, p.latest)
    } catch (error) {
      this.#deps.log.warn({ err: messageOf(error) }, 'reading end offsets failed')
    }
  }

  /**
   * Runs the engine on a partition's records and starts their commit without waiting
   * for it, so PostgreSQL works while the loop fetches and processes other partitions.
   * A partition has at most one batch in flight: its next batch waits for it.
   */
  async #processPartition(partition: number, records: InputRecord[]): Promise<void> {
    await this.#inflight.get(partition)
    const owned = this.#owned.get(partition)
    if (!owned) return
    const { metrics } = this.#deps
    metrics.recordsIn.inc({ partition }, records.length)
    const t0 = performance.now()
    let out: EngineOutput
    try {
      out = runBatch(owned.engine, records)
    } catch (error) {
      // Every earlier batch is committed (awaited above): the committed state is where
      // this batch started.
      await this.#isolate(owned, records, error)
      return
    }
    metrics.batchSeconds.observe((performance.now() - t0) / 1000)
    const batch = this.#batchOf(owned, records, out)
    const commit = this.#commit(owned, batch, out.result.counters.accepted).finally(() => {
      if (this.#inflight.get(partition) === commit) this.#inflight.delete(partition)
    })
    this.#inflight.set(partition, commit)
  }

  #batchOf(owned: Owned, records: readonly InputRecord[], { result, snapshot }: EngineOutput) {
    const c = result.counters
    const outcomes: Record<string, number> = { accepted: c.accepted, late: c.late, duplicate: c.duplicate }
    for (const [reason, n] of Object.entries(c.rejectedByReason)) outcomes[reason] = n
    return {
      topic: this.#deps.config.kafkaTopic,
      partition: owned.partition,
      epoch: owned.epoch,
      nextOffset: result.nextOffset ?? records[records.length - 1]!.offset + 1n,
      watermark: result.watermark,
      endOffset: this.#ends.get(owned.partition) ?? null,
      windows: result.windows,
      removedWindows: result.removedWindows,
      states: result.states,
      counts: result.counts,
      deadLetters: result.deadLetters,
      outcomes,
      snapshot,
    } satisfies BatchCommit
  }

  /**
   * Processing `records` threw. Redoes them from the committed state: a part that goes
   * through is committed, a part that throws is split in two, and a single record that
   * throws is dead-lettered as `processing_error` (with the error's message). An engine
   * that threw is never used again: its state may be half-changed.
   */
  async #isolate(owned: Owned, records: readonly InputRecord[], first: unknown): Promise<void> {
    const { metrics, log } = this.#deps
    const { partition } = owned
    log.error(
      { partition, err: messageOf(first), from: records[0]!.offset.toString(), records: records.length },
      'processing a batch threw; isolating the record that causes it',
    )
    metrics.isolations.inc()
    const queue: (readonly InputRecord[])[] = [records]
    while (queue.length > 0) {
      if (this.#owned.get(partition) !== owned) return
      const restored = await this.#restoreCommitted(owned)
      if (restored === undefined) return
      owned.engine = restored
      // Parts that go through are committed one by one until one throws; then the engine is restored again.
      while (queue.length > 0) {
        const part = queue.shift()!
        let out: EngineOutput
        try {
          out = runBatch(owned.engine, part)
        } catch (error) {
          if (part.length > 1) {
            const mid = part.length >> 1
            queue.unshift(part.slice(0, mid), part.slice(mid))
            break
          }
          const r = part[0]!
          const restoredAgain = await this.#restoreCommitted(owned)
          if (restoredAgain === undefined) return
          owned.engine = restoredAgain
          const detail = `processing the record threw: ${errorText(error)}`
          out = { result: owned.engine.fail(r, detail), snapshot: owned.engine.snapshotChanges() }
          metrics.processingErrors.inc()
          log.error(
            { partition, offset: r.offset.toString(), err: detail },
            'record dead-lettered as processing_error',
          )
        }
        await this.#commit(owned, this.#batchOf(owned, part, out), out.result.counters.accepted)
        if (this.#owned.get(partition) !== owned) return
      }
    }
  }

  /** An engine of the partition's committed state (undefined: the partition is no longer ours). */
  async #restoreCommitted(owned: Owned): Promise<PartitionEngine | undefined> {
    const { config, pool, log } = this.#deps
    for (let attempt = 0; ; attempt++) {
      if (this.#stopRequested && attempt > 3) return undefined
      try {
        const state = await loadPartitionState(pool, config.kafkaTopic, owned.partition)
        if (state.epoch !== owned.epoch) {
          this.#drop(owned.partition, 'fenced', owned)
          return undefined
        }
        return this.#deps.engineFactory(owned.partition, state.pieces)
      } catch (error) {
        if (isRtsaError(error) && !error.retryable) throw error
        log.warn(
          { partition: owned.partition, err: messageOf(error), attempt },
          'reading the committed state failed; retrying',
        )
        await sleep(Math.min(100 * 2 ** attempt, 5000))
      }
    }
  }

  /** Waits for every commit in flight. */
  async #settle(): Promise<void> {
    await Promise.all(this.#inflight.values())
  }

  /** Commits one batch, retrying with the same content; never rejects. */
  async #commit(owned: Owned, batch: BatchCommit, accepted: number): Promise<void> {
    const { metrics, pool, log } = this.#deps
    const { partition } = batch
    for (let attempt = 0; ; attempt++) {
      const t1 = performance.now()
      try {
        const outcome = await commitBatch(pool, batch)
        metrics.commitSeconds.observe((performance.now() - t1) / 1000)
        if (outcome === 'fenced') {
          metrics.fenced.inc()
          log.warn({ partition, epoch: owned.epoch }, 'commit refused: another instance owns the partition')
          this.#drop(partition, 'fenced', owned)
          // Either we lost it (a rebalance we have not seen yet will say so) or a stale member
          // claimed it. Claim again only after a few heartbeats, once assignments have settled,
          // so two instances do not take a partition from each other in a loop.
          setTimeout(() => {
            if (this.#assigned.includes(partition) && !this.#stopRequested) this.#claimLater(partition)
          }, 3000).unref()
          return
        }
        break
      } catch (error) {
        metrics.commitErrors.inc()
        log.warn({ partition, err: messageOf(error), attempt }, 'commit failed; retrying the same batch')
        if (this.#stopRequested && attempt >= 3) {
          // Nothing is lost: the batch was not committed, so the next owner reads it again.
          this.#drop(partition, 'commit failed while stopping', owned)
          return
        }
        await sleep(Math.min(100 * 2 ** attempt, 5000))
      }
    }
    this.lastCommitAt = Date.now()
    this.committedBatches++
    metrics.commits.inc()
    metrics.applied.inc(accepted)
    for (const [reason, n] of Object.entries(batch.outcomes)) {
      if (reason !== 'accepted' && n > 0) metrics.rejected.inc({ reason }, n)
    }
    if (batch.watermark !== null) metrics.watermark.set({ partition }, batch.watermark / 1000)
    const end = this.#ends.get(partition)
    if (end !== undefined) metrics.lag.set({ partition }, Math.max(0, Number(end - batch.nextOffset)))
    if (batch.deadLetters.length > 0) this.#relay?.nudge()
  }
}

/** What the engine made of one batch: its result and the state changes to store with it. */
interface EngineOutput {
  readonly result: BatchResult
  readonly snapshot: SnapshotChanges
}

function runBatch(engine: PartitionEngine, records: readonly InputRecord[]): EngineOutput {
  const result = engine.process(records)
  return { result, snapshot: engine.snapshotChanges() }
}

/** An error's name and message for a dead letter's detail (a thrown non-Error too). */
function errorText(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  return text.length > 500 ? `${text.slice(0, 497)}...` : text
}
