/**
 * The benchmark harness, from a checkout: `npm run bench [-- names...] [--long] [--runs N]
 * [--set key=value]`. Runs the named benchmarks (default: all) one after another on a
 * private Kafka broker and PostgreSQL (ports 46092/46093 and 46432 unless told), writes
 * bench/results/<name>.json and bench/results/summary.md, and prints the summary.
 *
 *   engine     engine events/s on one core, state bytes per viewer (bench/engine.ts)
 *   catchup    processor catch-up rate, 1 and 2 instances, vs a raw consumer
 *   freshness  production -> /live latency under fixed generator rates
 *   api        /metrics/latest, /state, /metrics/history under load
 *   memory     processor RSS with 10k / 100k / 1M present viewers
 *   recovery   SIGKILL -> restart -> first commit with 1M viewers of state
 *   faults     fault end -> first commit for each fault of the matrix, 2 processors
 *   writes     PostgreSQL rows and WAL per 1,000 events, PROVISIONAL_INTERVAL 1 s vs 0
 *   spark      `rtsa process` vs a Spark Structured Streaming baseline on one topic (bench/spark.ts)
 */
import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { api } from './api.ts'
import { catchup } from './catchup.ts'
import { faultsBench } from './faults.ts'
import { freshness } from './freshness.ts'
import type { BenchContext, Benchmark } from './lib/context.ts'
import { engine } from './lib/engine-run.ts'
import { machine } from './lib/machine.ts'
import { BENCH_NAMES, resultMarkdown, writeResult, writeSummary } from './lib/report.ts'
import { type BenchServers, startServers } from './lib/servers.ts'
import { memory } from './memory.ts'
import { recovery } from './recovery.ts'
import { spark } from './spark.ts'
import { writes } from './writes.ts'

const BENCHMARKS: Record<string, Benchmark> = {
  engine,
  catchup,
  freshness,
  api,
  memory,
  recovery,
  faults: faultsBench,
  writes,
  spark,
}
export const RESULTS_DIR = resolve(import.meta.dirname, 'results')

function usage(): string {
  return [
    'usage: npm run bench -- [name...] [--long] [--runs N] [--set key=value ...]',
    '',
    ...BENCH_NAMES.map((n) => `  ${n.padEnd(10)} ${BENCHMARKS[n]!.describe}`),
    '',
    '  --long               longer runs, larger inputs',
    '  --runs N             measured runs per figure (default 3)',
    '  --set key=value      a benchmark setting (e.g. records=500000, rates=1000,10000)',
    '  --kafka-port P       private broker port (default 46092; its controller uses P+1)',
    '  --pg-port P          private PostgreSQL port (default 46432)',
    '  --home DIR           state folder (default RTSA_HOME or .rtsa); data under DIR/bench',
  ].join('\n')
}

/** Runs the harness with command-line `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(args)
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage()}`)
    return 2
  }
  const { values, positionals } = parsed
  if (values.help) {
    console.log(usage())
    return 0
  }
  const names = positionals.length > 0 ? positionals : [...BENCH_NAMES]
  const unknown = names.filter((n) => !(n in BENCHMARKS))
  if (unknown.length > 0) {
    console.error(`unknown benchmark(s): ${unknown.join(', ')}\n\n${usage()}`)
    return 2
  }
  const log = (line: string) => process.stderr.write(`${line}\n`)
  const options = Object.fromEntries(
    (values.set ?? []).map((kv) => {
      const i = kv.indexOf('=')
      return i < 0 ? [kv, 'true'] : [kv.slice(0, i), kv.slice(i + 1)]
    }),
  )
  const home = values.home ?? process.env.RTSA_HOME ?? '.rtsa'
  let servers: Promise<BenchServers> | undefined
  const ctx: BenchContext = {
    long: values.long ?? false,
    runs: Math.max(1, Number(values.runs ?? 3)),
    log,
    options,
    home: resolve(home),
    servers: () => {
      servers ??= startServers({
        home,
        kafkaPort: Number(values['kafka-port'] ?? 46092),
        pgPort: Number(values['pg-port'] ?? 46432),
        log: (l) => log(`  ${l}`),
      })
      return servers
    },
  }
  let failed = 0
  try {
    for (const name of names) {
      const bench = BENCHMARKS[name]!
      log(`\n== ${name}: ${bench.describe}${ctx.long ? ' (--long)' : ''}`)
      const startedAt = new Date().toISOString()
      const before = machine()
      const t0 = performance.now()
      try {
        const body = await bench.run(ctx)
        const result = {
          name,
          command: `npm run bench -- ${[name, ...args.filter((a) => !(a in BENCHMARKS))].join(' ')}`,
          startedAt,
          seconds: (performance.now() - t0) / 1000,
          machine: before,
          commit: gitCommit(),
          ...body,
          notes: [
            ...body.notes,
            `Load average (1/5/15 min) at start ${before.loadAverage}, at the end ${machine().loadAverage} (${before.cpus} CPUs; other work on the machine counts).`,
          ],
        }
        const file = writeResult(RESULTS_DIR, result)
        log(`${resultMarkdown(result)}\n(${file})`)
      } catch (error) {
        failed++
        log(`${name} FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
      }
    }
  } finally {
    if (servers) await (await servers.catch(() => undefined))?.stop()
  }
  console.log(writeSummary(RESULTS_DIR))
  return failed === 0 ? 0 : 1
}

/** The commit the benchmark ran on (`+dirty` when tracked files under src/ differ from it). */
function gitCommit(): string {
  const git = (args: string[]) =>
    spawnSync('git', args, { cwd: resolve(import.meta.dirname, '..'), encoding: 'utf8' }).stdout?.trim() ?? ''
  const head = git(['rev-parse', '--short', 'HEAD'])
  return git(['status', '--porcelain', '--untracked-files=no', 'src']) === '' ? head : `${head}+dirty`
}

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      long: { type: 'boolean' },
      runs: { type: 'string' },
      set: { type: 'string', multiple: true },
      home: { type: 'string' },
      'kafka-port': { type: 'string' },
      'pg-port': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    },
  )
}
