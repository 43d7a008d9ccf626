/**
 * Read model over every resolution: the base windows (`stream_metrics_minute`) and the
 * longer ones (`stream_metrics_rollup`, docs/semantics.md section 8), for history over
 * long ranges. Constant SQL with bind parameters; the table is picked from a fixed list.
 */
import type pg from 'pg'
import { readRows } from '../db-errors.ts'
import { isoText } from './sql.ts'
import { WINDOW_COLUMNS, type WindowDbRow } from './windows.ts'

/** The resolutions the API offers, and the rollup length (seconds) each reads; null: the base table. */
export const RESOLUTIONS = { '1m': null, '1h': 3600, '1d': 86_400 } as const
export type Resolution = keyof typeof RESOLUTIONS

const HOUR = 3_600_000

/**
 * The resolution `auto` picks for a range: minutes up to 6 hours (360 rows per stream),
 * hours up to 7 days (168), days beyond (30 for a month).
 */
export function autoResolution(rangeMs: number): Resolution {
  if (rangeMs <= 6 * HOUR) return '1m'
  if (rangeMs <= 7 * 24 * HOUR) return '1h'
  return '1d'
}

/** The start of the window of `resolution` that holds `t` (so a range's first window is whole). */
export function alignDown(t: Date, resolution: Resolution): Date {
  const secs = RESOLUTIONS[resolution]
  if (secs === null) return new Date(Math.floor(t.getTime() / 60_000) * 60_000)
  return new Date(Math.floor(t.getTime() / (secs * 1000)) * secs * 1000)
}

/** The table of a resolution, and the condition on its length as bind parameter `$n`. */
function source(resolution: Resolution, n: number): { table: string; where: string; param: number | null } {
  const secs = RESOLUTIONS[resolution]
  return secs === null
    ? { table: 'stream_metrics_minute', where: `$${n}::int is null`, param: null }
    : { table: 'stream_metrics_rollup', where: `window_seconds = $${n}`, param: secs }
}

/** Windows of `resolution` starting in `[from, to]`, optionally of one stream, oldest first. */
export async function historyRows(
  pool: pg.Pool,
  q: { resolution: Resolution; from: Date; to: Date | null; streamId?: string | undefined; limit: number },
): Promise<WindowDbRow[]> {
  const s = source(q.resolution, 5)
  return readRows<WindowDbRow>(
    pool,
    `select ${WINDOW_COLUMNS}
       from ${s.table} m
      where ${s.where} and window_start >= $1 and ($2::timestamptz is null or window_start <= $2)
        and ($3::text is null or stream_id = $3)
      order by m.window_start, m.stream_id
      limit $4`,
    [q.from, q.to, q.streamId ?? null, q.limit, s.param],
  )
}

export interface TotalDbRow {
  window_start: string
  window_end: string
  streams: number
  active_viewers: number
  viewer_joins: number
  chat_messages: number
  donations_cents: number
  donation_count: number
  events: number
  final_streams: number
}

/**
 * Sums over all streams per window of `resolution` starting in `[from, to]`: only the
 * columns whose sum means something (a viewer in two streams is one unique viewer, so
 * unique and peak figures do not add up across streams).
 */
export async function totalsBetween(
  pool: pg.Pool,
  q: { resolution: Resolution; from: Date; to: Date | null; limit: number },
): Promise<TotalDbRow[]> {
  const s = source(q.resolution, 4)
  return readRows<TotalDbRow>(
    pool,
    `select ${isoText('window_start', 'window_start')}, ${isoText('max(window_end)', 'window_end')},
            count(*)::int as streams, sum(active_viewers)::bigint as active_viewers,
            sum(viewer_joins)::bigint as viewer_joins, sum(chat_messages)::bigint as chat_messages,
            sum(donations_cents)::bigint as donations_cents, sum(donation_count)::bigint as donation_count,
            sum(events)::bigint as events, count(*) filter (where is_final)::int as final_streams
       from ${s.table}
      where ${s.where} and window_start >= $1 and ($2::timestamptz is null or window_start <= $2)
      group by window_start
      order by window_start
      limit $3`,
    [q.from, q.to, q.limit, s.param],
  )
}
