/**
 * Running rtsa's processes in tests and benchmarks: the env of a processor for a test's
 * own topic, group and database, and `rtsa process` as a real child process that can be
 * SIGKILLed or SIGSTOPped. Shared by test/ and bench/; product code never imports it.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '..')

/** Where a processor under test reads and writes, and env vars of its own. */
export interface ProcessorEnvOptions {
  readonly bootstrap: string[]
  readonly databaseUrl: string
  readonly topic: string
  readonly group: string
  readonly extra?: Record<string, string>
}

/** The env of a processor for this test's topic, group and database. */
export function processorEnv(o: ProcessorEnvOptions): Record<string, string> {
  return {
    KAFKA_BOOTSTRAP: o.bootstrap.join(','),
    DATABASE_URL: o.databaseUrl,
    KAFKA_TOPIC: o.topic,
    KAFKA_DLQ_TOPIC: `${o.topic}.dlq`,
    KAFKA_GROUP: o.group,
    METRICS_PORT: '0',
    KAFKA_SESSION_TIMEOUT: '3s',
    BATCH_MAX_RECORDS: '500',
    BATCH_MAX_WAIT: '50ms',
    LOG_LEVEL: 'warn',
    ...o.extra,
  }
}

/** A processor as a real child process (`rtsa process`), so it can be SIGKILLed or SIGSTOPped; `nodeArgs` e.g. `--cpu-prof`. */
export function spawnProcessor(
  env: Record<string, string>,
  name: string,
  nodeArgs: readonly string[] = [],
): ChildProcess & { output: () => string } {
  return rtsaChild([...nodeArgs, resolve(ROOT, 'src/cli/main.ts'), 'process'], {
    ...process.env,
    ...env,
    PROCESSOR_ID: name,
  })
}

/** `node <args>` in the repository, its stdout and stderr collected for `output()`. */
function rtsaChild(args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const collect = (d: Buffer) => {
    output += d.toString()
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  return Object.assign(child, { output: () => output })
}

/** Stops a child (SIGTERM unless told) and waits for it to exit. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill(signal)
  await exited
}

/**
 * `rtsa <args>` as a child with exactly the given Kafka and PostgreSQL settings: none of
 * the caller's KAFKA_*, PG* or DATABASE_URL leak in (tests of one setting at a time).
 */
export function spawnRtsa(
  args: readonly string[],
  env: Record<string, string>,
): ChildProcess & { output: () => string } {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(KAFKA_|PG|DATABASE_URL$|BOOTSTRAP$)/.test(k)),
  )
  return rtsaChild([resolve(ROOT, 'src/cli/main.ts'), ...args], { ...base, LOG_LEVEL: 'warn', ...env })
}
