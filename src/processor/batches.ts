/**
 * One partition's batches (Kafka Streams' StreamTask to the processor's StreamThread):
 * run the engine on a partition's records, commit the result in one transaction with the
 * epoch check, retry a failed commit with the same content, and isolate a record that makes
 * the engine throw. The processor (processor.ts) owns the loop and the partitions' ownership
 * and gives this the few things it needs of them (`BatchHost`).
 *
 * A record that makes the engine throw (a bug nobody has found yet) must not stop the
 * partition: the batch is redone from the committed state in halves, each committed on
 * its own, down to the one record that throws, which is dead-lettered as
 * `processing_error`. The same records give the same result on every replay.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import type { InputRecord } from '../engine/types.ts'
import { isRtsaError, messageOf } from '../errors/catalogue.ts'
import type { BatchCommit } from '../store/checkpoints.ts'
import type { EngineHost, EngineOutput } from './engine-handle.ts'
import type { ProcessorMetrics } from './metrics.ts'
import type { Slot } from './partitions.ts'
import type { CheckpointStore } from './ports.ts'

/** What the batches of a partition need from the processor that owns it. */
export interface BatchHost {
  readonly topic: string
  readonly checkpoints: CheckpointStore
  /** Where the partitions' engines run (this thread or engine threads). */
  readonly engines: EngineHost
  readonly log: Logger
  readonly metrics: ProcessorMetrics
  /** The broker's end offset of each partition at the last look (for lag). */
  readonly ends: ReadonlyMap<number, bigint>
  /** PROVISIONAL_INTERVAL: a partition writes provisional and state rows at most this often. */
  readonly provisionalIntervalMs: number
  /** A stop was asked for: retries give up sooner (nothing is lost, the next owner redoes it). */
  stopping(): boolean
  /** Forgets the partition of `slot` (another owner, or we give up). */
  drop(slot: Slot, why: string): void
  /** A fenced partition that may still be ours: claim it again after a pause. */
  reclaimLater(partition: number): void
  /** Delivers `partition` from `offset` on. */
  seek(partition: number, offset: bigint): void
  /** A batch was committed. */
  committed(batch: BatchCommit): void
}

/**
 * Runs the engine on an owned partition's records and starts their commit without
 * waiting for it, so the store works while the loop fetches and processes other
 * partitions. The caller has waited for the partition's previous commit.
 */
export async function processBatch(host: BatchHost, slot: Slot, records: InputRecord[]): Promise<void> {
  const { partition } = slot
  const expected = slot.engine!.nextOffset() ?? slot.start
  if (records[0]!.offset > expected) {
    // Never apply across a gap (the engine would skip the records in it for good): read again from there.
    host.log.warn(
      { partition, expected: expected.toString(), got: records[0]!.offset.toString() },
      'records after a gap; reading again from the expected offset',
    )
    host.seek(partition, expected)
    return
  }
  host.metrics.recordsIn.inc({ partition }, records.length)
  const t0 = performance.now()
  const provisional = provisionalDue(host, slot)
  let out: EngineOutput
  try {
    out = await slot.engine!.run(records, provisional)
  } catch (error) {
    // Every earlier batch is committed (the caller waited): the committed state is where
    // this batch started.
    await isolate(host, slot, records, error)
    return
  }
  host.metrics.batchSeconds.observe((performance.now() - t0) / 1000)
  slot.flushSeq = 0
  void startCommit(host, slot, batchOf(host, slot, records, out), out.result.counters.accepted)
}

/**
 * Whether this batch of the slot writes provisional and state rows: once per
 * PROVISIONAL_INTERVAL (the engine keeps the rest pending, in its stored state too, so a
 * crash loses nothing). Final rows are written by every batch.
 */
function provisionalDue(host: BatchHost, slot: Slot): boolean {
  const now = Date.now()
  if (now - slot.lastProvisionalAt < host.provisionalIntervalMs) return false
  slot.lastProvisionalAt = now
  return true
}

/**
 * A batch of no records that writes what earlier batches held back, once the slot's
 * interval is up (the processor calls it for quiet partitions), or at once (`force`: a
 * clean stop). The caller checked that no batch or commit of the slot is in flight; this
 * one is `slot.work` until its commit starts. An engine that fails here is given up: the
 * partition is claimed again from its committed state.
 */
export function flushBatch(host: BatchHost, slot: Slot, force = false): void {
  if (!force && Date.now() - slot.lastProvisionalAt < host.provisionalIntervalMs) return
  slot.lastProvisionalAt = Date.now()
  const work = (async () => {
    let out: EngineOutput
    try {
      out = await slot.engine!.run([], true)
    } catch (error) {
      host.log.error({ partition: slot.partition, err: messageOf(error) }, 'writing held-back rows failed')
      host.drop(slot, 'engine failed')
      host.reclaimLater(slot.partition)
      return
    }
    if (out.result.nextOffset === null) return
    slot.flushSeq++
    void startCommit(host, slot, { ...batchOf(host, slot, [], out), flushSeq: slot.flushSeq }, 0)
  })().finally(() => {
    if (slot.work === work) slot.work = undefined
  })
  slot.work = work
}

function startCommit(host: BatchHost, slot: Slot, batch: BatchCommit, accepted: number): Promise<void> {
  // Dropped meanwhile (a revoke while the committed state was read): nothing to commit, the next owner redoes it.
  if (slot.state !== 'owned') return Promise.resolve()
  slot.to('committing')
  const commit = commitBatch(host, slot, batch, accepted).finally(() => {
    slot.commit = undefined
    if (slot.state === 'committing') slot.to('owned')
  })
  slot.commit = commit
  return commit
}

function batchOf(
  host: BatchHost,
  slot: Slot,
  records: readonly InputRecord[],
  { result, snapshot }: EngineOutput,
): BatchCommit {
  const c = result.counters
  const outcomes: Record<string, number> = { accepted: c.accepted, late: c.late, duplicate: c.duplicate }
  for (const [reason, n] of Object.entries(c.rejectedByReason)) outcomes[reason] = n
  return {
    topic: host.topic,
    partition: slot.partition,
    epoch: slot.epoch,
    nextOffset: result.nextOffset ?? records[records.length - 1]!.offset + 1n,
    watermark: result.watermark,
    endOffset: host.ends.get(slot.partition) ?? null,
    windows: result.windows,
    removedWindows: result.removedWindows,
    rollups: result.rollups,
    removedRollups: result.removedRollups,
    liveChanges: result.liveChanges,
    states: result.states,
    counts: result.counts,
    deadLetters: result.deadLetters,
    outcomes,
    snapshot,
    heldBack: slot.engine?.hasPendingOutput() === true,
  }
}

/**
 * Processing `records` threw. Redoes them from the committed state: a part that goes
 * through is committed, a part that throws is split in two, and a single record that
 * throws is dead-lettered as `processing_error` (with the error's message). An engine
 * that threw is never used again: its state may be half-changed.
 */
async function isolate(
  host: BatchHost,
  slot: Slot,
  records: readonly InputRecord[],
  first: unknown,
): Promise<void> {
  const { metrics, log } = host
  const { partition } = slot
  log.error(
    { partition, err: messageOf(first), from: records[0]!.offset.toString(), records: records.length },
    'processing a batch threw; isolating the record that causes it',
  )
  metrics.isolations.inc()
  const queue: (readonly InputRecord[])[] = [records]
  while (queue.length > 0) {
    if (!(await restoreCommitted(host, slot))) return
    // Parts that go through are committed one by one until one throws; then the engine is restored again.
    while (queue.length > 0) {
      const part = queue.shift()!
      let out: EngineOutput
      try {
        out = await slot.engine!.run(part, true)
      } catch (error) {
        if (part.length > 1) {
          const mid = part.length >> 1
          queue.unshift(part.slice(0, mid), part.slice(mid))
          break
        }
        const r = part[0]!
        if (!(await restoreCommitted(host, slot))) return
        const detail = `processing the record threw: ${errorText(error)}`
        out = await slot.engine!.fail(r, detail)
        metrics.processingErrors.inc()
        log.error(
          { partition, offset: r.offset.toString(), err: detail },
          'record dead-lettered as processing_error',
        )
      }
      await startCommit(host, slot, batchOf(host, slot, part, out), out.result.counters.accepted)
      if (slot.state !== 'owned') return
    }
  }
}

/** Gives the slot an engine of the committed state; false when the partition is no longer ours. */
async function restoreCommitted(host: BatchHost, slot: Slot): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    if (slot.state !== 'owned' || (host.stopping() && attempt > 3)) return false
    try {
      slot.waitingSince ??= Date.now()
      const state = await host.checkpoints.load(slot.partition)
      if (slot.state !== 'owned') return false
      if (state.epoch !== slot.epoch) {
        host.drop(slot, 'fenced')
        return false
      }
      slot.engine?.close()
      slot.engine = undefined
      const engine = await host.engines.open(slot.partition, state.pieces)
      if (slot.state !== 'owned') {
        engine.close()
        return false
      }
      slot.engine = engine
      slot.waitingSince = undefined
      return true
    } catch (error) {
      if (isRtsaError(error) && !error.retryable) throw error
      host.log.warn(
        { partition: slot.partition, err: messageOf(error), attempt },
        'reading the committed state failed; retrying',
      )
      await sleep(Math.min(100 * 2 ** attempt, 5000))
    }
  }
}

/** Commits one batch, retrying with the same content; never rejects. */
async function commitBatch(host: BatchHost, slot: Slot, batch: BatchCommit, accepted: number): Promise<void> {
  const { metrics, checkpoints, log } = host
  const { partition } = batch
  for (let attempt = 0; ; attempt++) {
    const t1 = performance.now()
    try {
      slot.waitingSince ??= Date.now()
      const outcome = await checkpoints.commit(batch)
      metrics.commitSeconds.observe((performance.now() - t1) / 1000)
      if (outcome === 'fenced') {
        metrics.fenced.inc()
        log.warn({ partition, epoch: slot.epoch }, 'commit refused: another instance owns the partition')
        host.drop(slot, 'fenced')
        host.reclaimLater(partition)
        return
      }
      break
    } catch (error) {
      metrics.commitErrors.inc()
      // Dropped (a revoke, or the processor gave its partitions up after a stall): nothing
      // is lost, the batch was not committed and the next owner reads it again.
      if (dropped(slot)) return
      log.warn({ partition, err: messageOf(error), attempt }, 'commit failed; retrying the same batch')
      if (host.stopping() && attempt >= 3) {
        host.drop(slot, 'commit failed while stopping')
        return
      }
      await sleep(Math.min(100 * 2 ** attempt, 5000))
      if (dropped(slot)) return
    }
  }
  slot.waitingSince = undefined
  metrics.commits.inc()
  metrics.applied.inc(accepted)
  for (const [reason, n] of Object.entries(batch.outcomes)) {
    if (reason !== 'accepted' && n > 0) metrics.rejected.inc({ reason }, n)
  }
  if (batch.watermark !== null) metrics.watermark.set({ partition }, batch.watermark / 1000)
  const end = host.ends.get(partition)
  if (end !== undefined) metrics.lag.set({ partition }, Math.max(0, Number(end - batch.nextOffset)))
  host.committed(batch)
}

/** Read through a call: the state changes while a commit awaits (TypeScript narrows a getter as if it could not). */
function dropped(slot: Slot): boolean {
  return slot.state === 'dropped'
}

/** An error's name and message for a dead letter's detail (a thrown non-Error too). */
function errorText(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  return text.length > 500 ? `${text.slice(0, 497)}...` : text
}
