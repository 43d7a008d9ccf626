/** `/metrics`, `/metrics/latest`, `/metrics/history`: per-stream, per-minute window rows. */
import { Type } from 'typebox'
import {
  latestWindows,
  metricsRows,
  ORDER_COLUMNS,
  type OrderColumn,
  windowsBetween,
} from '../../store/read/windows.ts'
import { cachedReply } from '../cache.ts'
import type { Api, ApiContext } from '../context.ts'
import { iso, toWindowRow } from '../rows.ts'
import {
  errorResponses,
  IsoTime,
  NullableIsoTime,
  Query,
  RequestTime,
  StreamId,
  WindowRowRef,
} from '../schemas.ts'

const MINUTE = 60_000
const Minutes = (def: number) =>
  Type.Integer({
    minimum: 1,
    maximum: 1440,
    default: def,
    description: 'look back this many minutes (1..1440)',
  })
const Limit = (def: number, max: number) =>
  Type.Integer({ minimum: 1, maximum: max, default: def, description: `at most this many rows (1..${max})` })

const orderColumns = Object.keys(ORDER_COLUMNS) as OrderColumn[]
const OrderBy = Type.Enum(orderColumns, { default: 'window_start', description: 'column to sort by' })

/** Registers the window-row endpoints. */
export function metricsRoutes(app: Api, ctx: ApiContext): void {
  app.get(
    '/metrics',
    {
      schema: {
        operationId: 'getMetrics',
        summary: 'Window rows of the last minutes (the reference query)',
        tags: ['metrics'],
        querystring: Query({
          stream_id: Type.Optional(StreamId),
          minutes: Minutes(60),
          limit: Limit(500, 5000),
          order_by: OrderBy,
          direction: Type.Enum(['asc', 'desc'], { default: 'desc' }),
        }),
        response: {
          200: Type.Object({
            latest_window_start: NullableIsoTime,
            server_time_utc: IsoTime,
            filters: Type.Object({
              stream_id: Type.Union([Type.String(), Type.Null()]),
              minutes: Type.Integer(),
              limit: Type.Integer(),
              order_by: Type.String(),
              direction: Type.String(),
              since: IsoTime,
            }),
            rows: Type.Array(WindowRowRef),
          }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) =>
      cachedReply(ctx.cache, request, reply, async () => {
        const q = request.query
        const now = new Date(ctx.now())
        const since = new Date(now.getTime() - q.minutes * MINUTE)
        const { rows, latestWindowStart } = await metricsRows(ctx.pool, {
          since,
          streamId: q.stream_id,
          orderBy: q.order_by,
          direction: q.direction,
          limit: q.limit,
        })
        return {
          latest_window_start: iso(latestWindowStart),
          server_time_utc: iso(now),
          filters: {
            stream_id: q.stream_id ?? null,
            minutes: q.minutes,
            limit: q.limit,
            order_by: q.order_by,
            direction: q.direction,
            since: iso(since),
          },
          rows: rows.map(toWindowRow),
        }
      }),
  )

  app.get(
    '/metrics/latest',
    {
      schema: {
        operationId: 'getLatestMetrics',
        summary: 'Per stream, the newest window that has ended',
        description:
          'The newest window with window_end <= now for each stream; `is_final` says whether it can still ' +
          'change (late data within the watermark). `final=true`: the newest final window instead.',
        tags: ['metrics'],
        querystring: Query({
          stream_id: Type.Optional(StreamId),
          final: Type.Boolean({ default: false, description: 'only windows the watermark has passed' }),
          limit: Limit(1000, 5000),
        }),
        response: {
          200: Type.Object({ server_time_utc: IsoTime, rows: Type.Array(WindowRowRef) }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) =>
      cachedReply(ctx.cache, request, reply, async () => {
        const now = new Date(ctx.now())
        const rows = await latestWindows(ctx.pool, {
          now,
          streamId: request.query.stream_id,
          finalOnly: request.query.final,
          limit: request.query.limit,
        })
        return { server_time_utc: iso(now), rows: rows.map(toWindowRow) }
      }),
  )

  app.get(
    '/metrics/history',
    {
      schema: {
        operationId: 'getMetricsHistory',
        summary: 'Window rows over time, oldest first',
        description:
          'Windows starting in the last `minutes`, or between `from` and `to` (ISO-8601) when given; ' +
          '`from` wins over `minutes`.',
        tags: ['metrics'],
        querystring: Query({
          minutes: Minutes(10),
          stream_id: Type.Optional(StreamId),
          from: Type.Optional(RequestTime),
          to: Type.Optional(RequestTime),
          limit: Limit(5000, 20_000),
        }),
        response: {
          200: Type.Object({
            since: IsoTime,
            until: NullableIsoTime,
            minutes: Type.Integer(),
            truncated: Type.Boolean({ description: 'more rows matched than `limit`' }),
            rows: Type.Array(WindowRowRef),
          }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) =>
      cachedReply(ctx.cache, request, reply, async () => {
        const q = request.query
        const now = new Date(ctx.now())
        const from = q.from === undefined ? new Date(now.getTime() - q.minutes * MINUTE) : new Date(q.from)
        const to = q.to === undefined ? null : new Date(q.to)
        // `to` before `from` is an empty range (the schema cannot forbid it, so it is not an error).
        const rows =
          to !== null && to < from
            ? []
            : await windowsBetween(ctx.pool, { from, to, streamId: q.stream_id, limit: q.limit + 1 })
        const truncated = rows.length > q.limit
        const minutes = Math.max(1, Math.round(((to ?? now).getTime() - from.getTime()) / MINUTE))
        return {
          since: iso(from),
          until: iso(to),
          minutes: q.from === undefined ? q.minutes : minutes,
          truncated,
          rows: rows.slice(0, q.limit).map(toWindowRow),
        }
      }),
  )
}
