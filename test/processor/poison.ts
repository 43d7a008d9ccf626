/**
 * Fault injection for the processor's tests: the real engine, except that a batch with a
 * marker record applies the records before it and then throws (half-changed state, as a
 * real bug would leave it).
 */
import type { InputRecord, PartitionEngine } from '../../src/engine/types.ts'
import type { EngineFactory } from '../../src/processor/engine-adapter.ts'

/** Wraps `inner` so that `process` throws `error(record)` on the first record `isPoison` picks. */
export function poisonous(
  isPoison: (r: InputRecord) => boolean,
  error: (r: InputRecord) => Error,
): (inner: EngineFactory) => EngineFactory {
  return (inner) => (partition, pieces) => {
    const real = inner(partition, pieces)
    const engine: PartitionEngine = {
      partition: real.partition,
      config: real.config,
      process(records, options) {
        const i = records.findIndex(isPoison)
        if (i < 0) return real.process(records, options)
        real.process(records.slice(0, i), options)
        throw error(records[i]!)
      },
      processEvents: (r, o) => real.processEvents(r, o),
      hasPendingOutput: () => real.hasPendingOutput(),
      fail: (r, d) => real.fail(r, d),
      watermark: () => real.watermark(),
      nextOffset: () => real.nextOffset(),
      snapshot: () => real.snapshot(),
      snapshotChanges: () => real.snapshotChanges(),
      stats: () => real.stats(),
    }
    return engine
  }
}
