/**
 * The event language every stage of rtsa speaks (docs/semantics.md section 1).
 * The wire format is JSON with snake_case fields; inside rtsa a decoded event is a
 * {@link StreamEvent} with its time in epoch milliseconds and its donation in cents.
 */

export const EVENT_TYPES = [
  'stream_start',
  'stream_stop',
  'viewer_join',
  'viewer_leave',
  'heartbeat',
  'chat_message',
  'donation',
] as const

export type EventType = (typeof EVENT_TYPES)[number]

/** A valid, decoded event. */
export interface StreamEvent {
  readonly eventId: string
  /** Event time, epoch milliseconds (the wire `ts` truncated to the millisecond). */
  readonly ts: number
  readonly eventType: EventType
  readonly streamId: string
  readonly userId: string
  /** `chat_message` only, when given. */
  readonly messageLen?: number
  /** `donation` only: `Math.round(amount_usd * 100)`, whole cents. */
  readonly amountCents?: number
}

/** The reasons the decoder gives, from the record's value alone (and its key, to name the stream). */
export const DECODER_REASONS = [
  'not_json',
  'not_object',
  'missing_field',
  'bad_field',
  'bad_ts',
  'bad_event_type',
  'bad_amount',
  'too_large',
] as const

/**
 * Why a record was not applied: the decoder's reasons; `key_mismatch` and `future_ts`,
 * decided by the engine from the record (its key, its Kafka timestamp); `late` and
 * `duplicate`, by the engine from the partition's history; `processing_error`, by the
 * processor when the engine threw on the record (a bug, isolated so that it cannot stop
 * the partition).
 */
export const REJECT_REASONS = [
  ...DECODER_REASONS,
  'key_mismatch',
  'future_ts',
  'late',
  'duplicate',
  'processing_error',
] as const

export type RejectReason = (typeof REJECT_REASONS)[number]

/** A decoder's verdict on one record. */
export type DecodeResult =
  | { readonly ok: true; readonly event: StreamEvent }
  | { readonly ok: false; readonly reason: RejectReason; readonly detail: string; readonly streamId?: string }

/**
 * One event in the wire format (snake_case JSON, docs/semantics.md section 1), as the
 * generator writes it. `ts` is an ISO-8601 string with a zone.
 */
export interface WireEvent {
  readonly event_id: string
  readonly ts: string
  readonly event_type: EventType
  readonly stream_id: string
  readonly user_id: string
  readonly message_len?: number
  readonly amount_usd?: number
}
