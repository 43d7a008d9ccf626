/**
 * A CPU reference measured in the same run as the engine benchmark: JSON.parse of the
 * generator's records on one core (records/s, median of 3 passes), so the engine's rate
 * can be read as "one event costs this many JSON.parses" whatever the machine's load.
 *
 *   npx node bench/lib/calibrate.ts [records=200000]
 */
import { performance } from 'node:perf_hooks'
import { NO_FAULTS, RecordSource } from '../../src/generator/faults.ts'
import { EventModel } from '../../src/generator/model.ts'
import { median } from './stats.ts'

export function calibrate(n: number): number {
  const source = new RecordSource(
    new EventModel({
      seed: 'calibrate',
      streamIds: Array.from({ length: 200 }, (_, i) => `stream_${1001 + i}`),
      userCount: 200_000,
      eventsPerSec: 2_000,
      startMs: Date.UTC(2025, 11, 20, 18, 0, 0),
    }),
    NO_FAULTS,
    'calibrate',
  )
  const input: Buffer[] = []
  for (let i = 0; i < n; i++) input.push(Buffer.from(source.next().value))
  const rates: number[] = []
  for (let run = 0; run < 3; run++) {
    const t0 = performance.now()
    let h = 0
    for (const b of input) h += (JSON.parse(b.toString('utf8')) as { ts: string }).ts.length
    rates.push((n * 1000) / (performance.now() - t0) + (h & 0))
  }
  return median(rates)
}

if (import.meta.main)
  console.log(JSON.stringify({ jsonParsePerSec: calibrate(Number(process.argv[2] ?? 200_000)) }))
