/** `/state`, `/streams`, `/streams/top`: per-stream views. */
import { Type } from 'typebox'
import { livePeriods } from '../../store/read/periods.ts'
import {
  recentStreams,
  streamStates,
  TOP_MEASURES,
  type TopMeasure,
  topStreams,
} from '../../store/read/streams.ts'
import { cachedReply } from '../cache.ts'
import type { Api, ApiContext } from '../context.ts'
import { count, formatCents, iso, toStateRow } from '../rows.ts'
import {
  errorResponses,
  IsoTime,
  Money,
  NullableIsoTime,
  Query,
  RequestTime,
  StateRowRef,
  StreamId,
} from '../schemas.ts'

const MINUTE = 60_000
const measures = Object.keys(TOP_MEASURES) as TopMeasure[]

const TopRow = Type.Object({
  rank: Type.Integer(),
  stream_id: Type.String(),
  active_viewers: Type.Integer({ description: 'viewers in the stream’s newest window' }),
  peak_viewers: Type.Integer({ description: 'highest peak over the period' }),
  chat_messages: Type.Integer(),
  donations_usd: Money,
  donations_cents: Type.Integer(),
  donation_count: Type.Integer(),
  events: Type.Integer(),
  last_window_start: IsoTime,
})

const RecentStream = Type.Object({
  stream_id: Type.String(),
  last_seen: IsoTime,
  last_window_start: IsoTime,
  windows: Type.Integer(),
  events: Type.Integer(),
  active_viewers: Type.Union([Type.Integer(), Type.Null()]),
  live: Type.Union([Type.Boolean(), Type.Null()]),
})

const Period = Type.Object({
  from: IsoTime,
  until: NullableIsoTime,
  live: Type.Boolean({ description: 'live (after a stream_start) or offline (after a stream_stop)' }),
})

/** Registers the per-stream endpoints. */
export function streamRoutes(app: Api, ctx: ApiContext): void {
  app.get(
    '/streams/periods',
    {
      schema: {
        operationId: 'getStreamPeriods',
        summary: "A stream's live and offline periods",
        description:
          'From its stream_start / stream_stop records in event-time order, over the last `minutes` or ' +
          '`from`..`to`. The first period starts at `from` when the stream was already live or offline ' +
          'then; `until` null: still so.',
        tags: ['streams'],
        querystring: Query({
          stream_id: StreamId,
          minutes: Type.Integer({ minimum: 1, maximum: 43_200, default: 1440 }),
          from: Type.Optional(RequestTime),
          to: Type.Optional(RequestTime),
        }),
        response: {
          200: Type.Object({
            stream_id: Type.String(),
            since: IsoTime,
            until: IsoTime,
            truncated: Type.Boolean({
              description: 'more than 5,000 starts and stops: the rest are left out',
            }),
            periods: Type.Array(Period),
          }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) =>
      cachedReply(ctx.cache, request, reply, async () => {
        const q = request.query
        const to = q.to === undefined ? new Date(ctx.now()) : new Date(q.to)
        const from = q.from === undefined ? new Date(to.getTime() - q.minutes * MINUTE) : new Date(q.from)
        const { periods, truncated } =
          to < from
            ? { periods: [], truncated: false }
            : await livePeriods(ctx.pool, { streamId: q.stream_id, from, to, limit: 5000 })
        return {
          stream_id: q.stream_id,
          since: iso(from),
          until: iso(to),
          truncated,
          periods: periods.map((p) => ({ from: iso(p.from), until: iso(p.until), live: p.live })),
        }
      }),
  )

  app.get(
    '/state',
    {
      schema: {
        operationId: 'getState',
        summary: 'Current per-stream state',
        description:
          'Active viewers now, live/offline, newest event time, late/duplicate/rejected counters and the ' +
          'partition watermark. Busiest streams first.',
        tags: ['streams'],
        querystring: Query({
          stream_id: Type.Optional(StreamId),
          live: Type.Optional(Type.Boolean({ description: 'only live (true) or offline (false) streams' })),
          limit: Type.Integer({ minimum: 1, maximum: 5000, default: 1000 }),
        }),
        response: {
          200: Type.Object({ server_time_utc: IsoTime, rows: Type.Array(StateRowRef) }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) =>
      cachedReply(ctx.cache, request, reply, async () => {
        const q = request.query
        const rows = await streamStates(ctx.pool, { streamId: q.stream_id, live: q.live, limit: q.limit })
        return { server_time_utc: new Date(ctx.now()).toISOString(), rows: rows.map(toStateRow) }
      }),
  )

  app.get(
    '/streams',
    {
      schema: {
        operationId: 'getStreams',
        summary: 'Streams seen recently',
        description: 'Streams with a window in the last `minutes`; `last_seen` is the newest event time.',
        tags: ['streams'],
        querystring: Query({
          minutes: Type.Integer({ minimum: 1, maximum: 1440, default: 60 }),
          limit: Type.Integer({ minimum: 1, maximum: 5000, default: 100 }),
        }),
        response: {
          200: Type.Object({ since: IsoTime, minutes: Type.Integer(), rows: Type.Array(RecentStream) }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) =>
      cachedReply(ctx.cache, request, reply, async () => {
        const since = new Date(ctx.now() - request.query.minutes * MINUTE)
        const rows = await recentStreams(ctx.pool, { since, limit: request.query.limit })
        return {
          since: iso(since),
          minutes: request.query.minutes,
          rows: rows.map((r) => ({
            stream_id: r.stream_id,
            last_seen: iso(r.last_seen),
            last_window_start: iso(r.last_window_start),
            windows: r.windows,
            events: count(r.events),
            active_viewers: r.active_viewers,
            live: r.live,
          })),
        }
      }),
  )

  app.get(
    '/streams/top',
    {
      schema: {
        operationId: 'getTopStreams',
        summary: 'Top streams over the last minutes',
        description: '`limit` is an alias of `n` (a later reference version used it).',
        tags: ['streams'],
        querystring: Query({
          minutes: Type.Integer({ minimum: 1, maximum: 1440, default: 10 }),
          n: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'how many (default 10)' })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'alias of n' })),
          by: Type.Enum(measures, { default: 'active_viewers', description: 'ranking measure' }),
        }),
        response: {
          200: Type.Object({
            since: IsoTime,
            minutes: Type.Integer(),
            by: Type.String(),
            n: Type.Integer(),
            rows: Type.Array(TopRow),
          }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) =>
      cachedReply(ctx.cache, request, reply, async () => {
        const q = request.query
        const n = q.n ?? q.limit ?? 10
        const now = new Date(ctx.now())
        const since = new Date(now.getTime() - q.minutes * MINUTE)
        const rows = await topStreams(ctx.pool, { since, now, by: q.by, n })
        return {
          since: iso(since),
          minutes: q.minutes,
          by: q.by,
          n,
          rows: rows.map((r, i) => ({
            rank: i + 1,
            stream_id: r.stream_id,
            active_viewers: r.active_viewers,
            peak_viewers: r.peak_viewers,
            chat_messages: count(r.chat_messages),
            donations_usd: formatCents(r.donations_cents),
            donations_cents: count(r.donations_cents),
            donation_count: count(r.donation_count),
            events: count(r.events),
            last_window_start: iso(r.last_window_start),
          })),
        }
      }),
  )
}
