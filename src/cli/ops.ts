/** `rtsa down [--reset] [--yes]`, `rtsa reset`, `rtsa status`, `rtsa logs [part]`. */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { createInterface } from 'node:readline/promises'
import { loadConfig } from '../config/define.ts'
import { hasExternalPostgres, pgConnectionOf, pgUrlOf } from '../config/settings.ts'
import { RtsaError } from '../errors/catalogue.ts'
import { localKafkaPid, wipeLocalKafka } from '../infra/kafka/broker.ts'
import { localPostgresRunning, wipeLocalPostgres } from '../infra/postgres/server.ts'
import { migrate, wipeData } from '../store/migrations.ts'
import { createPool } from '../store/pool.ts'
import { type PipelineStatus, pipelineStatus } from '../store/status.ts'
import type { Values } from './command.ts'
import { stopInfra } from './infra.ts'
import { logFile, PARTS, runningPid, startedParts, stopParts, stopPid } from './parts.ts'
import { upSettings } from './up.ts'

type Log = (line: string) => void

/** Stops a running `rtsa up` (which stops its parts in order), or whatever parts and services are left. */
async function stopAll(home: string, log: Log): Promise<void> {
  const up = runningPid(home, 'up')
  if (up !== undefined) {
    log(`stopping rtsa up (pid ${up})`)
    await stopPid(up, 120_000)
  }
  await stopParts(home, log)
  await stopInfra(log)
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout })
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim())
  } finally {
    rl.close()
  }
}

/** What `down --reset` deletes, in words, naming the database when it is not the local one. */
function whatResetDeletes(config: ReturnType<typeof loadConfig<typeof upSettings>>): string {
  const db = hasExternalPostgres(config)
    ? (() => {
        const u = new URL(pgUrlOf(pgConnectionOf(config)))
        return `all rtsa tables' rows (metrics, state, checkpoints, dead letters) in database ${decodeURIComponent(u.pathname.slice(1))} on ${u.hostname}:${u.port || 5432}`
      })()
    : `the local PostgreSQL (${resolve(config.home)}), all metrics, state, checkpoints and dead letters`
  const kafka =
    config.kafkaBootstrap === undefined
      ? `the local Kafka data (topics ${config.kafkaTopic}, ${config.kafkaDlqTopic} and offsets)`
      : 'nothing in your Kafka cluster'
  return `${db}; ${kafka}`
}

/**
 * `rtsa down [--reset] [--yes]`: stops everything, keeping data; with --reset also deletes
 * it, after a confirmation on a terminal (or --yes). Nothing stops before the answer.
 */
export async function downCommand(values: Values, log: Log): Promise<number> {
  const config = loadConfig(upSettings)
  const home = resolve(config.home)
  if (values.reset && !values.yes) {
    const what = whatResetDeletes(config)
    if (!process.stdin.isTTY) {
      throw new RtsaError('INPUT_INVALID', `--reset deletes ${what}: add --yes to confirm`)
    }
    if (!(await confirm(`This deletes ${what}. Continue?`))) {
      log('nothing deleted')
      return 1
    }
  }
  await stopAll(home, log)
  if (!values.reset) {
    log('stopped; data, state and offsets are kept (rtsa up resumes where it was)')
    return 0
  }
  if (hasExternalPostgres(config)) {
    const pool = createPool(pgUrlOf(pgConnectionOf(config)), { max: 1 })
    try {
      await migrate(pool)
      await wipeData(pool)
    } finally {
      await pool.end()
    }
    log('deleted metrics, state, checkpoints and dead letters in your PostgreSQL')
  } else {
    wipeLocalPostgres({
      home,
      port: config.pgPort,
      database: config.pgDatabase,
    })
    log('deleted the local PostgreSQL data')
  }
  if (config.kafkaBootstrap === undefined) {
    wipeLocalKafka({ home })
    log('deleted the local Kafka data (topics and offsets)')
  } else {
    log(
      `kept the topics of your Kafka cluster; the next start reads ${config.kafkaTopic} from STARTING_OFFSETS=${config.startingOffsets}`,
    )
  }
  return 0
}

/** What `rtsa status` reports (also as `--json`). */
export interface Status {
  readonly up: { readonly running: boolean; readonly pid?: number }
  readonly parts: Record<
    string,
    { readonly running: boolean; readonly pid?: number; readonly expected: boolean }
  >
  readonly kafka: { readonly local: boolean; readonly running: boolean; readonly where: string }
  readonly postgres: { readonly local: boolean; readonly running: boolean; readonly where: string }
  readonly pipeline: Record<string, unknown> | null
  /** 0: up and every part it started run; 1: something it started is down; 3: nothing runs. */
  readonly exitCode: 0 | 1 | 3
}

async function readStatus(): Promise<Status> {
  const config = loadConfig(upSettings)
  const home = resolve(config.home)
  const upPid = runningPid(home, 'up')
  const started = upPid === undefined ? [] : startedParts(home)
  const parts = Object.fromEntries(
    PARTS.map((part) => {
      const pid = runningPid(home, part)
      return [
        part,
        {
          running: pid !== undefined,
          ...(pid === undefined ? {} : { pid }),
          expected: started.includes(part),
        },
      ]
    }),
  )
  const kafkaLocal = config.kafkaBootstrap === undefined
  const kafkaPid = kafkaLocal ? localKafkaPid({ home }) : undefined
  const pgLocal = !hasExternalPostgres(config)
  const pgUp = pgLocal
    ? await localPostgresRunning({ home, port: config.pgPort, database: config.pgDatabase })
    : true
  let pipeline: Record<string, unknown> | null = null
  if (pgUp) {
    try {
      const pool = createPool(pgUrlOf(pgConnectionOf(config, 'reader')), {
        max: 1,
        connectionTimeoutMs: 3000,
      })
      try {
        pipeline = { ...(await pipelineStatus(pool, config.kafkaTopic)) }
      } finally {
        await pool.end()
      }
    } catch (error) {
      pipeline = { error: (error as Error).message }
    }
  }
  const anything = upPid !== undefined || Object.values(parts).some((p) => p.running)
  const down =
    upPid !== undefined &&
    (Object.values(parts).some((p) => p.expected && !p.running) ||
      (kafkaLocal && kafkaPid === undefined) ||
      (pgLocal && !pgUp))
  return {
    up: { running: upPid !== undefined, ...(upPid === undefined ? {} : { pid: upPid }) },
    parts,
    kafka: {
      local: kafkaLocal,
      running: kafkaLocal ? kafkaPid !== undefined : true,
      where: kafkaLocal ? `127.0.0.1:${config.kafkaPort}` : (config.kafkaBootstrap ?? []).join(','),
    },
    postgres: { local: pgLocal, running: pgUp, where: pgLocal ? `127.0.0.1:${config.pgPort}` : 'external' },
    pipeline,
    exitCode: !anything ? 3 : down ? 1 : 0,
  }
}

/** `rtsa status [--json]`: exit 0 when everything `rtsa up` started runs, 1 when a part is down, 3 when nothing runs. */
export async function statusCommand(values: Values, log: Log): Promise<number> {
  const s = await readStatus()
  if (values.json) {
    console.log(JSON.stringify(s, null, 2))
    return s.exitCode
  }
  const state = (r: { running: boolean; pid?: number }) => (r.running ? `running (pid ${r.pid})` : 'stopped')
  log(`rtsa up     ${s.up.running ? `running (pid ${s.up.pid})` : 'not running'}`)
  for (const [part, p] of Object.entries(s.parts)) {
    log(`${part.padEnd(11)} ${state(p)}${p.expected && !p.running ? '  <- DOWN (rtsa up started it)' : ''}`)
  }
  log(
    `kafka       ${s.kafka.local ? (s.kafka.running ? `running on ${s.kafka.where}` : 'stopped') : `external ${s.kafka.where}`}`,
  )
  log(
    `postgres    ${s.postgres.local ? (s.postgres.running ? `running on ${s.postgres.where}` : 'stopped') : 'external'}`,
  )
  const p = s.pipeline as (Partial<PipelineStatus> & { error?: string }) | null
  if (p?.error !== undefined) log(`pipeline    unknown (${p.error})`)
  else if (p !== null) {
    const age = p.lastCommitAgeSeconds == null ? 'none' : `${p.lastCommitAgeSeconds.toFixed(1)}s ago`
    log(
      `pipeline    ${p.accepted} events applied, ${p.streams} streams, lag ${p.lag ?? '-'}, last commit ${age}, ${p.owned}/${p.partitions} partitions owned`,
    )
  }
  if (s.exitCode === 1) log('a part that rtsa up started is down (exit 1): rtsa logs <part>')
  return s.exitCode
}

/** `rtsa logs [part...] [--no-follow]` (main.ts checks the part names). */
export async function logsCommand(wanted: readonly string[], values: Values): Promise<number> {
  const config = loadConfig(upSettings)
  const home = resolve(config.home)
  const files = (wanted.length > 0 ? wanted : [...PARTS])
    .map((p) => logFile(home, p))
    .filter((f) => existsSync(f))
  if (files.length === 0) {
    throw new RtsaError(
      'NOT_FOUND',
      `no log files yet under ${resolve(home, 'logs')}: start the pipeline with rtsa up`,
    )
  }
  const follow = values['no-follow'] !== true
  const child = spawn('tail', [...(follow ? ['-F'] : []), '-n', '50', ...files], { stdio: 'inherit' })
  return new Promise((done) => child.on('exit', (code) => done(code ?? 0)))
}
