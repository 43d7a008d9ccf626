/** How the pipeline is doing, for `rtsa up`, `status`, `doctor` and `smoke` (the figures of pipeline.ts). */
import type pg from 'pg'
import { pipelineFigures } from './pipeline.ts'

export interface PipelineStatus {
  readonly partitions: number
  readonly owned: number
  /** The pipeline's lag (pipeline.ts); null before any commit. */
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

/** The pipeline's figures from the database (pipeline.ts). `topic` limits the checkpoints to one topic. */
export async function pipelineStatus(pool: pg.Pool, topic: string): Promise<PipelineStatus> {
  const f = await pipelineFigures(pool, topic)
  const recent = await pool.query<{ n: number }>(
    `select count(*)::int as n from stream_metrics_minute where window_start > now() - interval '5 minutes'`,
  )
  return {
    partitions: f.partitions,
    owned: f.owned,
    lag: f.lag,
    lastCommitAgeSeconds:
      f.lastCommitAt === null ? null : (f.dbNow.getTime() - f.lastCommitAt.getTime()) / 1000,
    accepted: f.accepted,
    late: f.late,
    duplicate: f.duplicate,
    rejected: f.rejected,
    streams: f.streams,
    recentRows: recent.rows[0]!.n,
    newestWatermark: f.maxWatermark,
  }
}
