import { RtsaError } from '../errors/catalogue.ts'
import type { EngineConfig, PartitionEngine, PartitionEngineOptions } from './types.ts'

/**
 * Creates the engine of one partition, empty or restored from a snapshot
 * (throws RtsaError SNAPSHOT_INCOMPATIBLE for another format version or other settings).
 */
export function createPartitionEngine(
  config: EngineConfig,
  partition: number,
  options: PartitionEngineOptions = {},
): PartitionEngine {
  void config
  void partition
  void options
  throw new RtsaError('INTERNAL', 'engine not implemented yet')
}
