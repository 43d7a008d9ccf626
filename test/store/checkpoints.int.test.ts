import assert from 'node:assert/strict'
import { test } from 'node:test'
import { claimPartition, commitBatch } from '../../src/store/checkpoints.ts'
import { MIGRATIONS, migrate } from '../../src/store/migrations.ts'
import { createPool } from '../../src/store/pool.ts'
import { defer, freshDatabase } from '../helpers/services.ts'

const window = {
  streamId: 's1',
  windowStart: Date.UTC(2026, 0, 1, 0, 0),
  windowEnd: Date.UTC(2026, 0, 1, 0, 1),
  activeViewers: 3,
  peakViewers: 4,
  uniqueViewers: 5,
  viewerJoins: 2,
  viewerLeaves: 1,
  chatMessages: 7,
  uniqueChatters: 2,
  donationsCents: 1234,
  donationCount: 2,
  events: 20,
  isFinal: false,
}

function batch(epoch: number, nextOffset: bigint, overrides: Partial<typeof window> = {}) {
  return {
    topic: 't',
    partition: 0,
    epoch,
    nextOffset,
    watermark: Date.UTC(2026, 0, 1),
    endOffset: 100n,
    windows: [{ ...window, ...overrides }],
    removedWindows: [],
    rollups: [],
    removedRollups: [],
    liveChanges: [],
    states: [
      {
        streamId: 's1',
        partition: 0,
        activeViewers: 3,
        live: epoch === 1 ? true : null,
        lastEventTs: Date.UTC(2026, 0, 1),
        acceptedAdded: 5,
        lateAdded: 1,
        duplicateAdded: 0,
        rejectedAdded: 2,
        watermark: Date.UTC(2026, 0, 1),
      },
    ],
    counts: [{ streamId: 's1', late: 10, duplicate: 20, rejected: 30, watermark: null }],
    outcomes: { accepted: 5, not_json: 1 },
    deadLetters: [
      {
        partition: 0,
        offset: nextOffset - 1n,
        key: Buffer.from('s1'),
        value: Buffer.from('{bad'),
        reason: 'not_json' as const,
        detail: 'x',
        streamId: 's1',
        ts: null,
      },
    ],
    snapshot: { put: [{ key: 'p', data: Buffer.from([epoch]) }], delete: [] },
  }
}

test('schema migrations are idempotent and safe to run concurrently', async (t) => {
  const pool = createPool(await freshDatabase(t))
  defer(t, () => pool.end())
  const runs = await Promise.all([migrate(pool), migrate(pool), migrate(pool)])
  assert.deepEqual(
    runs.flat().sort((a, b) => a - b),
    MIGRATIONS.map((m) => m.version),
    'every migration applied exactly once',
  )
  assert.deepEqual(await migrate(pool), [])
})

test('a claim fences the previous owner: its commit writes nothing', async (t) => {
  const pool = createPool(await freshDatabase(t))
  defer(t, () => pool.end())
  await migrate(pool)
  const a = await claimPartition(pool, 't', 0, 'a')
  assert.equal(a.nextOffset, null)
  assert.equal(await commitBatch(pool, batch(a.epoch, 10n)), 'committed')
  const b = await claimPartition(pool, 't', 0, 'b')
  assert.equal(b.epoch, a.epoch + 1)
  assert.equal(b.nextOffset, 10n)
  assert.deepEqual(
    b.pieces.map((p) => [p.key, [...p.data]]),
    [['p', [a.epoch]]],
  )
  assert.equal(await commitBatch(pool, batch(a.epoch, 20n, { activeViewers: 99 })), 'fenced')
  const rows = await pool.query(
    'select active_viewers, donations_usd, donations_cents from stream_metrics_minute',
  )
  assert.deepEqual(rows.rows, [{ active_viewers: 3, donations_usd: 12.34, donations_cents: 1234 }])
  const cp = await pool.query('select next_offset, epoch, owner from partition_checkpoints')
  assert.deepEqual(cp.rows, [{ next_offset: 10, epoch: b.epoch, owner: 'b' }])
  assert.equal((await pool.query('select count(*)::int as n from dead_letters')).rows[0].n, 1)
})

test('retrying the same commit is idempotent; final rows never change', async (t) => {
  const pool = createPool(await freshDatabase(t))
  defer(t, () => pool.end())
  await migrate(pool)
  const a = await claimPartition(pool, 't', 0, 'a')
  const final = batch(a.epoch, 10n, { isFinal: true })
  assert.equal(await commitBatch(pool, final), 'committed')
  assert.equal(await commitBatch(pool, final), 'committed')
  assert.equal((await pool.query('select count(*)::int as n from dead_letters')).rows[0].n, 1)
  assert.equal(
    await commitBatch(pool, batch(a.epoch, 11n, { activeViewers: 42, isFinal: true })),
    'committed',
  )
  const rows = await pool.query('select active_viewers, is_final from stream_metrics_minute')
  assert.deepEqual(rows.rows, [{ active_viewers: 3, is_final: true }])
  // The counters are added to: the retried batch counted once. The loose counts of the first
  // batch found no row (they run before its state row), those of the second one did.
  const state = await pool.query(
    'select live, accepted_count, late_count, duplicate_count, rejected_count from stream_state',
  )
  assert.deepEqual(state.rows, [
    { live: true, accepted_count: 10, late_count: 12, duplicate_count: 20, rejected_count: 34 },
  ])
  const outcomes = await pool.query('select outcome, records from partition_counts order by outcome')
  assert.deepEqual(outcomes.rows, [
    { outcome: 'accepted', records: 10 },
    { outcome: 'not_json', records: 2 },
  ])
})
