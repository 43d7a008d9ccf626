/**
 * Expiry of old rows: window rows older than METRICS_RETENTION, longer windows' rows older
 * than ROLLUP_RETENTION, dead letters older than
 * DEAD_LETTER_RETENTION that the relay has published, streams without a record for
 * STATE_RETENTION. In small batches, each its own short transaction with a lock timeout,
 * so expiry never holds a lock a commit or an API read waits on for long; one instance
 * at a time (an advisory lock: the others skip the round).
 */
import type pg from 'pg'
import { dropDaysBefore } from './day-partitions.ts'

export interface Retention {
  /** Milliseconds to keep, or null: keep forever. */
  readonly metrics: number | null
  /** stream_metrics_rollup (undefined: keep forever, as off). */
  readonly rollups?: number | null
  readonly deadLetters: number | null
  readonly state: number | null
}

export interface Expired {
  /** Day partitions of stream_metrics_minute dropped whole. */
  readonly windowDays: number
  /** Day partitions of dead_letters dropped whole (every row of the day relayed). */
  readonly deadLetterDays: number
  /** Window rows deleted one by one (the default partition, and the part of the cutoff's day before it). */
  readonly windows: number
  readonly rollups: number
  /** stream_live_events rows (under METRICS_RETENTION). */
  readonly liveEvents: number
  readonly deadLetters: number
  readonly streams: number
}

/** The advisory lock of the expiry round (any constant of rtsa's own). */
const EXPIRY_LOCK = 0x72747361_0001n

const BATCH = 5000

/** Deletes in batches until a batch comes back short; returns the rows deleted. */
async function deleteInBatches(client: pg.PoolClient, sql: string, params: unknown[]): Promise<number> {
  let total = 0
  for (;;) {
    await client.query('begin')
    try {
      await client.query("set local lock_timeout = '2s'")
      const r = await client.query(sql, [...params, BATCH])
      await client.query('commit')
      total += r.rowCount ?? 0
      if ((r.rowCount ?? 0) < BATCH) return total
    } catch (error) {
      await client.query('rollback').catch(() => {})
      throw error
    }
  }
}

/**
 * One expiry round at `now` (epoch ms). Returns undefined when another instance holds
 * the round (it does the work).
 */
export async function expireOldRows(
  pool: pg.Pool,
  retention: Retention,
  now: number,
): Promise<Expired | undefined> {
  const client = await pool.connect()
  try {
    const { rows } = await client.query<{ got: boolean }>('select pg_try_advisory_lock($1) as got', [
      EXPIRY_LOCK.toString(),
    ])
    if (rows[0]?.got !== true) return undefined
    try {
      const cutoff = (ms: number) => new Date(now - ms).toISOString()
      const windowDays =
        retention.metrics === null ? 0 : await dropDaysBefore(client, now - retention.metrics)
      // One statement per table: it deletes at most $2 rows older than $1.
      const expire = (ms: number | null, sql: string) =>
        ms === null ? Promise.resolve(0) : deleteInBatches(client, sql, [cutoff(ms)])
      const windows = await expire(
        retention.metrics,
        `delete from stream_metrics_minute where ctid = any(array(
           select ctid from stream_metrics_minute where window_start < $1 limit $2))`,
      )
      // A window ends up to a day after it starts: the cutoff is on its end.
      const rollups = await expire(
        retention.rollups ?? null,
        `delete from stream_metrics_rollup where ctid = any(array(
           select ctid from stream_metrics_rollup where window_end < $1 limit $2))`,
      )
      const liveEvents = await expire(
        retention.metrics,
        `delete from stream_live_events where ctid = any(array(
           select ctid from stream_live_events where ts < $1 limit $2))`,
      )
      // A day of dead letters goes whole once the relay has published every row of it.
      const deadLetterDays =
        retention.deadLetters === null
          ? 0
          : await dropDaysBefore(client, now - retention.deadLetters, 'dead_letters', async (name) => {
              const r = await client.query<{ pending: boolean }>(
                `select exists (select 1 from "${name}" d
                   left join dlq_progress p on p.topic = d.topic and p.partition = d.partition
                  where d.id > coalesce(p.last_id, 0)) as pending`,
              )
              return r.rows[0]?.pending === false
            })
      // Only what the relay has published: an unpublished dead letter is the outbox's.
      const deadLetters = await expire(
        retention.deadLetters,
        `delete from dead_letters where id = any(array(
           select d.id from dead_letters d
             join dlq_progress p on p.topic = d.topic and p.partition = d.partition
            where d.created_at < $1 and d.id <= p.last_id
            limit $2))`,
      )
      const streams = await expire(
        retention.state,
        `delete from stream_state where stream_id = any(array(
           select stream_id from stream_state where updated_at < $1 limit $2))`,
      )
      return { windowDays, windows, rollups, liveEvents, deadLetterDays, deadLetters, streams }
    } finally {
      await client.query('select pg_advisory_unlock($1)', [EXPIRY_LOCK.toString()])
    }
  } finally {
    client.release()
  }
}
