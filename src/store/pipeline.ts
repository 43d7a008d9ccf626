/**
 * The one read model of the pipeline's progress: each partition's checkpoint and lag,
 * and the figures of the whole pipeline (lag, last commit, watermarks, the state
 * counters summed). The CLI (`rtsa up`, `status`, `doctor`), the API (/pipeline,
 * /health, /live, /metrics) and their tests read it here; lag has one definition.
 *
 * Lag of a partition: the broker's end offset (as the processor last saw it, with its
 * last commit) minus the committed next offset, never below 0; unknown (null) before the
 * partition's first commit. The pipeline's lag: the sum over the partitions whose lag is
 * known; null when none is.
 */
import type pg from 'pg'
import { readRows } from './db-errors.ts'

/**
 * The SQL of one partition's lag (over `partition_checkpoints`): the only place that says
 * it. (Not `greatest(end_offset - next_offset, 0)` alone: greatest() skips NULLs, which
 * made an unknown lag 0.)
 */
const LAG =
  'case when end_offset is null or next_offset is null then null else greatest(end_offset - next_offset, 0) end'

export interface PartitionProgress {
  readonly topic: string
  readonly partition: number
  /** The next offset to read; null: never committed. */
  readonly nextOffset: number | null
  /** The broker's end offset at the last commit; null: never committed. */
  readonly endOffset: number | null
  readonly lag: number | null
  readonly owner: string | null
  readonly epoch: number
  readonly watermark: Date | null
  readonly updatedAt: Date
}

const num = (v: string | number | null): number | null => (v === null ? null : Number(v))

/** Every partition checkpoint (of `topic`, or of every topic), by topic and partition. */
export async function partitionProgress(
  pool: pg.Pool,
  options: { topic?: string; limit?: number } = {},
): Promise<PartitionProgress[]> {
  const rows = await readRows<{
    topic: string
    partition: number
    next_offset: string | number | null
    end_offset: string | number | null
    lag: string | number | null
    owner: string | null
    epoch: string | number
    watermark: Date | null
    updated_at: Date
  }>(
    pool,
    `select topic, partition, next_offset, end_offset, ${LAG} as lag, owner, epoch, watermark, updated_at
       from partition_checkpoints where $1::text is null or topic = $1
      order by topic, partition limit $2`,
    [options.topic ?? null, options.limit ?? 10_000],
  )
  return rows.map((r) => ({
    topic: r.topic,
    partition: r.partition,
    nextOffset: num(r.next_offset),
    endOffset: num(r.end_offset),
    lag: num(r.lag),
    owner: r.owner,
    epoch: Number(r.epoch),
    watermark: r.watermark,
    updatedAt: r.updated_at,
  }))
}

export interface PipelineFigures {
  /** The database's clock when it answered (ages are against it). */
  readonly dbNow: Date
  readonly partitions: number
  /** Partitions with an owner (a running processor holds them). */
  readonly owned: number
  readonly lag: number | null
  readonly lastCommitAt: Date | null
  readonly minWatermark: Date | null
  readonly maxWatermark: Date | null
  readonly streams: number
  readonly liveStreams: number
  readonly activeViewers: number
  readonly accepted: number
  readonly late: number
  readonly duplicate: number
  readonly rejected: number
  readonly lastEventTs: Date | null
}

/** The whole pipeline's figures; `topic` limits the checkpoints to one topic. */
export async function pipelineFigures(pool: pg.Pool, topic?: string): Promise<PipelineFigures> {
  const [r] = await readRows<{
    db_now: Date
    partitions: number
    owned: number
    lag: string | number | null
    last_commit_at: Date | null
    min_watermark: Date | null
    max_watermark: Date | null
    streams: number
    live_streams: number
    active_viewers: string | number
    accepted: string | number
    late: string | number
    duplicate: string | number
    rejected: string | number
    last_event_ts: Date | null
  }>(
    pool,
    `select now() as db_now, c.partitions, c.owned, c.lag, c.last_commit_at, c.min_watermark, c.max_watermark,
            s.streams, s.live_streams, s.active_viewers, s.accepted, s.late, s.duplicate, s.rejected, s.last_event_ts
       from (select count(*)::int as partitions, count(owner)::int as owned, sum(${LAG}) as lag,
                    max(updated_at) as last_commit_at, min(watermark) as min_watermark,
                    max(watermark) as max_watermark
               from partition_checkpoints where $1::text is null or topic = $1) c,
            (select count(*)::int as streams, (count(*) filter (where live))::int as live_streams,
                    coalesce(sum(active_viewers), 0) as active_viewers,
                    coalesce(sum(accepted_count), 0) as accepted, coalesce(sum(late_count), 0) as late,
                    coalesce(sum(duplicate_count), 0) as duplicate, coalesce(sum(rejected_count), 0) as rejected,
                    max(last_event_ts) as last_event_ts
               from stream_state) s`,
    [topic ?? null],
  )
  const f = r!
  return {
    dbNow: f.db_now,
    partitions: f.partitions,
    owned: f.owned,
    lag: num(f.lag),
    lastCommitAt: f.last_commit_at,
    minWatermark: f.min_watermark,
    maxWatermark: f.max_watermark,
    streams: f.streams,
    liveStreams: f.live_streams,
    activeViewers: Number(f.active_viewers),
    accepted: Number(f.accepted),
    late: Number(f.late),
    duplicate: Number(f.duplicate),
    rejected: Number(f.rejected),
    lastEventTs: f.last_event_ts,
  }
}
