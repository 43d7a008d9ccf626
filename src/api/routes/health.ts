/** `/health` (the reference contract, exactly) and `/ready` (per-component detail). */
import { Type } from 'typebox'
import { messageOf } from '../../errors/catalogue.ts'
import { partitionProgress } from '../../store/pipeline.ts'
import { ping } from '../../store/read/activity.ts'
import type { Api, ApiContext } from '../context.ts'
import { readPipeline } from '../pipeline.ts'
import { iso } from '../rows.ts'
import { IsoTime, NullableIsoTime, PipelineSummary } from '../schemas.ts'

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
  server_time_utc: IsoTime,
  components: Type.Object({
    database: Type.Object({
      ok: Type.Boolean(),
      latency_ms: Type.Union([Type.Number(), Type.Null()]),
      error: Type.Optional(Type.String()),
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
  pipeline: Type.Union([PipelineSummary, Type.Null()]),
})

/** Registers `/health` and `/ready`. */
export function healthRoutes(app: Api, ctx: ApiContext): void {
  app.get(
    '/health',
    {
      schema: {
        summary: 'Liveness: the database answers',
        description:
          'Exactly `{"ok":true}` when the database answers; 503 `{"ok":false,"error":...}` otherwise.',
        tags: ['health'],
        response: { 200: HealthOk, 503: HealthDown },
      },
    },
    async (_request, reply) => {
      try {
        await ping(ctx.pool)
        return { ok: true as const }
      } catch (error) {
        return reply.status(503).send({ ok: false as const, error: messageOf(error) })
      }
    },
  )

  app.get(
    '/ready',
    {
      schema: {
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
      const started = performance.now()
      const down = (error: unknown) =>
        reply.status(503).send({
          ok: false,
          server_time_utc: new Date(ctx.now()).toISOString(),
          components: {
            database: { ok: false, latency_ms: null, error: messageOf(error) },
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
      let now: Date
      try {
        now = await ping(ctx.pool)
      } catch (error) {
        return down(error)
      }
      const latency = Math.round((performance.now() - started) * 10) / 10
      try {
        const [pipeline, parts] = await Promise.all([readPipeline(ctx), partitionProgress(ctx.pool)])
        const age = pipeline.last_commit_age_seconds
        const status: 'no_commits' | 'stale' | 'fresh' =
          age === null ? 'no_commits' : age > staleAfter ? 'stale' : 'fresh'
        return {
          ok: status === 'fresh',
          server_time_utc: iso(now),
          components: {
            database: { ok: true, latency_ms: latency },
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
        return down(error)
      }
    },
  )
}
