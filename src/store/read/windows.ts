/**
 * Read model of `stream_metrics_minute` for the API: the newest windows per stream, a
 * time range, the sortable listing, per-minute totals. Constant SQL with bind
 * parameters; the only variable parts are column names picked from whitelists by key.
 * Times are passed in as `now` so that one request uses one clock.
 */
import type pg from 'pg'
import { readRows } from '../db-errors.ts'
import { isoText } from './sql.ts'

/**
 * A row of `stream_metrics_minute` as `pg` returns it: bigints as numbers (pool.ts),
 * timestamps as ISO-8601 UTC text formatted by the database (see `isoText`).
 */
export interface WindowDbRow {
  window_start: string
  window_end: string
  stream_id: string
  active_viewers: number
  peak_viewers: number
  unique_viewers: number
  viewer_joins: number
  viewer_leaves: number
  chat_messages: number
  unique_chatters: number
  donations_cents: number
  donation_count: number
  events: number
  is_final: boolean
  partition: number
  updated_at: string
}

// Sort on the table's own columns (qualified), not these aliases (an unqualified ORDER BY
// name means the output column: for the times, the text).
export const WINDOW_COLUMNS = `${isoText('window_start', 'window_start')}, ${isoText('window_end', 'window_end')},
  stream_id, active_viewers, peak_viewers, unique_viewers,
  viewer_joins, viewer_leaves, chat_messages, unique_chatters, donations_cents,
  donation_count, events, is_final, partition, ${isoText('updated_at', 'updated_at')}`

/** Columns `/metrics` may sort by (API name -> SQL column). */
export const ORDER_COLUMNS = {
  window_start: 'window_start',
  window_end: 'window_end',
  stream_id: 'stream_id',
  active_viewers: 'active_viewers',
  peak_viewers: 'peak_viewers',
  unique_viewers: 'unique_viewers',
  viewer_joins: 'viewer_joins',
  viewer_leaves: 'viewer_leaves',
  chat_messages: 'chat_messages',
  unique_chatters: 'unique_chatters',
  donations_usd: 'donations_cents',
  donation_count: 'donation_count',
  events: 'events',
  updated_at: 'updated_at',
} as const
export type OrderColumn = keyof typeof ORDER_COLUMNS

// The stream ids of stream_metrics_minute by a skip scan over the (stream_id,
// window_start desc) index: one index probe per stream instead of reading every row.
const ALL_STREAM_IDS = `with recursive ids as (
    (select stream_id from stream_metrics_minute order by stream_id limit 1)
    union all
    select (select m.stream_id from stream_metrics_minute m where m.stream_id > ids.stream_id
             order by m.stream_id limit 1)
      from ids where ids.stream_id is not null)`
const ONE_STREAM_ID = 'with ids as (select $2::text as stream_id)'

/** Per stream, the newest window that has ended by `now` (optionally: the newest final one). */
export async function latestWindows(
  pool: pg.Pool,
  q: { now: Date; streamId?: string | undefined; finalOnly: boolean; limit: number },
): Promise<WindowDbRow[]> {
  // Each stream's newest qualifying row is one backward step on its index.
  return readRows<WindowDbRow>(
    pool,
    `${q.streamId === undefined ? ALL_STREAM_IDS : ONE_STREAM_ID}
     select w.* from ids cross join lateral (
       select ${WINDOW_COLUMNS}
         from stream_metrics_minute m
        where m.stream_id = ids.stream_id and m.window_end <= $1 and (not $3::boolean or m.is_final)
        order by m.window_start desc
        limit 1) w
      where ids.stream_id is not null and ($2::text is null or ids.stream_id = $2)
      order by w.stream_id
      limit $4`,
    [q.now, q.streamId ?? null, q.finalOnly, q.limit],
  )
}

/**
 * Windows starting in `[from, to]`, optionally of one stream, returned oldest first.
 * `keep` says which end survives the limit: the oldest (history pages) or the newest
 * (live snapshots).
 */
export async function windowsBetween(
  pool: pg.Pool,
  q: {
    from: Date
    to: Date | null
    streamId?: string | undefined
    limit: number
    keep?: 'oldest' | 'newest'
  },
): Promise<WindowDbRow[]> {
  const newest = q.keep === 'newest'
  const rows = await readRows<WindowDbRow>(
    pool,
    `select ${WINDOW_COLUMNS}
       from stream_metrics_minute m
      where window_start >= $1 and ($2::timestamptz is null or window_start <= $2)
        and ($3::text is null or stream_id = $3)
      order by ${newest ? 'm.window_start desc, m.stream_id desc' : 'm.window_start, m.stream_id'}
      limit $4`,
    [q.from, q.to, q.streamId ?? null, q.limit],
  )
  return newest ? rows.reverse() : rows
}

/** The reference `/metrics` query: windows since `since`, sorted by a whitelisted column. */
export async function metricsRows(
  pool: pg.Pool,
  q: {
    since: Date
    streamId?: string | undefined
    orderBy: OrderColumn
    direction: 'asc' | 'desc'
    limit: number
  },
): Promise<{ rows: WindowDbRow[]; latestWindowStart: Date | null }> {
  const column = ORDER_COLUMNS[q.orderBy]
  const dir = q.direction === 'asc' ? 'asc' : 'desc'
  const rows = await readRows<WindowDbRow>(
    pool,
    `select ${WINDOW_COLUMNS}
       from stream_metrics_minute m
      where window_start >= $1 and ($2::text is null or stream_id = $2)
      order by m.${column} ${dir}, m.window_start desc, m.stream_id
      limit $3`,
    [q.since, q.streamId ?? null, q.limit],
  )
  const latest = await readRows<{ latest: Date | null }>(
    pool,
    'select max(window_start) as latest from stream_metrics_minute where ($1::text is null or stream_id = $1)',
    [q.streamId ?? null],
  )
  return { rows, latestWindowStart: latest[0]?.latest ?? null }
}

export interface MinuteTotalDbRow {
  window_start: Date
  streams: number
  active_viewers: number
  chat_messages: number
  donations_cents: number
  donation_count: number
  events: number
}

/**
 * Sums over all streams per window start, for the dashboard's per-minute charts: the
 * windows since `from`, or (when `starts` is given) exactly those window starts.
 */
export async function minuteTotals(
  pool: pg.Pool,
  q: { from: Date; starts?: Date[] | undefined; limit: number },
): Promise<MinuteTotalDbRow[]> {
  return readRows<MinuteTotalDbRow>(
    pool,
    `select window_start, count(*)::int as streams, sum(active_viewers)::bigint as active_viewers,
            sum(chat_messages)::bigint as chat_messages, sum(donations_cents)::bigint as donations_cents,
            sum(donation_count)::bigint as donation_count, sum(events)::bigint as events
       from stream_metrics_minute
      where window_start >= $1 and ($2::timestamptz[] is null or window_start = any($2))
      group by window_start
      order by window_start
      limit $3`,
    [q.from, q.starts ?? null, q.limit],
  )
}

/**
 * The provisional (non-final) windows of `streams` starting since `since`: the live
 * feed sends them so a client can drop provisional rows the processor deleted.
 */
export async function provisionalStarts(
  pool: pg.Pool,
  q: { streams: string[]; since: Date },
): Promise<Map<string, Date[]>> {
  const rows = await readRows<{ stream_id: string; starts: Date[] }>(
    pool,
    `select stream_id, array_agg(window_start order by window_start) as starts
       from stream_metrics_minute
      where stream_id = any($1) and window_start >= $2 and not is_final
      group by stream_id`,
    [q.streams, q.since],
  )
  return new Map(rows.map((r) => [r.stream_id, r.starts]))
}
