/**
 * Fills a topic with generator traffic the way `rtsa generate --simulate-from ... --count N`
 * does (simulate mode, the model in a worker thread, the generator's default fault rates
 * unless `env` sets others).
 */
import { performance } from 'node:perf_hooks'
import { loadGeneratorConfig } from '../../src/generator/config.ts'
import { openKafkaProducer } from '../../src/generator/producer.ts'
import { type RunConfig, runGenerator } from '../../src/generator/run.ts'
import { fmt } from './stats.ts'

export interface Traffic {
  readonly streams: number
  readonly users: number
  /** Events per second of event time. */
  readonly eventsPerSec: number
  readonly seed: string
  /** Further generator settings (env names, e.g. FAULT_LATE_RATE). */
  readonly env?: Readonly<Record<string, string>>
}

export async function preload(
  bootstrap: readonly string[],
  topic: string,
  count: number,
  traffic: Traffic,
  log: (line: string) => void,
): Promise<{ records: number; seconds: number }> {
  const config: RunConfig = {
    ...loadGeneratorConfig({
      EVENTS_PER_SEC: String(traffic.eventsPerSec),
      STREAM_COUNT: String(traffic.streams),
      USER_COUNT: String(traffic.users),
      SIMULATE_FROM: '2025-12-20T18:00:00Z',
      COUNT: String(count),
      PROGRESS_INTERVAL: '10s',
      ...traffic.env,
    }),
    seed: traffic.seed,
  }
  const producer = openKafkaProducer(bootstrap, { topic, batchSize: 2000, maxInFlight: 4 })
  const t0 = performance.now()
  const summary = await runGenerator({
    config,
    sink: producer,
    parallel: true,
    log: (l) => log(`  generator: ${l}`),
  })
  await producer.close()
  const seconds = (performance.now() - t0) / 1000
  const st = producer.stats
  if (st.failed > 0)
    throw new Error(`preloading ${topic}: ${st.failed} records failed: ${st.errors.join('; ')}`)
  log(`  preloaded ${fmt(summary.records)} records into ${topic} in ${seconds.toFixed(1)} s`)
  return { records: summary.records, seconds }
}
