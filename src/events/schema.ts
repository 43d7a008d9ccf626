/**
 * The wire schema of an input event (docs/semantics.md section 1) as a TypeBox type, so
 * that the API docs (OpenAPI) and other tools get a JSON Schema of what the topic
 * carries. It documents the wire format; the hot path uses the hand-written
 * `decodeEvent` in decode.ts instead (and its fast path in fast.ts): the hand-written
 * checks (including parsing `ts` to epoch ms and building the event) cost about what the
 * compiled TypeBox `Check` alone costs before any `ts` parsing, and they apply the rules
 * JSON Schema cannot say well (real calendar dates, donation needs an amount, the
 * legacy `amount`, string lengths in code points, no U+0000).
 */
import { Type } from 'typebox'
import { EVENT_TYPES } from './types.ts'

/** Maximum length of the id fields, in characters (code points). */
export const MAX_ID_LENGTH = 128
/** Maximum donation, in USD. */
export const MAX_AMOUNT_USD = 1_000_000
/** Records larger than this many bytes are rejected as `too_large` without being parsed. */
export const MAX_RECORD_BYTES = 64 * 1024

/** The shape of `ts`: ISO-8601 with a zone and 0..9 fraction digits (see timestamp.ts for the exact rules). */
export const TS_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$'

const id = (description: string) => Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH, description })

const amount = (description: string) =>
  Type.Optional(Type.Number({ minimum: 0, maximum: MAX_AMOUNT_USD, description }))

/**
 * One record value on the input topic. Extra properties are allowed (and ignored by
 * the decoder). `amount_usd` (or the legacy `amount`) is required for `donation`.
 */
export const WireEventSchema = Type.Object(
  {
    event_id: id('Unique id of the event, used for de-duplication (the generator uses UUID-like ids).'),
    ts: Type.String({
      pattern: TS_PATTERN,
      description:
        'Event time, ISO-8601 with a zone, e.g. 2025-12-20T18:34:38.300308+00:00; truncated to the millisecond.',
    }),
    event_type: Type.Union(
      EVENT_TYPES.map((t) => Type.Literal(t)),
      { description: 'What happened.' },
    ),
    stream_id: id('The live stream; also the Kafka record key.'),
    user_id: id('The user (for stream_start/stream_stop: the streamer).'),
    message_len: Type.Optional(
      Type.Integer({ minimum: 0, description: 'chat_message only: length of the message.' }),
    ),
    amount_usd: amount('donation only (required there): amount in USD, rounded to whole cents.'),
    amount: amount('Legacy name of amount_usd, read only when amount_usd is absent.'),
  },
  {
    $id: 'StreamEventWire',
    title: 'Stream event (wire format)',
    additionalProperties: true,
  },
)

/** The JSON Schema of {@link WireEventSchema} as a plain object, for OpenAPI documents. */
export function wireEventJsonSchema(): Record<string, unknown> {
  return JSON.parse(JSON.stringify(WireEventSchema)) as Record<string, unknown>
}
