/** What changed, for `/live` and `/prometheus`: the database clock, recent activity, rows changed since a time. */
import type pg from 'pg'
import { readRows } from '../db-errors.ts'
import { STATE_SELECT, type StateDbRow } from './streams.ts'
import { WINDOW_COLUMNS, type WindowDbRow } from './windows.ts'

/** Round-trip to the database; returns its clock. Throws POSTGRES_UNREACHABLE when it is down. */
export async function ping(pool: pg.Pool): Promise<Date> {
  const rows = await readRows<{ now: Date }>(pool, 'select now() as now')
  return rows[0]!.now
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
