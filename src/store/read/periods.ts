/**
 * Read model of `stream_live_events`: a stream's live and offline periods over a range,
 * from its accepted stream_start / stream_stop records in event-time order (ties by event
 * id, as the engine orders them, docs/semantics.md section 3).
 */
import type pg from 'pg'
import { readRows } from '../db-errors.ts'

export interface Period {
  readonly from: Date
  /** null: still so at `to` (or now). */
  readonly until: Date | null
  readonly live: boolean
}

/**
 * The periods of `streamId` overlapping `[from, to]`: the state before `from` (the
 * latest record before it, if any) opens the first one. At most `limit` records are
 * read; `truncated` says more came after.
 */
export async function livePeriods(
  pool: pg.Pool,
  q: { streamId: string; from: Date; to: Date; limit: number },
): Promise<{ periods: Period[]; truncated: boolean }> {
  const before = await readRows<{ live: boolean }>(
    pool,
    `select live from stream_live_events where stream_id = $1 and ts < $2
      order by ts desc, event_id desc limit 1`,
    [q.streamId, q.from],
  )
  const rows = await readRows<{ ts: Date; live: boolean }>(
    pool,
    `select ts, live from stream_live_events where stream_id = $1 and ts >= $2 and ts <= $3
      order by ts, event_id limit $4`,
    [q.streamId, q.from, q.to, q.limit + 1],
  )
  const truncated = rows.length > q.limit
  const periods: { from: Date; until: Date | null; live: boolean }[] = []
  if (before[0] !== undefined) periods.push({ from: q.from, until: null, live: before[0].live })
  for (const r of rows.slice(0, q.limit)) {
    const open = periods[periods.length - 1]
    // A start of a live stream (or a stop of an offline one) changes nothing.
    if (open !== undefined && open.live === r.live) continue
    if (open !== undefined) open.until = r.ts
    periods.push({ from: r.ts, until: null, live: r.live })
  }
  // A change exactly at `from` leaves an empty period before it.
  return { periods: periods.filter((p) => p.until === null || p.until > p.from), truncated }
}
