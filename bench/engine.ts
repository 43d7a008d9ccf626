/**
 * Engine benchmark (not a test): events/s on one core over generator traffic, and
 * bytes of engine state per present viewer.
 *
 *   npx node --expose-gc bench/engine.ts [records=2000000] [batch=5000] [traffic=large]
 *
 * Traffic, from the generator's audience model (src/generator) with 5% disorder up to
 * 30 s, 1% exact duplicates and 0.1% late records, all in one partition, in batches,
 * with a snapshotChanges() call per batch as the processor does:
 *   large     200 streams, 200,000 users, 2,000 events/s of event time: about 60,000
 *             concurrent viewers and a million pending records (the 10-minute
 *             watermark's worth), far more than the CPU caches hold
 *   defaults  the generator's defaults (`rtsa generate`): 3 streams, 500 users,
 *             20 events/s of event time; the state fits in the caches
 * Two numbers: decoded events in (each batch is decoded just before its clock starts)
 * and bytes in (the decoder included). Median of 3 runs each, every run on a fresh engine.
 */
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { createPartitionEngine } from '../src/engine/index.ts'
import type { BatchResult, DecodedRecord, EngineConfig } from '../src/engine/types.ts'
import { decodeEvent } from '../src/events/decode.ts'
import { RecordSource } from '../src/generator/faults.ts'
import { EventModel } from '../src/generator/model.ts'

const N = Number(process.argv[2] ?? 2_000_000)
const BATCH = Number(process.argv[3] ?? 5_000)
const TRAFFIC = process.argv[4] ?? 'large'
const PROFILES: Record<string, { streams: number; users: number; eventsPerSec: number }> = {
  large: { streams: 200, users: 200_000, eventsPerSec: 2_000 },
  defaults: { streams: 3, users: 500, eventsPerSec: 20 },
}
const profile = PROFILES[TRAFFIC]
if (profile === undefined) throw new Error(`traffic must be one of ${Object.keys(PROFILES).join(', ')}`)
const CONFIG: EngineConfig = { windowMs: 60_000, watermarkMs: 600_000, viewerTimeoutMs: 300_000 }
/** The product's default WINDOWS (1 minute, 1 hour, 1 day): the cost of the longer windows. */
const WITH_ROLLUPS: EngineConfig = { ...CONFIG, rollupMs: [3_600_000, 86_400_000] }
const gc = (globalThis as { gc?: () => void }).gc
/** BENCH_RUNS: timed runs per mode (default 3, the median is reported); 0 measures the state size only. */
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const KAFKA_TS = Date.UTC(2100, 0, 1)

interface Raw {
  readonly offset: bigint
  readonly key: Buffer
  readonly value: Buffer
}

/**
 * The records, kept in one buffer: two million Buffer objects alive for the whole run
 * would make every full garbage collection of the engine's heap trace them too.
 */
class Input {
  private readonly buf: Buffer
  private readonly at: Int32Array
  readonly length: number

  constructor(records: Iterable<{ key: string; value: string }>, n: number) {
    const parts: Buffer[] = []
    this.at = new Int32Array(n + 1)
    let pos = 0
    let i = 0
    for (const r of records) {
      const key = Buffer.from(r.key)
      const value = Buffer.from(r.value)
      const head = Buffer.alloc(4)
      head.writeUInt16LE(key.length, 0)
      head.writeUInt16LE(value.length, 2)
      parts.push(head, key, value)
      this.at[i++] = pos
      pos += 4 + key.length + value.length
    }
    this.at[i] = pos
    this.length = i
    this.buf = Buffer.concat(parts)
  }

  slice(from: number, to: number): Raw[] {
    const out: Raw[] = []
    for (let i = from; i < Math.min(to, this.length); i++) {
      const p = this.at[i]!
      const kl = this.buf.readUInt16LE(p)
      const vl = this.buf.readUInt16LE(p + 2)
      out.push({
        offset: BigInt(i),
        key: this.buf.subarray(p + 4, p + 4 + kl),
        value: this.buf.subarray(p + 4 + kl, p + 4 + kl + vl),
      })
    }
    return out
  }
}

function traffic(n: number): Input {
  const model = new EventModel({
    seed: 'bench',
    streamIds: Array.from({ length: profile!.streams }, (_, i) => `stream_${1001 + i}`),
    userCount: profile!.users,
    eventsPerSec: profile!.eventsPerSec,
    startMs: Date.UTC(2025, 11, 20, 18, 0, 0),
  })
  const source = new RecordSource(
    model,
    { duplicate: 0.01, disorder: 0.05, disorderMaxMs: 30_000, late: 0.001, lateByMs: 600_000, malformed: 0 },
    'bench',
  )
  return new Input(
    (function* () {
      for (let i = 0; i < n; i++) yield source.next()
    })(),
    n,
  )
}

function decodeBatch(raw: readonly Raw[]): DecodedRecord[] {
  const out: DecodedRecord[] = []
  for (const r of raw) {
    const d = decodeEvent(r.value, r.key)
    if (d.ok) out.push({ offset: r.offset, event: d.event, value: r.value })
  }
  return out
}

/**
 * One pass over the input on a fresh engine. `withDecode`: the clock also runs while
 * decoding (bytes in); otherwise each batch is decoded just before its clock starts,
 * so the events are as fresh in the CPU caches as in the processor.
 */
function run(input: Input, withDecode: boolean, retainLog = true, config = CONFIG, emitEvery = 1) {
  const engine = createPartitionEngine(config, 0, { decode: decodeEvent, retainLog })
  let rows = 0
  let stored = 0
  let ms = 0
  let cpuMs = 0
  for (let i = 0; i < input.length; i += BATCH) {
    const raw = input.slice(i, i + BATCH)
    // A Kafka timestamp the records pass the clock-skew check against, as the processor's do.
    const records = withDecode ? raw.map((r) => ({ partition: 0, timestamp: KAFKA_TS, ...r })) : []
    const batch = withDecode ? [] : decodeBatch(raw)
    const t0 = performance.now()
    const c0 = process.cpuUsage()
    // emitEvery > 1: provisional and state rows every that many batches (PROVISIONAL_INTERVAL), and at the end.
    const provisional = (i / BATCH) % emitEvery === 0 || i + BATCH >= input.length
    const res: BatchResult = withDecode
      ? engine.process(records, { provisional })
      : engine.processEvents(batch, { provisional })
    rows += res.windows.length + res.rollups.length
    for (const p of engine.snapshotChanges().put) stored += p.data.length
    const c = process.cpuUsage(c0)
    cpuMs += (c.user + c.system) / 1000
    ms += performance.now() - t0
  }
  return { engine, ms, cpuMs, rows, stored }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`

console.log(`generating ${N.toLocaleString('en')} records ...`)
const input = traffic(N)
const first = decodeBatch(input.slice(0, 1))[0]!.event.ts
const last = decodeBatch(input.slice(input.length - 1, input.length))[0]!.event.ts
console.log(
  `${input.length.toLocaleString('en')} records, ${((last - first) / 60_000).toFixed(1)} minutes of event time, batches of ${BATCH}, traffic ${TRAFFIC}`,
)

// BENCH_DECODED_ONLY=1 skips the bytes-in runs (for profiling the engine alone); BENCH_ROLLUPS_ONLY=1
// runs only the runs with the longer windows.
for (const withDecode of process.env.BENCH_ROLLUPS_ONLY
  ? []
  : process.env.BENCH_DECODED_ONLY
    ? [false]
    : [false, true]) {
  const rates: number[] = []
  const cpuRates: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const { ms, cpuMs, rows, stored } = run(input, withDecode)
    const rate = input.length / (ms / 1000)
    rates.push(rate)
    cpuRates.push(input.length / (cpuMs / 1000))
    console.log(
      `${withDecode ? 'bytes in  ' : 'decoded in'} run ${i + 1}: ${Math.round(rate).toLocaleString('en')} records/s ` +
        `(${ms.toFixed(0)} ms wall, ${cpuMs.toFixed(0)} ms CPU), ${rows.toLocaleString('en')} rows, ` +
        `${mb(stored)} of snapshot changes (${(stored / input.length).toFixed(0)} B/record)`,
    )
  }
  if (RUNS > 0)
    console.log(
      `median, ${withDecode ? 'bytes in (decoder included)' : 'decoded events in'}: ` +
        `${Math.round(median(rates)).toLocaleString('en')} records/s wall clock, ` +
        `${Math.round(median(cpuRates)).toLocaleString('en')} records per CPU-second (one thread; load average ${os.loadavg()[0]!.toFixed(1)})`,
    )
}

// The longer windows' cost: decoded events in, with the default WINDOWS, beside the runs above:
// provisional rows from every batch (the worst case), and every 20 batches (100,000 records here,
// about one PROVISIONAL_INTERVAL of a processor catching up) with the minutes alone at that pace too.
for (const [label, config, every] of [
  ['rollups', WITH_ROLLUPS, 1],
  ['paced minutes', CONFIG, 20],
  ['paced rollups', WITH_ROLLUPS, 20],
] as const) {
  for (let i = 0; i < RUNS; i++) {
    const { ms, rows } = run(input, false, true, config, every)
    console.log(
      `${label} run ${i + 1}: ${Math.round(input.length / (ms / 1000)).toLocaleString('en')} records/s ` +
        `(${ms.toFixed(0)} ms wall), ${rows.toLocaleString('en')} rows, provisional rows every ${every} batch(es)`,
    )
  }
}

// State size: heap + external (snapshot log chunks are Buffers) held by one engine at the end.
if (gc === undefined) console.log('state size: run with `npx node --expose-gc bench/engine.ts` to measure it')
else {
  const used = () => {
    gc()
    gc()
    const m = process.memoryUsage()
    return m.heapUsed + m.arrayBuffers
  }
  for (const [retainLog, config, label] of [
    [true, CONFIG, 'retainLog true'],
    [false, CONFIG, 'retainLog false'],
    [false, WITH_ROLLUPS, 'rollups'],
  ] as const) {
    const before = used()
    let held: ReturnType<typeof run> | null = run(input, false, retainLog, config)
    const after = used()
    const s = held.engine.stats()
    const bytes = after - before
    console.log(
      `state (${label}): ${mb(bytes)} for ${s.presentUsers.toLocaleString('en')} present viewers = ` +
        `${Math.round(bytes / s.presentUsers).toLocaleString('en')} B/viewer, ` +
        `${Math.round(bytes / s.pendingRecords)} B/pending record ` +
        `(${s.streams} streams, ${s.users.toLocaleString('en')} users kept, ${s.pendingRecords.toLocaleString('en')} ` +
        `pending records, ${s.dedupIds.toLocaleString('en')} dedup ids, ${s.openWindows} open windows)`,
    )
    held = null
  }
}
