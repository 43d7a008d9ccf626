/**
 * What the processor needs from the outside, as interfaces: the broker (a consumer-group
 * membership, end offsets, the dead-letter relay) and the checkpoint store (claim,
 * commit, committed state, release). `wiring.ts` provides them over Kafka and
 * PostgreSQL; the unit tests provide fakes, so claim, fence, revoke, stop, retry and
 * poison records are tested without a broker.
 */
import type { InputRecord, SnapshotPiece } from '../engine/types.ts'
import type { BatchCommit, PartitionCheckpoint } from '../store/checkpoints.ts'

/** One membership of the consumer group: records of the assigned partitions, from where the caller seeks. */
export interface GroupSource {
  /** Starts fetching; `placeholder` positions are used only until `seek`. */
  start(placeholder: ReadonlyMap<number, bigint>): Promise<void>
  /** Waits up to `maxWaitMs`, then returns at most `max` records and about `maxBytes` (offset order per partition). */
  poll(max: number, maxWaitMs: number, maxBytes: number): Promise<InputRecord[]>
  /** Delivers `partition` from `offset` on. */
  seek(partition: number, offset: bigint): void
  /** Stops delivering `partition`. */
  forget(partition: number): void
  close(): Promise<void>
}

export interface GroupHandlers {
  /** The full new assignment, after each (re)join. */
  readonly onAssignment: (partitions: number[]) => void
  /** The membership failed; the processor reconnects. */
  readonly onError: (error: unknown) => void
}

export interface PartitionOffsets {
  readonly partition: number
  readonly earliest: bigint
  readonly latest: bigint
}

/** The dead-letter relay of one connection. */
export interface Relay {
  /** Dead letters were committed: relay soon. */
  nudge(): void
  stop(): Promise<void>
}

/** One connection to the broker (made again after a failure). */
export interface BrokerSession {
  join(handlers: GroupHandlers): GroupSource
  /** Earliest and latest offsets of the input topic's partitions. */
  offsets(): Promise<PartitionOffsets[]>
  /** Starts relaying the dead letters of the partitions `owned()` names. */
  relay(owned: () => number[]): Relay
  close(): Promise<void>
}

export interface Broker {
  /** Connects (and makes sure the dead-letter topic exists). */
  connect(): Promise<BrokerSession>
}

/** The partitions' checkpoints and state (src/store/checkpoints.ts, for the processor's topic and instance). */
export interface CheckpointStore {
  /** Takes the partition (a new epoch) and reads its checkpoint. */
  claim(partition: number): Promise<PartitionCheckpoint>
  /** Commits one batch in one transaction, unless another owner claimed the partition since `batch.epoch`. */
  commit(batch: BatchCommit): Promise<'committed' | 'fenced'>
  /** The committed state, without taking the partition. */
  load(partition: number): Promise<{ epoch: number; pieces: SnapshotPiece[] }>
  /** Gives the partition up (a clean stop). */
  release(partition: number, epoch: number): Promise<void>
  /** Resolves when the store answers a trivial query (rejoining waits for it). */
  ping(): Promise<void>
}
