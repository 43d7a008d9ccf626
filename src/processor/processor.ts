/**
 * The stream processor: records -> engine -> store, exactly once. It talks to the
 * outside only through its ports (ports.ts: the broker and the checkpoint store);
 * wiring.ts connects them to Kafka and PostgreSQL.
 *
 * For each assigned partition it claims ownership (a new fencing epoch), restores the
 * engine from the stored state and reads from the stored next offset. Each micro-batch
 * of a partition is committed in ONE transaction (rows, dead letters, engine state,
 * next offset) guarded by the epoch; a refused (fenced) commit drops the partition. A
 * failed commit is retried with the same content, which is idempotent, so an unknown
 * outcome (connection lost during COMMIT) is safe too. The partitions' life is the
 * state machine of partitions.ts:
 *
 *   (assigned) ─claim─▶ claiming ─▶ owned ─batch─▶ committing ─ok─▶ owned
 *                                     │                └─fenced─▶ dropped (claimed again after a pause if still assigned)
 *                                     ├─engine threw─▶ isolate (parts committed one by one) ─▶ owned
 *                                     └─revoked─▶ dropped (uncommitted work is simply redone by the next owner)
 *
 * This file is the loop and the ownership (connect, assignments, claims, drops, stop);
 * batches.ts is one partition's work (engine, commit, isolation of a poison record).
 *
 * Liveness: a partition whose store calls (claim, commit) keep failing for
 * COMMIT_STALL_TIMEOUT makes the instance give every partition up and leave the group, so
 * that a healthy instance takes them instead of the group waiting on one that reaches
 * Kafka but not its database. It rejoins once the store answers again.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import type { InputRecord } from '../engine/types.ts'
import { isRtsaError, messageOf, RtsaError } from '../errors/catalogue.ts'
import { type BatchHost, flushBatch, processBatch } from './batches.ts'
import type { ProcessorConfig } from './config.ts'
import type { EngineHost } from './engine-handle.ts'
import type { ProcessorMetrics } from './metrics.ts'
import { PartitionTable, type Slot } from './partitions.ts'
import type { Broker, BrokerSession, CheckpointStore, GroupSource, Relay } from './ports.ts'

export type ProcessorStatus = 'starting' | 'running' | 'recovering' | 'stopping' | 'stopped'

/** What `/health` and `/ready` show. */
export interface ProcessorHealth {
  readonly status: ProcessorStatus
  readonly partitions: number[]
  /** When the loop last went round (epoch ms). */
  readonly lastLoopAt: number
  readonly lastCommitAt: number | null
  readonly committedBatches: number
}

export interface ProcessorDeps {
  readonly config: Pick<
    ProcessorConfig,
    | 'kafkaTopic'
    | 'batchMaxRecords'
    | 'batchMaxWait'
    | 'batchMaxBytes'
    | 'provisionalInterval'
    | 'startingOffsets'
    | 'commitStallTimeout'
  >
  readonly broker: Broker
  readonly checkpoints: CheckpointStore
  /** Where the partitions' engines run (inlineEngines, or engineThreads for PROCESSOR_THREADS > 1); closed by stop(). */
  readonly engines: EngineHost
  readonly log: Logger
  readonly metrics: ProcessorMetrics
  /** Pause before a fenced partition that is still assigned is claimed again (default 3 s). */
  readonly reclaimAfterMs?: number
}

export class Processor {
  readonly #deps: ProcessorDeps
  readonly #table = new PartitionTable()
  #session: BrokerSession | undefined
  #source: GroupSource | undefined
  #relay: Relay | undefined
  #failure: unknown
  #stopRequested = false
  #loop: Promise<void> | undefined
  readonly #claims = new Set<Promise<void>>()
  #status: ProcessorStatus = 'starting'
  #lastCommitAt: number | null = null
  #lastLoopAt = Date.now()
  #committedBatches = 0
  /** The last failure was a stall: reconnect only once the store answers. */
  #stalled = false
  #watchdog: NodeJS.Timeout | undefined

  readonly #host: BatchHost

  constructor(deps: ProcessorDeps) {
    this.#deps = deps
    this.#host = {
      topic: deps.config.kafkaTopic,
      checkpoints: deps.checkpoints,
      engines: deps.engines,
      log: deps.log,
      metrics: deps.metrics,
      ends: this.#table.ends,
      provisionalIntervalMs: deps.config.provisionalInterval,
      stopping: () => this.#stopRequested,
      drop: (slot, why) => this.#drop(slot, why),
      // Either we lost it (a rebalance we have not seen yet will say so) or a stale member
      // claimed it. Claim again only after a few heartbeats, once assignments have settled,
      // so two instances do not take a partition from each other in a loop.
      reclaimLater: (partition) =>
        void setTimeout(() => this.#claimLater(partition), deps.reclaimAfterMs ?? 3000).unref(),
      seek: (partition, offset) => this.#source?.seek(partition, offset),
      committed: (batch) => {
        this.#lastCommitAt = Date.now()
        this.#committedBatches++
        if (batch.deadLetters.length > 0) this.#relay?.nudge()
      },
    }
  }

  /** Partitions this instance holds right now. */
  owned(): number[] {
    return this.#table.held().map((s) => s.partition)
  }

  health(): ProcessorHealth {
    return {
      status: this.#status,
      partitions: this.owned(),
      lastLoopAt: this.#lastLoopAt,
      lastCommitAt: this.#lastCommitAt,
      committedBatches: this.#committedBatches,
    }
  }

  /** Starts the loop in the background; `stop()` ends it. */
  start(): void {
    this.#loop = this.#run()
  }

  /**
   * Reports a failure of the broker connection from outside the loop (e.g. a client
   * promise that rejected with nobody waiting): the loop reconnects with a new member.
   */
  fail(error: unknown): void {
    this.#failure ??= error
  }

  /** Finishes the batch in progress, commits it, gives the partitions up, leaves the group and closes the engines. */
  async stop(): Promise<void> {
    this.#stopRequested = true
    this.#status = 'stopping'
    await this.#loop
    await this.#deps.engines.close()
    this.#status = 'stopped'
  }

  async #run(): Promise<void> {
    let backoff = 500
    while (!this.#stopRequested) {
      try {
        await this.#connect()
        this.#status = 'running'
        backoff = 500
        await this.#consume()
      } catch (error) {
        const code = isRtsaError(error) ? error.code : undefined
        this.#deps.log.error({ err: messageOf(error), code }, 'processor loop failed; reconnecting')
        this.#status = 'recovering'
      }
      await this.#disconnect()
      if (!this.#stopRequested) {
        await sleep(backoff)
        backoff = Math.min(backoff * 2, 10_000)
      }
      if (this.#stalled) await this.#waitForStore()
    }
  }

  /** After a stall: waits until the store answers (or a stop), then the loop rejoins. */
  async #waitForStore(): Promise<void> {
    for (let attempt = 0; !this.#stopRequested; attempt++) {
      try {
        await this.#deps.checkpoints.ping()
        this.#stalled = false
        this.#deps.log.info('the database answers again; rejoining the group')
        return
      } catch (error) {
        if (attempt === 0)
          this.#deps.log.warn({ err: messageOf(error) }, 'waiting for the database before rejoining')
        await sleep(Math.min(250 * 2 ** attempt, 2000))
      }
    }
  }

  /** Gives everything up when a partition's store calls have failed for longer than the stall timeout. */
  #checkStall(): void {
    const limit = this.#deps.config.commitStallTimeout
    const now = Date.now()
    const stuck = this.#table.all().find((s) => s.waitingSince !== undefined && now - s.waitingSince >= limit)
    if (stuck === undefined || this.#failure !== undefined || this.#stopRequested) return
    this.#deps.metrics.stalls.inc()
    this.#deps.log.error(
      { partition: stuck.partition, failingMs: now - stuck.waitingSince!, limitMs: limit },
      'cannot reach the database: giving the partitions up and leaving the group until it answers',
    )
    this.#stalled = true
    this.fail(
      new RtsaError(
        'COMMIT_STALLED',
        `Partition ${stuck.partition} could not be committed or claimed for ${now - stuck.waitingSince!} ms (COMMIT_STALL_TIMEOUT ${limit} ms)`,
      ),
    )
    // Their commits in flight end at their next retry; nothing uncommitted is lost (the next owner redoes it).
    for (const slot of this.#table.all()) this.#drop(slot, 'stalled')
  }

  async #connect(): Promise<void> {
    this.#failure = undefined
    clearInterval(this.#watchdog)
    const every = Math.max(50, Math.min(1000, this.#deps.config.commitStallTimeout / 4))
    this.#watchdog = setInterval(() => this.#checkStall(), every)
    this.#watchdog.unref()
    this.#session = await this.#deps.broker.connect()
    // Until a claim seeks a partition to its checkpoint, fetch from the end: starting
    // at the earliest offsets made a restart read (and drop) the whole topic.
    const placeholder = new Map((await this.#session.offsets()).map((p) => [p.partition, p.latest]))
    this.#source = this.#session.join({
      onAssignment: (partitions) => this.#onAssignment(partitions),
      onError: (error) => {
        this.#failure = error
      },
    })
    await this.#source.start(placeholder)
    this.#relay = this.#session.relay(() => this.owned())
  }

  async #disconnect(): Promise<void> {
    clearInterval(this.#watchdog)
    await this.#settle()
    const held = this.#table.held()
    this.#table.clear()
    this.#deps.metrics.owned.set(0)
    await this.#source?.close()
    this.#source = undefined
    await this.#relay?.stop()
    this.#relay = undefined
    await this.#session?.close()
    this.#session = undefined
    if (this.#stopRequested) {
      for (const s of held) await this.#deps.checkpoints.release(s.partition, s.epoch).catch(() => {})
    }
  }

  #onAssignment(partitions: number[]): void {
    this.#deps.metrics.rebalances.inc()
    this.#deps.log.info({ partitions }, 'partitions assigned')
    for (const slot of this.#table.assign(partitions)) this.#drop(slot, 'revoked')
    for (const p of this.#table.unclaimed()) this.#claimLater(p)
  }

  #claimLater(partition: number): void {
    // Partitions are claimed independently: one that cannot be claimed (a database
    // error, an incompatible snapshot) must not hold the others back.
    if (!this.#table.isAssigned(partition) || this.#table.get(partition) !== undefined || this.#stopRequested)
      return
    const slot = this.#table.startClaim(partition)
    const claim = this.#claim(slot).finally(() => this.#claims.delete(claim))
    this.#claims.add(claim)
  }

  async #claim(slot: Slot): Promise<void> {
    const { checkpoints, log } = this.#deps
    const { partition } = slot
    for (let attempt = 0; ; attempt++) {
      if (this.#stopRequested || slot.state !== 'claiming' || !this.#source) {
        this.#table.drop(slot)
        return
      }
      try {
        slot.waitingSince ??= Date.now()
        const cp = await checkpoints.claim(partition)
        slot.waitingSince = undefined
        const engine = await this.#deps.engines.open(partition, cp.pieces)
        let start: bigint
        try {
          start = cp.nextOffset ?? (await this.#startingOffset(partition))
        } catch (error) {
          engine.close()
          throw error
        }
        if (slot.state !== 'claiming' || !this.#source) {
          engine.close()
          return
        }
        slot.epoch = cp.epoch
        slot.flushSeq = cp.flushSeq
        slot.engine = engine
        slot.start = start
        slot.to('owned')
        this.#deps.metrics.owned.set(this.owned().length)
        this.#source.seek(partition, start)
        log.info({ partition, epoch: cp.epoch, offset: start.toString() }, 'partition claimed')
        return
      } catch (error) {
        if (isRtsaError(error) && !error.retryable) {
          // e.g. SNAPSHOT_INCOMPATIBLE after a change of WINDOW/WATERMARK: only a reset helps,
          // and another instance could not do better, so it is no stall.
          slot.waitingSince = undefined
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
    const p = (await this.#session!.offsets()).find((o) => o.partition === partition)
    if (!p) return 0n
    return this.#deps.config.startingOffsets === 'latest' ? p.latest : p.earliest
  }

  /** Forgets a partition (once per slot: a stale caller holding an older slot does nothing). */
  #drop(slot: Slot, why: string): void {
    const held = slot.held
    if (!this.#table.drop(slot)) return
    if (!held) return
    const { partition } = slot
    // Another instance reports this partition now: stop exporting our stale figures.
    this.#deps.metrics.lag.remove({ partition })
    this.#deps.metrics.watermark.remove({ partition })
    this.#source?.forget(partition)
    this.#deps.metrics.owned.set(this.owned().length)
    this.#deps.log.info({ partition, why }, 'partition dropped')
  }

  async #consume(): Promise<void> {
    const { config } = this.#deps
    let lastEnds = 0
    while (!this.#stopRequested) {
      if (this.#failure !== undefined) throw this.#failure
      this.#lastLoopAt = Date.now()
      if (Date.now() - lastEnds > 2000) {
        lastEnds = Date.now()
        await this.#refreshEnds()
      }
      const records = await this.#source!.poll(
        config.batchMaxRecords,
        config.batchMaxWait,
        config.batchMaxBytes,
      )
      if (records.length === 0) {
        this.#flushDue()
        continue
      }
      const byPartition = new Map<number, InputRecord[]>()
      for (const r of records) {
        let list = byPartition.get(r.partition)
        if (!list) {
          list = []
          byPartition.set(r.partition, list)
        }
        list.push(r)
      }
      // Each partition's batch runs on its engine's thread: all of them at once.
      await Promise.all([...byPartition].map(([partition, list]) => this.#processPartition(partition, list)))
      this.#flushDue()
    }
    await this.#settle()
    // A clean stop writes what PROVISIONAL_INTERVAL held back: the tables are current.
    this.#flushDue(true)
    await this.#settle()
    await Promise.all(this.#claims)
  }

  async #refreshEnds(): Promise<void> {
    try {
      for (const p of await this.#session!.offsets()) this.#table.ends.set(p.partition, p.latest)
    } catch (error) {
      this.#deps.log.warn({ err: messageOf(error) }, 'reading end offsets failed')
    }
  }

  async #processPartition(partition: number, records: InputRecord[]): Promise<void> {
    // A partition has at most one batch in flight: its next batch waits for it.
    const polled = this.#table.get(partition)
    await polled?.work
    await polled?.commit
    // Records read for an ownership that ended while its commit was in flight belong to
    // nobody now: a new claim of the partition reads again from its own checkpoint.
    const slot = this.#table.get(partition)
    if (slot === undefined || slot !== polled || slot.state !== 'owned') return
    await processBatch(this.#host, slot, records)
  }

  /**
   * Writes the provisional and state rows the batches of a quiet partition held back
   * (PROVISIONAL_INTERVAL) once its interval is up. A partition with a commit in flight
   * waits for the next round.
   */
  #flushDue(force = false): void {
    for (const slot of this.#table.all()) {
      if (slot.state === 'owned' && slot.work === undefined && slot.engine?.hasPendingOutput() === true)
        flushBatch(this.#host, slot, force)
    }
  }

  /** Waits for every commit in flight. */
  async #settle(): Promise<void> {
    await Promise.all(this.#table.all().map((s) => s.work))
    await Promise.all(this.#table.all().map((s) => s.commit))
  }
}
