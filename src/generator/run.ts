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
import { EventModel, type ModelPlan } from './model.ts'
import type { DeliveryStats } from './producer.ts'

/** Where records go: a {@link BatchingProducer}, or a file writer with the same shape. */
export interface RecordSink {
  add(key: string | null, value: string): Promise<void>
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

/** Runs the generator until its end condition or `signal`; resolves after flushing the sink. */
export async function runGenerator(options: RunOptions): Promise<RunSummary> {
  const { config: c, sink, signal } = options
  const now = options.now ?? Date.now
  const sleep = options.sleep ?? defaultSleep
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
  const limit = c.count ?? Infinity
  const { model, source } = recordSourceOf(c, startMs)

  let records = 0
  let firstEmitMs: number | null = null
  let lastEmitMs: number | null = null
  let lastReport = startedMs
  let lastReportRecords = 0
  const report = (force: boolean) => {
    const t = now()
    if (!force && t - lastReport < c.progressEvery) return
    const d = sink.stats
    const rate = ((records - lastReportRecords) * 1000) / Math.max(1, t - lastReport)
    const avg = (records * 1000) / Math.max(1, t - startedMs)
    const at = lastEmitMs === null ? '-' : new Date(lastEmitMs).toISOString()
    log(
      `${records} records (${rate.toFixed(0)}/s now, ${avg.toFixed(0)}/s avg), acked ${d.acked}, failed ${d.failed}, ` +
        `audience ${model.audience}, live streams ${model.liveStreams}, event time ${at}`,
    )
    lastReport = t
    lastReportRecords = records
  }

  // Live mode lasts until the wall clock reaches the end; simulate mode until the records do.
  const done = () =>
    records >= limit ||
    signal?.aborted === true ||
    (mode === 'live' ? now() * 1000 >= endMicros : source.peekMicros() >= endMicros)
  log(
    `${mode}: seed ${c.seed}, ${streamIdsOf(c).length} streams, ${c.userCount} users, target ${c.eventsPerSec}/s ` +
      `(audience ~${Math.round(model.plan.audience)}, activity x${model.plan.activity.toFixed(2)})`,
  )
  while (!done()) {
    const dueMicros = mode === 'live' ? now() * 1000 : endMicros
    // Simulate mode: bounded chunks so progress lines and Ctrl-C are seen between them.
    let chunk = mode === 'live' ? Infinity : 10_000
    while (chunk-- > 0 && !done() && source.peekMicros() <= dueMicros) {
      const r = source.next()
      if (r.emitMicros >= endMicros) break
      await sink.add(r.key, r.value)
      records++
      lastEmitMs = Math.floor(r.emitMicros / 1000)
      firstEmitMs ??= lastEmitMs
    }
    if (mode === 'live') {
      await sink.sendBatch()
      report(false)
      const waitMs = Math.min(100, Math.max(1, Math.min(source.peekMicros(), endMicros) / 1000 - now()))
      if (!done()) await sleep(waitMs, signal)
    } else {
      report(false)
      // Let timers (progress, signals) and socket callbacks run.
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
  }
  await sink.flush()
  report(true)
  return {
    mode,
    seed: c.seed,
    plan: model.plan,
    records,
    faults: { ...source.counts },
    firstEmitMs,
    lastEmitMs,
    elapsedMs: now() - startedMs,
    delivery: sink.stats,
    interrupted: signal?.aborted === true,
  }
}
