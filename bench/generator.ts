/**
 * Generator benchmark (not a test): how fast `rtsa generate --simulate-from` puts
 * events into Kafka, and how fast the decoder reads them back. Median of 3 runs each.
 *
 *   npx node bench/generator.ts [records=1000000] [batch=2000] [inFlight=4]
 *
 * Uses KAFKA_BOOTSTRAP when set; otherwise starts a private local broker on port 41192
 * (data under /tmp/rtsa-h1/bench-kafka, wiped first) and stops it at the end. Each run
 * produces to a fresh topic with 6 partitions (idempotent producer, acks=all) through
 * `runGenerator` in simulate mode, the path of `rtsa generate --simulate-from`: once
 * single-threaded, once with the model in a worker thread (what the CLI uses).
 *
 * Traffic: 1000 streams, 1,000,000 users, a 100,000 events/s model (about 3 million
 * concurrent viewers with realistic per-viewer activity), no faults. Stages measured
 * separately so the bottleneck is visible: model only; model + JSON encoding; the
 * whole pipeline into Kafka; decodeEvent over the produced bytes.
 */
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { decodeEvent, encodeEventString } from '../src/events/decode.ts'
import { loadGeneratorConfig } from '../src/generator/config.ts'
import { NO_FAULTS, RecordSource } from '../src/generator/faults.ts'
import { EventModel, type ModelOptions } from '../src/generator/model.ts'
import { openKafkaProducer } from '../src/generator/producer.ts'
import { type RunConfig, runGenerator } from '../src/generator/run.ts'
import { startLocalKafka, stopLocalKafka, wipeLocalKafka } from '../src/infra/kafka/broker.ts'
import { KafkaAdmin } from '../src/kafka/client.ts'

const N = Number(process.argv[2] ?? 1_000_000)
const BATCH = Number(process.argv[3] ?? 2000)
const IN_FLIGHT = Number(process.argv[4] ?? 4)
const RUNS = 3

const MODEL: ModelOptions = {
  seed: 'bench',
  streamIds: Array.from({ length: 1000 }, (_, i) => `stream_${1001 + i}`),
  userCount: 1_000_000,
  eventsPerSec: 100_000,
  startMs: Date.UTC(2025, 11, 20, 18, 0, 0),
}

/** CPU time (user + system) of a process so far, ms, from /proc (0 when unknown). */
function cpuMsOf(pid: number | undefined): number {
  if (pid === undefined) return 0
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // utime and stime are fields 14 and 15 of the whole line, in clock ticks (100 per second on Linux).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
  } catch {
    return 0
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
const log = (line: string) => process.stderr.write(`${line}\n`)

/** Runs `f` RUNS times; `f` returns [items, ms]. Prints and returns the median rate. */
async function measure(name: string, f: (run: number) => Promise<[number, number]> | [number, number]) {
  const rates: number[] = []
  for (let run = 0; run < RUNS; run++) {
    const [items, ms] = await f(run)
    rates.push((items * 1000) / ms)
    log(`  ${name} run ${run + 1}: ${fmt(items)} in ${(ms / 1000).toFixed(2)} s = ${fmt(rates.at(-1)!)}/s`)
  }
  const m = median(rates)
  console.log(`${name.padEnd(34)} median ${fmt(m).padStart(12)} /s   (runs: ${rates.map(fmt).join(', ')})`)
  return m
}

function source() {
  return new RecordSource(new EventModel(MODEL), NO_FAULTS, MODEL.seed)
}

async function main(): Promise<void> {
  console.log(
    `generator bench: ${fmt(N)} records per run, batch ${BATCH}, in flight ${IN_FLIGHT}, node ${process.version}`,
  )
  // Building the model's initial audience is setup, not throughput: it happens once per run.
  await measure('model only (events)', () => {
    const m = new EventModel(MODEL)
    const t0 = performance.now()
    let h = 0
    for (let i = 0; i < N; i++) h += m.next().atMicros & 1
    return [N + (h & 0), performance.now() - t0]
  })
  await measure('model + faults stage + JSON encode', () => {
    const s = source()
    const t0 = performance.now()
    let bytes = 0
    for (let i = 0; i < N; i++) bytes += s.next().value.length
    return [N + (bytes & 0), performance.now() - t0]
  })

  const external = process.env.KAFKA_BOOTSTRAP?.split(',')
  const home = '/tmp/rtsa-h1'
  const dir = '/tmp/rtsa-h1/bench-kafka'
  let bootstrap = external
  let brokerPid: number | undefined
  if (bootstrap === undefined) {
    await stopLocalKafka({ home, dir })
    wipeLocalKafka({ home, dir })
    const kafka = await startLocalKafka({ home, dir, port: 41192, heapMb: 1024, log })
    bootstrap = kafka.bootstrap
    brokerPid = kafka.pid
  }
  try {
    for (const parallel of [false, true]) {
      const name = parallel ? 'generate -> Kafka, model in worker' : 'generate -> Kafka, one thread'
      await measure(name, async (run) => {
        const topic = `bench.generator.${Date.now().toString(36)}.${run}`
        const admin = new KafkaAdmin(bootstrap!)
        await admin.ensureTopic(topic, { partitions: 6 })
        await admin.close()
        const producer = openKafkaProducer(bootstrap!, { topic, batchSize: BATCH, maxInFlight: IN_FLIGHT })
        const config: RunConfig = {
          ...loadGeneratorConfig({
            EVENTS_PER_SEC: String(MODEL.eventsPerSec),
            STREAM_COUNT: String(MODEL.streamIds.length),
            USER_COUNT: String(MODEL.userCount),
            SIMULATE_FROM: '2025-12-20T18:00:00Z',
            COUNT: String(N),
            PROGRESS_INTERVAL: '1 hour',
          }),
          seed: 'bench',
        }
        // The clock starts before the model's warm start (building its initial audience):
        // this is what `rtsa generate --simulate-from ... --count N` costs end to end.
        const t0 = performance.now()
        const cpu0 = process.cpuUsage()
        const broker0 = cpuMsOf(brokerPid)
        const summary = await runGenerator({ config, sink: producer, parallel })
        await producer.close()
        const ms = performance.now() - t0
        const cpu = process.cpuUsage(cpu0)
        const ours = (cpu.user + cpu.system) / N
        const broker = ((cpuMsOf(brokerPid) - broker0) * 1000) / N
        // The machine may be shared: CPU time per record says what 2 dedicated cores could do.
        log(
          `    cpu per record: generator ${ours.toFixed(1)} us, broker ${brokerPid === undefined ? '?' : broker.toFixed(1)} us` +
            (brokerPid === undefined ? '' : ` -> 2 dedicated cores: ~${fmt(2e6 / (ours + broker))}/s`),
        )
        const st = producer.stats
        if (st.failed > 0 || st.acked !== N || summary.records !== N)
          throw new Error(`delivery: ${JSON.stringify(st)}`)
        const cleanup = new KafkaAdmin(bootstrap!)
        await cleanup.deleteTopic(topic).catch(() => {})
        await cleanup.close()
        return [st.acked, ms]
      })
    }
  } finally {
    if (external === undefined) await stopLocalKafka({ home, dir })
  }

  const produced: Buffer[] = []
  const s = source()
  for (let i = 0; i < Math.min(N, 1_000_000); i++) produced.push(Buffer.from(s.next().value))
  await measure('decodeEvent (bytes -> event)', () => {
    const t0 = performance.now()
    let ok = 0
    for (const b of produced) if (decodeEvent(b).ok) ok++
    if (ok !== produced.length) throw new Error('the generator produced an invalid event')
    return [produced.length, performance.now() - t0]
  })
  const sample = encodeEventString(new EventModel(MODEL).next().event)
  console.log(`typical record: ${Buffer.byteLength(sample)} bytes, e.g. ${sample}`)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
