/** What every route module gets: the typed app and the shared dependencies. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify'
import type pg from 'pg'
import { pipelineFigures } from '../store/queries.ts'
import type { ResponseCache } from './cache.ts'
import type { LiveHub } from './live/hub.ts'
import type { RateSampler } from './rate.ts'
import { toPipelineSummary } from './rows.ts'
import type { PipelineSummary } from './schemas.ts'
import type { Telemetry } from './telemetry.ts'

export type Api = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>

/** The settings buildApp needs (a subset of ApiConfig, so tests can pass `{}`). */
export interface AppConfig {
  readonly apiToken?: string | undefined
  readonly corsOrigin?: string | undefined
  /** /ready calls the processor stale when its last commit is older than this (ms). */
  readonly staleCommitAge?: number | undefined
  /** Max age of a cached read response (ms); 0 disables the cache. Default 1000. */
  readonly cacheMaxAge?: number | undefined
}

export interface ApiContext {
  readonly pool: pg.Pool
  readonly config: AppConfig
  readonly telemetry: Telemetry
  readonly rate: RateSampler
  readonly hub: LiveHub
  readonly cache: ResponseCache
}

/** Reads the pipeline figures and feeds the events/s sampler on the way. */
export async function readPipeline(ctx: Pick<ApiContext, 'pool' | 'rate'>): Promise<PipelineSummary> {
  const figures = await pipelineFigures(ctx.pool)
  const rate = ctx.rate.add(figures.db_now.getTime(), Number(figures.accepted))
  return toPipelineSummary(figures, rate)
}
