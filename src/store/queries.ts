/**
 * The API's read queries. SQL lives here, never in the routes: every statement is a
 * constant string with bind parameters; the only variable parts are column names,
 * picked from the whitelists below by key, never taken from input.
 *
 * Times are passed in as `now` so that one request uses one clock and tests can
 * reason about "the last 10 minutes" exactly.
 */
import type pg from 'pg'
import { readRows } from './db-errors.ts'

/**
 * A row of `stream_metrics_minute` as `pg` returns it: bigint as string, timestamps as
 * ISO-8601 UTC text formatted by the database (see `isoText`).
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
  donations_cents: string
  donation_count: number
  events: number
  is_final: boolean
  partition: number
  updated_at: string
}

/** A row of `stream_state` plus the current watermark of its partition (timestamps as ISO text). */
export interface StateDbRow {
  stream_id: string
  active_viewers: number
  live: boolean | null
  last_event_ts: string | null
  accepted_count: string
  late_count: string
  duplicate_count: string
  rejected_count: string
  partition: number
  watermark: string | null
  partition_watermark: string | null
  updated_at: string
}

/**
 * A timestamptz as the text `Date.prototype.toISOString()` gives (`2026-01-02T03:04:05.678Z`:
 * UTC, milliseconds truncated like pg's parser does), formatted by the database: the API
 * returns hundreds of rows per request, and parsing every timestamp into a Date only to
 * format it again was a large part of its CPU time. NULL stays NULL.
 */
function isoText(column: string, alias: string): string {
  return `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as ${alias}`
}

// Casts keep bigints exact; sort on the table's own columns (qualified), not these aliases
// (an unqualified ORDER BY name means the output column: here the text).
const WINDOW_COLUMNS = `${isoText('window_start', 'window_start')}, ${isoText('window_end', 'window_end')},
  stream_id, active_viewers, peak_viewers, unique_viewers,
  viewer_joins, viewer_leaves, chat_messages, unique_chatters, donations_cents::text as donations_cents,
  donation_count, events, is_final, partition, ${isoText('updated_at', 'updated_at')}`

// The partition watermark comes from the checkpoint (newest), falling back to the one
// stored with the state row; several topics may share partition numbers, so take the max.
const STATE_SELECT = `select s.stream_id, s.active_viewers, s.live, ${isoText('s.last_event_ts', 'last_event_ts')},
  s.accepted_count::text as accepted_count, s.late_count::text as late_count,
  s.duplicate_count::text as duplicate_count, s.rejected_count::text as rejected_count,
  s.partition, ${isoText('s.watermark', 'watermark')},
  ${isoText(
    '(coalesce((select max(c.watermark) from partition_checkpoints c where c.partition = s.partition), s.watermark))',
    'partition_watermark',
  )},
  ${isoText('s.updated_at', 'updated_at')}
  from stream_state s`

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

/** Measures `/streams/top` may rank by (API name -> SQL expression over the aggregate). */
export const TOP_MEASURES = {
  active_viewers: 'active_viewers',
  peak_viewers: 'peak_viewers',
  chat_messages: 'chat_messages',
  donations_usd: 'donations_cents',
  events: 'events',
} as const
export type TopMeasure = keyof typeof TOP_MEASURES

/** Round-trip to the database; returns its clock. Throws POSTGRES_UNREACHABLE when it is down. */
export async function ping(pool: pg.Pool): Promise<Date> {
  const rows = await readRows<{ now: Date }>(pool, 'select now() as now')
  return rows[0]!.now
}

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

/** Current per-stream state, busiest first. */
export async function streamStates(
  pool: pg.Pool,
  q: { streamId?: string | undefined; live?: boolean | undefined; limit: number },
): Promise<StateDbRow[]> {
  return readRows<StateDbRow>(
    pool,
    `${STATE_SELECT}
      where ($1::text is null or s.stream_id = $1) and ($2::boolean is null or s.live = $2)
      order by s.active_viewers desc, s.stream_id
      limit $3`,
    [q.streamId ?? null, q.live ?? null, q.limit],
  )
}

export interface RecentStreamDbRow {
  stream_id: string
  last_seen: Date
  last_window_start: Date
  windows: number
  events: string
  active_viewers: number | null
  live: boolean | null
}

/** Streams with a window since `since`, most recently seen first. */
export async function recentStreams(
  pool: pg.Pool,
  q: { since: Date; limit: number },
): Promise<RecentStreamDbRow[]> {
  return readRows<RecentStreamDbRow>(
    pool,
    `with recent as (
       select stream_id, max(window_start) as last_window_start, count(*)::int as windows,
              sum(events)::bigint as events
         from stream_metrics_minute where window_start >= $1 group by stream_id)
     select r.stream_id, coalesce(s.last_event_ts, r.last_window_start) as last_seen, r.last_window_start,
            r.windows, r.events::text as events, s.active_viewers, s.live
       from recent r left join stream_state s using (stream_id)
      order by last_seen desc, r.stream_id
      limit $2`,
    [q.since, q.limit],
  )
}

export interface TopStreamDbRow {
  stream_id: string
  active_viewers: number
  peak_viewers: number
  chat_messages: string
  donations_cents: string
  donation_count: string
  events: string
  last_window_start: Date
}

/**
 * Streams ranked over the windows since `since`: `active_viewers` is the stream's
 * newest window (concurrent viewers now), `peak_viewers` the highest peak, the rest sums.
 */
export async function topStreams(
  pool: pg.Pool,
  q: { since: Date; now: Date; by: TopMeasure; n: number },
): Promise<TopStreamDbRow[]> {
  const measure = TOP_MEASURES[q.by]
  return readRows<TopStreamDbRow>(
    pool,
    `with agg as (
       select stream_id,
              (array_agg(active_viewers order by window_start desc))[1] as active_viewers,
              max(peak_viewers) as peak_viewers,
              sum(chat_messages)::bigint as chat_messages,
              sum(donations_cents)::bigint as donations_cents,
              sum(donation_count)::bigint as donation_count,
              sum(events)::bigint as events,
              max(window_start) as last_window_start
         from stream_metrics_minute
        where window_start >= $1 and window_start <= $2
        group by stream_id)
     select stream_id, active_viewers, peak_viewers, chat_messages::text as chat_messages,
            donations_cents::text as donations_cents, donation_count::text as donation_count,
            events::text as events, last_window_start
       from agg
      order by agg.${measure} desc, agg.stream_id
      limit $3`,
    [q.since, q.now, q.n],
  )
}

export interface DeadLetterDbRow {
  id: string
  topic: string
  partition: number
  offset: string
  key: Buffer | null
  key_bytes: number | null
  value: Buffer | null
  value_bytes: number | null
  reason: string
  detail: string | null
  stream_id: string | null
  event_ts: Date | null
  created_at: Date
}

/** Bytes of a dead letter's key/value returned at most (one more tells the caller it was cut). */
export const DEAD_LETTER_PREVIEW_BYTES = 4096

/** Newest dead letters first, keyset-paginated by id (`beforeId`). */
export async function deadLetters(
  pool: pg.Pool,
  q: {
    beforeId?: string | undefined
    reason?: string | undefined
    streamId?: string | undefined
    limit: number
  },
): Promise<DeadLetterDbRow[]> {
  return readRows<DeadLetterDbRow>(
    pool,
    `select id::text as id, topic, partition, "offset"::text as "offset",
            substring(key from 1 for ${DEAD_LETTER_PREVIEW_BYTES}) as key, octet_length(key) as key_bytes,
            substring(value from 1 for ${DEAD_LETTER_PREVIEW_BYTES}) as value, octet_length(value) as value_bytes,
            reason, detail, stream_id, event_ts, created_at
       from dead_letters
      where ($1::bigint is null or id < $1) and ($2::text is null or reason = $2)
        and ($3::text is null or stream_id = $3)
      order by id desc
      limit $4`,
    [q.beforeId ?? null, q.reason ?? null, q.streamId ?? null, q.limit],
  )
}

/** The reference gauges: recent rows, recent donation rows, age of the newest window. */
export async function recentActivity(
  pool: pg.Pool,
  since: Date,
): Promise<{ rows: number; donation_rows: number; latest_window_start: Date | null }> {
  const rows = await readRows<{ rows: number; donation_rows: number; latest_window_start: Date | null }>(
    pool,
    `select (select count(*)::int from stream_metrics_minute where window_start >= $1) as rows,
            (select count(*)::int from stream_metrics_minute where window_start >= $1 and donation_count > 0)
              as donation_rows,
            (select max(window_start) from stream_metrics_minute) as latest_window_start`,
    [since],
  )
  return rows[0]!
}

/**
 * What changed since `since` (database clock), for the live feed: window rows and state
 * rows of `streams` (null: of every stream) updated after it. Returns the database clock
 * at the query, which the caller uses as the next `since` (minus a safety margin).
 * Only windows starting after `horizon` (what clients can show): the bound lets the
 * window_start index serve a read of every stream.
 */
export async function changesSince(
  pool: pg.Pool,
  q: { since: Date; streams: string[] | null; limit: number; horizon: Date },
): Promise<{ now: Date; windows: WindowDbRow[]; states: StateDbRow[] }> {
  const now = await ping(pool)
  const windows = await readRows<WindowDbRow>(
    pool,
    `select ${WINDOW_COLUMNS}
       from stream_metrics_minute m
      where m.updated_at > $1 and ($2::text[] is null or m.stream_id = any($2)) and m.window_start >= $4
      order by m.window_start desc, m.stream_id
      limit $3`,
    [q.since, q.streams, q.limit, q.horizon],
  )
  const states = await readRows<StateDbRow>(
    pool,
    `${STATE_SELECT}
      where s.updated_at > $1 and ($2::text[] is null or s.stream_id = any($2))
      order by s.stream_id
      limit $3`,
    [q.since, q.streams, q.limit],
  )
  return { now, windows: windows.reverse(), states }
}

export interface MinuteTotalDbRow {
  window_start: Date
  streams: number
  active_viewers: string
  chat_messages: string
  donations_cents: string
  donation_count: string
  events: string
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
    `select window_start, count(*)::int as streams, sum(active_viewers)::text as active_viewers,
            sum(chat_messages)::text as chat_messages, sum(donations_cents)::text as donations_cents,
            sum(donation_count)::text as donation_count, sum(events)::text as events
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
