/**
 * `rtsa up` (= `npm start`): the whole pipeline on one machine with one command.
 *
 *   infra (local Kafka + PostgreSQL, or KAFKA_BOOTSTRAP / DATABASE_URL)
 *     -> topic + schema -> processor, API + dashboard, generator (each its own process)
 *     -> live status line ... Ctrl-C -> generator, processor, API, infra stop in order
 *
 * A part that exits is reported at once and restarted with a growing delay; one that keeps
 * exiting (src/cli/restarts.ts) is given up with its last log lines, and `up` stops
 * everything and exits 1 rather than show a pipeline that no longer runs.
 */

import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, openSync, readSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { apiSettings } from '../api/config.ts'
import { loadConfig } from '../config/define.ts'
import { topicPolicyOf } from '../config/kafka.ts'
import { localKafkaSettings } from '../config/settings.ts'
import { RtsaError } from '../errors/catalogue.ts'
import { KafkaAdmin } from '../kafka/client.ts'
import { processorSettings } from '../processor/config.ts'
import { migrate } from '../store/migrations.ts'
import { createPool } from '../store/pool.ts'
import { pipelineStatus } from '../store/status.ts'
import type { Values } from './command.ts'
import { startInfra, stopInfra } from './infra.ts'
import {
  logFile,
  type PartName,
  removePid,
  runningPid,
  spawnPart,
  stopParts,
  writePid,
  writeStartedParts,
} from './parts.ts'
import { RestartPolicy } from './restarts.ts'

export const upSettings = { ...processorSettings, ...apiSettings, ...localKafkaSettings }

/** `rtsa up` with its parsed flags (main.ts: --rate, --no-generator, --keep-infra). */
export async function upCommand(values: Values, log: (line: string) => void): Promise<number> {
  const rate = values.rate === undefined ? undefined : Number(values.rate)
  if (rate !== undefined && !(Number.isFinite(rate) && rate > 0)) {
    throw new RtsaError('INPUT_INVALID', `--rate ${values.rate} is invalid: expected events per second > 0`)
  }
  const config = loadConfig(upSettings)
  const home = resolve(config.home)
  const already = runningPid(home, 'up')
  if (already !== undefined) {
    throw new RtsaError('INPUT_INVALID', `rtsa is already running (pid ${already}); stop it with: rtsa down`)
  }
  writePid(home, 'up', process.pid)
  // Parts of an earlier `rtsa up` that was killed outlive it (they run detached): two
  // processors under one static member name would fence each other, so stop them first.
  await stopParts(home, (line) => log(`${line}, left from an earlier run`))
  let stopping = false
  const children = new Map<PartName, ChildProcess>()
  try {
    const infra = await startInfra(log).catch(async (error: unknown) => {
      // Leave nothing half-started behind: stop the local service that did come up.
      await stopInfra(() => {})
      throw error
    })
    const pool = createPool(infra.databaseUrl, { max: 2, applicationName: 'rtsa-up' })
    await migrate(pool)
    const admin = new KafkaAdmin(infra.kafka)
    try {
      if (await admin.ensureTopic(config.kafkaTopic, topicPolicyOf(config)))
        log(`created topic ${config.kafkaTopic} with ${config.kafkaPartitions} partitions`)
      await admin.ensureTopic(config.kafkaDlqTopic, topicPolicyOf(config))
    } finally {
      await admin.close()
    }
    const env = {
      ...process.env,
      KAFKA_BOOTSTRAP: infra.kafka.bootstrap.join(','),
      DATABASE_URL: infra.databaseUrl,
    }
    // Static membership for the one local processor, so that after a crash a new `rtsa up`
    // gets its partitions at once, not after KAFKA_SESSION_TIMEOUT. The name is this host's
    // and this state folder's, so two pipelines never share one.
    const member = `rtsa-up-{hostname}-${createHash('sha256').update(resolve(home)).digest('hex').slice(0, 8)}`
    const partEnv = (part: PartName) => {
      // The API reads as a role that can only read: an API bug can never write.
      if (part === 'api') return { ...env, DATABASE_URL: infra.readerUrl }
      return part === 'processor' && process.env.KAFKA_GROUP_INSTANCE_ID === undefined
        ? { ...env, KAFKA_GROUP_INSTANCE_ID: member }
        : env
    }
    let finish: (code: number) => void = () => {}
    const done = new Promise<number>((resolveDone) => {
      finish = resolveDone
    })
    const policies = new Map<PartName, RestartPolicy>()
    const start = (part: PartName, partArgs: string[] = []) => {
      const child = spawnPart(home, part, partArgs, partEnv(part))
      children.set(part, child)
      child.on('exit', (code, signal) => {
        if (stopping) return
        removePid(home, part)
        const why = signal ?? `code ${code}`
        const policy = policies.get(part) ?? new RestartPolicy()
        policies.set(part, policy)
        const decision = policy.onExit(Date.now())
        if (decision.action === 'restart') {
          log(
            `ERROR: ${part} exited (${why}); restarting in ${decision.delayMs / 1000} s (try ${decision.attempt} of ${policy.maxRestarts}); see ${logFile(home, part)}`,
          )
          setTimeout(() => {
            if (!stopping) start(part, partArgs)
          }, decision.delayMs).unref()
          return
        }
        log(
          `ERROR: ${part} exited ${decision.exits} times within a minute (last: ${why}); giving up. Its last log lines:`,
        )
        for (const line of lastLines(logFile(home, part), 20)) log(`  ${part} | ${line}`)
        finish(1)
      })
    }
    start('processor')
    start('api')
    if (!values['no-generator']) start('generator', rate === undefined ? [] : ['--rate', String(rate)])
    writeStartedParts(home, [...children.keys()])
    const apiUrl = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.port}`
    log(`dashboard  ${apiUrl}/`)
    log(`API docs   ${apiUrl}/docs`)
    if (config.metricsPort !== 0) log(`processor  http://${config.metricsHost}:${config.metricsPort}/metrics`)
    log(`logs       ${resolve(home, 'logs')} (rtsa logs [processor|api|generator])`)
    log('running; press Ctrl-C to stop (data is kept; rtsa down --reset wipes it)')
    process.once('SIGINT', () => finish(0))
    process.once('SIGTERM', () => finish(0))
    await statusLoop(pool, config.kafkaTopic, done)
    const code = await done
    stopping = true
    process.stdout.write('\n')
    log(code === 0 ? 'stopping' : 'stopping everything: a part cannot run (exit 1)')
    await pool.end()
    await stopParts(home, log)
    if (!values['keep-infra']) await stopInfra(log)
    return code
  } finally {
    stopping = true
    for (const [part, child] of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      removePid(home, part)
    }
    removePid(home, 'up')
  }
}

/** The last `n` lines of a log file (at most its last 64 KiB are read). */
function lastLines(file: string, n: number): string[] {
  try {
    const size = statSync(file).size
    const fd = openSync(file, 'r')
    try {
      const length = Math.min(size, 64 * 1024)
      const buffer = Buffer.alloc(length)
      readSync(fd, buffer, 0, length, size - length)
      return buffer.toString('utf8').trimEnd().split('\n').slice(-n)
    } finally {
      closeSync(fd)
    }
  } catch {
    return ['(no log)']
  }
}

/** Prints the live one-line status until `done` resolves. */
async function statusLoop(pool: ReturnType<typeof createPool>, topic: string, done: Promise<unknown>) {
  let finished = false
  void done.then(() => {
    finished = true
  })
  const tty = process.stdout.isTTY === true
  let previous: { accepted: number; at: number } | undefined
  let lastPrinted = 0
  while (!finished) {
    await Promise.race([done, new Promise((r) => setTimeout(r, 2000))])
    if (finished) break
    let line: string
    try {
      const s = await pipelineStatus(pool, topic)
      const now = Date.now()
      const rate = previous ? ((s.accepted - previous.accepted) * 1000) / (now - previous.at) : 0
      previous = { accepted: s.accepted, at: now }
      const age = s.lastCommitAgeSeconds === null ? 'none yet' : `${s.lastCommitAgeSeconds.toFixed(1)}s ago`
      line = `${rate.toFixed(0)} events/s | lag ${s.lag ?? '-'} | last commit ${age} | ${s.streams} streams | late ${s.late} dup ${s.duplicate} rejected ${s.rejected}`
    } catch (error) {
      line = `database not answering: ${(error as Error).message}`
    }
    if (tty) process.stdout.write(`\r\x1b[2K${line}`)
    else if (Date.now() - lastPrinted > 10_000) {
      console.log(line)
      lastPrinted = Date.now()
    }
  }
}
