/**
 * A record that makes the engine throw (a bug nobody has found yet) does not stop its
 * partition: the processor redoes the batch from the committed state without it,
 * dead-letters it as `processing_error` with the error's message, and goes on. The
 * engine here is the real one, wrapped so that it throws on marker records after
 * applying the records before them (half-changed state, as a real bug leaves it).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { InputRecord } from '../../src/engine/types.ts'
import { decodeEvent, encodeEvent } from '../../src/events/decode.ts'
import { readTopic } from '../../src/kafka/client.ts'
import { createProcessorMetrics } from '../../src/processor/metrics.ts'
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
} from './fixtures.ts'
import { poisonous } from './poison.ts'

const CONFIG = { windowMs: 60_000, watermarkMs: 600_000, viewerTimeoutMs: 300_000 }
const isPoison = (r: InputRecord) => r.value.includes('"poison-')

test('a record the engine throws on is dead-lettered as processing_error; the partition goes on', async (t) => {
  const bootstrap = kafkaBootstrap()
  const topic = await freshTopic(t, 3)
  const input = makeInput({
    seed: 11,
    count: 4000,
    streams: 6,
    users: 30,
    start: Date.UTC(2026, 10, 7, 20),
    stepMs: 500,
  })
  // Valid events of the input's streams, with marker ids, spread through the input.
  const markers = Array.from({ length: 7 }, (_, i) => {
    const stream = `stream_${1001 + (i % 6)}`
    return {
      topic: '',
      key: Buffer.from(stream),
      value: encodeEvent({
        event_id: `poison-${i}`,
        ts: new Date(Date.UTC(2026, 10, 7, 20, 5 + i)).toISOString(),
        event_type: 'viewer_join',
        stream_id: stream,
        user_id: 'user_1',
      }),
    }
  })
  const records = [...input]
  markers.forEach((m, i) => {
    records.splice(300 + i * 500, 0, m)
  })
  await produceAll(bootstrap, topic, records)
  const store = await freshStore(t)
  const metrics = createProcessorMetrics()
  const p = startInProcess(
    processorEnv({ bootstrap, databaseUrl: store.url, topic, group: uniqueName('poison') }),
    store.pool,
    { wrap: poisonous(isPoison, (r) => new TypeError(`injected bug at offset ${r.offset}`)), metrics },
  )
  defer(t, () => p.stop())
  await waitCaughtUp(store.pool, bootstrap, topic)
  await p.stop()

  const want = expectedTables(CONFIG, byPartition(await readTopic(bootstrap, topic)), decodeEvent, isPoison)
  const got = await storedTables(store.pool)
  assert.deepEqual(got.windows, want.windows)
  assert.deepEqual(got.states, want.states)
  assert.deepEqual(got.dead, want.dead)
  const errors = await store.pool.query(
    "select detail from dead_letters where reason = 'processing_error' order by detail",
  )
  assert.equal(errors.rows.length, markers.length)
  for (const r of errors.rows)
    assert.match(r.detail, /^processing the record threw: TypeError: injected bug at offset \d+$/)
  // Never re-claimed: each partition still has the epoch of its first claim.
  const epochs = await store.pool.query('select epoch from partition_checkpoints')
  assert.deepEqual(
    epochs.rows.map((r) => r.epoch),
    [1, 1, 1],
  )
  const isolations = (await metrics.isolations.get()).values[0]?.value ?? 0
  const dead = (await metrics.processingErrors.get()).values[0]?.value ?? 0
  assert.equal(dead, markers.length)
  assert.ok(isolations >= 1 && isolations <= markers.length, `${isolations} isolations`)
})
