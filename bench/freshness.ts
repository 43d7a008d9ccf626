/**
 * freshness: time from an event's production to its effect being visible, under the
 * generator in live mode at fixed rates. One processor (`rtsa process`, default
 * batching) and the API (a child process) run throughout; at each rate, after a
 * warm-up, marker donations (each to a stream of its own, see lib/markers.ts) are
 * produced every `markerMs` at known times, and two moments are recorded per marker:
 * its stream in a commit NOTIFY (committed in PostgreSQL) and on `/live` (pushed to a
 * client). Baseline: the same with no generator load (the floor set by batching and
 * the /live coalescing). The markers of each rate are split into `runs` consecutive
 * runs: the figures are medians of the per-run percentiles.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { startApiChild } from './lib/api-process.ts'
import { type BenchContext, type Benchmark, opt } from './lib/context.ts'
import { startLiveGenerator } from './lib/generator-child.ts'
import { type Marker, MarkerWatch } from './lib/markers.ts'
import {
  benchProcessorEnv,
  type Child,
  endOffsets,
  startProcessor,
  stopChild,
  waitCommitted,
} from './lib/processors.ts'
import { type Figure, figure } from './lib/report.ts'
import { deleteTopic, freshDb, freshTopic } from './lib/servers.ts'
import { fmt, latencySummary } from './lib/stats.ts'

interface Level {
  readonly rate: number
  readonly live: number[][]
  readonly commit: number[][]
  readonly lost: number
  readonly achieved: number
  readonly pooled: ReturnType<typeof latencySummary>
  readonly pooledCommit: ReturnType<typeof latencySummary>
}

function split<T>(xs: readonly T[], parts: number): T[][] {
  const size = Math.ceil(xs.length / parts)
  return Array.from({ length: parts }, (_, i) => xs.slice(i * size, (i + 1) * size)).filter(
    (p) => p.length > 0,
  )
}

async function measureLevel(
  ctx: BenchContext,
  watch: MarkerWatch,
  o: { rate: number; topic: string; warmS: number; measureS: number; markerMs: number; bootstrap: string[] },
): Promise<Level> {
  const tag = `r${o.rate}x${Date.now().toString(36)}`
  const gen =
    o.rate > 0
      ? startLiveGenerator({
          bootstrap: o.bootstrap,
          topic: o.topic,
          rate: o.rate,
          streams: 500,
          users: Math.max(50_000, o.rate * 20),
          durationS: o.warmS + o.measureS + 60,
          seed: tag,
        })
      : undefined
  const before = await endOffsets(o.bootstrap, o.topic)
  const t0 = Date.now()
  await sleep(o.warmS * 1000)
  const ids: string[] = []
  const started = performance.now()
  for (let i = 0; performance.now() - started < o.measureS * 1000; i++) {
    watch.send(tag, i)
    ids.push(`bmk_${tag}_${i}`)
    await sleep(o.markerMs)
  }
  const after = await endOffsets(o.bootstrap, o.topic)
  const seconds = (Date.now() - t0) / 1000
  const produced = [...after].reduce((s, [p, e]) => s + Number(e - (before.get(p) ?? 0n)), 0)
  // The load stops with the measurement; markers still in the backlog it left keep their
  // true latency: wait for them (a processor that fell behind shows it here).
  await gen?.stop()
  const deadline = Date.now() + 180_000
  const markers = () => ids.map((id) => watch.markers.get(id)!)
  while (Date.now() < deadline && markers().some((m) => m.liveAt === undefined)) await sleep(100)
  if (gen) {
    const lines = gen
      .output()
      .trim()
      .split('\n')
      .filter((l) => l.includes('records ('))
    if (lines.length > 0) ctx.log(`    generator: ${lines.at(-1)}`)
  }
  const ms: Marker[] = markers()
  const seen = ms.filter((m) => m.liveAt !== undefined)
  const live = split(ms, ctx.runs).map((part) =>
    part.filter((m) => m.liveAt !== undefined).map((m) => m.liveAt! - m.sentAt),
  )
  const commit = split(ms, ctx.runs).map((part) =>
    part.filter((m) => m.committedAt !== undefined).map((m) => m.committedAt! - m.sentAt),
  )
  return {
    rate: o.rate,
    live,
    commit,
    lost: ms.length - seen.length,
    achieved: produced / seconds,
    pooled: latencySummary(seen.map((m) => m.liveAt! - m.sentAt)),
    pooledCommit: latencySummary(
      ms.filter((m) => m.committedAt !== undefined).map((m) => m.committedAt! - m.sentAt),
    ),
  }
}

export const freshness: Benchmark = {
  name: 'freshness',
  describe: 'production -> committed -> pushed on /live latency at fixed generator rates',
  async run(ctx) {
    const rates = (ctx.options.rates ?? '1000,10000,20000').split(',').map(Number)
    const warmS = opt(ctx, 'warm', 8, 20)
    const measureS = opt(ctx, 'seconds', 30, 120)
    const markerMs = opt(ctx, 'markerMs', 100, 100)
    const servers = await ctx.servers()
    const topic = await freshTopic(servers, 'fresh', 6)
    const db = await freshDb(servers, 'fresh')
    const env = benchProcessorEnv({
      bootstrap: servers.bootstrap,
      databaseUrl: db.url,
      topic,
      group: `bench-fresh-${Date.now().toString(36)}`,
      extra: { STARTING_OFFSETS: 'earliest' },
    })
    const processor: Child = startProcessor(env, 'fresh-0')
    const api = await startApiChild(db.url)
    const watch = new MarkerWatch(servers.bootstrap, topic)
    const levels: Level[] = []
    const notes: string[] = []
    try {
      await watch.start(api.url, db.url)
      const catchUp = async () => {
        const ends = await endOffsets(servers.bootstrap, topic)
        await waitCommitted(db.pool, topic, ends, { timeoutMs: 300_000, children: [processor] })
      }
      // Ready: the processor owns its partitions and /live delivers (probe markers until one shows up).
      const ready = Date.now() + 120_000
      for (let i = 0; ; i++) {
        watch.send('probe', i)
        await sleep(500)
        if ([...watch.markers.values()].some((m) => m.id.startsWith('bmk_probe_') && m.liveAt !== undefined))
          break
        if (Date.now() > ready) throw new Error('the processor and /live did not become ready within 120 s')
      }
      await sleep(2000)
      const plan = [0, ...rates]
      for (let i = 0; i < plan.length; i++) {
        const rate = plan[i]!
        ctx.log(
          `  rate ${fmt(rate)} events/s: ${warmS} s warm-up, ${measureS} s of markers every ${markerMs} ms`,
        )
        const level = await measureLevel(ctx, watch, {
          rate,
          topic,
          warmS: rate === 0 ? 2 : warmS,
          measureS: rate === 0 ? Math.min(measureS, 15) : measureS,
          markerMs,
          bootstrap: servers.bootstrap,
        })
        levels.push(level)
        const p = level.pooled
        const c = level.pooledCommit
        ctx.log(
          `    achieved ${fmt(level.achieved)} events/s; /live p50 ${fmt(p.p50)} p95 ${fmt(p.p95)} p99 ${fmt(p.p99)} max ${fmt(p.max)} ms ` +
            `(${p.count} markers, ${level.lost} not seen); committed p50 ${fmt(c.p50)} p99 ${fmt(c.p99)} ms`,
        )
        // More if it holds: one step further than the largest rate asked for.
        const last = i === plan.length - 1 && rate > 0
        if (last && !ctx.options.rates && p.p99 < 1000 && level.achieved > 0.9 * rate && rate < 160_000)
          plan.push(rate * 2)
        await catchUp()
      }
    } finally {
      await watch.close()
      await api.stop()
      await stopChild(processor)
      await db.drop()
      await deleteTopic(servers, topic)
    }
    const base = levels[0]!
    const figures: Figure[] = []
    const p99s = (runs: number[][]) => runs.map((r) => latencySummary(r).p99)
    for (const l of levels) {
      const label = l.rate === 0 ? 'idle (no generator)' : `${fmt(l.rate)} events/s`
      const per = (p: 'p50' | 'p95' | 'p99' | 'max', runs: number[][]) =>
        runs.map((r) => latencySummary(r)[p])
      figures.push(
        figure(`/live p50, ${label}`, 'ms', per('p50', l.live)),
        figure(`/live p95, ${label}`, 'ms', per('p95', l.live)),
        figure(`/live p99, ${label}`, 'ms', per('p99', l.live), {
          ...(l.rate === 0 ? {} : { baseline: { name: 'idle p99', runs: p99s(base.live) } }),
          ...(l.rate === 20_000 ? { target: '< 1000 ms', met: (v: number) => v < 1000 } : {}),
        }),
        figure(`/live max, ${label}`, 'ms', per('max', l.live)),
        figure(`committed (NOTIFY) p99, ${label}`, 'ms', p99s(l.commit), {
          ...(l.rate === 0 ? {} : { baseline: { name: 'idle', runs: p99s(base.commit) } }),
        }),
      )
      if (l.rate > 0)
        figures.push(figure(`generator rate achieved, target ${fmt(l.rate)}/s`, 'events/s', [l.achieved]))
      notes.push(
        `${label}: ${l.pooled.count + l.lost} markers, ${l.lost} not seen on /live; pooled /live p50/p95/p99/max ` +
          `${[l.pooled.p50, l.pooled.p95, l.pooled.p99, l.pooled.max].map((v) => fmt(v)).join('/')} ms; ` +
          `committed p50/p99 ${fmt(l.pooledCommit.p50)}/${fmt(l.pooledCommit.p99)} ms; topic rate ${fmt(l.achieved)}/s`,
      )
    }
    notes.push(
      "Latency = first sight of the marker's stream id (on /live, or in a commit NOTIFY payload on rtsa_commits) minus the moment just before the marker was handed to the producer (idempotent, acks=all). Processor with BATCH_MAX_WAIT=200ms; /live coalesces commits for 250 ms.",
      `Median of per-run values: each rate's markers split into ${ctx.runs} consecutive runs of ~${fmt(measureS / ctx.runs)} s.`,
    )
    return {
      settings: { rates, warmS, measureS, markerMs, streams: 500 },
      figures,
      notes,
    }
  },
}
