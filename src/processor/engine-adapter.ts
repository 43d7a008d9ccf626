import { rollupWindowsOf } from '../config/settings.ts'
import { createPartitionEngine } from '../engine/index.ts'
import type { PartitionEngine, SnapshotPiece } from '../engine/types.ts'
import { decodeEvent } from '../events/decode.ts'
import type { ProcessorConfig } from './config.ts'

/** Builds the engine of `partition` from its stored pieces (none for a new partition). */
export type EngineFactory = (partition: number, pieces: readonly SnapshotPiece[]) => PartitionEngine

/** The settings an engine is made with (plain data: an engine thread gets a copy). */
export type EngineFactorySettings = Pick<
  ProcessorConfig,
  'window' | 'windows' | 'watermark' | 'viewerTimeout' | 'maxClockSkew'
>

/** The engine factory for the processor's settings (WINDOW, WINDOWS, WATERMARK, VIEWER_TIMEOUT). */
export function createEngineFactory(config: EngineFactorySettings): EngineFactory {
  const engineConfig = {
    windowMs: config.window,
    watermarkMs: config.watermark,
    viewerTimeoutMs: config.viewerTimeout,
    maxClockSkewMs: config.maxClockSkew,
    rollupMs: rollupWindowsOf(config),
  }
  return (partition, pieces) =>
    createPartitionEngine(engineConfig, partition, {
      decode: decodeEvent,
      // The processor stores every batch's pieces, so the engine need not keep them too.
      retainLog: false,
      ...(pieces.length > 0 ? { snapshot: pieces } : {}),
    })
}
