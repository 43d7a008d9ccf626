/**
 * Exactly once across crashes: processors killed with SIGKILL at random moments
 * while they work, restarted each time, must leave tables identical to an
 * uninterrupted run, with no dead letter missing or doubled.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { prng } from '../helpers/prng.ts'
import { defer, freshTopic, kafkaBootstrap, uniqueName } from '../helpers/services.ts'
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

const INPUT = { count: 6000, streams: 9, users: 60, start: Date.UTC(2026, 10, 1, 12), stepMs: 400 }
const CRASH_INPUT = { ...INPUT, count: 16_000 }

test('SIGKILL at random moments, restarted each time: tables identical to an uninterrupted run', async (t) => {
  const bootstrap = kafkaBootstrap()
  const topic = await freshTopic(t, 3)
  const input = makeInput({ seed: 7, ...CRASH_INPUT })
  await produceAll(bootstrap, topic, input)

  // The reference: one processor, never interrupted.
  const reference = await freshStore(t)
  const refEnv = processorEnv({ bootstrap, databaseUrl: reference.url, topic, group: uniqueName('ref') })
  const ref = startInProcess(refEnv, reference.pool)
  defer(t, () => ref.stop())
  await waitCaughtUp(reference.pool, bootstrap, topic)
  await ref.stop()
  const expected = await readTables(reference.pool)
  assert.ok(expected.windows.length > 100, 'the input makes many window rows')
  assert.ok(expected.deadLetters.length > 100, 'the input has many dead letters')

  // The crash run: small batches, so a kill lands between and inside many commits.
  const chaos = await freshStore(t)
  const env = processorEnv({
    bootstrap,
    databaseUrl: chaos.url,
    topic,
    group: uniqueName('chaos'),
    extra: { BATCH_MAX_RECORDS: '50', BATCH_MAX_WAIT: '20ms', KAFKA_SESSION_TIMEOUT: '3s' },
  })
  const rnd = prng(Number(process.env.RTSA_TEST_SEED ?? Date.now() % 100_000))
  let kills = 0
  for (let i = 0; i < 6; i++) {
    const before = await committedTotal(chaos.pool, topic)
    const child = spawnProcessor(env, `chaos-${i}`)
    defer(t, () => stopChild(child, 'SIGKILL'))
    // Kill while it works: after it committed something new, at a random moment.
    await waitFor(
      `processor ${i} to commit`,
      async () => (await committedTotal(chaos.pool, topic)) > before,
      60_000,
    )
    await sleep(Math.floor(rnd() * 150))
    await stopChild(child, 'SIGKILL')
    kills++
  }
  assert.ok(
    (await committedTotal(chaos.pool, topic)) < input.length,
    'the kills happened before the end of the input',
  )
  const last = spawnProcessor(env, 'chaos-final')
  defer(t, () => stopChild(last, 'SIGKILL'))
  await waitCaughtUp(chaos.pool, bootstrap, topic)
  await stopChild(last, 'SIGTERM')
  assert.equal(kills, 6)
  const actual = await readTables(chaos.pool)
  assert.deepEqual(actual.deadLetters, expected.deadLetters)
  assert.deepEqual(actual.windows, expected.windows)
  assert.deepEqual(actual.states, expected.states)
})

test('a clean stop resumes without reprocessing; a reset reprocesses everything', async (t) => {
  const bootstrap = kafkaBootstrap()
  const topic = await freshTopic(t, 2)
  const input = makeInput({ seed: 11, ...INPUT, count: 1500 })
  await produceAll(bootstrap, topic, input.slice(0, 800))
  const store = await freshStore(t)
  const env = processorEnv({ bootstrap, databaseUrl: store.url, topic, group: uniqueName('stop') })
  const first = startInProcess(env, store.pool)
  defer(t, () => first.stop())
  await waitCaughtUp(store.pool, bootstrap, topic)
  await first.stop()
  const afterFirst = await readTables(store.pool)
  const epochs = await store.pool.query(
    'select partition, epoch, owner from partition_checkpoints order by 1',
  )
  assert.ok(
    epochs.rows.every((r) => r.owner === null),
    'a clean stop gives the partitions up',
  )

  await produceAll(bootstrap, topic, input.slice(800))
  const second = startInProcess(env, store.pool)
  defer(t, () => second.stop())
  await waitCaughtUp(store.pool, bootstrap, topic)
  await second.stop()
  const resumed = await readTables(store.pool)

  // The same input processed in one go gives the same tables: nothing was applied twice.
  const oneGo = await freshStore(t)
  const third = startInProcess(
    processorEnv({ bootstrap, databaseUrl: oneGo.url, topic, group: uniqueName('onego') }),
    oneGo.pool,
  )
  defer(t, () => third.stop())
  await waitCaughtUp(oneGo.pool, bootstrap, topic)
  await third.stop()
  assert.deepEqual(resumed, await readTables(oneGo.pool))
  assert.notDeepEqual(afterFirst.states, resumed.states, 'the second part of the input was applied')

  // Reset: wipe the data and checkpoints; the next start reprocesses from the earliest offsets.
  const { wipeData } = await import('../../src/store/migrations.ts')
  await wipeData(store.pool)
  assert.equal((await readTables(store.pool)).windows.length, 0)
  for (const table of ['stream_metrics_rollup', 'stream_live_events', 'partition_checkpoints']) {
    const n = (await store.pool.query(`select count(*)::int as n from ${table}`)).rows[0].n
    assert.equal(n, 0, `${table} is wiped too`)
  }
  const fourth = startInProcess(env, store.pool)
  defer(t, () => fourth.stop())
  await waitCaughtUp(store.pool, bootstrap, topic)
  await fourth.stop()
  assert.deepEqual(await readTables(store.pool), resumed)
})
