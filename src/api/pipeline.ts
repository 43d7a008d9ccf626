/** The whole-pipeline figures the API serves (/pipeline, /health/pipeline, /live, /metrics). */
import type pg from 'pg'
import { pipelineFigures } from '../store/pipeline.ts'
import type { RateSampler } from './rate.ts'
import { toPipelineSummary } from './rows.ts'
import type { PipelineSummary } from './schemas.ts'

/** Reads the pipeline figures and feeds the events/s sampler on the way. */
export async function readPipeline(ctx: {
  readonly pool: pg.Pool
  readonly rate: RateSampler
}): Promise<PipelineSummary> {
  const figures = await pipelineFigures(ctx.pool)
  const rate = ctx.rate.add(figures.dbNow.getTime(), figures.accepted)
  return toPipelineSummary(figures, rate)
}
