/**
 * spark: `rtsa process` against a Spark Structured Streaming baseline (issue #19 item 3).
 * One topic is preloaded with N generator records (simulate mode); then, per run, on a fresh
 * database each, the two take turns (the order flips every run so drift hits both):
 *   - spark: bench/spark/job.py (pyspark, local[*], Kafka source from earliest, 1-minute
 *     windows, 10-minute watermark, foreachBatch upserts with psycopg, trigger availableNow)
 *     from spawn until the query has read the whole topic and written its last batch;
 *   - rtsa: one `rtsa process` from spawn until every partition's committed offset reached
 *     the end (as bench/catchup.ts times it).
 * Each side: wall time, records/s, CPU-seconds and peak RSS of its process tree; medians
 * over runs and the ratios rtsa/spark. The install (bench/spark/install.sh) runs first and
 * is a no-op when the pinned versions are already under <home>/spark.
 */
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { type BenchContext, type Benchmark, opt } from './lib/context.ts'
import { preload, type Traffic } from './lib/preload.ts'
import { benchProcessorEnv, endOffsets, startProcessor, stopChild, waitCommitted } from './lib/processors.ts'
import { type TreeUsage, watchTree } from './lib/proctree.ts'
import { figure } from './lib/report.ts'
import { deleteTopic, freshDb, freshTopic } from './lib/servers.ts'
import {
  installSpark,
  runSparkJob,
  type SparkInstall,
  type SparkJobOptions,
  sparkWarmup,
} from './lib/spark.ts'
import { type Totals, totalsOf, waitNothingHeldBack } from './lib/spark-check.ts'
import { fmt, mib } from './lib/stats.ts'

export interface SideRun {
  readonly seconds: number
  readonly rate: number
  readonly usage: TreeUsage
  /** Rate after start-up: Spark from its query's start, rtsa from its first commit. */
  readonly steady: number
  readonly totals: Totals
  /** rtsa: spawn to the end offsets committed (its output may still be held back then). */
  readonly committedSeconds?: number
}

function side(
  name: string,
  records: number,
  seconds: number,
  usage: TreeUsage,
  steady: number,
  totals: Totals,
) {
  const run: SideRun = { seconds, rate: records / seconds, usage, steady, totals }
  return { run, line: `${name} ${describe(run)}` }
}

function describe(r: SideRun): string {
  return (
    `${r.seconds.toFixed(2)} s = ${fmt(r.rate)} records/s (after start-up ${fmt(r.steady)}/s), ` +
    `${r.usage.cpuSeconds.toFixed(1)} CPU-s, peak RSS ${fmt(mib(r.usage.peakRssBytes))} MiB ` +
    `(${r.usage.processes} processes); ${fmt(r.totals.rows)} window rows, ${fmt(r.totals.events)} events`
  )
}

/** How long either side may take: 2 minutes plus 2,000 records/s, far below both. */
const timeoutFor = (records: number) => 120_000 + records / 2

async function rtsaRun(ctx: BenchContext, topic: string, records: number, label: string): Promise<SideRun> {
  const servers = await ctx.servers()
  const db = await freshDb(servers, 'spark_rtsa')
  const ends = await endOffsets(servers.bootstrap, topic)
  const env = benchProcessorEnv({
    bootstrap: servers.bootstrap,
    databaseUrl: db.url,
    topic,
    group: `bench-${label}-${Date.now().toString(36)}`,
  })
  try {
    const t0 = performance.now()
    const child = startProcessor(env, label)
    const watch = watchTree(child.pid ?? -1)
    try {
      const w = await waitCommitted(db.pool, topic, ends, {
        timeoutMs: timeoutFor(records),
        children: [child],
        progress: (f) => ctx.log(`    ${label}: ${(f * 100).toFixed(0)}% committed`),
      }).catch((error: unknown) => {
        // What the processor said is the only clue to a run that never commits.
        throw new Error(`${label}: ${(error as Error).message}\n${child.output().slice(-4000)}`)
      })
      // Spark is done when its last batch is in PostgreSQL; rtsa may still hold rows back
      // for up to PROVISIONAL_INTERVAL after committing its offsets, so wait for those too.
      const complete = await waitNothingHeldBack(db.pool, topic, 60_000)
      const usage = watch.finish()
      const steady = w.end > w.first ? ((records - w.firstDone) * 1000) / (w.end - w.first) : Number.NaN
      const r = side(label, records, (complete - t0) / 1000, usage, steady, await totalsOf(db.pool, 'rtsa'))
      ctx.log(`  ${r.line}; end offsets committed after ${((w.end - t0) / 1000).toFixed(2)} s`)
      return { ...r.run, committedSeconds: (w.end - t0) / 1000 }
    } finally {
      watch.finish()
      await stopChild(child)
    }
  } finally {
    await db.drop()
  }
}

async function sparkRun(
  ctx: BenchContext,
  install: SparkInstall,
  job: Omit<SparkJobOptions, 'databaseUrl' | 'workDir'>,
  records: number,
  label: string,
): Promise<SideRun> {
  const servers = await ctx.servers()
  const db = await freshDb(servers, 'spark_spark')
  try {
    const workDir = join(ctx.home, 'bench', 'spark-runs', label)
    const out = await runSparkJob(install, { ...job, databaseUrl: db.url, workDir })
    const ends = await endOffsets(servers.bootstrap, job.topic)
    const behind = [...ends]
      .filter(([p, e]) => BigInt(out.endOffsets[String(p)] ?? -1) !== e)
      .map(([p, e]) => `p${p}: ${out.endOffsets[String(p)] ?? 'none'}/${e}`)
    if (out.inputRows !== records || behind.length > 0)
      throw new Error(`spark read ${out.inputRows} of ${records} records; end offsets ${behind.join(', ')}`)
    const totals = await totalsOf(db.pool, 'spark')
    if (totals.rows === 0 || totals.events === 0 || totals.batches === 0)
      throw new Error(`spark wrote nothing to PostgreSQL: ${JSON.stringify(totals)}`)
    const steady = records / (out.seconds - out.startSeconds)
    const r = side(label, records, out.seconds, out.usage, steady, totals)
    ctx.log(`  ${r.line}; ${out.batches} batch(es), query started after ${out.startSeconds.toFixed(1)} s`)
    return r.run
  } finally {
    await db.drop()
  }
}

export const spark: Benchmark = {
  name: 'spark',
  describe: '`rtsa process` vs a Spark Structured Streaming job on the same preloaded topic',
  async run(ctx) {
    const records = opt(ctx, 'records', 1_000_000, 3_000_000)
    const traffic: Traffic = {
      streams: opt(ctx, 'streams', 500, 500),
      users: opt(ctx, 'users', 500_000, 500_000),
      eventsPerSec: opt(ctx, 'rate', 5_000, 5_000),
      seed: 'bench-spark',
    }
    const partitions = opt(ctx, 'partitions', 6, 6)
    const install = await installSpark(join(ctx.home, 'spark'), ctx.log)
    const servers = await ctx.servers()
    const topic = await freshTopic(servers, 'spark', partitions)
    ctx.log(`spark: preloading ${fmt(records)} records (${partitions} partitions)`)
    const loaded = await preload(servers.bootstrap, topic, records, traffic, ctx.log)
    const job = {
      bootstrap: servers.bootstrap,
      topic,
      shufflePartitions: opt(ctx, 'shufflePartitions', 4, 4),
      maxOffsetsPerTrigger: opt(ctx, 'maxOffsetsPerTrigger', 0, 0),
      driverMemory: ctx.options.driverMemory ?? '2g',
      timeoutMs: timeoutFor(records),
    }
    const sparkRuns: SideRun[] = []
    const rtsaRuns: SideRun[] = []
    try {
      // Not measured: the broker's page cache, and the venv's and jars' files for the JVM.
      ctx.log('  warm-up: Spark batch count of the topic (not measured)')
      const counted = await sparkWarmup(install, {
        ...job,
        databaseUrl: '',
        workDir: join(ctx.home, 'bench', 'spark-runs', 'warmup'),
      })
      if (counted !== loaded.records) throw new Error(`spark warm-up counted ${counted} of ${loaded.records}`)
      for (let run = 1; run <= ctx.runs; run++) {
        const sparkFirst = run % 2 === 1
        for (const which of sparkFirst ? ['spark', 'rtsa'] : ['rtsa', 'spark']) {
          if (which === 'spark')
            sparkRuns.push(await sparkRun(ctx, install, job, loaded.records, `spark-${run}`))
          else rtsaRuns.push(await rtsaRun(ctx, topic, loaded.records, `rtsa-${run}`))
        }
      }
    } finally {
      await deleteTopic(servers, topic)
    }
    return body(loaded, traffic, partitions, job, install, sparkRuns, rtsaRuns)
  },
}

function body(
  loaded: { records: number; seconds: number },
  traffic: Traffic,
  partitions: number,
  job: { shufflePartitions: number; maxOffsetsPerTrigger: number; driverMemory: string },
  install: SparkInstall,
  s: readonly SideRun[],
  r: readonly SideRun[],
) {
  const of = (runs: readonly SideRun[], f: (x: SideRun) => number) => runs.map(f)
  const secs = (x: SideRun) => x.seconds
  const committed = (x: SideRun) => x.committedSeconds ?? Number.NaN
  const rate = (x: SideRun) => x.rate
  const cpu = (x: SideRun) => x.usage.cpuSeconds
  const rss = (x: SideRun) => mib(x.usage.peakRssBytes)
  const perM = (x: SideRun) => (x.usage.cpuSeconds * 1e6) / loaded.records
  const steady = (x: SideRun) => x.steady
  const last = r.at(-1)?.totals
  const lastSpark = s.at(-1)?.totals
  return {
    settings: {
      records: loaded.records,
      partitions,
      traffic,
      preloadSeconds: loaded.seconds,
      spark: { ...job, versions: install.versions, master: 'local[*]', trigger: 'availableNow' },
    },
    figures: [
      figure('Spark: wall time, spawn to last batch written', 's', of(s, secs)),
      figure('rtsa process: wall time, spawn to output complete', 's', of(r, secs), {
        baseline: { name: 'Spark', runs: of(s, secs) },
      }),
      figure(
        'rtsa process: spawn to end offsets committed (output may be held back)',
        's',
        of(r, committed),
        {
          baseline: { name: 'Spark', runs: of(s, secs) },
        },
      ),
      figure('Spark: records/s', 'records/s', of(s, rate)),
      figure('rtsa process: records/s', 'records/s', of(r, rate), {
        baseline: { name: 'Spark', runs: of(s, rate) },
        target: '>= 10x Spark',
        met: (_v, ratio) => (ratio ?? 0) >= 10,
      }),
      figure('Spark: CPU-seconds (process tree, user+sys)', 'CPU-s', of(s, cpu)),
      figure('rtsa process: CPU-seconds (user+sys)', 'CPU-s', of(r, cpu), {
        baseline: { name: 'Spark', runs: of(s, cpu) },
        target: '<= 0.10x Spark',
        met: (_v, ratio) => (ratio ?? Number.POSITIVE_INFINITY) <= 0.1,
      }),
      figure('Spark: CPU-seconds per million records', 'CPU-s', of(s, perM)),
      figure('rtsa process: CPU-seconds per million records', 'CPU-s', of(r, perM), {
        baseline: { name: 'Spark', runs: of(s, perM) },
      }),
      figure('Spark: peak RSS (process tree, VmHWM)', 'MiB', of(s, rss)),
      figure('rtsa process: peak RSS (VmHWM)', 'MiB', of(r, rss), {
        baseline: { name: 'Spark', runs: of(s, rss) },
      }),
      figure('Spark: records/s after start-up (query start to done)', 'records/s', of(s, steady)),
      figure('rtsa process: records/s after start-up (first commit to done)', 'records/s', of(r, steady), {
        baseline: { name: 'Spark, after start-up', runs: of(s, steady) },
      }),
    ],
    notes: [
      `Spark baseline: bench/spark/job.py (${install.versions}), local[*], spark.sql.shuffle.partitions=${job.shufflePartitions}, driver memory ${job.driverMemory}, trigger availableNow${job.maxOffsetsPerTrigger > 0 ? `, maxOffsetsPerTrigger ${job.maxOffsetsPerTrigger}` : ' (the backlog in as few batches as Spark plans)'}, 1-minute windows, 10-minute watermark, update mode, foreachBatch upserts with psycopg into spark_metrics_minute plus spark_stream_state; it computes events, joins, leaves, chat messages and donations per window, none of rtsa's presence, de-duplication, peak or unique viewers.`,
      'Spark is timed from spawning `python job.py` (Python, JVM and SparkSession start-up included) to its RESULT line, printed after the query stopped by itself; it must have read every record (sum of numInputRows) up to the end offsets, and its tables must hold rows, or the run fails. rtsa is timed from spawn until every partition committed its end offset (polled every 50 ms, as in the catchup benchmark) and no partition holds rows back any more (partition_checkpoints.held_back, at most PROVISIONAL_INTERVAL = 1 s later), so both sides have all their rows in PostgreSQL; records/s, CPU and RSS are taken at that point too.',
      'CPU-seconds: utime+stime+cutime+cstime from /proc/<pid>/stat summed over the child and its descendants, read at the moment each side was done (before Spark stops or rtsa is sent SIGTERM). Peak RSS: the largest sum, at one poll (every 200 ms), of VmHWM over the live processes of the tree (an upper bound of the peak of the tree; for rtsa, one process, exact). The broker and PostgreSQL are outside both trees and compete for the same 2 cores.',
      `Output totals of the last run, rtsa vs Spark: window rows ${fmt(last?.rows ?? 0)} vs ${fmt(lastSpark?.rows ?? 0)}, events ${fmt(last?.events ?? 0)} vs ${fmt(lastSpark?.events ?? 0)}, chat messages ${fmt(last?.chat ?? 0)} vs ${fmt(lastSpark?.chat ?? 0)}, donations ${fmt(last?.donations ?? 0)} vs ${fmt(lastSpark?.donations ?? 0)}, viewer joins ${fmt(last?.joins ?? 0)} vs ${fmt(lastSpark?.joins ?? 0)}; Spark batches ${fmt(lastSpark?.batches ?? 0)}.`,
      `Traffic: the generator in simulate mode (${traffic.streams} streams, ${fmt(traffic.users)} users, ${fmt(traffic.eventsPerSec)} events/s of event time), its default fault rates (none); the order of the two flips every run, Spark first in run 1. Unmeasured warm-up before run 1: a Spark batch count of the topic.`,
    ],
  }
}
