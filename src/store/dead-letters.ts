/**
 * The dead_letters table is the outbox of the DLQ topic: rows are written exactly once
 * with their batch; a relay publishes them afterwards and records how far it got per
 * partition, so every dead letter reaches Kafka at least once, even across crashes.
 */
import type pg from 'pg'

export interface PendingDeadLetter {
  readonly id: number
  readonly partition: number
  readonly offset: number
  readonly key: Buffer | null
  /** The record's value, at most `valueLimit` bytes of it (see `valueSize`). */
  readonly value: Buffer
  /** The whole value's size in bytes. */
  readonly valueSize: number
  readonly reason: string
  readonly detail: string
  readonly streamId: string | null
}

/**
 * Dead letters of these partitions not yet relayed, oldest first (ids grow with commit
 * order within a partition): at most `limit` rows and about `maxBytes` of keys and
 * values (always the first one, however large), each value cut to `valueLimit` bytes.
 * Sizes are read first, so a round never loads more than it sends.
 */
export async function pendingDeadLetters(
  pool: pg.Pool,
  topic: string,
  partitions: readonly number[],
  limits: { rows: number; maxBytes: number; valueLimit: number },
): Promise<PendingDeadLetter[]> {
  if (partitions.length === 0) return []
  const sizes = await pool.query<{ id: number; size: number }>(
    `select d.id, octet_length(d.value) + coalesce(octet_length(d.key), 0) as size
       from dead_letters d
       left join dlq_progress p on p.topic = d.topic and p.partition = d.partition
      where d.topic = $1 and d.partition = any($2::int[]) and d.id > coalesce(p.last_id, 0)
      order by d.id
      limit $3`,
    [topic, partitions, limits.rows],
  )
  const ids: number[] = []
  let bytes = 0
  for (const r of sizes.rows) {
    const size = Math.min(Number(r.size), limits.valueLimit)
    if (ids.length > 0 && bytes + size > limits.maxBytes) break
    ids.push(Number(r.id))
    bytes += size
  }
  if (ids.length === 0) return []
  const r = await pool.query<{
    id: number
    partition: number
    offset: number
    key: Buffer | null
    value: Buffer
    value_size: number
    reason: string
    detail: string
    stream_id: string | null
  }>(
    `select id, partition, "offset", key, substring(value from 1 for $2) as value,
            octet_length(value) as value_size, reason, detail, stream_id
       from dead_letters where id = any($1::bigint[]) order by id`,
    [ids, limits.valueLimit],
  )
  return r.rows.map((x) => ({
    id: Number(x.id),
    partition: x.partition,
    offset: Number(x.offset),
    key: x.key,
    value: x.value,
    valueSize: Number(x.value_size),
    reason: x.reason,
    detail: x.detail,
    streamId: x.stream_id,
  }))
}

/** Records that every dead letter of `partition` up to `lastId` was relayed. */
export async function markRelayed(
  pool: pg.Pool,
  topic: string,
  partition: number,
  lastId: number,
): Promise<void> {
  await pool.query(
    `insert into dlq_progress (topic, partition, last_id) values ($1, $2, $3)
     on conflict (topic, partition) do update
       set last_id = greatest(dlq_progress.last_id, excluded.last_id), updated_at = now()`,
    [topic, partition, lastId],
  )
}
