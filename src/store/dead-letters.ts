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
  readonly value: Buffer
  readonly reason: string
  readonly detail: string
  readonly streamId: string | null
}

/** Dead letters of these partitions not yet relayed, oldest first. Ids grow with commit order within a partition. */
export async function pendingDeadLetters(
  pool: pg.Pool,
  topic: string,
  partitions: readonly number[],
  limit: number,
): Promise<PendingDeadLetter[]> {
  if (partitions.length === 0) return []
  const r = await pool.query<{
    id: number
    partition: number
    offset: number
    key: Buffer | null
    value: Buffer
    reason: string
    detail: string
    stream_id: string | null
  }>(
    `select d.id, d.partition, d."offset", d.key, d.value, d.reason, d.detail, d.stream_id
       from dead_letters d
       left join dlq_progress p on p.topic = d.topic and p.partition = d.partition
      where d.topic = $1 and d.partition = any($2::int[]) and d.id > coalesce(p.last_id, 0)
      order by d.id
      limit $3`,
    [topic, partitions, limit],
  )
  return r.rows.map((x) => ({ ...x, streamId: x.stream_id }))
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
