/**
 * catchup: how fast processors work through a backlog. A topic with 6 partitions is
 * preloaded with N generator records (simulate mode); then, per run, with a fresh
 * database and consumer group each time:
 *   - raw: a plain consumer (src/kafka, no decoding, engine or database) reads it all;
 *   - one: one `rtsa process` child from spawn until every partition's committed offset
 *     reached the end;
 *   - two: two children in one group, the same way;
 *   - threads: one child with PROCESSOR_THREADS 1, 2 and 4, and two children with 1 each,
 *     for the CPU-seconds per million records of each (CPU of the children's process
 *     trees, from /proc, read when caught up): on a machine whose 2 cores also run the
 *     broker and the database, the CPU cost shows what threads cost where the rates cannot.
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
import { watchTree } from './lib/proctree.ts'
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
  extra: Record<string, string> = {},
): Promise<{ seconds: number; rate: number; steady: number; cpuPerMillion: number }> {
  const servers = await ctx.servers()
  const db = await freshDb(servers, 'catchup')
  const ends = await endOffsets(servers.bootstrap, topic)
  const group = `bench-${label}-${Date.now().toString(36)}`
  const env = benchProcessorEnv({ bootstrap: servers.bootstrap, databaseUrl: db.url, topic, group, extra })
  const children: Child[] = []
  try {
    const t0 = performance.now()
    for (let i = 0; i < instances; i++) children.push(startProcessor(env, `${label}-${i}`, nodeArgs))
    const watches = children.map((c) => watchTree(c.pid!, 500))
    const w = await waitCommitted(db.pool, topic, ends, {
      timeoutMs: 15 * 60_000,
      children,
      progress: (f) => ctx.log(`    ${label}: ${(f * 100).toFixed(0)}% committed`),
    })
    const cpu = watches.reduce((sum, x) => sum + x.finish().cpuSeconds, 0)
    const total = [...ends.values()].reduce((s, e) => s + Number(e), 0)
    const seconds = (w.end - t0) / 1000
    const steady = w.end > w.first ? ((total - w.firstDone) * 1000) / (w.end - w.first) : Number.NaN
    const cpuPerMillion = (cpu * 1e6) / total
    ctx.log(
      `  ${label}: ${seconds.toFixed(2)} s = ${fmt(total / seconds)} records/s; first commit after ` +
        `${((w.first - t0) / 1000).toFixed(2)} s, then ${fmt(steady)} records/s; ` +
        `${cpu.toFixed(1)} CPU-s = ${cpuPerMillion.toFixed(1)} CPU-s per million records`,
    )
    return { seconds, rate: total / seconds, steady, cpuPerMillion }
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
    // PROCESSOR_THREADS variants: records/s and CPU-seconds per million records.
    const variants = [
      { key: 't1', name: '1 processor, PROCESSOR_THREADS=1', instances: 1, threads: '1' },
      { key: 't2', name: '1 processor, PROCESSOR_THREADS=2', instances: 1, threads: '2' },
      { key: 't4', name: '1 processor, PROCESSOR_THREADS=4', instances: 1, threads: '4' },
      { key: 'p2', name: '2 processors, PROCESSOR_THREADS=1 each', instances: 2, threads: '1' },
    ] as const
    const vRate = new Map<string, number[]>(variants.map((v) => [v.key, []]))
    const vCpu = new Map<string, number[]>(variants.map((v) => [v.key, []]))
    const withThreads = opt(ctx, 'threads', 1, 1) > 0
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
        if (withThreads) {
          // The order turns every run, so that no variant always runs on a machine warmed by the one before.
          const order = variants.map((_, i) => variants[(i + run - 1) % variants.length]!)
          for (const v of order) {
            const r = await timeProcessors(ctx, topic, v.instances, `${v.key}-${run}`, [], {
              PROCESSOR_THREADS: v.threads,
            })
            vRate.get(v.key)!.push(r.rate)
            vCpu.get(v.key)!.push(r.cpuPerMillion)
          }
        }
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
        ...(withThreads ? threadFigures(variants, vRate, vCpu) : []),
      ],
      notes: [
        "Times run from spawning the child process(es) (Node start, migrations, group join included) until every partition's committed offset in partition_checkpoints reached the end offset (polled every 50 ms); the raw consumer is timed from spawn to its exit the same way.",
        ...profile,
        `Traffic: the generator in simulate mode (${TRAFFIC.streams} streams, ${fmt(TRAFFIC.users)} users, ${fmt(TRAFFIC.eventsPerSec)} events/s of event time), its default fault rates; processors with the default BATCH_MAX_RECORDS=20000, BATCH_MAX_WAIT=200ms.`,
      ],
    }
  },
}

/** Records/s and CPU-seconds per million records of the PROCESSOR_THREADS variants, against 1 thread. */
function threadFigures(
  variants: readonly { key: string; name: string }[],
  rate: ReadonlyMap<string, number[]>,
  cpu: ReadonlyMap<string, number[]>,
) {
  const base = variants[0]!
  return variants.flatMap((v) => [
    figure(`${v.name}: records/s (spawn to caught up)`, 'records/s', rate.get(v.key)!, {
      ...(v === base ? {} : { baseline: { name: base.name, runs: rate.get(base.key)! } }),
    }),
    figure(`${v.name}: CPU-seconds per million records`, 'CPU-s', cpu.get(v.key)!, {
      ...(v === base
        ? {}
        : {
            baseline: { name: base.name, runs: cpu.get(base.key)! },
            ...(v.key === 't2'
              ? { target: '<= 1.10x 1 thread', met: (_v: number, r?: number) => (r ?? 9) <= 1.1 }
              : {}),
          }),
    }),
  ])
}
