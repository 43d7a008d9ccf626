/**
 * How the processor reaches a partition's engine: on its own thread (`inlineEngines`,
 * PROCESSOR_THREADS=1) or on an engine thread (engine-threads.ts). Either way the
 * processor sees the same asynchronous handle, one per claim of a partition, and the
 * results are the same: the engine is deterministic and a thread runs one batch of a
 * partition at a time, in the order they were asked for.
 */
import type { BatchResult, InputRecord, SnapshotChanges, SnapshotPiece } from '../engine/types.ts'
import type { EngineFactory } from './engine-adapter.ts'

/** What the engine made of one batch: its result and the state changes to store with it. */
export interface EngineOutput {
  readonly result: BatchResult
  readonly snapshot: SnapshotChanges
}

/** One partition's engine. After a rejected call the engine may be half-changed: close it and open another. */
export interface EngineHandle {
  readonly partition: number
  /** `engine.process` then `engine.snapshotChanges`; rejects when the engine throws. */
  run(records: readonly InputRecord[], provisional: boolean): Promise<EngineOutput>
  /** `engine.fail` (a dead letter for a record that made the engine throw) then `snapshotChanges`. */
  fail(record: InputRecord, detail: string): Promise<EngineOutput>
  /** As of the last call that resolved (the engine's own answer in between is the same). */
  hasPendingOutput(): boolean
  nextOffset(): bigint | null
  /** Frees the engine (its thread forgets it); later calls reject. */
  close(): void
}

/** Opens engines: restored from a partition's stored pieces, or empty. */
export interface EngineHost {
  /** Rejects with the engine's error (SNAPSHOT_INCOMPATIBLE for pieces of other settings). */
  open(partition: number, pieces: readonly SnapshotPiece[]): Promise<EngineHandle>
  /** Ends the engine threads (if any): every handle is closed then. */
  close(): Promise<void>
}

/** Engines on the caller's thread, made by `factory` (PROCESSOR_THREADS=1, and the tests' fault injection). */
export function inlineEngines(factory: EngineFactory): EngineHost {
  return {
    open: async (partition, pieces) => {
      let engine = factory(partition, pieces) as ReturnType<EngineFactory> | undefined
      const live = () => {
        if (engine === undefined) throw new Error(`the engine of partition ${partition} is closed`)
        return engine
      }
      return {
        partition,
        run: async (records, provisional) => {
          const e = live()
          const result = e.process(records, { provisional })
          return { result, snapshot: e.snapshotChanges() }
        },
        fail: async (record, detail) => {
          const e = live()
          const result = e.fail(record, detail)
          return { result, snapshot: e.snapshotChanges() }
        },
        hasPendingOutput: () => engine?.hasPendingOutput() ?? false,
        nextOffset: () => engine?.nextOffset() ?? null,
        close: () => {
          engine = undefined
        },
      }
    },
    close: async () => {},
  }
}
