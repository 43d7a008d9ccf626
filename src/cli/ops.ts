/** `rtsa down [--reset] [--yes]`, `rtsa reset`, `rtsa status`, `rtsa logs [part]`. */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { createInterface } from 'node:readline/promises'
import { parseArgs } from 'node:util'
import { loadConfig } from '../config/define.ts'
import { hasExternalPostgres, pgConnectionOf, pgUrlOf } from '../config/settings.ts'
import { RtsaError } from '../errors/catalogue.ts'
import { localKafkaPid, wipeLocalKafka } from '../infra/kafka/broker.ts'
import { localPostgresRunning, wipeLocalPostgres } from '../infra/postgres/server.ts'
import { migrate, wipeData } from '../store/migrations.ts'
import { createPool } from '../store/pool.ts'
import { pipelineStatus } from '../store/status.ts'
import { stopInfra } from './infra.ts'
import { logFile, PARTS, runningPid, stopParts, stopPid } from './parts.ts'
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

export async function downCommand(args: string[], log: Log): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      reset: { type: 'boolean', default: false },
      yes: { type: 'boolean', short: 'y', default: false },
    },
  })
  const config = loadConfig(upSettings)
  const home = resolve(config.home)
  if (values.reset && !values.yes) {
    if (!process.stdin.isTTY) {
      throw new RtsaError(
        'INPUT_INVALID',
        'rtsa down --reset deletes all metrics, state and offsets: add --yes to confirm',
      )
    }
    if (!(await confirm('Delete all metrics, state, checkpoints and local topic data?'))) {
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

export async function statusCommand(_args: string[], log: Log): Promise<number> {
  const config = loadConfig(upSettings)
  const home = resolve(config.home)
  const up = runningPid(home, 'up')
  log(`rtsa up     ${up === undefined ? 'not running' : `running (pid ${up})`}`)
  for (const part of PARTS) {
    const pid = runningPid(home, part)
    log(`${part.padEnd(11)} ${pid === undefined ? 'stopped' : `running (pid ${pid})`}`)
  }
  if (config.kafkaBootstrap === undefined) {
    const pid = localKafkaPid({ home })
    log(
      `kafka       ${pid === undefined ? 'stopped' : `running (pid ${pid}) on 127.0.0.1:${config.kafkaPort}`}`,
    )
  } else log(`kafka       external ${config.kafkaBootstrap.join(',')}`)
  const local = !hasExternalPostgres(config)
  const pgUp = local
    ? await localPostgresRunning({
        home,
        port: config.pgPort,
        database: config.pgDatabase,
      })
    : true
  log(`postgres    ${local ? (pgUp ? `running on 127.0.0.1:${config.pgPort}` : 'stopped') : 'external'}`)
  if (pgUp) {
    const pool = createPool(pgUrlOf(pgConnectionOf(config, 'reader')), { max: 1 })
    try {
      const s = await pipelineStatus(pool, config.kafkaTopic)
      const age = s.lastCommitAgeSeconds === null ? 'none' : `${s.lastCommitAgeSeconds.toFixed(1)}s ago`
      log(
        `pipeline    ${s.accepted} events applied, ${s.streams} streams, lag ${s.lag ?? '-'}, last commit ${age}, ${s.owned}/${s.partitions} partitions owned`,
      )
    } catch (error) {
      log(`pipeline    unknown (${(error as Error).message})`)
    } finally {
      await pool.end()
    }
  }
  return 0
}

export async function logsCommand(args: string[], _log: Log): Promise<number> {
  const config = loadConfig(upSettings)
  const home = resolve(config.home)
  const wanted = args.filter((a) => !a.startsWith('-'))
  for (const w of wanted) {
    if (!(PARTS as readonly string[]).includes(w)) {
      throw new RtsaError('INPUT_INVALID', `unknown part "${w}": expected one of ${PARTS.join(', ')}`)
    }
  }
  const files = (wanted.length > 0 ? wanted : [...PARTS])
    .map((p) => logFile(home, p))
    .filter((f) => existsSync(f))
  if (files.length === 0) {
    throw new RtsaError(
      'NOT_FOUND',
      `no log files yet under ${resolve(home, 'logs')}: start the pipeline with rtsa up`,
    )
  }
  const follow = !args.includes('--no-follow')
  const child = spawn('tail', [...(follow ? ['-F'] : []), '-n', '50', ...files], { stdio: 'inherit' })
  return new Promise((done) => child.on('exit', (code) => done(code ?? 0)))
}
