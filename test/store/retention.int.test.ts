/**
 * Retention on a simulated week with a one-day retention: window rows by their window's
 * start (a day's partition dropped whole; rows of the default partition one by one), dead letters by when they were written and only once relayed, streams by their
 * last write; `off` keeps everything; a second round finds nothing; concurrent rounds
 * (two processors) delete each row once.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type pg from 'pg'
import pino from 'pino'
import { createProcessorMetrics } from '../../src/processor/metrics.ts'
import { startRetention } from '../../src/processor/retention.ts'
import { dayPartitions, ensureDayPartitions, partitionNameOf } from '../../src/store/day-partitions.ts'
import { migrate } from '../../src/store/migrations.ts'
import { createPool } from '../../src/store/pool.ts'
import { expireOldRows } from '../../src/store/retention.ts'
import { defer, freshDatabase } from '../helpers/services.ts'
import { waitFor } from '../processor/fixtures.ts'

const DAY = 86_400_000
const START = Date.UTC(2026, 10, 1)
const NOW = START + 7 * DAY
const ONE_DAY = { metrics: DAY, rollups: DAY, deadLetters: DAY, state: DAY }

async function seedWeek(pool: pg.Pool): Promise<void> {
  // Hourly windows of two streams over 7 days: 336 rows.
  await pool.query(
    `insert into stream_metrics_minute
       (window_start, window_end, stream_id, active_viewers, peak_viewers, unique_viewers, viewer_joins,
        viewer_leaves, chat_messages, unique_chatters, donations_usd, donations_cents, donation_count,
        events, is_final, partition)
     select t, t + interval '1 minute', s, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, true, 0
       from generate_series($1::timestamptz, $2::timestamptz - interval '1 hour', interval '1 hour') t,
            unnest(array['s_a', 's_b']) s`,
    [new Date(START).toISOString(), new Date(NOW).toISOString()],
  )
  // An hourly and a daily row of one stream for each day.
  await pool.query(
    `insert into stream_metrics_rollup (window_seconds, window_start, window_end, stream_id, active_viewers,
        peak_viewers, unique_viewers, viewer_joins, viewer_leaves, chat_messages, unique_chatters, donations_usd,
        donations_cents, donation_count, events, is_final, partition)
     select secs, t, t + make_interval(secs => secs), 's_a', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, true, 0
       from generate_series($1::timestamptz, $2::timestamptz - interval '1 day', interval '1 day') t,
            unnest(array[3600, 86400]) secs`,
    [new Date(START).toISOString(), new Date(NOW).toISOString()],
  )
  // A stream start at noon each day.
  await pool.query(
    `insert into stream_live_events (stream_id, ts, event_id, live, partition)
     select 's_a', t + interval '12 hours', 'e' || extract(day from t), true, 0
       from generate_series($1::timestamptz, $2::timestamptz - interval '1 day', interval '1 day') t`,
    [new Date(START).toISOString(), new Date(NOW).toISOString()],
  )
  // A dead letter a day; the relay has published the first four.
  for (let day = 0; day < 7; day++) {
    await pool.query(
      `insert into dead_letters (topic, partition, "offset", value, reason, detail, created_at)
       values ('t', 0, $1, '\\x00', 'not_json', 'd', $2)`,
      [day, new Date(START + day * DAY + 3_600_000).toISOString()],
    )
  }
  const { rows } = await pool.query<{ id: string }>('select id from dead_letters order by id')
  await pool.query(`insert into dlq_progress (topic, partition, last_id) values ('t', 0, $1)`, [rows[3]!.id])
  // Streams last written 10 days, 3 days and 2 hours before the end.
  for (const [id, ago] of [
    ['old', 10 * DAY],
    ['idle', 3 * DAY],
    ['busy', 2 * 3_600_000],
  ] as const) {
    await pool.query(
      `insert into stream_state (stream_id, active_viewers, partition, updated_at) values ($1, 0, 0, $2)`,
      [id, new Date(NOW - ago).toISOString()],
    )
  }
}

async function counts(pool: pg.Pool) {
  const one = async (sql: string) => Number((await pool.query<{ n: string }>(sql)).rows[0]!.n)
  return {
    windows: await one('select count(*) as n from stream_metrics_minute'),
    rollups: await one('select count(*) as n from stream_metrics_rollup'),
    oldestWindow: (await pool.query<{ t: Date }>('select min(window_start) as t from stream_metrics_minute'))
      .rows[0]!.t,
    deadLetters: (
      await pool.query<{ offset: string }>('select "offset" from dead_letters order by id')
    ).rows.map((r) => Number(r.offset)),
    streams: (
      await pool.query<{ stream_id: string }>('select stream_id from stream_state order by 1')
    ).rows.map((r) => r.stream_id),
  }
}

/** A migrated database with a week of rows; `partitioned`: the days' partitions made first (as commits make them). */
async function weekOf(t: Parameters<typeof defer>[0], partitioned = true): Promise<pg.Pool> {
  const pool = createPool(await freshDatabase(t), { max: 4 })
  defer(t, () => pool.end())
  await migrate(pool)
  if (partitioned) {
    const client = await pool.connect()
    try {
      await client.query('begin')
      const days = Array.from({ length: 7 }, (_, d) => START + d * DAY)
      await ensureDayPartitions(pool, client, days)
      await ensureDayPartitions(pool, client, days, 'dead_letters')
      await client.query('commit')
    } finally {
      client.release()
    }
  }
  await seedWeek(pool)
  return pool
}

test('a week, one day kept: six day partitions dropped whole, relayed days of dead letters go whole, idle streams go', async (t) => {
  const pool = await weekOf(t)
  const where = await pool.query<{ p: string; n: string }>(
    'select tableoid::regclass::text as p, count(*) as n from stream_metrics_minute group by 1 order by 1',
  )
  assert.equal(where.rows.length, 7, 'each day in its own partition')
  assert.equal(where.rows[0]!.p, partitionNameOf(START / DAY))
  const expired = await expireOldRows(pool, ONE_DAY, NOW)
  // Rollups ending before the cutoff go: six hourly rows and five daily ones (the sixth ends at it).
  // Dead letters: days 0-3 are relayed, so their partitions go whole; days 4 and 5 wait for the relay.
  assert.deepEqual(expired, {
    windowDays: 6,
    windows: 0,
    rollups: 11,
    liveEvents: 6,
    deadLetterDays: 4,
    deadLetters: 0,
    streams: 2,
  })
  assert.deepEqual([...(await dayPartitions(pool)).keys()], [START / DAY + 6])
  assert.deepEqual([...(await dayPartitions(pool, 'dead_letters')).keys()].sort(), [
    START / DAY + 4,
    START / DAY + 5,
    START / DAY + 6,
  ])
  const after = await counts(pool)
  assert.equal(after.windows, 48)
  assert.equal(after.rollups, 3)
  assert.equal(after.oldestWindow.getTime(), NOW - DAY)
  // Days 4 and 5 are old but not yet published: the outbox keeps them. Day 6 is young.
  assert.deepEqual(after.deadLetters, [4, 5, 6])
  assert.deepEqual(after.streams, ['busy'])
  assert.deepEqual(await expireOldRows(pool, ONE_DAY, NOW), {
    windowDays: 0,
    windows: 0,
    rollups: 0,
    liveEvents: 0,
    deadLetterDays: 0,
    deadLetters: 0,
    streams: 0,
  })
})

test('rows in the default partition (days without one) are expired row by row', async (t) => {
  const pool = await weekOf(t, false)
  const expired = await expireOldRows(pool, ONE_DAY, NOW)
  assert.deepEqual(expired, {
    windowDays: 0,
    windows: 288,
    rollups: 11,
    liveEvents: 6,
    deadLetterDays: 0,
    deadLetters: 4,
    streams: 2,
  })
  assert.equal((await counts(pool)).windows, 48)
})

test('off keeps everything', async (t) => {
  const pool = await weekOf(t)
  const before = await counts(pool)
  assert.deepEqual(await expireOldRows(pool, { metrics: null, deadLetters: null, state: null }, NOW), {
    windowDays: 0,
    windows: 0,
    rollups: 0,
    liveEvents: 0,
    deadLetterDays: 0,
    deadLetters: 0,
    streams: 0,
  })
  assert.deepEqual(await counts(pool), before)
})

test('two processors expiring at once delete each row once (one round at a time)', async (t) => {
  const pool = await weekOf(t)
  const rounds = await Promise.all([expireOldRows(pool, ONE_DAY, NOW), expireOldRows(pool, ONE_DAY, NOW)])
  const done = rounds.filter((r) => r !== undefined)
  assert.ok(done.length >= 1)
  const total = done.reduce(
    (n, r) =>
      n + r!.windowDays + r!.rollups + r!.liveEvents + r!.deadLetterDays + r!.deadLetters + r!.streams,
    0,
  )
  assert.equal(total, 6 + 11 + 6 + 4 + 2)
  assert.equal((await counts(pool)).windows, 48)
})

test("the processor's loop expires every RETENTION_INTERVAL and counts what it deleted", async (t) => {
  const pool = await weekOf(t)
  const metrics = createProcessorMetrics()
  const loop = startRetention({
    pool,
    retention: ONE_DAY,
    everyMs: 50,
    log: pino({ level: 'silent' }),
    metrics,
    now: () => NOW,
  })
  defer(t, () => loop.stop())
  await waitFor('the loop to expire the week', async () => (await counts(pool)).windows === 48, 10_000)
  await loop.stop()
  const text = await metrics.registry.metrics()
  assert.match(text, /^rtsa_processor_expired_day_partitions_total\{table="stream_metrics_minute"\} 6$/m)
  assert.match(text, /^rtsa_processor_expired_day_partitions_total\{table="dead_letters"\} 4$/m)
  assert.match(text, /^rtsa_processor_expired_rows_total\{table="dead_letters"\} 0$/m)
  assert.match(text, /^rtsa_processor_expired_rows_total\{table="stream_state"\} 2$/m)
})
