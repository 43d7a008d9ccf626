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
import { oracle } from '../engine/oracle.ts'
import { defer, freshTopic, kafkaBootstrap, uniqueName } from '../helpers/services.ts'
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

const CONFIG = { windowMs: 60_000, watermarkMs: 600_000, viewerTimeoutMs: 300_000 }

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

  const expectedRows: string[] = []
  const expectedStates: string[] = []
  const expectedDead: string[] = []
  let notApplied = 0
  for (const [partition, records] of byPartition(await readTopic(bootstrap, topic))) {
    const o = oracle(CONFIG, partition, records, decodeEvent)
    for (const r of o.rows) {
      expectedRows.push(
        JSON.stringify([
          r.streamId,
          r.windowStart,
          r.windowEnd,
          r.activeViewers,
          r.peakViewers,
          r.uniqueViewers,
          r.viewerJoins,
          r.viewerLeaves,
          r.chatMessages,
          r.uniqueChatters,
          r.donationsCents,
          r.donationCount,
          r.events,
          r.isFinal,
          partition,
        ]),
      )
    }
    for (const s of o.states) {
      expectedStates.push(
        JSON.stringify([
          s.streamId,
          s.activeViewers,
          s.live,
          s.lastEventTs,
          s.acceptedCount,
          s.lateCount,
          s.duplicateCount,
          s.rejectedCount,
          partition,
          s.watermark,
        ]),
      )
    }
    o.verdicts.forEach((v, i) => {
      if (v !== 'accepted') {
        notApplied++
        expectedDead.push(JSON.stringify([partition, Number(records[i]!.offset), v]))
      }
    })
  }
  const ms = (d: Date | null) => (d === null ? null : d.getTime())
  const rows = (
    await store.pool.query('select * from stream_metrics_minute order by stream_id, window_start')
  ).rows.map((r) =>
    JSON.stringify([
      r.stream_id,
      ms(r.window_start),
      ms(r.window_end),
      r.active_viewers,
      r.peak_viewers,
      r.unique_viewers,
      r.viewer_joins,
      r.viewer_leaves,
      r.chat_messages,
      r.unique_chatters,
      r.donations_cents,
      r.donation_count,
      r.events,
      r.is_final,
      r.partition,
    ]),
  )
  const states = (await store.pool.query('select * from stream_state order by stream_id')).rows.map((s) =>
    JSON.stringify([
      s.stream_id,
      s.active_viewers,
      s.live,
      ms(s.last_event_ts),
      s.accepted_count,
      s.late_count,
      s.duplicate_count,
      s.rejected_count,
      s.partition,
      ms(s.watermark),
    ]),
  )
  const dead = (
    await store.pool.query(
      'select partition, "offset", reason from dead_letters order by partition, "offset"',
    )
  ).rows.map((d) => JSON.stringify([d.partition, d.offset, d.reason]))
  assert.ok(expectedRows.length > 200 && notApplied > 150, 'the input exercises every rule')
  for (const reason of ['late', 'duplicate', 'not_json']) {
    assert.ok(
      expectedDead.some((d) => d.includes(`"${reason}"`)),
      `the input has ${reason} records`,
    )
  }
  assert.deepEqual(
    rows,
    expectedRows.sort((a, b) => cmpRow(a, b)),
  )
  assert.deepEqual(states, expectedStates.sort())
  assert.deepEqual(
    dead,
    expectedDead.sort((a, b) => cmpDead(a, b)),
  )
})

function cmpRow(a: string, b: string): number {
  const [sa, wa] = JSON.parse(a) as [string, number]
  const [sb, wb] = JSON.parse(b) as [string, number]
  return sa < sb ? -1 : sa > sb ? 1 : wa - wb
}

function cmpDead(a: string, b: string): number {
  const [pa, oa] = JSON.parse(a) as [number, number]
  const [pb, ob] = JSON.parse(b) as [number, number]
  return pa - pb || oa - ob
}
