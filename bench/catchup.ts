/**
 * catchup: how fast processors work through a backlog. A topic with 6 partitions is
 * preloaded with N generator records (simulate mode); then, per run, with a fresh
 * database and consumer group each time:
 *   - raw: a plain consumer (src/kafka, no decoding, engine or database) reads it all;
 *   - one: one `rtsa process` child from spawn until every partition's committed offset
 *     reached the end;
 *   - two: two children in one group, the same way.
 * Figures: processor/raw and two/one ratios (per run, median over runs).
 */
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { type BenchContext, type Benchmark, opt } from './lib/context.ts'
import { preload, type Traffic } from './lib/preload.ts'
import {
  benchProcessorEnv,
  type Child,
  endOffsets,
  runScript,
  startProcessor,
  stopChild,
  waitCommitted,
} from './lib/processors.ts'
import { profileMarkdown, summarize } from './lib/profile.ts'
import { figure } from './lib/report.ts'
import { deleteTopic, freshDb, freshTopic } from './lib/servers.ts'
import { fmt } from './lib/stats.ts'

export const TRAFFIC: Traffic = { streams: 500, users: 500_000, eventsPerSec: 5_000, seed: 'bench-catchup' }

/**
 * Rates of `instances` processors on `topic`, on a fresh database: records / (spawn to
 * caught up), and the steady rate from the first commit seen to caught up.
 */
export async function timeProcessors(
  ctx: BenchContext,
  topic: string,
  instances: number,
  label: string,
  nodeArgs: string[] = [],
): Promise<{ seconds: number; rate: number; steady: number }> {
  const servers = await ctx.servers()
  const db = await freshDb(servers, 'catchup')
  const ends = await endOffsets(servers.bootstrap, topic)
  const group = `bench-${label}-${Date.now().toString(36)}`
  const env = benchProcessorEnv({ bootstrap: servers.bootstrap, databaseUrl: db.url, topic, group })
  const children: Child[] = []
  try {
    const t0 = performance.now()
    for (let i = 0; i < instances; i++) children.push(startProcessor(env, `${label}-${i}`, nodeArgs))
    const w = await waitCommitted(db.pool, topic, ends, {
      timeoutMs: 15 * 60_000,
      children,
      progress: (f) => ctx.log(`    ${label}: ${(f * 100).toFixed(0)}% committed`),
    })
    const total = [...ends.values()].reduce((s, e) => s + Number(e), 0)
    const seconds = (w.end - t0) / 1000
    const steady = w.end > w.first ? ((total - w.firstDone) * 1000) / (w.end - w.first) : Number.NaN
    ctx.log(
      `  ${label}: ${seconds.toFixed(2)} s = ${fmt(total / seconds)} records/s; first commit after ` +
        `${((w.first - t0) / 1000).toFixed(2)} s, then ${fmt(steady)} records/s`,
    )
    return { seconds, rate: total / seconds, steady }
  } finally {
    await Promise.all(children.map((c) => stopChild(c)))
    await db.drop()
  }
}

/**
 * One more (unmeasured) catch-up by one processor under `--cpu-prof`; the summary goes to
 * bench/results/catchup-profile.md, the category shares into the notes.
 */
async function profiled(ctx: BenchContext, topic: string): Promise<string[]> {
  const dir = resolve(import.meta.dirname, 'results/profiles')
  mkdirSync(dir, { recursive: true })
  const t0 = Date.now()
  ctx.log('  profiling one processor catching up (--cpu-prof, not measured)')
  await timeProcessors(ctx, topic, 1, 'profiled', ['--cpu-prof', '--cpu-prof-dir', dir])
  const file = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).mtimeMs >= t0)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]
  if (file === undefined) return ['profile: no .cpuprofile was written']
  const summary = summarize(file)
  const md = profileMarkdown(summary)
  writeFileSync(
    resolve(import.meta.dirname, 'results/catchup-profile.md'),
    `# catch-up profile\n\n${file}\n\n${md}\n`,
  )
  ctx.log(md)
  const busy = summary.categories.filter((c) => c.name !== 'idle')
  return [
    `Profile of one processor catching up (${file.replace(/^.*\/bench\//, 'bench/')}, summary in bench/results/catchup-profile.md): ` +
      busy
        .slice(0, 8)
        .map((c) => `${c.name} ${(c.share * 100).toFixed(0)}%`)
        .join(', ') +
      ` of ${(summary.busyMs / 1000).toFixed(1)} s busy; idle ${((summary.totalMs - summary.busyMs) / 1000).toFixed(1)} s.`,
  ]
}

export const catchup: Benchmark = {
  name: 'catchup',
  describe: 'processor catch-up rate (1 and 2 instances) vs a raw Kafka consumer',
  async run(ctx) {
    const n = opt(ctx, 'records', 300_000, 2_000_000)
    const servers = await ctx.servers()
    const topic = await freshTopic(servers, 'catchup', 6)
    ctx.log(`catchup: preloading ${fmt(n)} records (6 partitions)`)
    const loaded = await preload(servers.bootstrap, topic, n, TRAFFIC, ctx.log)
    const raw: number[] = []
    const one: number[] = []
    const two: number[] = []
    const rawSteady: number[] = []
    const oneSteady: number[] = []
    const twoSteady: number[] = []
    let profile: string[] = []
    const rawScript = resolve(import.meta.dirname, 'lib/raw-read.ts')
    try {
      // Warm-up, not measured: the broker's page cache and the JIT of a first read.
      ctx.log('  warm-up read (not measured)')
      await runScript(rawScript, [servers.bootstrap.join(','), topic])
      for (let run = 1; run <= ctx.runs; run++) {
        const t0 = performance.now()
        const out = JSON.parse(await runScript(rawScript, [servers.bootstrap.join(','), topic])) as {
          records: number
          ms: number
          firstMs: number
        }
        const rawS = (performance.now() - t0) / 1000
        if (out.records !== loaded.records) throw new Error(`raw read ${out.records} of ${loaded.records}`)
        raw.push(loaded.records / rawS)
        rawSteady.push(((out.records - 1) * 1000) / (out.ms - out.firstMs))
        ctx.log(
          `  run ${run}: raw consumer ${rawS.toFixed(2)} s = ${fmt(raw.at(-1)!)} records/s; first record after ` +
            `${(out.firstMs / 1000).toFixed(2)} s of its process, then ${fmt(rawSteady.at(-1)!)} records/s`,
        )
        const r1 = await timeProcessors(ctx, topic, 1, `one-${run}`)
        one.push(r1.rate)
        oneSteady.push(r1.steady)
        const r2 = await timeProcessors(ctx, topic, 2, `two-${run}`)
        two.push(r2.rate)
        twoSteady.push(r2.steady)
      }
      if (opt(ctx, 'profile', 1, 1) > 0) profile = await profiled(ctx, topic)
    } finally {
      await deleteTopic(servers, topic)
    }
    return {
      settings: { records: loaded.records, partitions: 6, traffic: TRAFFIC, preloadSeconds: loaded.seconds },
      figures: [
        figure('raw Kafka consumer (baseline)', 'records/s', raw),
        figure('1 processor, spawn to caught up', 'records/s', one, {
          baseline: { name: 'raw consumer', runs: raw },
          target: '>= 0.60x raw',
          met: (_v, r) => (r ?? 0) >= 0.6,
        }),
        figure('2 processors, one group', 'records/s', two, {
          baseline: { name: '1 processor', runs: one },
          target: '>= 1.6x one',
          met: (_v, r) => (r ?? 0) >= 1.6,
        }),
        figure('raw consumer, steady (first record to end)', 'records/s', rawSteady),
        figure('1 processor, steady (first commit to caught up)', 'records/s', oneSteady, {
          baseline: { name: 'raw consumer, steady', runs: rawSteady },
        }),
        figure('2 processors, steady', 'records/s', twoSteady, {
          baseline: { name: '1 processor, steady', runs: oneSteady },
        }),
      ],
      notes: [
        "Times run from spawning the child process(es) (Node start, migrations, group join included) until every partition's committed offset in partition_checkpoints reached the end offset (polled every 50 ms); the raw consumer is timed from spawn to its exit the same way.",
        ...profile,
        `Traffic: the generator in simulate mode (${TRAFFIC.streams} streams, ${fmt(TRAFFIC.users)} users, ${fmt(TRAFFIC.eventsPerSec)} events/s of event time), its default fault rates; processors with the default BATCH_MAX_RECORDS=20000, BATCH_MAX_WAIT=200ms.`,
      ],
    }
  },
}
