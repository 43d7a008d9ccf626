/**
 * A fixed input with disorder, duplicates, late and malformed records, through the
 * real broker, processor and database: the tables equal the test oracle of the
 * engine (a simple sort-and-replay implementation of the spec), and every record
 * that was not applied is in dead_letters with its reason.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeEvent } from '../../src/events/decode.ts'
import { readTopic } from '../../src/kafka/client.ts'
import { defer, freshTopic, kafkaBootstrap, uniqueName } from '../helpers/services.ts'
import { expectedTables, storedTables } from './compare.ts'
import {
  byPartition,
  freshStore,
  makeInput,
  processorEnv,
  produceAll,
  startInProcess,
  waitCaughtUp,
  waitFor,
} from './fixtures.ts'

// WINDOWS at its default: the hourly and daily windows too.
const CONFIG = {
  windowMs: 60_000,
  watermarkMs: 600_000,
  viewerTimeoutMs: 300_000,
  rollupMs: [3_600_000, 86_400_000],
}

test('the processor writes exactly what the oracle computes, and dead-letters every other record', async (t) => {
  const bootstrap = kafkaBootstrap()
  const topic = await freshTopic(t, 3)
  await produceAll(
    bootstrap,
    topic,
    makeInput({ seed: 3, count: 5000, streams: 8, users: 40, start: Date.UTC(2026, 10, 5, 20), stepMs: 500 }),
  )
  const store = await freshStore(t)
  const p = startInProcess(
    processorEnv({ bootstrap, databaseUrl: store.url, topic, group: uniqueName('oracle') }),
    store.pool,
  )
  defer(t, () => p.stop())
  await waitCaughtUp(store.pool, bootstrap, topic)
  const deadCount = Number((await store.pool.query('select count(*)::int as n from dead_letters')).rows[0].n)
  // Every dead letter reaches the DLQ topic (at least once), keyed by its source position.
  const dlqKeys = new Set<string>()
  await waitFor('the dead letters on the DLQ topic', async () => {
    for (const r of await readTopic(bootstrap, `${topic}.dlq`)) dlqKeys.add(r.key?.toString() ?? '')
    return dlqKeys.size >= deadCount
  })
  await p.stop()

  const want = expectedTables(CONFIG, byPartition(await readTopic(bootstrap, topic)), decodeEvent)
  const got = await storedTables(store.pool)
  assert.ok(want.windows.length > 200 && want.notApplied > 150, 'the input exercises every rule')
  for (const reason of ['late', 'duplicate', 'not_json']) {
    assert.ok(
      want.dead.some((d) => d.includes(`"${reason}"`)),
      `the input has ${reason} records`,
    )
  }
  assert.deepEqual(got.windows, want.windows)
  assert.ok(want.rollups.length >= 16, 'hourly and daily rows of every stream')
  assert.deepEqual(got.rollups, want.rollups)
  assert.deepEqual(got.states, want.states)
  assert.deepEqual(got.dead, want.dead)
})
