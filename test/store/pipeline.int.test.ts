/**
 * The read model of the pipeline's progress (src/store/pipeline.ts): one definition of
 * lag, unknown (null) before a partition's first commit; and migration 4, which turns the
 * old "never committed" -1 into NULL.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { claimPartition, commitBatch } from '../../src/store/checkpoints.ts'
import { MIGRATIONS, migrate } from '../../src/store/migrations.ts'
import { partitionProgress, pipelineFigures } from '../../src/store/pipeline.ts'
import { createPool } from '../../src/store/pool.ts'
import { defer, freshDatabase } from '../helpers/services.ts'

const batch = (partition: number, epoch: number, nextOffset: bigint, endOffset: bigint) => ({
  topic: 't',
  partition,
  epoch,
  nextOffset,
  watermark: null,
  endOffset,
  windows: [],
  removedWindows: [],
  rollups: [],
  removedRollups: [],
  liveChanges: [],
  states: [],
  counts: [],
  deadLetters: [],
  outcomes: {},
  snapshot: { put: [], delete: [] },
})

test('lag: null before a partition commits, end - next after, summed over the partitions that know it', async (t) => {
  const pool = createPool(await freshDatabase(t))
  defer(t, () => pool.end())
  await migrate(pool)
  const a = await claimPartition(pool, 't', 0, 'me')
  await claimPartition(pool, 't', 1, 'me')
  await claimPartition(pool, 'other', 0, 'me')
  assert.equal(a.nextOffset, null)
  let f = await pipelineFigures(pool, 't')
  assert.deepEqual([f.partitions, f.owned, f.lag, f.lastCommitAt === null], [2, 2, null, false])
  assert.deepEqual(
    (await partitionProgress(pool, { topic: 't' })).map((p) => [
      p.partition,
      p.nextOffset,
      p.endOffset,
      p.lag,
    ]),
    [
      [0, null, null, null],
      [1, null, null, null],
    ],
  )
  assert.equal(await commitBatch(pool, batch(0, a.epoch, 10n, 25n)), 'committed')
  f = await pipelineFigures(pool, 't')
  assert.equal(f.lag, 15)
  assert.deepEqual(
    (await partitionProgress(pool)).map((p) => [p.topic, p.partition, p.nextOffset, p.lag]),
    [
      ['other', 0, null, null],
      ['t', 0, 10, 15],
      ['t', 1, null, null],
    ],
  )
  // A commit past the end seen (the end offset is refreshed only now and then) is lag 0, not negative.
  assert.equal(await commitBatch(pool, batch(0, a.epoch, 30n, 25n)), 'committed')
  assert.equal((await pipelineFigures(pool)).lag, 0)
})

test('migrations 4, 5 and 9: a checkpoint of -1 becomes NULL; minute rows and dead letters move to day partitions', async (t) => {
  const pool = createPool(await freshDatabase(t))
  defer(t, () => pool.end())
  await pool.query(
    'create table schema_migrations (version integer primary key, name text not null, applied_at timestamptz not null default now())',
  )
  for (const m of MIGRATIONS.filter((x) => x.version < 4)) {
    await pool.query(m.sql)
    await pool.query('insert into schema_migrations (version, name) values ($1, $2)', [m.version, m.name])
  }
  await pool.query(
    `insert into partition_checkpoints (topic, partition, next_offset, epoch, owner) values ('t', 0, -1, 1, 'x'), ('t', 1, 7, 1, 'x')`,
  )
  // Rows of two days and a read-only role's grant on the table before partitioning.
  await pool.query(
    `insert into stream_metrics_minute (window_start, window_end, stream_id, active_viewers, peak_viewers,
       unique_viewers, viewer_joins, viewer_leaves, chat_messages, unique_chatters, donations_usd,
       donations_cents, donation_count, events, is_final, partition)
     values ('2026-11-01T10:00:00Z', '2026-11-01T10:01:00Z', 's', 1, 1, 1, 0, 0, 3, 1, 0, 0, 0, 4, true, 0),
            ('2026-11-02T10:00:00Z', '2026-11-02T10:01:00Z', 's', 2, 2, 2, 0, 0, 5, 1, 0, 0, 0, 6, false, 0)`,
  )
  await pool.query('grant select on stream_metrics_minute to public')
  // Dead letters of a day, before their table is partitioned (migration 9).
  await pool.query(
    `insert into dead_letters (topic, partition, "offset", value, reason, detail, created_at)
     values ('t', 0, 5, '\\x01', 'not_json', 'd', '2026-11-03T08:00:00Z'),
            ('t', 0, 6, '\\x02', 'late', 'd', '2026-11-03T09:00:00Z')`,
  )
  await pool.query('grant select on dead_letters to public')
  assert.deepEqual(await migrate(pool), [4, 5, 6, 7, 8, 9])
  const letters = await pool.query<{ p: string; id: string }>(
    'select tableoid::regclass::text as p, id from dead_letters order by id',
  )
  assert.deepEqual(
    letters.rows.map((r) => r.p),
    ['dead_letters_p20261103', 'dead_letters_p20261103'],
  )
  const next = await pool.query<{ id: string }>(
    `insert into dead_letters (topic, partition, "offset", value, reason, detail)
     values ('t', 0, 7, '\\x03', 'late', 'd') returning id`,
  )
  assert.ok(Number(next.rows[0]!.id) > Number(letters.rows[1]!.id), 'ids go on from the same sequence')
  const dlGrant = await pool.query(
    "select 1 from information_schema.role_table_grants where table_name = 'dead_letters' and grantee = 'PUBLIC'",
  )
  assert.equal(dlGrant.rowCount, 1, 'the grant on dead_letters survives its conversion')
  const moved = await pool.query<{ p: string; chat: number }>(
    'select tableoid::regclass::text as p, chat_messages as chat from stream_metrics_minute order by window_start',
  )
  assert.deepEqual(moved.rows, [
    { p: 'stream_metrics_minute_p20261101', chat: 3 },
    { p: 'stream_metrics_minute_p20261102', chat: 5 },
  ])
  const grant = await pool.query(
    "select 1 from information_schema.role_table_grants where table_name = 'stream_metrics_minute' and grantee = 'PUBLIC'",
  )
  assert.equal(grant.rowCount, 1, 'the grant survives the conversion')
  const rows = await pool.query('select partition, next_offset from partition_checkpoints order by partition')
  assert.deepEqual(rows.rows, [
    { partition: 0, next_offset: null },
    { partition: 1, next_offset: 7 },
  ])
  const resumed = await claimPartition(pool, 't', 0, 'me')
  assert.equal(resumed.nextOffset, null)
})
