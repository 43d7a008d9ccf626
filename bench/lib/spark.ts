/**
 * The Spark baseline's install (bench/spark/install.sh) and runs of its job
 * (bench/spark/job.py) as a child process tree that the benchmark measures.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { type TreeUsage, watchTree } from './proctree.ts'

const SPARK_DIR = resolve(import.meta.dirname, '../spark')

export interface SparkInstall {
  readonly dir: string
  readonly python: string
  /** The connector jars, comma-separated (spark.jars). */
  readonly jars: string
  /** What install.sh pinned, e.g. `pyspark=4.1.1 scala=2.13 psycopg=3.3.9`. */
  readonly versions: string
}

/** Runs install.sh into `dir` (a no-op when it is already there at the pinned versions). */
export async function installSpark(dir: string, log: (line: string) => void): Promise<SparkInstall> {
  const t0 = performance.now()
  const child = spawn('bash', [join(SPARK_DIR, 'install.sh'), dir], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const collect = (d: Buffer) => {
    output += d.toString()
  }
  child.stdout.on('data', collect)
  child.stderr.on('data', collect)
  const [code] = (await once(child, 'exit')) as [number | null]
  if (code !== 0) throw new Error(`bench/spark/install.sh ${dir} exited ${code}:\n${output.slice(-3000)}`)
  const versions = /\(([^)]*pyspark=[^)]*)\)\s*$/.exec(output.trim())?.[1] ?? 'unknown'
  log(
    `  spark baseline in ${dir} (${versions}), install step ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  )
  const jarDir = join(dir, 'jars')
  const jars = readdirSync(jarDir)
    .filter((f) => f.endsWith('.jar'))
    .map((f) => join(jarDir, f))
  return { dir, python: join(dir, 'venv', 'bin', 'python'), jars: jars.join(','), versions }
}

export interface SparkJobOptions {
  readonly bootstrap: readonly string[]
  readonly topic: string
  readonly databaseUrl: string
  /** A fresh folder for the checkpoint and Spark's scratch files; removed afterwards. */
  readonly workDir: string
  readonly shufflePartitions: number
  /** maxOffsetsPerTrigger; 0: unset (availableNow then takes the backlog in one batch). */
  readonly maxOffsetsPerTrigger: number
  readonly driverMemory: string
  readonly timeoutMs: number
}

export interface SparkRun {
  /** Spawn to the job's RESULT line (the query has stopped, the last batch is written). */
  readonly seconds: number
  /** Spawn to the query's start (Python, JVM and SparkSession start-up). */
  readonly startSeconds: number
  readonly usage: TreeUsage
  readonly inputRows: number
  readonly batches: number
  readonly endOffsets: Readonly<Record<string, number>>
}

function jobEnv(install: SparkInstall, o: SparkJobOptions, extra: Record<string, string>): NodeJS.ProcessEnv {
  // None of the caller's PySpark or Spark settings leak in (pyspark reads PYSPARK_SUBMIT_ARGS
  // and SPARK_HOME, and an empty one breaks its JVM launch).
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(PYSPARK_|SPARK_|PYTHONPATH$)/.test(k)),
  )
  return {
    ...base,
    KAFKA_BOOTSTRAP: o.bootstrap.join(','),
    KAFKA_TOPIC: o.topic,
    STARTING_OFFSETS: 'earliest',
    DATABASE_URL: o.databaseUrl,
    CHECKPOINT: join(o.workDir, 'checkpoint'),
    SPARK_JARS: install.jars,
    SPARK_SHUFFLE_PARTITIONS: String(o.shufflePartitions),
    SPARK_DRIVER_MEMORY: o.driverMemory,
    SPARK_LOCAL_DIR: join(o.workDir, 'local'),
    ...(o.maxOffsetsPerTrigger > 0 ? { MAX_OFFSETS_PER_TRIGGER: String(o.maxOffsetsPerTrigger) } : {}),
    PYTHONNOUSERSITE: '1',
    ...extra,
  }
}

function startJob(install: SparkInstall, o: SparkJobOptions, extra: Record<string, string>) {
  mkdirSync(join(o.workDir, 'local'), { recursive: true })
  const child = spawn(install.python, [join(SPARK_DIR, 'job.py')], {
    cwd: o.workDir,
    env: jobEnv(install, o, extra),
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let output = ''
  child.stderr.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000)
  })
  return { child, output: () => output }
}

/** Resolves with the first stdout line starting with `prefix`; rejects when the child exits first. */
function lineOf(child: ChildProcess, prefix: string, output: () => string, timeoutMs: number) {
  return new Promise<{ rest: string; at: number }>((done, fail) => {
    let buffer = ''
    const timer = setTimeout(() => fail(new Error(`no ${prefix} line within ${timeoutMs} ms`)), timeoutMs)
    const onData = (d: Buffer) => {
      buffer += d.toString()
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        const line = buffer.slice(0, i)
        buffer = buffer.slice(i + 1)
        if (line.startsWith(`${prefix} `)) {
          clearTimeout(timer)
          child.stdout?.off('data', onData)
          done({ rest: line.slice(prefix.length + 1), at: performance.now() })
        }
      }
    }
    child.stdout?.on('data', onData)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      fail(new Error(`spark job exited (${code ?? signal}) before ${prefix}:\n${output().slice(-4000)}`))
    })
  })
}

async function ended(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  await once(child, 'exit')
  clearTimeout(timer)
}

/** One measured run of the streaming job; the work folder is removed afterwards. */
export async function runSparkJob(install: SparkInstall, o: SparkJobOptions): Promise<SparkRun> {
  rmSync(o.workDir, { recursive: true, force: true })
  const t0 = performance.now()
  const { child, output } = startJob(install, o, { SPARK_BENCH_HOLD: '1' })
  const watch = watchTree(child.pid ?? -1)
  try {
    const started = lineOf(child, 'STARTED', output, o.timeoutMs)
    const result = lineOf(child, 'RESULT', output, o.timeoutMs)
    started.catch(() => {})
    const r = await result
    // Sampled before the job may stop Spark: everything up to the moment the work was done.
    const usage = watch.finish()
    const s = await started
    const body = JSON.parse(r.rest) as {
      inputRows: number
      batches: number
      endOffsets: Record<string, number>
    }
    child.stdin.end()
    await ended(child, 60_000)
    if (child.exitCode !== 0) throw new Error(`spark job exited ${child.exitCode}:\n${output().slice(-4000)}`)
    return {
      seconds: (r.at - t0) / 1000,
      startSeconds: (s.at - t0) / 1000,
      usage,
      inputRows: body.inputRows,
      batches: body.batches,
      endOffsets: body.endOffsets,
    }
  } finally {
    watch.finish()
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      await ended(child, 30_000)
    }
    rmSync(o.workDir, { recursive: true, force: true })
  }
}

/** The unmeasured warm-up: a batch count of the topic (page cache, jars, broker). */
export async function sparkWarmup(install: SparkInstall, o: SparkJobOptions): Promise<number> {
  rmSync(o.workDir, { recursive: true, force: true })
  const { child, output } = startJob(install, o, { SPARK_WARMUP: '1' })
  try {
    const r = await lineOf(child, 'COUNT', output, o.timeoutMs)
    await ended(child, 60_000)
    return Number(r.rest)
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    rmSync(o.workDir, { recursive: true, force: true })
  }
}
