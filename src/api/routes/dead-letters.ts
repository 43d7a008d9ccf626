/** `/dead-letters`: recent rejected records with their reasons, newest first, keyset-paginated. */
import { Type } from 'typebox'
import { REJECT_REASONS } from '../../events/types.ts'
import { DEAD_LETTER_PREVIEW_BYTES, deadLetters } from '../../store/read/dead-letters.ts'
import type { Api, ApiContext } from '../context.ts'
import { count, iso } from '../rows.ts'
import { errorResponses, IsoTime, NullableIsoTime, Query, StreamId } from '../schemas.ts'

const Bytes = Type.Union([
  Type.Object({
    encoding: Type.Union([Type.Literal('utf8'), Type.Literal('base64')]),
    data: Type.String({ description: 'the bytes as UTF-8 text when valid, else base64' }),
    bytes: Type.Integer({ description: 'full length in bytes' }),
    truncated: Type.Boolean({ description: `only the first ${DEAD_LETTER_PREVIEW_BYTES} bytes are shown` }),
  }),
  Type.Null(),
])

const DeadLetterRow = Type.Object({
  id: Type.String(),
  topic: Type.String(),
  partition: Type.Integer(),
  offset: Type.String({ description: 'Kafka offset (a 64-bit integer, as a string)' }),
  reason: Type.String(),
  detail: Type.Union([Type.String(), Type.Null()]),
  stream_id: Type.Union([Type.String(), Type.Null()]),
  event_ts: NullableIsoTime,
  created_at: IsoTime,
  key: Bytes,
  value: Bytes,
})

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Shows bytes as text when they are valid UTF-8 (allowing a character cut by the preview), else base64. */
export function showBytes(buf: Buffer | null, total: number | null) {
  if (buf === null) return null
  const truncated = (total ?? buf.length) > buf.length
  // A preview may end inside a multi-byte character: try dropping up to 3 trailing bytes.
  for (let cut = 0; cut <= (truncated ? 3 : 0) && cut <= buf.length; cut++) {
    try {
      const data = utf8.decode(buf.subarray(0, buf.length - cut))
      return { encoding: 'utf8' as const, data, bytes: total ?? buf.length, truncated }
    } catch {
      // not valid UTF-8 at this cut
    }
  }
  return { encoding: 'base64' as const, data: buf.toString('base64'), bytes: total ?? buf.length, truncated }
}

/** Registers `/dead-letters`. */
export function deadLetterRoutes(app: Api, ctx: ApiContext): void {
  app.get(
    '/dead-letters',
    {
      schema: {
        operationId: 'getDeadLetters',
        summary: 'Recent rejected records with reasons',
        description: 'Newest first. Pass `next_before_id` of a page as `before_id` to get the next page.',
        tags: ['pipeline'],
        querystring: Query({
          limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
          before_id: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$', description: 'page cursor' })),
          reason: Type.Optional(
            Type.Enum([...REJECT_REASONS], { description: 'only this rejection reason' }),
          ),
          stream_id: Type.Optional(StreamId),
        }),
        response: {
          200: Type.Object({
            rows: Type.Array(DeadLetterRow),
            next_before_id: Type.Union([Type.String(), Type.Null()], { description: 'null: no more pages' }),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query
      const rows = await deadLetters(ctx.pool, {
        beforeId: q.before_id,
        reason: q.reason,
        streamId: q.stream_id,
        limit: q.limit + 1,
      })
      const page = rows.slice(0, q.limit)
      return {
        rows: page.map((r) => ({
          id: r.id,
          topic: r.topic,
          partition: r.partition,
          offset: r.offset,
          reason: r.reason,
          detail: r.detail,
          stream_id: r.stream_id,
          event_ts: iso(r.event_ts),
          created_at: iso(r.created_at),
          key: showBytes(r.key, r.key_bytes === null ? null : count(r.key_bytes)),
          value: showBytes(r.value, r.value_bytes === null ? null : count(r.value_bytes)),
        })),
        next_before_id: rows.length > q.limit ? (page.at(-1)?.id ?? null) : null,
      }
    },
  )
}
