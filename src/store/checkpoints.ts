/**
 * The processor's side of the store: taking ownership of a partition (fencing epoch),
 * loading its checkpoint, and committing one batch's results, engine state and next
 * offset in ONE transaction guarded by that epoch. This is rtsa's exactly-once sink.
 */
import type pg from 'pg'
import type {
  DeadLetter,
  LiveChange,
  RollupKey,
  SnapshotChanges,
  SnapshotPiece,
  StreamCounts,
  StreamStateRow,
  WindowKey,
  WindowRow,
} from '../engine/types.ts'
import { COMMIT_CHANNEL, encodeCommitNotice } from './commit-notice.ts'
import { DAY_MS, ensureDayPartitions } from './day-partitions.ts'
import { inTransaction } from './pool.ts'

/** What a new owner of a partition resumes from. */
export interface PartitionCheckpoint {
  readonly topic: string
  readonly partition: number
  /** This owner's fencing epoch: commits with an older epoch are refused. */
  readonly epoch: number
  /** The next offset to read, or null when the partition was never committed. */
  readonly nextOffset: bigint | null
  /** The engine's stored state pieces. */
  readonly pieces: SnapshotPiece[]
  /** Flush commits (no new records, see BatchCommit.flushSeq) made at `nextOffset`. */
  readonly flushSeq: number
}

/** One batch of one partition, as the engine produced it. */
export interface BatchCommit {
  readonly topic: string
  readonly partition: number
  readonly epoch: number
  readonly nextOffset: bigint
  readonly watermark: number | null
  /** The broker's end offset seen at the last fetch (for lag). */
  readonly endOffset: bigint | null
  readonly windows: readonly WindowRow[]
  /** Provisional windows that turned out to have no row. */
  readonly removedWindows: readonly WindowKey[]
  /** Accepted stream_start / stream_stop records (stream_live_events). */
  readonly liveChanges: readonly LiveChange[]
  /** Rows of the longer windows (WINDOWS), and those that have no row. */
  readonly rollups: readonly WindowRow[]
  readonly removedRollups: readonly RollupKey[]
  readonly states: readonly StreamStateRow[]
  /** Counter increments of streams the engine does not hold (existing rows only). */
  readonly counts: readonly StreamCounts[]
  readonly deadLetters: readonly DeadLetter[]
  /** Records of the batch by outcome (`accepted`, `late`, `duplicate`, each rejection reason), added to partition_counts. */
  readonly outcomes: Readonly<Record<string, number>>
  /** Engine state pieces to store and to delete. */
  readonly snapshot: SnapshotChanges
  /**
   * 0 (or absent): a batch of records (`nextOffset` moves on). n >= 1: the n-th flush at
   * the same `nextOffset` (rows held back by PROVISIONAL_INTERVAL, no records): a retry
   * of a flush that went through is recognised by its number, as a batch is by its offset.
   */
  readonly flushSeq?: number
  /**
   * The engine still holds provisional or state rows back after this batch (written by a
   * later batch or flush): a reader of the checkpoint knows the tables are not current yet.
   */
  readonly heldBack?: boolean
}

/**
 * Dead letters go in by groups of at most this many bytes of keys and values: one query
 * parameter of all of a batch's bytes could pass PostgreSQL's 1 GB limit (or Node's
 * string limit while encoding it), and the commit would then fail on every retry.
 */
const DEAD_LETTER_CHUNK_BYTES = 8 * 1024 * 1024

/**
 * Takes ownership of a partition: increments its epoch (so the previous owner's next
 * commit is refused) and reads the checkpoint and engine state in the same transaction.
 */
export async function claimPartition(
  pool: pg.Pool,
  topic: string,
  partition: number,
  owner: string,
): Promise<PartitionCheckpoint> {
  return inTransaction(pool, 'begin', async (client) => {
    const row = (
      await client.query<{ next_offset: number | string | null; epoch: number; flush_seq: number | string }>(
        `insert into partition_checkpoints (topic, partition, next_offset, epoch, owner)
         values ($1, $2, null, 1, $3)
         on conflict (topic, partition) do update
           set epoch = partition_checkpoints.epoch + 1, owner = excluded.owner, updated_at = now()
         returning next_offset, epoch, flush_seq`,
        [topic, partition, owner],
      )
    ).rows[0]!
    const pieces: SnapshotPiece[] = []
    const snap = await client.query<{ part: string; data: Buffer }>(
      'select part, data from engine_snapshots where topic = $1 and partition = $2',
      [topic, partition],
    )
    for (const r of snap.rows) pieces.push({ key: r.part, data: r.data })
    return {
      topic,
      partition,
      epoch: Number(row.epoch),
      nextOffset: row.next_offset === null ? null : BigInt(String(row.next_offset)),
      pieces,
      flushSeq: Number(row.flush_seq),
    }
  })
}

/**
 * The committed state of a partition, read without taking it: its current epoch (to
 * check that the caller still owns it) and its engine pieces, in one snapshot.
 */
export async function loadPartitionState(
  pool: pg.Pool,
  topic: string,
  partition: number,
): Promise<{ epoch: number; pieces: SnapshotPiece[] }> {
  return inTransaction(pool, 'begin isolation level repeatable read read only', async (client) => {
    const cp = await client.query<{ epoch: number }>(
      'select epoch from partition_checkpoints where topic = $1 and partition = $2',
      [topic, partition],
    )
    const snap = await client.query<{ part: string; data: Buffer }>(
      'select part, data from engine_snapshots where topic = $1 and partition = $2',
      [topic, partition],
    )
    return {
      epoch: Number(cp.rows[0]?.epoch ?? 0),
      pieces: snap.rows.map((r) => ({ key: r.part, data: r.data })),
    }
  })
}

/** Gives a partition up (clean shutdown): the owner is cleared, the epoch stays. */
export async function releasePartition(pool: pg.Pool, topic: string, partition: number, epoch: number) {
  await pool.query(
    'update partition_checkpoints set owner = null where topic = $1 and partition = $2 and epoch = $3',
    [topic, partition, epoch],
  )
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

/**
 * Commits one batch. Returns 'fenced' (and writes nothing) when another owner has
 * claimed the partition since `batch.epoch`. The checkpoint row is updated FIRST: its
 * row lock serialises this commit against a concurrent claim.
 *
 * Idempotent: the counters of `stream_state` are added to, so the same batch must never
 * be applied twice. A retry after an unknown outcome (the connection dropped during
 * COMMIT) finds the checkpoint already at `nextOffset` under its own epoch, writes
 * nothing and reports 'committed'.
 */
export async function commitBatch(pool: pg.Pool, batch: BatchCommit): Promise<'committed' | 'fenced'> {
  const flushSeq = batch.flushSeq ?? 0
  return inTransaction(pool, 'begin', async (client) => {
    const fence = await client.query(
      `update partition_checkpoints
          set next_offset = $4, watermark = $5, end_offset = $6, flush_seq = $7, held_back = $8, updated_at = now()
        where topic = $1 and partition = $2 and epoch = $3
          and (next_offset is null or next_offset < $4 or (next_offset = $4 and flush_seq < $7))`,
      [
        batch.topic,
        batch.partition,
        batch.epoch,
        batch.nextOffset.toString(),
        iso(batch.watermark),
        batch.endOffset?.toString() ?? null,
        flushSeq,
        batch.heldBack ?? false,
      ],
    )
    if (fence.rowCount === 0) {
      const now = await client.query<{
        epoch: number
        next_offset: number | string | null
        flush_seq: number | string
      }>(
        'select epoch, next_offset, flush_seq from partition_checkpoints where topic = $1 and partition = $2',
        [batch.topic, batch.partition],
      )
      // Nothing was written: committing the empty transaction ends it.
      const row = now.rows[0]
      const stored = row?.next_offset == null ? null : BigInt(String(row.next_offset))
      const done =
        row !== undefined &&
        Number(row.epoch) === batch.epoch &&
        stored !== null &&
        (stored > batch.nextOffset || (stored === batch.nextOffset && Number(row.flush_seq) >= flushSeq))
      return done ? 'committed' : 'fenced'
    }
    if (batch.windows.length > 0) {
      await ensureDayPartitions(
        pool,
        client,
        batch.windows.map((w) => w.windowStart),
      )
      await upsertWindows(client, batch.partition, batch.windows)
    }
    if (batch.removedWindows.length > 0) await deleteWindows(client, batch.removedWindows)
    if (batch.rollups.length > 0) await upsertWindows(client, batch.partition, batch.rollups, 'rollup')
    if (batch.removedRollups.length > 0) await deleteRollups(client, batch.removedRollups)
    if (batch.liveChanges.length > 0) await insertLiveChanges(client, batch.partition, batch.liveChanges)
    // Counts of streams the engine does not hold first: they count only on rows that
    // existed before this batch's records (a stream counts from its first accepted record).
    if (batch.counts.length > 0) await addStreamCounts(client, batch.partition, batch.counts)
    if (batch.states.length > 0) await upsertStates(client, batch.states)
    // Today's partition (and tomorrow's: the database's clock may be past midnight already).
    if (batch.deadLetters.length > 0)
      await ensureDayPartitions(pool, client, [Date.now(), Date.now() + DAY_MS], 'dead_letters')
    for (const chunk of byteChunks(batch.deadLetters, DEAD_LETTER_CHUNK_BYTES)) {
      await insertDeadLetters(client, batch.topic, chunk)
    }
    await addOutcomes(client, batch.topic, batch.partition, batch.outcomes)
    await writeSnapshot(client, batch.topic, batch.partition, batch.snapshot)
    await client.query('select pg_notify($1, $2)', [COMMIT_CHANNEL, notification(batch)])
    return 'committed'
  })
}

function notification(batch: BatchCommit): string {
  return encodeCommitNotice({
    topic: batch.topic,
    partition: batch.partition,
    nextOffset: batch.nextOffset,
    watermark: batch.watermark,
    streams: [...batch.states.map((s) => s.streamId), ...batch.windows.map((w) => w.streamId)],
    committedAt: new Date(),
  })
}

// Rows go in as parallel arrays through unnest(): one round trip per table per batch.
async function upsertWindows(
  client: pg.PoolClient,
  partition: number,
  rows: readonly WindowRow[],
  table: 'minute' | 'rollup' = 'minute',
) {
  const col = <K extends keyof WindowRow>(k: K) => rows.map((r) => r[k])
  // The rollup table has the same columns, keyed by the window's length too.
  const [name, lengthCol, lengthVal, key] =
    table === 'minute'
      ? ['stream_metrics_minute', '', '', 'window_start, stream_id']
      : [
          'stream_metrics_rollup',
          'window_seconds, ',
          '((we - ws) / 1000)::int, ',
          'window_seconds, stream_id, window_start',
        ]
  await client.query(
    `insert into ${name} (${lengthCol}window_start, window_end, stream_id, active_viewers, peak_viewers,
       unique_viewers, viewer_joins, viewer_leaves, chat_messages, unique_chatters, donations_usd,
       donations_cents, donation_count, events, is_final, partition, updated_at)
     select ${lengthVal}to_timestamp(ws / 1000.0), to_timestamp(we / 1000.0), sid, av, pv, uv, vj, vl, cm, uc, dc / 100.0,
            dc, dn, ev, fin, $15, now()
       from unnest($1::bigint[], $2::bigint[], $3::text[], $4::int[], $5::int[], $6::int[], $7::int[], $8::int[],
                   $9::int[], $10::int[], $11::bigint[], $12::int[], $13::int[], $14::boolean[])
            as t(ws, we, sid, av, pv, uv, vj, vl, cm, uc, dc, dn, ev, fin)
     on conflict (${key}) do update set
       window_end = excluded.window_end, active_viewers = excluded.active_viewers,
       peak_viewers = excluded.peak_viewers, unique_viewers = excluded.unique_viewers,
       viewer_joins = excluded.viewer_joins, viewer_leaves = excluded.viewer_leaves,
       chat_messages = excluded.chat_messages, unique_chatters = excluded.unique_chatters,
       donations_usd = excluded.donations_usd, donations_cents = excluded.donations_cents,
       donation_count = excluded.donation_count, events = excluded.events, is_final = excluded.is_final,
       partition = excluded.partition, updated_at = excluded.updated_at
     where not ${name}.is_final`,
    [
      col('windowStart'),
      col('windowEnd'),
      col('streamId'),
      col('activeViewers'),
      col('peakViewers'),
      col('uniqueViewers'),
      col('viewerJoins'),
      col('viewerLeaves'),
      col('chatMessages'),
      col('uniqueChatters'),
      col('donationsCents'),
      col('donationCount'),
      col('events'),
      col('isFinal'),
      partition,
    ],
  )
}

async function upsertStates(client: pg.PoolClient, rows: readonly StreamStateRow[]) {
  const col = <K extends keyof StreamStateRow>(k: K) => rows.map((r) => r[k])
  await client.query(
    `insert into stream_state (stream_id, active_viewers, live, last_event_ts, accepted_count, late_count,
       duplicate_count, rejected_count, partition, watermark, updated_at)
     select sid, av, live, to_timestamp(lts / 1000.0), ac, lc, dc, rc, p,
            case when wm is null then null else to_timestamp(wm / 1000.0) end, now()
       from unnest($1::text[], $2::int[], $3::boolean[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[],
                   $8::bigint[], $9::int[], $10::bigint[]) as t(sid, av, live, lts, ac, lc, dc, rc, p, wm)
     on conflict (stream_id) do update set
       active_viewers = excluded.active_viewers, live = coalesce(excluded.live, stream_state.live),
       last_event_ts = greatest(stream_state.last_event_ts, excluded.last_event_ts),
       accepted_count = stream_state.accepted_count + excluded.accepted_count,
       late_count = stream_state.late_count + excluded.late_count,
       duplicate_count = stream_state.duplicate_count + excluded.duplicate_count,
       rejected_count = stream_state.rejected_count + excluded.rejected_count,
       partition = excluded.partition, watermark = excluded.watermark, updated_at = excluded.updated_at`,
    [
      col('streamId'),
      col('activeViewers'),
      col('live'),
      col('lastEventTs'),
      col('acceptedAdded'),
      col('lateAdded'),
      col('duplicateAdded'),
      col('rejectedAdded'),
      col('partition'),
      col('watermark'),
    ],
  )
}

/** Only rows this partition owns: a record keyed to a stream but written to another partition counts there only. */
async function addStreamCounts(client: pg.PoolClient, partition: number, rows: readonly StreamCounts[]) {
  await client.query(
    `update stream_state s
        set late_count = s.late_count + c.l, duplicate_count = s.duplicate_count + c.d,
            rejected_count = s.rejected_count + c.r,
            watermark = case when c.wm is null then null else to_timestamp(c.wm / 1000.0) end,
            updated_at = now()
       from unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) as c(sid, l, d, r, wm)
      where s.stream_id = c.sid and s.partition = $6`,
    [
      rows.map((r) => r.streamId),
      rows.map((r) => r.late),
      rows.map((r) => r.duplicate),
      rows.map((r) => r.rejected),
      rows.map((r) => r.watermark),
      partition,
    ],
  )
}

async function addOutcomes(
  client: pg.PoolClient,
  topic: string,
  partition: number,
  outcomes: Readonly<Record<string, number>>,
) {
  const entries = Object.entries(outcomes).filter(([, n]) => n > 0)
  if (entries.length === 0) return
  await client.query(
    `insert into partition_counts (topic, partition, outcome, records)
     select $1, $2, o, n from unnest($3::text[], $4::bigint[]) as t(o, n)
     on conflict (topic, partition, outcome) do update
       set records = partition_counts.records + excluded.records, updated_at = now()`,
    [topic, partition, entries.map(([o]) => o), entries.map(([, n]) => n)],
  )
}

/** Splits dead letters into runs of at most `limit` bytes of key and value (a larger letter alone). */
function* byteChunks(rows: readonly DeadLetter[], limit: number): Generator<DeadLetter[]> {
  let chunk: DeadLetter[] = []
  let bytes = 0
  for (const r of rows) {
    const size = r.value.length + (r.key?.length ?? 0) + r.detail.length
    if (chunk.length > 0 && bytes + size > limit) {
      yield chunk
      chunk = []
      bytes = 0
    }
    chunk.push(r)
    bytes += size
  }
  if (chunk.length > 0) yield chunk
}

async function insertDeadLetters(client: pg.PoolClient, topic: string, rows: readonly DeadLetter[]) {
  await client.query(
    `insert into dead_letters (topic, partition, "offset", key, value, reason, detail, stream_id, event_ts)
     select $1, p, o, k, v, r, d, sid, case when ts is null then null else to_timestamp(ts / 1000.0) end
       from unnest($2::int[], $3::bigint[], $4::bytea[], $5::bytea[], $6::text[], $7::text[], $8::text[], $9::bigint[])
            as t(p, o, k, v, r, d, sid, ts)
      -- A record's dead letter once (a batch redone after a crash finds it there).
      where not exists (select 1 from dead_letters x where x.topic = $1 and x.partition = t.p and x."offset" = t.o)`,
    [
      topic,
      rows.map((r) => r.partition),
      rows.map((r) => r.offset.toString()),
      rows.map((r) => r.key),
      rows.map((r) => r.value),
      rows.map((r) => r.reason),
      rows.map((r) => r.detail),
      rows.map((r) => r.streamId),
      rows.map((r) => r.ts),
    ],
  )
}

async function deleteWindows(client: pg.PoolClient, keys: readonly WindowKey[]) {
  await client.query(
    `delete from stream_metrics_minute m
      using unnest($1::bigint[], $2::text[]) as k(ws, sid)
      where m.window_start = to_timestamp(k.ws / 1000.0) and m.stream_id = k.sid and not m.is_final`,
    [keys.map((k) => k.windowStart), keys.map((k) => k.streamId)],
  )
}

async function insertLiveChanges(client: pg.PoolClient, partition: number, changes: readonly LiveChange[]) {
  // Keyed by the record: a batch redone after a crash or a rebalance inserts nothing twice.
  await client.query(
    `insert into stream_live_events (stream_id, ts, event_id, live, partition)
     select sid, to_timestamp(ts / 1000.0), eid, live, $5
       from unnest($1::text[], $2::bigint[], $3::text[], $4::boolean[]) as t(sid, ts, eid, live)
     on conflict do nothing`,
    [
      changes.map((c) => c.streamId),
      changes.map((c) => c.ts),
      changes.map((c) => c.eventId),
      changes.map((c) => c.live),
      partition,
    ],
  )
}

async function deleteRollups(client: pg.PoolClient, keys: readonly RollupKey[]) {
  await client.query(
    `delete from stream_metrics_rollup m
      using unnest($1::int[], $2::bigint[], $3::text[]) as k(secs, ws, sid)
      where m.window_seconds = k.secs and m.window_start = to_timestamp(k.ws / 1000.0)
        and m.stream_id = k.sid and not m.is_final`,
    [keys.map((k) => k.windowMs / 1000), keys.map((k) => k.windowStart), keys.map((k) => k.streamId)],
  )
}

async function writeSnapshot(
  client: pg.PoolClient,
  topic: string,
  partition: number,
  changes: SnapshotChanges,
) {
  if (changes.put.length > 0) {
    await client.query(
      `insert into engine_snapshots (topic, partition, part, data, updated_at)
       select $1, $2, k, d, now() from unnest($3::text[], $4::bytea[]) as t(k, d)
       on conflict (topic, partition, part) do update set data = excluded.data, updated_at = excluded.updated_at`,
      [topic, partition, changes.put.map((p) => p.key), changes.put.map((p) => p.data)],
    )
  }
  if (changes.delete.length > 0) {
    await client.query(
      'delete from engine_snapshots where topic = $1 and partition = $2 and part = any($3::text[])',
      [topic, partition, changes.delete],
    )
  }
}

/** Deletes a topic's checkpoints and engine state (reset). Metrics are wiped separately. */
export async function forgetTopic(pool: pg.Pool, topic: string): Promise<void> {
  await pool.query('delete from partition_checkpoints where topic = $1', [topic])
  await pool.query('delete from engine_snapshots where topic = $1', [topic])
}
