/**
 * TypeBox schemas of the API. One definition drives request validation, response
 * serialization (unknown fields are dropped), the handlers' TypeScript types and the
 * OpenAPI document.
 */
import { type Static, type TProperties, type TSchema, Type } from 'typebox'
import { ERROR_CODES, type ErrorCode, HTTP_ERRORS, type HttpErrorName } from '../errors/catalogue.ts'

export const IsoTime = Type.String({ format: 'date-time', description: 'UTC, ISO-8601' })

/**
 * A time in a request: ISO-8601 as `date-time` says, and a real instant. The format lets a
 * leap second through (`23:59:60Z`), which no JavaScript Date can hold: seconds stop at 59.
 */
export const REQUEST_TIME_PATTERN = 'T[0-9]{2}:[0-9]{2}:[0-5][0-9]'
export const RequestTime = Type.String({
  format: 'date-time',
  pattern: REQUEST_TIME_PATTERN,
  description: 'UTC, ISO-8601 (seconds 00-59)',
})

/**
 * A route's query string: only the parameters it names. An unknown one is a 400 naming
 * it (the app's validator does not strip extra properties), so it can neither be silently
 * ignored nor make a cache key of its own.
 */
export function Query<T extends TProperties>(properties: T) {
  const schema = Type.Object(properties, { additionalProperties: false })
  // A parameter with a default may be left out: the server applies the default (the handler's
  // type still sees it as present). Listing it as required would make OpenAPI clients send it.
  // (TypeBox types `required` as a tuple of the non-optional keys: read it as plain strings.)
  const listed = ((schema as { required?: string[] }).required ?? []) as string[]
  const required = listed.filter((name) => (properties[name] as { default?: unknown }).default === undefined)
  return Object.assign(schema, { required })
}
/**
 * One schema with `type: ['string', 'null']` rather than a Union: fast-json-stringify
 * serializes a union by validating each value against its branches (ajv-formats `date-time`
 * per timestamp); a type list is a plain `=== null` test.
 */
export const NullableIsoTime = Type.Unsafe<string | null>({
  type: ['string', 'null'],
  format: 'date-time',
  description: 'UTC, ISO-8601, or null',
})
export const Money = Type.String({
  pattern: '^-?[0-9]+\\.[0-9]{2}$',
  description: 'US dollars with exactly two decimals, computed from integer cents',
  examples: ['12.30'],
})
export const StreamId = Type.String({
  minLength: 1,
  maxLength: 200,
  // No control characters (NUL cannot even reach PostgreSQL in a text value).
  pattern: '^[^\\u0000-\\u001f\\u007f]+$',
  description: 'stream id, e.g. stream_1001 (no control characters)',
})

/** One row of `stream_metrics_minute` (docs/semantics.md section 4). */
export const WindowRow = Type.Object({
  window_start: IsoTime,
  window_end: IsoTime,
  stream_id: Type.String(),
  active_viewers: Type.Integer({ description: 'users present as the window closes' }),
  peak_viewers: Type.Integer({ description: 'most users present at one instant of the window' }),
  unique_viewers: Type.Integer({ description: 'users present at some point of the window' }),
  viewer_joins: Type.Integer(),
  viewer_leaves: Type.Integer(),
  chat_messages: Type.Integer(),
  unique_chatters: Type.Integer(),
  donations_usd: Money,
  donations_cents: Type.Integer(),
  donation_count: Type.Integer(),
  events: Type.Integer({ description: 'accepted records in the window' }),
  is_final: Type.Boolean({
    description: 'the partition watermark has passed window_end: the row will not change',
  }),
  partition: Type.Integer(),
  updated_at: IsoTime,
})
export type WindowRow = Static<typeof WindowRow>

/** One row of `stream_state` (docs/semantics.md section 5) with its partition's watermark. */
export const StateRow = Type.Object({
  stream_id: Type.String(),
  active_viewers: Type.Integer({ description: 'present users now (provisional above the watermark)' }),
  live: Type.Union([Type.Boolean(), Type.Null()], { description: 'null: no stream_start/stream_stop seen' }),
  status: Type.Union([Type.Literal('live'), Type.Literal('offline'), Type.Literal('unknown')]),
  last_event_ts: NullableIsoTime,
  accepted_count: Type.Integer(),
  late_count: Type.Integer(),
  duplicate_count: Type.Integer(),
  rejected_count: Type.Integer(),
  partition: Type.Integer(),
  watermark: NullableIsoTime,
  partition_watermark: NullableIsoTime,
  updated_at: IsoTime,
})
export type StateRow = Static<typeof StateRow>

/** Whole-pipeline figures, shared by `/ready`, `/live` and the dashboard. */
export const PipelineSummary = Type.Object({
  server_time_utc: IsoTime,
  partitions: Type.Integer(),
  lag: Type.Union([Type.Integer(), Type.Null()], {
    description: 'records not yet processed: sum of broker end offset - next offset (null: unknown)',
  }),
  last_commit_at: NullableIsoTime,
  last_commit_age_seconds: Type.Union([Type.Number(), Type.Null()]),
  watermark: Type.Union([IsoTime, Type.Null()], { description: 'the lowest partition watermark' }),
  watermark_delay_seconds: Type.Union([Type.Number(), Type.Null()], {
    description: 'now - lowest partition watermark: how far behind the wall clock windows become final',
  }),
  event_time_delay_seconds: Type.Union([Type.Number(), Type.Null()], {
    description: 'now - newest accepted event time',
  }),
  events_per_second: Type.Union([Type.Number(), Type.Null()], {
    description: 'accepted records per second, from accepted_count deltas (null until two samples exist)',
  }),
  streams: Type.Integer(),
  live_streams: Type.Integer(),
  active_viewers: Type.Integer(),
  accepted: Type.Integer(),
  late: Type.Integer(),
  duplicate: Type.Integer(),
  rejected: Type.Integer(),
})
export type PipelineSummary = Static<typeof PipelineSummary>

export const ErrorBody = Type.Object({
  error: Type.Enum(Object.values(HTTP_ERRORS) as HttpErrorName[], {
    description: 'short name of the status, e.g. bad_request',
  }),
  message: Type.String(),
  code: Type.Enum(Object.keys(ERROR_CODES) as ErrorCode[], {
    description: 'rtsa error code from the catalogue (README, "Error codes")',
  }),
})
export type ErrorBody = Static<typeof ErrorBody>

/**
 * The schemas that many responses share, registered once on the app (`app.addSchema`) and
 * referenced by `$ref`: OpenAPI lists each once under components/schemas, by its `$id`.
 */
export const SHARED_SCHEMAS = [
  { ...WindowRow, $id: 'WindowRow' },
  { ...StateRow, $id: 'StateRow' },
  { ...PipelineSummary, $id: 'PipelineSummary' },
  { ...ErrorBody, $id: 'ErrorBody' },
]

/** A reference to a shared schema, typed as the schema itself for the handlers. */
function ref<T extends TSchema>(id: string, _schema: T, options: { description?: string } = {}) {
  return Type.Unsafe<Static<T>>({ $ref: `${id}#`, ...options })
}

export const WindowRowRef = ref('WindowRow', WindowRow)
export const StateRowRef = ref('StateRow', StateRow)
export const PipelineSummaryRef = ref('PipelineSummary', PipelineSummary)

const errorResponse = (description: string) => ref('ErrorBody', ErrorBody, { description })

/** Error responses every data route may give. */
export const errorResponses = {
  400: errorResponse('a parameter is invalid or unknown (the message names it)'),
  401: errorResponse('API_TOKEN is set and the bearer token is missing or wrong'),
  429: errorResponse('this client passed API_RATE_LIMIT; retry after the Retry-After header'),
  503: errorResponse('the database is unreachable or busy, or a capacity limit is reached; see Retry-After'),
  500: errorResponse('a bug; the server log has the details'),
} as const
