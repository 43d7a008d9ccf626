/** Read-only queries that tell how the pipeline is doing (for `rtsa up`, `status`, `doctor`, `smoke`). */
import type pg from 'pg'

export interface PipelineStatus {
  readonly partitions: number
  readonly owned: number
  /** Sum over partitions of (broker end offset seen at the last fetch - next offset). */
  readonly lag: number | null
  /** Seconds since the newest commit of any partition (null: none yet). */
  readonly lastCommitAgeSeconds: number | null
  readonly accepted: number
  readonly late: number
  readonly duplicate: number
  readonly rejected: number
  readonly streams: number
  readonly recentRows: number
  readonly newestWatermark: Date | null
}

/** The pipeline's figures from the database. `topic` limits the checkpoints to one topic. */
export async function pipelineStatus(pool: pg.Pool, topic: string): Promise<PipelineStatus> {
  const cp = await pool.query<{
    partitions: number
    owned: number
    lag: number | null
    age: number | null
    watermark: Date | null
  }>(
    `select count(*)::int as partitions, count(owner)::int as owned,
            sum(greatest(end_offset - greatest(next_offset, 0), 0))::bigint as lag,
            extract(epoch from now() - max(updated_at))::float8 as age,
            max(watermark) as watermark
       from partition_checkpoints where topic = $1`,
    [topic],
  )
  const st = await pool.query<{ a: number; l: number; d: number; r: number; n: number }>(
    `select coalesce(sum(accepted_count), 0)::bigint as a, coalesce(sum(late_count), 0)::bigint as l,
            coalesce(sum(duplicate_count), 0)::bigint as d, coalesce(sum(rejected_count), 0)::bigint as r,
            count(*)::int as n
       from stream_state`,
  )
  const recent = await pool.query<{ n: number }>(
    `select count(*)::int as n from stream_metrics_minute where window_start > now() - interval '5 minutes'`,
  )
  const c = cp.rows[0]!
  const s = st.rows[0]!
  return {
    partitions: c.partitions,
    owned: c.owned,
    lag: c.lag === null ? null : Number(c.lag),
    lastCommitAgeSeconds: c.age,
    accepted: Number(s.a),
    late: Number(s.l),
    duplicate: Number(s.d),
    rejected: Number(s.r),
    streams: s.n,
    recentRows: recent.rows[0]!.n,
    newestWatermark: c.watermark,
  }
}
