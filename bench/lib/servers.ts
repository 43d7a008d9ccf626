/**
 * The benchmarks' own Kafka broker and PostgreSQL server (never those of `rtsa up`):
 * started on private ports with their data under <home>/bench, wiped first, stopped
 * at the end. Every measured run gets a fresh database and a fresh topic.
 */
import { join, resolve } from 'node:path'
import type pg from 'pg'
import { startLocalKafka, stopLocalKafka, wipeLocalKafka } from '../../src/infra/kafka/broker.ts'
import {
  type LocalPostgresOptions,
  startLocalPostgres,
  stopLocalPostgres,
} from '../../src/infra/postgres/server.ts'
import { migrate } from '../../src/store/migrations.ts'
import { createPool } from '../../src/store/pool.ts'
import {
  createDatabase,
  createTopic,
  databaseUrlOf,
  deleteTopics,
  dropDatabase,
} from '../../testkit/fresh.ts'

export interface ServerOptions {
  readonly home: string
  readonly kafkaPort: number
  readonly pgPort: number
  readonly log: (line: string) => void
}

export interface BenchServers {
  readonly bootstrap: string[]
  /** URL of database `name` on the benchmark server. */
  readonly urlOf: (database: string) => string
  readonly stop: () => Promise<void>
}

export async function startServers(o: ServerOptions): Promise<BenchServers> {
  const home = resolve(o.home)
  const kafkaDir = { home, dir: join(home, 'bench', 'kafka') }
  const pgOptions: LocalPostgresOptions = {
    home: join(home, 'bench'),
    port: o.pgPort,
    database: 'rtsa_bench',
    log: o.log,
  }
  o.log(`starting the benchmark's Kafka broker on 127.0.0.1:${o.kafkaPort} and PostgreSQL on ${o.pgPort}`)
  await stopLocalKafka(kafkaDir)
  wipeLocalKafka(kafkaDir)
  const kafka = await startLocalKafka({ ...kafkaDir, port: o.kafkaPort, heapMb: 1024, log: o.log })
  let postgres: Awaited<ReturnType<typeof startLocalPostgres>>
  try {
    await stopLocalPostgres(pgOptions).catch(() => false)
    postgres = await startLocalPostgres(pgOptions)
  } catch (error) {
    await stopLocalKafka(kafkaDir)
    throw error
  }
  return {
    bootstrap: kafka.bootstrap,
    urlOf: (database) => databaseUrlOf(postgres.adminUrl, database),
    stop: async () => {
      o.log('stopping the benchmark servers')
      await stopLocalPostgres(pgOptions).catch((e: unknown) => o.log(`stopping PostgreSQL: ${String(e)}`))
      await stopLocalKafka(kafkaDir)
    },
  }
}

export interface FreshDb {
  readonly url: string
  readonly pool: pg.Pool
  /** Closes the pool and drops the database. */
  readonly drop: () => Promise<void>
}

let counter = 0

/** A new, migrated database on the benchmark server. */
export async function freshDb(servers: BenchServers, prefix: string, poolSize = 4): Promise<FreshDb> {
  const name = `${prefix}_${Date.now().toString(36)}_${counter++}`
  const server = servers.urlOf('postgres')
  const url = await createDatabase(server, name)
  const pool = createPool(url, { max: poolSize })
  await migrate(pool)
  return {
    url,
    pool,
    drop: async () => {
      await pool.end().catch(() => {})
      await dropDatabase(server, name)
    },
  }
}

/** Creates a topic (6 partitions unless told) with a unique name. */
export async function freshTopic(servers: BenchServers, prefix: string, partitions = 6): Promise<string> {
  const topic = `bench.${prefix}.${Date.now().toString(36)}.${counter++}`
  await createTopic(servers.bootstrap, topic, partitions)
  return topic
}

/** Deletes a benchmark topic and its dead-letter topic. */
export async function deleteTopic(servers: BenchServers, topic: string): Promise<void> {
  await deleteTopics(servers.bootstrap, [topic, `${topic}.dlq`])
}
