/** `/health` (the reference contract, exactly) and `/ready` (per-component detail). */
import { Type } from 'typebox'
import { messageOf } from '../../errors/catalogue.ts'
import { partitionProgress } from '../../store/pipeline.ts'
import { VERSION } from '../../version.ts'
import type { Api, ApiContext } from '../context.ts'
import { readPipeline } from '../pipeline.ts'
import { iso } from '../rows.ts'
import { IsoTime, NullableIsoTime, PipelineSummaryRef } from '../schemas.ts'

const HealthOk = Type.Object({ ok: Type.Literal(true) })
const HealthDown = Type.Object({ ok: Type.Literal(false), error: Type.String() })

const Partition = Type.Object({
  topic: Type.String(),
  partition: Type.Integer(),
  next_offset: Type.Union([Type.Integer(), Type.Null()], { description: 'null: never committed' }),
  end_offset: Type.Union([Type.Integer(), Type.Null()]),
  lag: Type.Union([Type.Integer(), Type.Null()]),
  owner: Type.Union([Type.String(), Type.Null()]),
  epoch: Type.Integer(),
  watermark: NullableIsoTime,
  updated_at: IsoTime,
})

const Ready = Type.Object({
  ok: Type.Boolean({ description: 'every component is fine' }),
  version: Type.String({ description: "rtsa's version" }),
  server_time_utc: IsoTime,
  components: Type.Object({
    database: Type.Object({
      ok: Type.Boolean({ description: 'the database answers (on the health check connection)' }),
      latency_ms: Type.Union([Type.Number(), Type.Null()]),
      error: Type.Optional(Type.String()),
      pool: Type.Object(
        {
          max: Type.Integer(),
          open: Type.Integer(),
          idle: Type.Integer(),
          waiting: Type.Integer({ description: 'requests waiting for a connection' }),
          busy: Type.Boolean({ description: 'every connection in use and requests waiting' }),
        },
        { description: "the data requests' connection pool (API_POOL_SIZE)" },
      ),
    }),
    processor: Type.Object({
      ok: Type.Boolean(),
      status: Type.Union([
        Type.Literal('fresh'),
        Type.Literal('stale'),
        Type.Literal('no_commits'),
        Type.Literal('unknown'),
      ]),
      last_commit_at: NullableIsoTime,
      last_commit_age_seconds: Type.Union([Type.Number(), Type.Null()]),
      stale_after_seconds: Type.Number(),
      lag: Type.Union([Type.Integer(), Type.Null()]),
      partitions: Type.Array(Partition),
    }),
  }),
  pipeline: Type.Union([PipelineSummaryRef, Type.Null()]),
})

/** Registers `/health` and `/ready`. */
export function healthRoutes(app: Api, ctx: ApiContext): void {
  app.get(
    '/health',
    {
      // Probes and scrapes must work however busy a client is.
      config: { rateLimit: false },
      schema: {
        operationId: 'getHealth',
        summary: 'Liveness: the database answers',
        description:
          'Exactly `{"ok":true}` when the database answers; 503 `{"ok":false,"error":...}` otherwise.',
        tags: ['health'],
        response: { 200: HealthOk, 503: HealthDown },
      },
    },
    async (_request, reply) => {
      const db = await ctx.probe.check()
      if (db.ok) return { ok: true as const }
      return reply
        .status(503)
        .header('retry-after', '5')
        .send({ ok: false as const, error: db.error })
    },
  )

  app.get(
    '/ready',
    {
      // Probes and scrapes must work however busy a client is.
      config: { rateLimit: false },
      schema: {
        operationId: 'getReady',
        summary: 'Readiness with per-component detail',
        description:
          'Database round-trip, processor freshness (age of the last commit) and lag. ' +
          '503 only when the database is down: a stale processor still leaves the API able to serve.',
        tags: ['health'],
        response: { 200: Ready, 503: Ready },
      },
    },
    async (_request, reply) => {
      const staleAfter = (ctx.config.staleCommitAge ?? 120_000) / 1000
      const pool = poolFigures(ctx)
      const down = (error: string, database: { ok: boolean; latency_ms: number | null }) =>
        reply
          .status(503)
          .header('retry-after', database.ok ? '1' : '5')
          .send({
            ok: false,
            version: VERSION,
            server_time_utc: new Date(ctx.now()).toISOString(),
            components: {
              database: { ...database, error, pool },
              processor: {
                ok: false,
                status: 'unknown' as const,
                last_commit_at: null,
                last_commit_age_seconds: null,
                stale_after_seconds: staleAfter,
                lag: null,
                partitions: [],
              },
            },
            pipeline: null,
          })
      const db = await ctx.probe.check()
      if (!db.ok) return down(db.error, { ok: false, latency_ms: null })
      const now = db.now
      const latency = db.latencyMs
      try {
        const [pipeline, parts] = await Promise.all([readPipeline(ctx), partitionProgress(ctx.pool)])
        const age = pipeline.last_commit_age_seconds
        const status: 'no_commits' | 'stale' | 'fresh' =
          age === null ? 'no_commits' : age > staleAfter ? 'stale' : 'fresh'
        return {
          ok: status === 'fresh',
          version: VERSION,
          server_time_utc: iso(now),
          components: {
            database: { ok: true, latency_ms: latency, pool },
            processor: {
              ok: status === 'fresh',
              status,
              last_commit_at: pipeline.last_commit_at,
              last_commit_age_seconds: age,
              stale_after_seconds: staleAfter,
              lag: pipeline.lag,
              partitions: parts.map((p) => ({
                topic: p.topic,
                partition: p.partition,
                next_offset: p.nextOffset,
                end_offset: p.endOffset,
                lag: p.lag,
                owner: p.owner,
                epoch: p.epoch,
                watermark: iso(p.watermark),
                updated_at: iso(p.updatedAt),
              })),
            },
          },
          pipeline,
        }
      } catch (error) {
        // The database answers the probe: a failed read here is a busy pool or a query error.
        return down(messageOf(error), { ok: true, latency_ms: latency })
      }
    },
  )
}

function poolFigures(ctx: ApiContext) {
  const p = ctx.pool
  const max = p.options.max ?? 10
  return {
    max,
    open: p.totalCount,
    idle: p.idleCount,
    waiting: p.waitingCount,
    busy: p.waitingCount > 0 && p.totalCount >= max && p.idleCount === 0,
  }
}
