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
 *                   upsert result.states, dead letters, put/delete changes, next offset.
 */
export { createPartitionEngine } from './partition.ts'
export type {
  BatchCounters,
  BatchResult,
  DeadLetter,
  DecodedRecord,
  Decoder,
  EngineConfig,
  EngineStats,
  InputRecord,
  PartitionEngine,
  PartitionEngineOptions,
  SnapshotChanges,
  SnapshotPiece,
  StreamStateRow,
  WindowKey,
  WindowRow,
} from './types.ts'
