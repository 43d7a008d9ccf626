/**
 * What each side of the spark benchmark wrote to its database, so a run that wrote nothing
 * fails and the two outputs can be compared (same topic, so the same events and chat).
 */
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import type pg from 'pg'

export interface Totals {
  readonly rows: number
  readonly events: number
  readonly chat: number
  readonly donations: number
  readonly joins: number
  /** Spark: micro-batches applied (spark_metrics_minute_batches); rtsa: 0. */
  readonly batches: number
}

const SQL = {
  rtsa: `select count(*)::bigint as rows, coalesce(sum(events), 0)::bigint as events,
      coalesce(sum(chat_messages), 0)::bigint as chat, coalesce(sum(donation_count), 0)::bigint as donations,
      coalesce(sum(viewer_joins), 0)::bigint as joins, 0::bigint as batches
    from stream_metrics_minute`,
  spark: `select count(*)::bigint as rows, coalesce(sum(events), 0)::bigint as events,
      coalesce(sum(chat_messages), 0)::bigint as chat, coalesce(sum(donation_count), 0)::bigint as donations,
      coalesce(sum(viewer_joins), 0)::bigint as joins,
      (select count(*) from spark_metrics_minute_batches where rows > 0)::bigint as batches
    from spark_metrics_minute`,
} as const

export async function totalsOf(pool: pg.Pool, side: keyof typeof SQL): Promise<Totals> {
  const row = (await pool.query<Record<keyof Totals, string>>(SQL[side])).rows[0]
  if (row === undefined) throw new Error(`no totals from the ${side} database`)
  return {
    rows: Number(row.rows),
    events: Number(row.events),
    chat: Number(row.chat),
    donations: Number(row.donations),
    joins: Number(row.joins),
    batches: Number(row.batches),
  }
}

/**
 * Waits until no partition of `topic` holds window rows back (PROVISIONAL_INTERVAL), so the
 * tables are what every batch writing would have left; returns performance.now() then.
 */
export async function waitNothingHeldBack(pool: pg.Pool, topic: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const { rows } = await pool.query<{ held: boolean | null }>(
      'select bool_or(held_back) as held from partition_checkpoints where topic = $1',
      [topic],
    )
    if (rows[0]?.held !== true) return performance.now()
    await sleep(50)
  }
  throw new Error(`rows of ${topic} still held back after ${timeoutMs} ms`)
}
