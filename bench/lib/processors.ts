/**
 * Real `rtsa process` child processes for the benchmarks (spawned through the test
 * fixtures' helpers) and waiting for their commits.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import type pg from 'pg'
import { KafkaAdmin } from '../../src/kafka/client.ts'
import { PROCESSOR_NODE_FLAGS } from '../../src/processor/config.ts'
import { type ProcessorEnvOptions, processorEnv, spawnProcessor, stopChild } from '../../testkit/processes.ts'

export { stopChild }

export type Child = ChildProcess & { output: () => string }

/** Env of a benchmark processor: the product defaults for batching, quiet logs, no metrics port. */
export function benchProcessorEnv(o: ProcessorEnvOptions): Record<string, string> {
  return processorEnv({
    ...o,
    extra: {
      BATCH_MAX_RECORDS: '20000',
      BATCH_MAX_WAIT: '200ms',
      KAFKA_SESSION_TIMEOUT: '6s',
      ...o.extra,
    },
  })
}

/**
 * A processor under test, with the Node flags the product runs it with
 * (PROCESSOR_NODE_FLAGS). `BENCH_NODE_ARGS` (space-separated, may be empty) replaces them,
 * for experiments such as `--heap-growing-percent=20` that NODE_OPTIONS does not take.
 */
export function startProcessor(env: Record<string, string>, name: string, nodeArgs: string[] = []): Child {
  const set = process.env.BENCH_NODE_ARGS
  const extra = set === undefined ? [...PROCESSOR_NODE_FLAGS] : set.split(' ').filter(Boolean)
  return spawnProcessor(env, name, [...extra, ...nodeArgs])
}

/** End offsets of a topic, by partition. */
export async function endOffsets(bootstrap: readonly string[], topic: string): Promise<Map<number, bigint>> {
  const admin = new KafkaAdmin(bootstrap)
  try {
    return new Map((await admin.offsets(topic)).map((o) => [o.partition, o.latest]))
  } finally {
    await admin.close()
  }
}

/**
 * Polls partition_checkpoints every `everyMs` until every partition's committed
 * offset reaches `ends`. Returns performance.now() of the poll that saw it (`end`) and
 * of the first poll that saw any committed record (`first`, with the records committed
 * by then). Throws with what is behind after `timeoutMs`, or when a child exits early.
 */
export async function waitCommitted(
  pool: pg.Pool,
  topic: string,
  ends: ReadonlyMap<number, bigint>,
  o: { timeoutMs: number; everyMs?: number; children?: readonly Child[]; progress?: (done: number) => void },
): Promise<{ end: number; first: number; firstDone: number }> {
  const deadline = Date.now() + o.timeoutMs
  const total = [...ends.values()].reduce((s, e) => s + Number(e), 0)
  let lastProgress = Date.now()
  let behind = ''
  let first: { at: number; done: number } | undefined
  while (Date.now() < deadline) {
    for (const c of o.children ?? []) {
      if (c.exitCode !== null || c.signalCode !== null)
        throw new Error(`processor exited (${c.exitCode ?? c.signalCode}): ${c.output().slice(-2000)}`)
    }
    const rows = (
      await pool.query<{ partition: number; next_offset: number | null }>(
        'select partition, next_offset from partition_checkpoints where topic = $1',
        [topic],
      )
    ).rows
    const at = performance.now()
    const next = new Map(rows.map((r) => [r.partition, r.next_offset === null ? -1n : BigInt(r.next_offset)]))
    behind = [...ends]
      .filter(([p, e]) => e > 0n && (next.get(p) ?? -1n) < e)
      .map(([p, e]) => `p${p}: ${next.get(p) ?? 'none'}/${e}`)
      .join(', ')
    const done = rows.reduce((s, r) => s + Math.max(0, r.next_offset ?? 0), 0)
    if (first === undefined && done > 0) first = { at, done }
    if (behind === '') return { end: at, first: first?.at ?? at, firstDone: first?.done ?? total }
    if (o.progress && Date.now() - lastProgress > 5000) {
      lastProgress = Date.now()
      o.progress(total === 0 ? 1 : done / total)
    }
    await sleep(o.everyMs ?? 50)
  }
  throw new Error(`not caught up within ${o.timeoutMs} ms: ${behind}`)
}

/** Runs a node script as a child process; resolves with its stdout once it exits 0. */
export function runScript(file: string, args: string[], nodeArgs: string[] = []): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [...nodeArgs, file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString()
    })
    child.on('error', fail)
    child.on('exit', (code) =>
      code === 0 ? done(out) : fail(new Error(`${file} exited ${code}: ${err.slice(-2000)}`)),
    )
  })
}
