/** `/metrics`, `/metrics/latest`, `/metrics/history`: per-stream, per-minute window rows. */
import { Type } from 'typebox'
import {
  alignDown,
  autoResolution,
  historyRows,
  RESOLUTIONS,
  type Resolution,
  totalsBetween,
} from '../../store/read/rollups.ts'
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
const Minutes = (def: number, max = 1440) =>
  Type.Integer({
    minimum: 1,
    maximum: max,
    default: def,
    description: `look back this many minutes (1..${max})`,
  })
const TOTALS_LIMIT = 2000
/** 30 days: the longest range the dashboard offers. */
const MAX_HISTORY_MINUTES = 43_200
const ResolutionParam = Type.Enum([...Object.keys(RESOLUTIONS), 'auto'] as (Resolution | 'auto')[], {
  default: 'auto',
  description:
    'window length: 1m (stream_metrics_minute), 1h or 1d (stream_metrics_rollup, exact), or auto: ' +
    '1m up to 6 hours, 1h up to 7 days, 1d beyond',
})
const ResolutionOut = Type.Enum(Object.keys(RESOLUTIONS) as Resolution[], {
  description: 'the window length of the rows',
})

/** The range and resolution of a history query (`from` wins over `minutes`). */
function rangeOf(
  q: { minutes: number; from?: string | undefined; to?: string | undefined; resolution: Resolution | 'auto' },
  now: Date,
) {
  const rawFrom = q.from === undefined ? new Date(now.getTime() - q.minutes * MINUTE) : new Date(q.from)
  const to = q.to === undefined ? null : new Date(q.to)
  const resolution =
    q.resolution === 'auto' ? autoResolution((to ?? now).getTime() - rawFrom.getTime()) : q.resolution
  // The window holding `from` is included whole (an hour that began before `from`).
  const from = alignDown(rawFrom, resolution)
  const minutes = Math.max(1, Math.round(((to ?? now).getTime() - rawFrom.getTime()) / MINUTE))
  return {
    from,
    to,
    resolution,
    minutes: q.from === undefined ? q.minutes : minutes,
    empty: to !== null && to < from,
  }
}
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
        summary: 'Window rows over time, oldest first, at a resolution',
        description:
          'Windows starting in the last `minutes`, or between `from` and `to` (ISO-8601) when given; ' +
          '`from` wins over `minutes`. `resolution` picks the window length (the window holding `from` ' +
          'is included whole); every column is exact at every length (an hour counts a viewer once).',
        tags: ['metrics'],
        querystring: Query({
          minutes: Minutes(10, MAX_HISTORY_MINUTES),
          stream_id: Type.Optional(StreamId),
          from: Type.Optional(RequestTime),
          to: Type.Optional(RequestTime),
          resolution: ResolutionParam,
          limit: Limit(5000, 20_000),
        }),
        response: {
          200: Type.Object({
            since: IsoTime,
            until: NullableIsoTime,
            minutes: Type.Integer(),
            resolution: ResolutionOut,
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
        const r = rangeOf(q, new Date(ctx.now()))
        // `to` before `from` is an empty range (the schema cannot forbid it, so it is not an error).
        const rows = r.empty
          ? []
          : r.resolution === '1m'
            ? await windowsBetween(ctx.pool, {
                from: r.from,
                to: r.to,
                streamId: q.stream_id,
                limit: q.limit + 1,
              })
            : await historyRows(ctx.pool, { ...r, streamId: q.stream_id, limit: q.limit + 1 })
        return {
          since: iso(r.from),
          until: iso(r.to),
          minutes: r.minutes,
          resolution: r.resolution,
          truncated: rows.length > q.limit,
          rows: rows.slice(0, q.limit).map(toWindowRow),
        }
      }),
  )

  app.get(
    '/metrics/totals',
    {
      schema: {
        operationId: 'getMetricsTotals',
        summary: 'All streams together, per window, at a resolution',
        description:
          'Per window starting in the range (as `/metrics/history`), the sums over streams of the ' +
          'columns that add up: viewers present at the window end, joins, chat, donations, events. ' +
          'Unique and peak viewers do not add up across streams (one viewer can watch two), so they are ' +
          'per stream only. `final_streams` of `streams` rows are final.',
        tags: ['metrics'],
        querystring: Query({
          minutes: Minutes(60, MAX_HISTORY_MINUTES),
          from: Type.Optional(RequestTime),
          to: Type.Optional(RequestTime),
          resolution: ResolutionParam,
        }),
        response: {
          200: Type.Object({
            since: IsoTime,
            until: NullableIsoTime,
            resolution: ResolutionOut,
            truncated: Type.Boolean({
              description: `more than ${TOTALS_LIMIT} windows: pick a longer resolution`,
            }),
            rows: Type.Array(
              Type.Object({
                window_start: IsoTime,
                window_end: IsoTime,
                streams: Type.Integer(),
                final_streams: Type.Integer(),
                active_viewers: Type.Integer(),
                viewer_joins: Type.Integer(),
                chat_messages: Type.Integer(),
                donations_cents: Type.Integer(),
                donation_count: Type.Integer(),
                events: Type.Integer(),
              }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) =>
      cachedReply(ctx.cache, request, reply, async () => {
        const r = rangeOf(request.query, new Date(ctx.now()))
        // One row per window: auto gives at most 360 (minutes over 6 hours).
        const rows = r.empty ? [] : await totalsBetween(ctx.pool, { ...r, limit: TOTALS_LIMIT + 1 })
        return {
          since: iso(r.from),
          until: iso(r.to),
          resolution: r.resolution,
          truncated: rows.length > TOTALS_LIMIT,
          rows: rows.slice(0, TOTALS_LIMIT).map((t) => ({
            ...t,
            active_viewers: Number(t.active_viewers),
            viewer_joins: Number(t.viewer_joins),
            chat_messages: Number(t.chat_messages),
            donations_cents: Number(t.donations_cents),
            donation_count: Number(t.donation_count),
            events: Number(t.events),
          })),
        }
      }),
  )
}
