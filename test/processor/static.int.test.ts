/**
 * Static group membership (KAFKA_GROUP_INSTANCE_ID): a processor SIGKILLed and restarted
 * under the same name takes its partitions back without waiting for the broker to expire
 * the dead member. The session timeout here is 90 s, so a restart that waited for it
 * could not catch up within the 45 s the test allows.
 */
import assert from 'node:assert/strict'
import { hostname } from 'node:os'
import { test } from 'node:test'
import { loadProcessorConfig } from '../../src/processor/config.ts'
import { defer, freshTopic, kafkaBootstrap, uniqueName } from '../helpers/services.ts'
import {
  committedTotal,
  freshStore,
  makeInput,
  processorEnv,
  produceAll,
  readTables,
  spawnProcessor,
  stopChild,
  waitCaughtUp,
  waitFor,
} from './fixtures.ts'

test('KAFKA_GROUP_INSTANCE_ID: "{hostname}" is the host name, and a name Kafka cannot take is refused', () => {
  const env = { KAFKA_GROUP_INSTANCE_ID: 'rtsa-{hostname}' }
  assert.equal(loadProcessorConfig(env).groupInstanceId, `rtsa-${hostname()}`)
  assert.equal(loadProcessorConfig({}).groupInstanceId, undefined)
  assert.throws(
    () => loadProcessorConfig({ KAFKA_GROUP_INSTANCE_ID: 'two words' }),
    /KAFKA_GROUP_INSTANCE_ID="two words" is invalid/,
  )
})

test('a SIGKILLed processor restarted under the same KAFKA_GROUP_INSTANCE_ID resumes before its session expires', async (t) => {
  const bootstrap = kafkaBootstrap()
  const topic = await freshTopic(t, 3)
  const input = makeInput({
    seed: 11,
    count: 6000,
    streams: 9,
    users: 60,
    start: Date.UTC(2026, 10, 1, 12),
    stepMs: 400,
  })
  await produceAll(bootstrap, topic, input)
  const store = await freshStore(t)
  const env = processorEnv({
    bootstrap,
    databaseUrl: store.url,
    topic,
    group: uniqueName('static'),
    extra: {
      BATCH_MAX_RECORDS: '50',
      BATCH_MAX_WAIT: '20ms',
      KAFKA_SESSION_TIMEOUT: '90s',
      KAFKA_GROUP_INSTANCE_ID: `${uniqueName('member')}-{hostname}`,
    },
  })

  const first = spawnProcessor(env, 'static-1')
  defer(t, () => stopChild(first, 'SIGKILL'))
  await waitFor(
    'the first processor to commit',
    async () => (await committedTotal(store.pool, topic)) > 0,
    60_000,
  )
  await stopChild(first, 'SIGKILL')
  assert.ok((await committedTotal(store.pool, topic)) < input.length, 'killed before the end of the input')

  const second = spawnProcessor(env, 'static-2')
  defer(t, () => stopChild(second, 'SIGKILL'))
  await waitCaughtUp(store.pool, bootstrap, topic, 45_000).catch((error: Error) => {
    throw new Error(`${error.message}\n--- restarted processor output ---\n${second.output()}`)
  })
  await stopChild(second, 'SIGTERM')
  const tables = await readTables(store.pool)
  assert.ok(tables.windows.length > 100, 'the restarted processor wrote the windows')
})
