/**
 * The generator loop: model -> faults -> sink (Kafka or a file), in one of two modes.
 *
 * - live: event time is wall time. The model starts now and each record is sent when
 *   the wall clock reaches its emit time, so the topic fills at about EVENTS_PER_SEC.
 * - simulate: event time starts at SIMULATE_FROM and runs as fast as the sink takes
 *   records (backfills, benchmarks), until DURATION of event time, or until the wall
 *   time at which the run started.
 *
 * Both stop after COUNT records when given, or when `signal` aborts (Ctrl-C): what was
 * queued is flushed either way. Clock and sleep are injectable for tests.
 */
import { setTimeout as sleepMs } from 'node:timers/promises'
import type { GeneratorConfig } from './config.ts'
import { streamIdsOf } from './config.ts'
import { type FaultKind, type FaultRates, RecordSource } from './faults.ts'
import { DEFAULT_TUNING, EventModel, type ModelPlan, planModel } from './model.ts'
import { generateInWorker } from './parallel.ts'
import type { DeliveryStats } from './producer.ts'
import { progressLine } from './progress.ts'

/** Where records go: a {@link BatchingProducer}, or a file writer with the same shape. */
export interface RecordSink {
  add(key: string | Buffer | null, value: string | Buffer): Promise<void>
  /** Hands over a partial batch (live mode calls it every tick to keep latency low). */
  sendBatch(): Promise<void>
  flush(): Promise<void>
  readonly stats: DeliveryStats
}

export type RunConfig = Pick<
  GeneratorConfig,
  | 'eventsPerSec'
  | 'streamIds'
  | 'streamCount'
  | 'userCount'
  | 'count'
  | 'duration'
  | 'simulateFrom'
  | 'duplicateRate'
  | 'disorderRate'
  | 'disorderMax'
  | 'lateRate'
  | 'malformedRate'
  | 'watermark'
  | 'progressEvery'
> & { readonly seed: string }

export interface RunOptions {
  readonly config: RunConfig
  readonly sink: RecordSink
  readonly signal?: AbortSignal
  readonly log?: (line: string) => void
  /** Wall clock, epoch ms (default Date.now). */
  readonly now?: () => number
  /** Waits `ms` or until `signal` aborts (default timers/promises). */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  /** Simulate mode: run the model in a worker thread (about twice the rate on 2+ cores). */
  readonly parallel?: boolean
  /**
   * Where progress lines go, and how often (default: `log`, every PROGRESS_INTERVAL). A
   * terminal redraws one line more often; `final` marks the last one.
   */
  readonly progress?: { readonly everyMs: number; readonly write: (line: string, final: boolean) => void }
}

export interface RunSummary {
  readonly mode: 'live' | 'simulate'
  readonly seed: string
  readonly plan: ModelPlan
  readonly records: number
  readonly faults: Readonly<Record<FaultKind, number>>
  readonly firstEmitMs: number | null
  readonly lastEmitMs: number | null
  readonly elapsedMs: number
  readonly delivery: DeliveryStats
  readonly interrupted: boolean
}

/** The fault rates a config names. */
export function faultRatesOf(c: RunConfig): FaultRates {
  return {
    duplicate: c.duplicateRate,
    disorder: c.disorderRate,
    disorderMaxMs: c.disorderMax,
    late: c.lateRate,
    lateByMs: c.watermark,
    malformed: c.malformedRate,
  }
}

/** Builds the model and record stream a config describes, starting at `startMs`. */
export function recordSourceOf(c: RunConfig, startMs: number): { model: EventModel; source: RecordSource } {
  const model = new EventModel({
    seed: c.seed,
    streamIds: streamIdsOf(c),
    userCount: c.userCount,
    eventsPerSec: c.eventsPerSec,
    startMs,
  })
  return { model, source: new RecordSource(model, faultRatesOf(c), c.seed) }
}

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  sleepMs(ms, undefined, { signal }).catch(() => undefined)

/** What a run has done so far (updated by either loop, read by progress lines and the summary). */
interface Progress {
  records: number
  firstEmitMs: number | null
  lastEmitMs: number | null
  audience: number
  liveStreams: number
  faults: Readonly<Record<FaultKind, number>>
}

interface Loop {
  readonly c: RunConfig
  readonly sink: RecordSink
  readonly signal: AbortSignal | undefined
  readonly now: () => number
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>
  readonly mode: 'live' | 'simulate'
  readonly startMs: number
  readonly endMicros: number
  readonly limit: number
  readonly progress: Progress
  readonly report: (force: boolean) => void
}

function emitted(p: Progress, emitMicros: number): void {
  p.lastEmitMs = Math.floor(emitMicros / 1000)
  p.firstEmitMs ??= p.lastEmitMs
}

/** The single-threaded loop (live mode, and simulate mode without `parallel`). */
async function runInThread(l: Loop): Promise<void> {
  const { c, sink, signal, now, mode, endMicros, limit, progress: p } = l
  const { model, source } = recordSourceOf(c, l.startMs)
  const sync = () => {
    p.audience = model.audience
    p.liveStreams = model.liveStreams
    p.faults = source.counts
  }
  // Live mode lasts until the wall clock reaches the end; simulate mode until the records do.
  const done = () =>
    p.records >= limit ||
    signal?.aborted === true ||
    (mode === 'live' ? now() * 1000 >= endMicros : source.peekMicros() >= endMicros)
  while (!done()) {
    const dueMicros = mode === 'live' ? now() * 1000 : endMicros
    // Bounded slices so that progress lines and Ctrl-C are seen between them, also when
    // live mode is behind and every record is already due.
    let slice = 10_000
    while (slice-- > 0 && !done() && source.peekMicros() <= dueMicros) {
      const r = source.next()
      if (r.emitMicros >= endMicros) break
      await sink.add(r.key, r.value)
      p.records++
      emitted(p, r.emitMicros)
    }
    sync()
    if (mode === 'live') {
      await sink.sendBatch()
      l.report(false)
      const waitMs = Math.min(100, Math.min(source.peekMicros(), endMicros) / 1000 - now())
      if (done()) break
      if (waitMs > 0) await l.sleep(Math.max(1, waitMs), signal)
      else await new Promise<void>((resolve) => setImmediate(resolve)) // behind: catch up
    } else {
      l.report(false)
      // Let timers (progress, signals) and socket callbacks run.
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
  }
}

/** Simulate mode with the model in a worker thread (same records, in the same order). */
async function runInWorker(l: Loop): Promise<void> {
  const { c, sink, signal, progress: p } = l
  const job = {
    model: {
      seed: c.seed,
      streamIds: streamIdsOf(c),
      userCount: c.userCount,
      eventsPerSec: c.eventsPerSec,
      startMs: l.startMs,
    },
    faults: faultRatesOf(c),
    endMicros: l.endMicros,
    limit: l.limit,
    chunkSize: 2000,
  }
  for await (const chunk of generateInWorker(job)) {
    const { keys, values } = chunk
    for (let i = 0; i < values.length; i++) await sink.add(keys[i]!, values[i]!)
    p.records += values.length
    emitted(p, chunk.lastEmitMicros)
    p.audience = chunk.audience
    p.liveStreams = chunk.liveStreams
    p.faults = chunk.faults
    l.report(false)
    if (signal?.aborted) break
  }
}

/** Runs the generator until its end condition or `signal`; resolves after flushing the sink. */
export async function runGenerator(options: RunOptions): Promise<RunSummary> {
  const { config: c, sink, signal } = options
  const now = options.now ?? Date.now
  const log = options.log ?? (() => {})
  const startedMs = now()
  const mode = c.simulateFrom === undefined ? 'live' : 'simulate'
  const startMs = c.simulateFrom === undefined ? startedMs : c.simulateFrom(startedMs)
  const endMicros =
    c.duration !== undefined
      ? (startMs + c.duration) * 1000
      : mode === 'simulate'
        ? startedMs * 1000
        : Infinity
  const plan = planModel({ eventsPerSec: c.eventsPerSec, userCount: c.userCount }, DEFAULT_TUNING)
  const progress: Progress = {
    records: 0,
    firstEmitMs: null,
    lastEmitMs: null,
    audience: 0,
    liveStreams: 0,
    faults: { duplicate: 0, disorder: 0, late: 0, malformed: 0 },
  }
  let lastReport = startedMs
  let lastReportRecords = 0
  const report = (force: boolean) => {
    const t = now()
    if (!force && t - lastReport < (options.progress?.everyMs ?? c.progressEvery)) return
    const d = sink.stats
    const p = progress
    const rate = ((p.records - lastReportRecords) * 1000) / Math.max(1, t - lastReport)
    const avg = (p.records * 1000) / Math.max(1, t - startedMs)
    const at = p.lastEmitMs === null ? '-' : new Date(p.lastEmitMs).toISOString()
    // Live mode: records due longer ago than this were not sent in time (the machine or
    // the broker cannot keep up with EVENTS_PER_SEC).
    const lagMs = mode === 'live' && p.lastEmitMs !== null ? t - p.lastEmitMs : 0
    // With COUNT the end is known: done/total and an ETA.
    const counted =
      c.count === undefined
        ? `${p.records} records (${rate.toFixed(0)}/s now, ${avg.toFixed(0)}/s avg)`
        : progressLine({
            done: p.records,
            total: c.count,
            unit: 'records',
            elapsedMs: t - startedMs,
            ratePerSec: rate,
          })
    ;(options.progress === undefined ? log : (line: string) => options.progress?.write(line, force))(
      `${counted}, acked ${d.acked}, failed ${d.failed}, ` +
        `audience ${p.audience}, live streams ${p.liveStreams}, event time ${at}` +
        (lagMs > 2000 ? `, BEHIND wall time by ${(lagMs / 1000).toFixed(1)} s` : ''),
    )
    lastReport = t
    lastReportRecords = p.records
  }
  const parallel = mode === 'simulate' && options.parallel === true
  log(
    `${mode}${parallel ? ' (model in a worker thread)' : ''}: seed ${c.seed}, ${streamIdsOf(c).length} streams, ` +
      `${c.userCount} users, target ${c.eventsPerSec}/s ` +
      `(audience ~${Math.round(plan.audience)}, activity x${plan.activity.toFixed(2)})`,
  )
  const loop: Loop = {
    c,
    sink,
    signal,
    now,
    sleep: options.sleep ?? defaultSleep,
    mode,
    startMs,
    endMicros,
    limit: c.count ?? Infinity,
    progress,
    report,
  }
  if (parallel) await runInWorker(loop)
  else await runInThread(loop)
  await sink.flush()
  report(true)
  return {
    mode,
    seed: c.seed,
    plan,
    records: progress.records,
    faults: { ...progress.faults },
    firstEmitMs: progress.firstEmitMs,
    lastEmitMs: progress.lastEmitMs,
    elapsedMs: now() - startedMs,
    delivery: sink.stats,
    interrupted: signal?.aborted === true,
  }
}
