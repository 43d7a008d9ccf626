/**
 * What the processor needs from the engine of one partition. The engine is pure; the
 * processor only feeds it records and stores what it returns.
 */
import type { DeadLetter, InputRecord, StreamStateRow, WindowRow } from '../engine/types.ts'

export interface EngineBatch {
  readonly windows: readonly WindowRow[]
  readonly states: readonly StreamStateRow[]
  readonly deadLetters: readonly DeadLetter[]
  readonly watermark: number | null
  readonly accepted: number
}

export interface PartitionEnginePort {
  /** Applies records of the partition, in offset order, contiguous. */
  process(records: readonly InputRecord[]): EngineBatch
  /** Engine state parts changed since the last call: Buffer to store, null to delete. */
  snapshotChanges(): Map<string, Buffer | null>
}

/** Builds the engine of `partition` from its stored parts (empty for a new partition). */
export type EngineFactory = (partition: number, parts: ReadonlyMap<string, Buffer>) => PartitionEnginePort
