/**
 * A wrap module for engine threads (WorkerSettings.wrapModule): the real engine, except
 * that a record whose value contains `THROW` makes `process` throw (a bug nobody has found
 * yet, injected), and one containing `EXIT` ends the thread.
 */
import type { EngineFactory } from '../../src/processor/engine-adapter.ts'

export function wrap(inner: EngineFactory): EngineFactory {
  return (partition, pieces) => {
    const real = inner(partition, pieces)
    return {
      ...real,
      partition: real.partition,
      config: real.config,
      process(records, options) {
        for (const r of records) {
          const text = r.value.toString()
          if (text.includes('EXIT')) process.exit(3)
          if (text.includes('THROW')) throw new TypeError(`injected bug at offset ${r.offset}`)
        }
        return real.process(records, options)
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
  }
}
