import { resolve } from 'node:path'
import { loadConfig } from '../config/define.ts'
import { kafkaOf } from '../config/kafka.ts'
import {
  commonSettings,
  engineSettings,
  engineSettingsProblems,
  failOnProblems,
  hasExternalPostgres,
  kafkaSettings,
  localKafkaSettings,
  pgConnectionOf,
  pgUrlOf,
  postgresSettings,
  startingOffsetsSetting,
} from '../config/settings.ts'
import { startLocalKafka, stopLocalKafka } from '../infra/kafka/broker.ts'
import { startLocalPostgres, stopLocalPostgres, waitForPostgres } from '../infra/postgres/server.ts'
import { waitForKafka } from '../kafka/client.ts'
import type { KafkaConnection } from '../kafka/connection.ts'

export const infraSettings = {
  ...commonSettings,
  ...kafkaSettings,
  ...localKafkaSettings,
  ...postgresSettings,
}

/** Everything `rtsa up` passes on to its parts, validated once before anything starts. */
export const pipelineSettings = { ...infraSettings, ...engineSettings, ...startingOffsetsSetting }

/** Where the running pipeline's services are, whether rtsa started them or the user gave them. */
export interface Infra {
  /** The connection with its security settings (the parts get the same env vars). */
  readonly kafka: KafkaConnection
  /** The writer's URL (processor, migrations). */
  readonly databaseUrl: string
  /** The reader's URL (the API): the local server's read-only role, or the user's own URL. */
  readonly readerUrl: string
  readonly localKafka: boolean
  readonly localPostgres: boolean
}

function localPgOptions(c: ReturnType<typeof loadInfraConfig>, log: (l: string) => void) {
  return {
    home: resolve(c.home),
    port: c.pgPort,
    database: c.pgDatabase,
    log,
  }
}

export function loadInfraConfig(env: NodeJS.ProcessEnv = process.env) {
  return loadConfig(infraSettings, env)
}

/**
 * Brings up Kafka and PostgreSQL: the user's own when KAFKA_BOOTSTRAP / DATABASE_URL
 * (or PGHOST) name them (checked, failing fast with the variable's name), local ones
 * otherwise (started, or reused when already running).
 */
export async function startInfra(
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Infra> {
  failOnProblems(engineSettingsProblems(loadConfig(pipelineSettings, env)))
  const c = loadInfraConfig(env)
  const connection = kafkaOf(c)
  const kafka = (async () => {
    if (c.kafkaBootstrap !== undefined) {
      await waitForKafka(connection, { timeoutMs: 15_000, settingName: 'KAFKA_BOOTSTRAP' })
      return { connection, local: false }
    }
    const broker = await startLocalKafka({ home: resolve(c.home), port: c.kafkaPort, log })
    if (!broker.started) log(`reusing the local Kafka broker already running (pid ${broker.pid})`)
    return { connection: { ...connection, bootstrap: broker.bootstrap }, local: true }
  })()
  const postgres = (async () => {
    if (hasExternalPostgres(c)) {
      const url = pgUrlOf(pgConnectionOf(c))
      await waitForPostgres(url, {
        timeoutMs: 15_000,
        settingName: c.databaseUrl !== undefined ? 'DATABASE_URL' : 'PGHOST',
      })
      return { url, readerUrl: url, local: false }
    }
    const server = await startLocalPostgres(localPgOptions(c, log))
    if (!server.started) log('reusing the local PostgreSQL already running')
    return { url: server.connectionString, readerUrl: server.readerUrl, local: true }
  })()
  const [k, p] = await Promise.allSettled([kafka, postgres])
  if (k.status === 'rejected' || p.status === 'rejected') {
    const errors = [k, p]
      .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      .map((r) => r.reason)
    throw errors[0]
  }
  return {
    kafka: k.value.connection,
    databaseUrl: p.value.url,
    readerUrl: p.value.readerUrl,
    localKafka: k.value.local,
    localPostgres: p.value.local,
  }
}

/** Stops the local Kafka and PostgreSQL that rtsa started (never the user's own). Keeps data. */
export async function stopInfra(
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const c = loadInfraConfig(env)
  if (c.kafkaBootstrap === undefined && (await stopLocalKafka({ home: resolve(c.home) })))
    log('stopped the local Kafka broker')
  if (!hasExternalPostgres(c) && (await stopLocalPostgres(localPgOptions(c, log))))
    log('stopped the local PostgreSQL')
}
