/** Read model of `stream_state` for the API: current state, recent and top streams. */
import type pg from 'pg'
import { readRows } from '../db-errors.ts'
import { isoText } from './sql.ts'

/** A row of `stream_state` plus the current watermark of its partition (timestamps as ISO text). */
export interface StateDbRow {
  stream_id: string
  active_viewers: number
  live: boolean | null
  last_event_ts: string | null
  accepted_count: number
  late_count: number
  duplicate_count: number
  rejected_count: number
  partition: number
  watermark: string | null
  partition_watermark: string | null
  updated_at: string
}

// The partition watermark comes from the checkpoint (newest), falling back to the one
// stored with the state row; several topics may share partition numbers, so take the max.
export const STATE_SELECT = `select s.stream_id, s.active_viewers, s.live, ${isoText('s.last_event_ts', 'last_event_ts')},
  s.accepted_count, s.late_count, s.duplicate_count, s.rejected_count,
  s.partition, ${isoText('s.watermark', 'watermark')},
  ${isoText(
    '(coalesce((select max(c.watermark) from partition_checkpoints c where c.partition = s.partition), s.watermark))',
    'partition_watermark',
  )},
  ${isoText('s.updated_at', 'updated_at')}
  from stream_state s`

/** Measures `/streams/top` may rank by (API name -> SQL expression over the aggregate). */
export const TOP_MEASURES = {
  active_viewers: 'active_viewers',
  peak_viewers: 'peak_viewers',
  chat_messages: 'chat_messages',
  donations_usd: 'donations_cents',
  events: 'events',
} as const
export type TopMeasure = keyof typeof TOP_MEASURES

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
  events: number
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
            r.windows, r.events, s.active_viewers, s.live
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
  chat_messages: number
  donations_cents: number
  donation_count: number
  events: number
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
     select stream_id, active_viewers, peak_viewers, chat_messages, donations_cents, donation_count,
            events, last_window_start
       from agg
      order by agg.${measure} desc, agg.stream_id
      limit $3`,
    [q.since, q.now, q.n],
  )
}
