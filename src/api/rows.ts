/**
 * Database rows -> API rows: ISO timestamps (window and state rows arrive as ISO text
 * formatted by the database), counters as numbers, money as exact
 * two-decimal strings from integer cents (never through a float).
 */
import type { PipelineFigures } from '../store/pipeline.ts'
import type { StateDbRow } from '../store/read/streams.ts'
import type { WindowDbRow } from '../store/read/windows.ts'
import type { PipelineSummary, StateRow, WindowRow } from './schemas.ts'

/** Integer cents (as bigint, string or number) -> `"12.30"`. */
export function formatCents(cents: bigint | string | number): string {
  const n = BigInt(cents)
  const negative = n < 0n
  const abs = negative ? -n : n
  const whole = abs / 100n
  const frac = (abs % 100n).toString().padStart(2, '0')
  return `${negative ? '-' : ''}${whole}.${frac}`
}

/** A Date (or null) as ISO-8601 UTC. */
export function iso(d: Date): string
export function iso(d: Date | null): string | null
export function iso(d: Date | null): string | null {
  return d === null ? null : d.toISOString()
}

/** A bigint column read as text -> number (counters stay far below 2^53). */
export function count(v: string | number | null): number {
  return v === null ? 0 : Number(v)
}

export function toWindowRow(r: WindowDbRow): WindowRow {
  return {
    window_start: r.window_start,
    window_end: r.window_end,
    stream_id: r.stream_id,
    active_viewers: r.active_viewers,
    peak_viewers: r.peak_viewers,
    unique_viewers: r.unique_viewers,
    viewer_joins: r.viewer_joins,
    viewer_leaves: r.viewer_leaves,
    chat_messages: r.chat_messages,
    unique_chatters: r.unique_chatters,
    donations_usd: formatCents(r.donations_cents),
    donations_cents: count(r.donations_cents),
    donation_count: r.donation_count,
    events: r.events,
    is_final: r.is_final,
    partition: r.partition,
    updated_at: r.updated_at,
  }
}

export function toStateRow(r: StateDbRow): StateRow {
  return {
    stream_id: r.stream_id,
    active_viewers: r.active_viewers,
    live: r.live,
    status: r.live === null ? 'unknown' : r.live ? 'live' : 'offline',
    last_event_ts: r.last_event_ts,
    accepted_count: count(r.accepted_count),
    late_count: count(r.late_count),
    duplicate_count: count(r.duplicate_count),
    rejected_count: count(r.rejected_count),
    partition: r.partition,
    watermark: r.watermark,
    partition_watermark: r.partition_watermark,
    updated_at: r.updated_at,
  }
}

function ageSeconds(now: Date, then: Date | null): number | null {
  return then === null ? null : Math.round((now.getTime() - then.getTime()) / 100) / 10
}

/** Pipeline figures at `now` (database clock); `eventsPerSecond` comes from the caller's sampler. */
export function toPipelineSummary(r: PipelineFigures, eventsPerSecond: number | null): PipelineSummary {
  const now = r.dbNow
  return {
    server_time_utc: iso(now),
    partitions: r.partitions,
    lag: r.lag,
    last_commit_at: iso(r.lastCommitAt),
    last_commit_age_seconds: ageSeconds(now, r.lastCommitAt),
    watermark: iso(r.minWatermark),
    watermark_delay_seconds: ageSeconds(now, r.minWatermark),
    event_time_delay_seconds: ageSeconds(now, r.lastEventTs),
    events_per_second: eventsPerSecond,
    streams: r.streams,
    live_streams: r.liveStreams,
    active_viewers: r.activeViewers,
    accepted: r.accepted,
    late: r.late,
    duplicate: r.duplicate,
    rejected: r.rejected,
  }
}
