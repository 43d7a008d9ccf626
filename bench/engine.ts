/**
 * Engine benchmark (not a test): events/s on one core over realistic traffic, and
 * bytes of engine state per present viewer.
 *
 *   npx node --expose-gc bench/engine.ts [records=2000000] [batch=5000]
 *
 * Traffic: the generator's audience model (src/generator) with 200 streams, 200,000
 * users and 2,000 events/s of event time (about 60,000 concurrent viewers, heartbeats
 * every 30..60 s, chat, donations, silent leaves), with 5% disorder up to 30 s, 1%
 * exact duplicates and 0.1% late records, all in one partition, in batches, with a
 * snapshotChanges() call per batch as the processor does. Two numbers: decoded events
 * in (each batch is decoded just before its clock starts) and bytes in (the decoder
 * included). Median of 3 runs each, every run on a fresh engine.
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
const CONFIG: EngineConfig = { windowMs: 60_000, watermarkMs: 600_000, viewerTimeoutMs: 300_000 }
const gc = (globalThis as { gc?: () => void }).gc
/** BENCH_RUNS: timed runs per mode (default 3, the median is reported); 0 measures the state size only. */
const RUNS = Number(process.env.BENCH_RUNS ?? 3)

interface Raw {
  readonly offset: bigint
  readonly key: Buffer
  readonly value: Buffer
}

function traffic(n: number): Raw[] {
  const model = new EventModel({
    seed: 'bench',
    streamIds: Array.from({ length: 200 }, (_, i) => `stream_${1001 + i}`),
    userCount: 200_000,
    eventsPerSec: 2_000,
    startMs: Date.UTC(2025, 11, 20, 18, 0, 0),
  })
  const source = new RecordSource(
    model,
    { duplicate: 0.01, disorder: 0.05, disorderMaxMs: 30_000, late: 0.001, lateByMs: 600_000, malformed: 0 },
    'bench',
  )
  const out: Raw[] = []
  for (let offset = 0; offset < n; offset++) {
    const r = source.next()
    out.push({ offset: BigInt(offset), key: Buffer.from(r.key), value: Buffer.from(r.value) })
  }
  return out
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
function run(input: readonly Raw[], withDecode: boolean, retainLog = true) {
  const engine = createPartitionEngine(CONFIG, 0, { decode: decodeEvent, retainLog })
  let rows = 0
  let stored = 0
  let ms = 0
  let cpuMs = 0
  for (let i = 0; i < input.length; i += BATCH) {
    const raw = input.slice(i, i + BATCH)
    const records = withDecode ? raw.map((r) => ({ partition: 0, ...r })) : []
    const batch = withDecode ? [] : decodeBatch(raw)
    const t0 = performance.now()
    const c0 = process.cpuUsage()
    const res: BatchResult = withDecode ? engine.process(records) : engine.processEvents(batch)
    rows += res.windows.length
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
const last = decodeBatch(input.slice(-1))[0]!.event.ts
console.log(
  `${input.length.toLocaleString('en')} records, ${((last - first) / 60_000).toFixed(1)} minutes of event time, batches of ${BATCH}`,
)

// BENCH_DECODED_ONLY=1 skips the bytes-in runs (for profiling the engine alone).
for (const withDecode of process.env.BENCH_DECODED_ONLY ? [false] : [false, true]) {
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

// State size: heap + external (snapshot log chunks are Buffers) held by one engine at the end.
if (gc === undefined) console.log('state size: run with `npx node --expose-gc bench/engine.ts` to measure it')
else {
  const used = () => {
    gc()
    gc()
    const m = process.memoryUsage()
    return m.heapUsed + m.arrayBuffers
  }
  for (const retainLog of [true, false]) {
    const before = used()
    let held: ReturnType<typeof run> | null = run(input, false, retainLog)
    const after = used()
    const s = held.engine.stats()
    const bytes = after - before
    console.log(
      `state (retainLog ${retainLog}): ${mb(bytes)} for ${s.presentUsers.toLocaleString('en')} present viewers = ` +
        `${Math.round(bytes / s.presentUsers).toLocaleString('en')} B/viewer, ` +
        `${Math.round(bytes / s.pendingRecords)} B/pending record ` +
        `(${s.streams} streams, ${s.users.toLocaleString('en')} users kept, ${s.pendingRecords.toLocaleString('en')} ` +
        `pending records, ${s.dedupIds.toLocaleString('en')} dedup ids, ${s.openWindows} open windows)`,
    )
    held = null
  }
}
