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
 *                                     ├─engine threw─▶ #isolate (parts committed one by one) ─▶ owned
 *                                     └─revoked─▶ dropped (uncommitted work is simply redone by the next owner)
 *
 * A record that makes the engine throw (a bug nobody has found yet) must not stop the
 * partition: the batch is redone from the committed state in halves, each committed on
 * its own, down to the one record that throws, which is dead-lettered as
 * `processing_error`. The same records give the same result on every replay.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import type { BatchResult, InputRecord, PartitionEngine, SnapshotChanges } from '../engine/types.ts'
import { isRtsaError, messageOf } from '../errors/catalogue.ts'
import type { BatchCommit } from '../store/checkpoints.ts'
import type { ProcessorConfig } from './config.ts'
import type { EngineFactory } from './engine-adapter.ts'
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
    'kafkaTopic' | 'batchMaxRecords' | 'batchMaxWait' | 'batchMaxBytes' | 'startingOffsets'
  >
  readonly broker: Broker
  readonly checkpoints: CheckpointStore
  readonly engineFactory: EngineFactory
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

  constructor(deps: ProcessorDeps) {
    this.#deps = deps
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

  /** Finishes the batch in progress, commits it, gives the partitions up and leaves the group. */
  async stop(): Promise<void> {
    this.#stopRequested = true
    this.#status = 'stopping'
    await this.#loop
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
        this.#deps.log.error({ err: messageOf(error) }, 'processor loop failed; reconnecting')
        this.#status = 'recovering'
      }
      await this.#disconnect()
      if (!this.#stopRequested) {
        await sleep(backoff)
        backoff = Math.min(backoff * 2, 10_000)
      }
    }
  }

  async #connect(): Promise<void> {
    this.#failure = undefined
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
        const cp = await checkpoints.claim(partition)
        const engine = this.#deps.engineFactory(partition, cp.pieces)
        const start = cp.nextOffset ?? (await this.#startingOffset(partition))
        if (slot.state !== 'claiming' || !this.#source) return
        slot.epoch = cp.epoch
        slot.engine = engine
        slot.start = start
        slot.to('owned')
        this.#deps.metrics.owned.set(this.owned().length)
        this.#source.seek(partition, start)
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
    await Promise.all(this.#claims)
  }

  async #refreshEnds(): Promise<void> {
    try {
      for (const p of await this.#session!.offsets()) this.#table.ends.set(p.partition, p.latest)
    } catch (error) {
      this.#deps.log.warn({ err: messageOf(error) }, 'reading end offsets failed')
    }
  }

  /**
   * Runs the engine on a partition's records and starts their commit without waiting
   * for it, so the store works while the loop fetches and processes other partitions.
   * A partition has at most one batch in flight: its next batch waits for it.
   */
  async #processPartition(partition: number, records: InputRecord[]): Promise<void> {
    const polled = this.#table.get(partition)
    await polled?.commit
    // Records read for an ownership that ended while its commit was in flight belong to
    // nobody now: a new claim of the partition reads again from its own checkpoint.
    const slot = this.#table.get(partition)
    if (slot === undefined || slot !== polled || slot.state !== 'owned') return
    const expected = slot.engine!.nextOffset() ?? slot.start
    if (records[0]!.offset > expected) {
      // Never apply across a gap (the engine would skip the records in it for good): read again from there.
      this.#deps.log.warn(
        { partition, expected: expected.toString(), got: records[0]!.offset.toString() },
        'records after a gap; reading again from the expected offset',
      )
      this.#source?.seek(partition, expected)
      return
    }
    const { metrics } = this.#deps
    metrics.recordsIn.inc({ partition }, records.length)
    const t0 = performance.now()
    let out: EngineOutput
    try {
      out = runBatch(slot.engine!, records)
    } catch (error) {
      // Every earlier batch is committed (awaited above): the committed state is where
      // this batch started.
      await this.#isolate(slot, records, error)
      return
    }
    metrics.batchSeconds.observe((performance.now() - t0) / 1000)
    this.#startCommit(slot, this.#batchOf(slot, records, out), out.result.counters.accepted)
  }

  #startCommit(slot: Slot, batch: BatchCommit, accepted: number): Promise<void> {
    // Dropped meanwhile (a revoke while the committed state was read): nothing to commit, the next owner redoes it.
    if (slot.state !== 'owned') return Promise.resolve()
    slot.to('committing')
    const commit = this.#commit(slot, batch, accepted).finally(() => {
      slot.commit = undefined
      if (slot.state === 'committing') slot.to('owned')
    })
    slot.commit = commit
    return commit
  }

  #batchOf(slot: Slot, records: readonly InputRecord[], { result, snapshot }: EngineOutput): BatchCommit {
    const c = result.counters
    const outcomes: Record<string, number> = { accepted: c.accepted, late: c.late, duplicate: c.duplicate }
    for (const [reason, n] of Object.entries(c.rejectedByReason)) outcomes[reason] = n
    return {
      topic: this.#deps.config.kafkaTopic,
      partition: slot.partition,
      epoch: slot.epoch,
      nextOffset: result.nextOffset ?? records[records.length - 1]!.offset + 1n,
      watermark: result.watermark,
      endOffset: this.#table.ends.get(slot.partition) ?? null,
      windows: result.windows,
      removedWindows: result.removedWindows,
      states: result.states,
      counts: result.counts,
      deadLetters: result.deadLetters,
      outcomes,
      snapshot,
    }
  }

  /**
   * Processing `records` threw. Redoes them from the committed state: a part that goes
   * through is committed, a part that throws is split in two, and a single record that
   * throws is dead-lettered as `processing_error` (with the error's message). An engine
   * that threw is never used again: its state may be half-changed.
   */
  async #isolate(slot: Slot, records: readonly InputRecord[], first: unknown): Promise<void> {
    const { metrics, log } = this.#deps
    const { partition } = slot
    log.error(
      { partition, err: messageOf(first), from: records[0]!.offset.toString(), records: records.length },
      'processing a batch threw; isolating the record that causes it',
    )
    metrics.isolations.inc()
    const queue: (readonly InputRecord[])[] = [records]
    while (queue.length > 0) {
      if (!(await this.#restoreCommitted(slot))) return
      // Parts that go through are committed one by one until one throws; then the engine is restored again.
      while (queue.length > 0) {
        const part = queue.shift()!
        let out: EngineOutput
        try {
          out = runBatch(slot.engine!, part)
        } catch (error) {
          if (part.length > 1) {
            const mid = part.length >> 1
            queue.unshift(part.slice(0, mid), part.slice(mid))
            break
          }
          const r = part[0]!
          if (!(await this.#restoreCommitted(slot))) return
          const detail = `processing the record threw: ${errorText(error)}`
          out = { result: slot.engine!.fail(r, detail), snapshot: slot.engine!.snapshotChanges() }
          metrics.processingErrors.inc()
          log.error(
            { partition, offset: r.offset.toString(), err: detail },
            'record dead-lettered as processing_error',
          )
        }
        await this.#startCommit(slot, this.#batchOf(slot, part, out), out.result.counters.accepted)
        if (slot.state !== 'owned') return
      }
    }
  }

  /** Gives the slot an engine of the committed state; false when the partition is no longer ours. */
  async #restoreCommitted(slot: Slot): Promise<boolean> {
    const { checkpoints, log } = this.#deps
    for (let attempt = 0; ; attempt++) {
      if (slot.state !== 'owned' || (this.#stopRequested && attempt > 3)) return false
      try {
        const state = await checkpoints.load(slot.partition)
        if (slot.state !== 'owned') return false
        if (state.epoch !== slot.epoch) {
          this.#drop(slot, 'fenced')
          return false
        }
        slot.engine = this.#deps.engineFactory(slot.partition, state.pieces)
        return true
      } catch (error) {
        if (isRtsaError(error) && !error.retryable) throw error
        log.warn(
          { partition: slot.partition, err: messageOf(error), attempt },
          'reading the committed state failed; retrying',
        )
        await sleep(Math.min(100 * 2 ** attempt, 5000))
      }
    }
  }

  /** Waits for every commit in flight. */
  async #settle(): Promise<void> {
    await Promise.all(this.#table.all().map((s) => s.commit))
  }

  /** Commits one batch, retrying with the same content; never rejects. */
  async #commit(slot: Slot, batch: BatchCommit, accepted: number): Promise<void> {
    const { metrics, checkpoints, log } = this.#deps
    const { partition } = batch
    for (let attempt = 0; ; attempt++) {
      const t1 = performance.now()
      try {
        const outcome = await checkpoints.commit(batch)
        metrics.commitSeconds.observe((performance.now() - t1) / 1000)
        if (outcome === 'fenced') {
          metrics.fenced.inc()
          log.warn({ partition, epoch: slot.epoch }, 'commit refused: another instance owns the partition')
          this.#drop(slot, 'fenced')
          // Either we lost it (a rebalance we have not seen yet will say so) or a stale member
          // claimed it. Claim again only after a few heartbeats, once assignments have settled,
          // so two instances do not take a partition from each other in a loop.
          setTimeout(() => this.#claimLater(partition), this.#deps.reclaimAfterMs ?? 3000).unref()
          return
        }
        break
      } catch (error) {
        metrics.commitErrors.inc()
        log.warn({ partition, err: messageOf(error), attempt }, 'commit failed; retrying the same batch')
        if (this.#stopRequested && attempt >= 3) {
          // Nothing is lost: the batch was not committed, so the next owner reads it again.
          this.#drop(slot, 'commit failed while stopping')
          return
        }
        await sleep(Math.min(100 * 2 ** attempt, 5000))
      }
    }
    this.#lastCommitAt = Date.now()
    this.#committedBatches++
    metrics.commits.inc()
    metrics.applied.inc(accepted)
    for (const [reason, n] of Object.entries(batch.outcomes)) {
      if (reason !== 'accepted' && n > 0) metrics.rejected.inc({ reason }, n)
    }
    if (batch.watermark !== null) metrics.watermark.set({ partition }, batch.watermark / 1000)
    const end = this.#table.ends.get(partition)
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
