/**
 * memory: resident memory of one `rtsa process` child holding 10k, 100k and 1M present
 * viewers (lib/viewers.ts input: a join and a heartbeat per viewer), read from
 * /proc/<pid>/status (VmRSS) once it caught up and sat idle for a moment. Baseline in the
 * same run: the RSS of a processor on an empty topic (what Node, the clients and the
 * code cost before any state). A fresh database and consumer group per run; the topic of
 * a level is produced once. Then `--set idle=N` (default 200,000; 0: skip) streams that go
 * idle (lib/idle-streams.ts): RSS and restore time once the processor forgot them.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { type BenchContext, type Benchmark, opt } from './lib/context.ts'
import { idleStreamsCase } from './lib/idle-streams.ts'
import { peakRssOf, rssOf } from './lib/machine.ts'
import {
  benchProcessorEnv,
  type Child,
  endOffsets,
  startProcessor,
  stopChild,
  waitCommitted,
} from './lib/processors.ts'
import { type Figure, figure } from './lib/report.ts'
import { deleteTopic, type FreshDb, freshDb, freshTopic } from './lib/servers.ts'
import { fmt, mib } from './lib/stats.ts'
import { idStyle, produceViewers } from './lib/viewers.ts'

export interface ViewerProcessor {
  readonly child: Child
  readonly db: FreshDb
  readonly env: Record<string, string>
  readonly catchUpSeconds: number
  /** Largest RSS sampled (every 500 ms) while catching up. */
  readonly sampledPeak: number
}

/** A processor that did not catch up (it crashed, e.g. out of heap), with what it showed. */
export class CatchUpFailed extends Error {
  readonly sampledPeak: number
  constructor(message: string, sampledPeak: number, options: { cause: unknown }) {
    super(message, options)
    this.sampledPeak = sampledPeak
  }
}

/** A processor child caught up on `topic` with a fresh database; the caller stops it and drops the db. */
export async function caughtUpProcessor(
  ctx: BenchContext,
  topic: string,
  label: string,
  extra: Record<string, string> = {},
  reuse?: FreshDb,
): Promise<ViewerProcessor> {
  const servers = await ctx.servers()
  const db = reuse ?? (await freshDb(servers, 'mem'))
  const env = benchProcessorEnv({
    bootstrap: servers.bootstrap,
    databaseUrl: db.url,
    topic,
    group: `bench-${label}-${Date.now().toString(36)}`,
    extra,
  })
  const child = startProcessor(env, label)
  const ends = await endOffsets(servers.bootstrap, topic)
  const t0 = performance.now()
  let peak = 0
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, rssOf(child.pid!))
    } catch {
      // exited
    }
  }, 500)
  try {
    const w = await waitCommitted(db.pool, topic, ends, {
      timeoutMs: 20 * 60_000,
      children: [child],
      progress: (f) =>
        ctx.log(`    ${label}: ${(f * 100).toFixed(0)}% committed, RSS ${fmt(mib(peak))} MiB (peak so far)`),
    })
    return { child, db, env, catchUpSeconds: (w.end - t0) / 1000, sampledPeak: peak }
  } catch (error) {
    await stopChild(child)
    if (reuse === undefined) await db.drop()
    const out = child
      .output()
      .split('\n')
      .filter((l) => /heap|memory|FATAL|error/i.test(l))
      .slice(-3)
      .join(' | ')
    throw new CatchUpFailed(
      `${label} did not catch up: ${out.slice(0, 600) || String(error).slice(0, 600)}`,
      peak,
      {
        cause: error,
      },
    )
  } finally {
    clearInterval(sampler)
  }
}

async function settledRss(child: Child): Promise<{ rss: number; peak: number }> {
  await sleep(3000)
  return { rss: rssOf(child.pid!), peak: peakRssOf(child.pid!) }
}

export const memory: Benchmark = {
  name: 'memory',
  describe: 'processor RSS with 10k, 100k and 1M present viewers, and after 200k streams went idle',
  async run(ctx) {
    const levels = (ctx.options.viewers ?? '10000,100000,1000000').split(',').map(Number)
    // 1M viewers take minutes per run: by default one run at that level (`--long`: ctx.runs).
    const bigRuns = opt(ctx, 'bigRuns', 1, ctx.runs)
    const ids = idStyle(ctx.options)
    const servers = await ctx.servers()
    const figures: Figure[] = []
    const notes: string[] = []
    const baseRuns: number[] = []
    const empty = await freshTopic(servers, 'mem0', 6)
    try {
      for (let run = 1; run <= ctx.runs; run++) {
        const p = await caughtUpProcessor(ctx, empty, `mem0-${run}`)
        await sleep(2000)
        const { rss } = await settledRss(p.child)
        baseRuns.push(mib(rss))
        ctx.log(`  empty topic run ${run}: RSS ${fmt(mib(rss))} MiB`)
        await stopChild(p.child)
        await p.db.drop()
      }
    } finally {
      await deleteTopic(servers, empty)
    }
    figures.push(figure('RSS, empty topic (baseline)', 'MiB', baseRuns))
    for (const viewers of levels) {
      const topic = await freshTopic(servers, `mem${viewers}`, 6)
      const rss: number[] = []
      const perViewer: number[] = []
      const failedPeaks: number[] = []
      try {
        ctx.log(`  ${fmt(viewers)} viewers: producing ${fmt(2 * viewers)} records`)
        await produceViewers(servers.bootstrap, topic, viewers, ctx.log, { ids })
        const runs = viewers >= 1_000_000 ? bigRuns : ctx.runs
        for (let run = 1; run <= runs; run++) {
          let p: ViewerProcessor
          try {
            p = await caughtUpProcessor(ctx, topic, `mem${viewers}-${run}`)
          } catch (error) {
            if (!(error instanceof CatchUpFailed)) throw error
            ctx.log(`  ${fmt(viewers)} viewers run ${run} FAILED: ${error.message}`)
            notes.push(
              `${fmt(viewers)} viewers run ${run}: the processor did not catch up (largest RSS sampled ${fmt(mib(error.sampledPeak))} MiB): ${error.message}`,
            )
            failedPeaks.push(mib(error.sampledPeak))
            continue
          }
          const r = await settledRss(p.child)
          rss.push(mib(r.rss))
          perViewer.push((r.rss - (baseRuns[run - 1] ?? baseRuns[0]!) * 1024 * 1024) / viewers)
          ctx.log(
            `  ${fmt(viewers)} viewers run ${run}: caught up in ${p.catchUpSeconds.toFixed(1)} s; RSS ${fmt(mib(r.rss))} MiB ` +
              `(peak ${fmt(mib(r.peak))} MiB), ${fmt(perViewer.at(-1)!)} B/viewer above the empty baseline`,
          )
          notes.push(
            `${fmt(viewers)} viewers run ${run}: peak RSS (VmHWM) ${fmt(mib(r.peak))} MiB during catch-up of ${fmt(2 * viewers)} records (${p.catchUpSeconds.toFixed(0)} s)`,
          )
          await stopChild(p.child)
          await p.db.drop()
        }
      } finally {
        await deleteTopic(servers, topic)
      }
      if (rss.length === 0 && failedPeaks.length > 0) {
        figures.push(
          figure(
            `RSS, ${fmt(viewers)} present viewers: FAILED, largest sampled before the crash`,
            'MiB',
            failedPeaks,
            {
              baseline: { name: 'empty topic', runs: baseRuns.slice(0, failedPeaks.length) },
              ...(viewers === 1_000_000 ? { target: '< 1024 MiB', met: () => false } : {}),
            },
          ),
        )
        continue
      }
      figures.push(
        figure(`RSS, ${fmt(viewers)} present viewers`, 'MiB', rss, {
          baseline: { name: 'empty topic', runs: baseRuns.slice(0, rss.length) },
          ...(viewers === 1_000_000 ? { target: '< 1024 MiB', met: (v: number) => v < 1024 } : {}),
        }),
        figure(`bytes per viewer above baseline, ${fmt(viewers)} viewers`, 'B', perViewer),
      )
    }
    const idle = Number(ctx.options.idle ?? 200_000)
    if (idle > 0) {
      const r = await idleStreamsCase(ctx, idle, baseRuns, caughtUpProcessor)
      figures.push(...r.figures)
      notes.push(...r.notes)
    }
    notes.push(
      `Input per level: every viewer joins one of 500 streams within one minute of event time and sends one heartbeat in the next minute (2 records per viewer); event ids ${ids === 'uuid' ? 'random UUIDs, as the contract (uuid4)' : 'short strings that are not UUIDs (`--set ids=plain`)'}; RSS read from /proc/<pid>/status 3 s after the processor caught up.`,
    )
    return { settings: { levels, bigRuns, ids }, figures, notes }
  },
}
