/**
 * The pure stream engine: windows, watermark, viewer presence and de-duplication of
 * one Kafka partition, as specified in docs/semantics.md. No I/O, no clock.
 *
 * Typical use by the processor, per assigned partition:
 *
 *   const engine = createPartitionEngine(config, partition, { decode: decodeEvent, snapshot: storedPieces })
 *   for each batch: const result = engine.process(records)
 *                   const changes = engine.snapshotChanges()
 *                   one transaction: upsert result.windows, delete result.removedWindows,
 *                   add result.counts to existing rows, then upsert result.states (adding
 *                   their counters), dead letters, put/delete changes, next offset.
 *   if process() threw: discard the engine, restore one from the committed state, and
 *                   call engine.fail(record, why) for the record that throws.
 */
export { createPartitionEngine } from './partition.ts'
export type {
  BatchCounters,
  BatchOptions,
  BatchResult,
  DeadLetter,
  DecodedRecord,
  Decoder,
  EngineConfig,
  EngineStats,
  InputRecord,
  LiveChange,
  PartitionEngine,
  PartitionEngineOptions,
  RollupKey,
  SnapshotChanges,
  SnapshotPiece,
  StreamCounts,
  StreamStateRow,
  WindowKey,
  WindowRow,
} from './types.ts'
