/**
 * The processor survives restarts of PostgreSQL and of the Kafka broker while it
 * works, by itself, with tables identical to an undisturbed run. This test restarts
 * servers, so it runs its own private broker and database (not the shared ones).
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { startLocalKafka, stopLocalKafka } from '../../src/infra/kafka/broker.ts'
import { startLocalPostgres, stopLocalPostgres } from '../../src/infra/postgres/server.ts'
import { KafkaAdmin } from '../../src/kafka/client.ts'
import { migrate } from '../../src/store/migrations.ts'
import { createPool } from '../../src/store/pool.ts'
import { defer, uniqueName } from '../helpers/services.ts'
import {
  committedTotal,
  freshStore,
  makeInput,
  processorEnv,
  produceAll,
  readTables,
  spawnProcessor,
  startInProcess,
  stopChild,
  waitCaughtUp,
  waitFor,
} from './fixtures.ts'

test('PostgreSQL and the broker restarted during processing: the processor recovers, tables are correct', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'rtsa-faults-'))
  const kafkaDir = join(home, 'kafka')
  const kafkaPort = Number(process.env.RTSA_TEST_FAULTS_KAFKA_PORT ?? 19292)
  const pgOptions = {
    home,
    dir: join('/var/lib/rtsa/test-faults', String(process.pid)),
    port: Number(process.env.RTSA_TEST_FAULTS_PG_PORT ?? 15632),
    database: 'realtime',
    user: 'rt',
    password: 'rt',
  }
  if (process.getuid?.() !== 0) Object.assign(pgOptions, { dir: join(home, 'postgres') })
  defer(t, () => rmSync(home, { recursive: true, force: true }))
  const libsHome = resolve(process.env.RTSA_HOME ?? '.rtsa')
  const kafka = await startLocalKafka({
    home: libsHome,
    dir: kafkaDir,
    port: kafkaPort,
    heapMb: 384,
  })
  defer(t, () => stopLocalKafka({ home, dir: kafkaDir }))
  const pg = await startLocalPostgres(pgOptions)
  defer(t, async () => {
    await stopLocalPostgres(pgOptions)
    rmSync(pgOptions.dir, { recursive: true, force: true })
  })
  const bootstrap = kafka.bootstrap
  const topic = uniqueName('faults').replaceAll('_', '.')
  const admin = new KafkaAdmin(bootstrap)
  await admin.ensureTopic(topic, 3)
  await admin.close()
  await produceAll(
    bootstrap,
    topic,
    makeInput({ seed: 41, count: 8000, streams: 9, users: 60, start: Date.UTC(2026, 10, 3), stepMs: 300 }),
  )

  // Reference: undisturbed, into a database of the shared server.
  const ref = await freshStore(t)
  const p = startInProcess(
    processorEnv({ bootstrap, databaseUrl: ref.url, topic, group: uniqueName('ref') }),
    ref.pool,
  )
  defer(t, () => p.stop())
  await waitCaughtUp(ref.pool, bootstrap, topic)
  await p.stop()
  const expected = await readTables(ref.pool)

  const pool = createPool(pg.connectionString, { max: 2 })
  defer(t, () => pool.end())
  await migrate(pool)
  const env = processorEnv({
    bootstrap,
    databaseUrl: pg.connectionString,
    topic,
    group: uniqueName('faults'),
    extra: { BATCH_MAX_RECORDS: '40', BATCH_MAX_WAIT: '20ms' },
  })
  const child = spawnProcessor(env, 'faulty')
  defer(t, () => stopChild(child, 'SIGKILL'))
  await waitFor('first progress', async () => (await committedTotal(pool, topic)) > 300)

  await stopLocalPostgres(pgOptions)
  await sleep(3000)
  await startLocalPostgres(pgOptions)
  const afterPg = await committedTotal(pool, topic)
  await waitFor(
    'progress after the database restart',
    async () => (await committedTotal(pool, topic)) > afterPg,
  )

  await stopLocalKafka({ home, dir: kafkaDir })
  await sleep(2000)
  await startLocalKafka({ home: libsHome, dir: kafkaDir, port: kafkaPort, heapMb: 384 })
  await waitCaughtUp(pool, bootstrap, topic, 180_000)
  await stopChild(child, 'SIGTERM')
  assert.equal(child.exitCode, 0, `the processor exits cleanly:\n${child.output().slice(-2000)}`)
  assert.match(child.output(), /commit failed; retrying the same batch|claiming a partition failed/)
  assert.deepEqual(await readTables(pool), expected)
})
