/**
 * Hostile input through the real broker, processor and database (docs/semantics.md
 * sections 1 and 7): random bytes, mutated events, deep nesting, records up to the broker's size
 * limit, tombstones, missing and wrong keys, far-future and far-past times and
 * thousands of one-off streams, interleaved with normal traffic over 3 partitions. The
 * processor stays up without re-claiming a partition, the tables equal the oracle's,
 * every record not applied is in dead_letters exactly once and on the DLQ topic (cut
 * to fit it, with its full size, where it is too large).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { InputRecord } from '../../src/engine/types.ts'
import { decodeEvent, encodeEvent } from '../../src/events/decode.ts'
import { EVENT_TYPES } from '../../src/events/types.ts'
import { KafkaProducer, type OutgoingRecord, readTopic } from '../../src/kafka/client.ts'
import { createProcessorMetrics } from '../../src/processor/metrics.ts'
import { prng } from '../helpers/prng.ts'
import { defer, freshTopic, kafkaBootstrap, uniqueName } from '../helpers/services.ts'
import { expectedTables, storedTables } from './compare.ts'
import {
  byPartition,
  freshStore,
  makeInput,
  processorEnv,
  startInProcess,
  waitCaughtUp,
  waitFor,
} from './fixtures.ts'

const CONFIG = { windowMs: 60_000, watermarkMs: 600_000, viewerTimeoutMs: 300_000, maxClockSkewMs: 300_000 }
const START = Date.UTC(2026, 10, 9, 20)
const SEED = Number(process.env.RTSA_TEST_SEED ?? 20261201)

/** Hostile records, and where each goes (an explicit partition for those without a usable key). */
function hostile(seed: number, count: number): OutgoingRecord[] {
  const rnd = prng(seed)
  const int = (n: number) => Math.floor(rnd() * n)
  const pick = <T>(xs: readonly T[]) => xs[int(xs.length)]!
  const stream = () => `stream_${1001 + int(8)}`
  const valid = (o: Record<string, unknown> = {}) => ({
    event_id: `h${seed}-${int(1e9)}`,
    ts: new Date(START + int(40 * 60_000)).toISOString(),
    event_type: pick(EVENT_TYPES),
    stream_id: stream(),
    user_id: `user_${1 + int(40)}`,
    amount_usd: 1,
    ...o,
  })
  const rec = (value: Buffer | null, key: string | null, partition?: number): OutgoingRecord => ({
    topic: '',
    key: key === null ? null : Buffer.from(key),
    value,
    ...(partition === undefined ? {} : { partition }),
  })
  const nest = (depth: number) => '['.repeat(depth) + ']'.repeat(depth)
  const out: OutgoingRecord[] = []
  while (out.length < count) {
    const kind = int(12)
    const v = valid()
    const key = v.stream_id
    if (kind === 0)
      out.push(rec(Buffer.from(Array.from({ length: int(200) }, () => int(256))), pick([key, null]), int(3)))
    else if (kind === 1) {
      const b = [...encodeEvent(v as never)]
      for (let i = 0; i < 1 + int(4); i++) b[int(b.length)] = int(256)
      out.push(rec(Buffer.from(b), key))
    } else if (kind === 2) {
      const field = pick(['event_id', 'ts', 'event_type', 'stream_id', 'user_id', 'amount_usd'])
      const text = JSON.stringify({ ...v, [field]: 0 }).replace(
        `"${field}":0`,
        `"${field}":${nest(1000 + int(30_000))}`,
      )
      out.push(rec(Buffer.from(text), key))
    } else if (kind === 3) out.push(rec(null, key))
    else if (kind === 4) out.push(rec(encodeEvent(v as never), null, int(3)))
    else if (kind === 5)
      out.push(rec(encodeEvent(v as never), `stream_${1001 + ((Number(key.slice(7)) - 1000) % 8)}`))
    else if (kind === 6)
      out.push(rec(encodeEvent(valid({ stream_id: key, ts: '9999-12-31T23:59:59Z' }) as never), key))
    else if (kind === 7) {
      // Today plus an hour: ahead of the record's CreateTime by more than MAX_CLOCK_SKEW.
      out.push(rec(encodeEvent(valid({ ts: new Date(Date.now() + 3_600_000).toISOString() }) as never), key))
    } else if (kind === 8) out.push(rec(encodeEvent(valid({ ts: '1970-01-01T00:00:00Z' }) as never), key))
    else if (kind === 9) {
      // One-off streams: accepted once, idle soon after.
      const lone = `lone-${seed}-${out.length}`
      out.push(rec(encodeEvent(valid({ stream_id: lone, event_type: 'viewer_join' }) as never), lone))
    } else if (kind === 10) {
      const text = JSON.stringify(v).replace(
        '"amount_usd":1',
        pick(['"amount_usd":1e999', '"amount_usd":-0', '"message_len":1e999']),
      )
      out.push(rec(Buffer.from(text), key))
    } else
      out.push(
        rec(Buffer.from(pick(['', 'null', '"x"', '{}', '{"stream_id":null}', '\u0000', '\uFFFF'])), key),
      )
  }
  return out
}

/** Values larger than the decoder takes, up to what the broker takes in one record. */
function huge(): OutgoingRecord[] {
  return [70_000, 300_000, 700_000, 1_000_000].map((n, i) => ({
    topic: '',
    key: Buffer.from(`stream_${1001 + i}`),
    value: Buffer.from(`{"event_id":"big${i}","pad":"${'x'.repeat(n - 30)}"}`),
  }))
}

/** Sends in order, in requests of at most 512 KiB; a large record goes alone. */
async function produce(bootstrap: string[], topic: string, records: readonly OutgoingRecord[]) {
  const producer = new KafkaProducer(bootstrap)
  try {
    let chunk: OutgoingRecord[] = []
    let bytes = 0
    const flush = async () => {
      await producer.send(chunk.map((r) => ({ ...r, topic })))
      chunk = []
      bytes = 0
    }
    for (const r of records) {
      const size = (r.value?.length ?? 0) + (r.key?.length ?? 0)
      if (chunk.length > 0 && (bytes + size > 512 * 1024 || chunk.length >= 1000)) await flush()
      chunk.push(r)
      bytes += size
    }
    if (chunk.length > 0) await flush()
  } finally {
    await producer.close()
  }
}

test('hostile records interleaved with normal traffic: nothing stops, stalls or is lost', async (t) => {
  const bootstrap = kafkaBootstrap()
  const topic = await freshTopic(t, 3)
  const normal = makeInput({ seed: SEED, count: 3000, streams: 8, users: 40, start: START, stepMs: 800 })
  const flush = normal.splice(normal.length - 8)
  const bad = [...hostile(SEED, 2500), ...huge()]
  const rnd = prng(SEED + 1)
  const records: OutgoingRecord[] = [...normal]
  for (const b of bad) records.splice(Math.floor(rnd() * (records.length + 1)), 0, b)
  records.push(...flush)
  await produce(bootstrap, topic, records)

  const store = await freshStore(t)
  const metrics = createProcessorMetrics()
  const p = startInProcess(
    processorEnv({ bootstrap, databaseUrl: store.url, topic, group: uniqueName('hostile') }),
    store.pool,
    { metrics },
  )
  defer(t, () => p.stop())
  await waitCaughtUp(store.pool, bootstrap, topic)

  const got = await storedTables(store.pool)
  const input = byPartition(await readTopic(bootstrap, topic))
  const want = expectedTables(CONFIG, input as ReadonlyMap<number, InputRecord[]>, decodeEvent)
  const reasons = new Set(want.dead.map((d) => (JSON.parse(d) as [number, number, string])[2]))
  for (const r of [
    'not_json',
    'not_object',
    'bad_field',
    'too_large',
    'key_mismatch',
    'future_ts',
    'late',
    'duplicate',
  ]) {
    assert.ok(reasons.has(r), `the input has ${r} records (seed ${SEED})`)
  }
  assert.deepEqual(got.windows, want.windows, `windows (seed ${SEED})`)
  assert.deepEqual(got.states, want.states, `states (seed ${SEED})`)
  assert.deepEqual(got.dead, want.dead, `dead letters (seed ${SEED})`)
  // One-off streams went idle: the engine and the stored state forgot them.
  const lone = await store.pool.query(
    "select count(*)::int as n from engine_snapshots where part like 'h:lone-%'",
  )
  assert.equal(lone.rows[0].n, 0, 'idle one-off streams leave no stored state')
  assert.ok(
    got.states.some((s) => s.includes('"lone-')),
    'one-off streams have their rows',
  )

  // Every dead letter on the DLQ topic, keyed by its source position; too large ones cut to fit.
  const dlq = new Map<string, Record<string, unknown>>()
  await waitFor(
    'every dead letter on the DLQ topic',
    async () => {
      for (const r of await readTopic(bootstrap, `${topic}.dlq`)) {
        dlq.set(r.key?.toString() ?? '', JSON.parse(r.value.toString()) as Record<string, unknown>)
      }
      return dlq.size >= want.dead.length
    },
    90_000,
  )
  const positions = want.dead.map((d) => {
    const [partition, offset] = JSON.parse(d) as [number, number]
    return `${topic}:${partition}:${offset}`
  })
  assert.deepEqual([...dlq.keys()].sort(), positions.sort())
  let cut = 0
  for (const [partition, list] of input) {
    for (const r of list) {
      const m = dlq.get(`${topic}:${partition}:${r.offset}`)
      if (m === undefined) continue
      assert.equal(m.value_size, r.value.length)
      const value = Buffer.from(String(m.value_base64), 'base64')
      if (m.value_truncated === true) {
        cut++
        assert.ok(r.value.length > 700_000, `only records too large for the DLQ are cut (${r.value.length})`)
        assert.ok(r.value.subarray(0, value.length).equals(value))
      } else assert.ok(value.equals(r.value))
    }
  }
  assert.ok(cut >= 1, 'the largest record was cut to fit the DLQ topic')
  const epochs = await store.pool.query('select epoch from partition_checkpoints order by partition')
  assert.deepEqual(
    epochs.rows.map((r) => r.epoch),
    [1, 1, 1],
    'no partition was re-claimed',
  )
  assert.equal((await metrics.isolations.get()).values[0]?.value ?? 0, 0)
  assert.equal((await metrics.dlqTruncated.get()).values[0]?.value, cut)
  await p.stop()
})
