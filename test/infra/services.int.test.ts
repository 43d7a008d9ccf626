import assert from 'node:assert/strict'
import { test } from 'node:test'
import pg from 'pg'
import { isRtsaError } from '../../src/errors/catalogue.ts'
import { KafkaAdmin, KafkaProducer, readTopic, waitForKafka } from '../../src/kafka/client.ts'
import { databaseUrl, defer, freshDatabase, freshTopic, kafkaBootstrap } from '../helpers/services.ts'

test('records produced to the real local broker come back, in order per partition', async (t) => {
  const topic = await freshTopic(t, 3)
  const producer = new KafkaProducer(kafkaBootstrap())
  defer(t, () => producer.close())
  const sent = Array.from({ length: 30 }, (_, i) => ({
    topic,
    key: Buffer.from(`stream_${i % 3}`),
    value: Buffer.from(JSON.stringify({ i })),
  }))
  await producer.send(sent)
  const back = await readTopic(kafkaBootstrap(), topic)
  assert.equal(back.length, 30)
  for (const key of ['stream_0', 'stream_1', 'stream_2']) {
    const mine = back.filter((r) => r.key?.toString() === key)
    const partitions = new Set(mine.map((r) => r.partition))
    assert.equal(partitions.size, 1, 'one key, one partition')
    const order = mine
      .sort((a, b) => Number(a.offset - b.offset))
      .map((r) => JSON.parse(r.value.toString()).i)
    assert.deepEqual(
      order,
      sent.filter((s) => s.key.toString() === key).map((s) => JSON.parse(s.value.toString()).i),
    )
  }
  const admin = new KafkaAdmin(kafkaBootstrap())
  defer(t, () => admin.close())
  const offsets = await admin.offsets(topic)
  assert.equal(offsets.length, 3)
  assert.equal(
    offsets.reduce((sum, p) => sum + Number(p.latest - p.earliest), 0),
    30,
  )
})

test('rows written to the real PostgreSQL server are read back', async (t) => {
  const url = await freshDatabase(t)
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  defer(t, () => client.end())
  await client.query('create table t (id int primary key, name text)')
  await client.query('insert into t values (1, $1), (2, $2)', ['a', 'b'])
  const { rows } = await client.query('select id, name from t order by id')
  assert.deepEqual(rows, [
    { id: 1, name: 'a' },
    { id: 2, name: 'b' },
  ])
  const version = await client.query('show server_version')
  assert.match(String(version.rows[0].server_version), /^\d+/)
  assert.ok(databaseUrl().startsWith('postgres'))
})

test('an unreachable broker fails with a message naming the setting', async () => {
  await assert.rejects(
    waitForKafka(['nohost:1'], { timeoutMs: 1500, settingName: 'KAFKA_BOOTSTRAP' }),
    (error: unknown) => {
      assert.ok(isRtsaError(error, 'KAFKA_UNREACHABLE'))
      assert.match(error.message, /KAFKA_BOOTSTRAP=nohost:1/)
      return true
    },
  )
})
