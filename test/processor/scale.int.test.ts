/**
 * Several processors in one consumer group produce the tables of one; an instance
 * frozen until it lost its partitions is fenced when it wakes up.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
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

const INPUT = { count: 6000, streams: 12, users: 80, start: Date.UTC(2026, 10, 2, 8), stepMs: 300 }

async function referenceTables(t: import('node:test').TestContext, topic: string) {
  const bootstrap = kafkaBootstrap()
  const store = await freshStore(t)
  const p = startInProcess(
    processorEnv({ bootstrap, databaseUrl: store.url, topic, group: uniqueName('ref') }),
    store.pool,
  )
  defer(t, () => p.stop())
  await waitCaughtUp(store.pool, bootstrap, topic)
  await p.stop()
  return readTables(store.pool)
}

for (const instances of [2, 3]) {
  test(`${instances} instances in one group, one killed midway: the tables of one instance`, async (t) => {
    const bootstrap = kafkaBootstrap()
    const topic = await freshTopic(t, 6)
    await produceAll(bootstrap, topic, makeInput({ seed: 20 + instances, ...INPUT }))
    const expected = await referenceTables(t, topic)
    const store = await freshStore(t)
    const env = processorEnv({
      bootstrap,
      databaseUrl: store.url,
      topic,
      group: uniqueName('scale'),
      extra: { BATCH_MAX_RECORDS: '50', BATCH_MAX_WAIT: '20ms' },
    })
    const children = Array.from({ length: instances }, (_, i) => spawnProcessor(env, `scale-${i}`))
    for (const c of children) defer(t, () => stopChild(c, 'SIGKILL'))
    await waitFor('progress', async () => (await committedTotal(store.pool, topic)) > 500)
    await stopChild(children[0]!, 'SIGKILL')
    await waitCaughtUp(store.pool, bootstrap, topic)
    for (const c of children.slice(1)) await stopChild(c, 'SIGTERM')
    const owners = await store.pool.query('select distinct owner from partition_checkpoints')
    assert.ok(owners.rowCount! >= 1)
    assert.deepEqual(await readTables(store.pool), expected)
  })
}

test('a frozen instance that lost its partitions is fenced when it resumes', async (t) => {
  const bootstrap = kafkaBootstrap()
  const topic = await freshTopic(t, 2)
  await produceAll(bootstrap, topic, makeInput({ seed: 31, ...INPUT, count: 8000 }))
  const expected = await referenceTables(t, topic)
  const store = await freshStore(t)
  const env = processorEnv({
    bootstrap,
    databaseUrl: store.url,
    topic,
    group: uniqueName('fence'),
    extra: { KAFKA_SESSION_TIMEOUT: '3s', BATCH_MAX_RECORDS: '20', BATCH_MAX_WAIT: '10ms' },
  })
  const frozen = spawnProcessor(env, 'frozen')
  defer(t, () => stopChild(frozen, 'SIGKILL'))
  // Freeze it in the middle of its work, with fetched records not yet committed.
  await waitFor(
    'the first instance to make progress',
    async () => (await committedTotal(store.pool, topic)) > 300,
  )
  frozen.kill('SIGSTOP')
  const before = await store.pool.query('select partition, epoch from partition_checkpoints order by 1')
  const other = spawnProcessor(env, 'other')
  defer(t, () => stopChild(other, 'SIGKILL'))
  await waitFor('the other instance to claim both partitions', async () => {
    const r = await store.pool.query(
      "select count(*)::int as n from partition_checkpoints where owner = 'other'",
    )
    return r.rows[0].n === 2
  })
  const after = await store.pool.query('select partition, epoch from partition_checkpoints order by 1')
  for (const [i, row] of after.rows.entries())
    assert.ok(row.epoch > before.rows[i].epoch, 'a new epoch per claim')
  frozen.kill('SIGCONT')
  await waitFor('the woken instance to try a commit and be refused', () =>
    frozen.output().includes('commit refused: another instance owns the partition'),
  )
  await waitCaughtUp(store.pool, bootstrap, topic)
  await stopChild(other, 'SIGTERM')
  await stopChild(frozen, 'SIGTERM')
  assert.deepEqual(await readTables(store.pool), expected)
})
