/**
 * Kafka record bytes -> {@link StreamEvent} or a machine-readable rejection
 * (docs/semantics.md section 1), and the generator's encoding back to bytes.
 *
 * Decisions where the spec leaves room (also in docs of the events module):
 * - JSON `null` counts as absent: a required field that is null is `missing_field`,
 *   an optional one (`message_len`, `amount_usd`) that is null is ignored.
 * - `message_len` is validated and kept only on `chat_message`; on other types it is
 *   ignored like an unknown field. Likewise `amount_usd`/`amount` outside `donation`.
 * - Id fields count characters as Unicode code points (1..128), must be well-formed
 *   Unicode (no lone surrogates) and must not contain U+0000 (PostgreSQL `text`
 *   cannot store it) -> otherwise `bad_field`.
 * - A present but invalid `event_type` (unknown string or not a string) is
 *   `bad_event_type`; a `ts` that is not a string or does not parse is `bad_ts`; an
 *   `amount_usd` that is not a finite number in [0, 1e6] is `bad_amount` (when
 *   `amount_usd` is present it wins, even if a valid legacy `amount` is also there).
 * - Bytes that are not valid UTF-8 are `not_json` (JSON text is UTF-8).
 * - The decoder does not compare the record key with `stream_id`: the engine does
 *   (`key_mismatch`, it needs the key and the value). Here the key only names the stream
 *   of a rejected record whose value has no readable `stream_id`.
 * - Total: every byte sequence gives an event or a rejection, in time and memory linear
 *   in its size (JSON.parse is iterative in V8, and nothing here recurses over the
 *   parsed value); `detail` is at most a few hundred characters.
 * - Checks run in a fixed order (size, JSON, object, stream_id, event_id, event_type,
 *   ts, user_id, type-specific fields), so a record with several faults always gets
 *   the same reason.
 */
import { isAscii } from 'node:buffer'
import { decodeCommon } from './fast.ts'
import { MAX_AMOUNT_USD, MAX_ID_LENGTH, MAX_RECORD_BYTES } from './schema.ts'
import { formatTimestampMicros, parseTimestamp } from './timestamp.ts'
import {
  type DecodeResult,
  EVENT_TYPES,
  type RejectReason,
  type StreamEvent,
  type WireEvent,
} from './types.ts'

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * The record's text. Nearly every record is plain ASCII: Latin-1 decoding of ASCII is
 * the same text, skips UTF-8 validation and gives V8 a one-byte string that JSON.parse
 * reads faster (about 7% more decodes per second). Anything else is strict UTF-8
 * (invalid bytes throw, and the record is `not_json`).
 */
function textOf(value: Uint8Array): string {
  return Buffer.isBuffer(value) && isAscii(value) ? value.toString('latin1') : utf8.decode(value)
}

const TYPES: ReadonlySet<string> = new Set<string>(EVENT_TYPES)

/** Longest rendering of an offending value in a rejection's `detail`. */
const SHOW_MAX = 60

/**
 * A short, printable rendering of an offending value for `detail`, truncated to
 * {@link SHOW_MAX} characters. It walks arrays and objects with an explicit stack and
 * stops once it has enough text, so a value nested 30,000 deep (the most a 64 KiB record
 * holds) or with 30,000 keys costs a few dozen steps: JSON.stringify and String()
 * recurse and overflow the stack on deep values, which made the decoder throw.
 */
export function show(v: unknown): string {
  let out = ''
  // Items to print: a value, or a literal piece of punctuation.
  const todo: Array<{ lit: string } | { val: unknown }> = [{ val: v }]
  while (todo.length > 0 && out.length <= SHOW_MAX) {
    const item = todo.pop()!
    if ('lit' in item) {
      out += item.lit
      continue
    }
    const x = item.val
    if (typeof x === 'string') out += JSON.stringify(x.length > SHOW_MAX ? x.slice(0, SHOW_MAX) : x)
    else if (typeof x === 'number') out += String(x)
    else if (x === null || typeof x === 'boolean') out += String(x)
    else if (Array.isArray(x)) {
      // Pushed in reverse: the stack pops them in order. Only the first few elements matter.
      const n = Math.min(x.length, SHOW_MAX)
      todo.push({ lit: x.length > n ? ',...]' : ']' })
      for (let i = n - 1; i >= 0; i--) {
        todo.push({ val: x[i] })
        if (i > 0) todo.push({ lit: ',' })
      }
      out += '['
    } else if (typeof x === 'object') {
      const keys: string[] = []
      for (const k in x) {
        if (!Object.hasOwn(x, k)) continue
        keys.push(k)
        if (keys.length > SHOW_MAX) break
      }
      const n = Math.min(keys.length, SHOW_MAX)
      todo.push({ lit: keys.length > n ? ',...}' : '}' })
      for (let i = n - 1; i >= 0; i--) {
        todo.push({ val: (x as Record<string, unknown>)[keys[i]!] })
        todo.push({ lit: `${JSON.stringify(keys[i]!.slice(0, SHOW_MAX))}:` })
        if (i > 0) todo.push({ lit: ',' })
      }
      out += '{'
    } else out += typeof x
  }
  return out.length > SHOW_MAX || todo.length > 0 ? `${out.slice(0, SHOW_MAX - 3)}...` : out
}

function countCodePoints(s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) i++
    }
    n++
  }
  return n
}

/** Why an id field is not valid, or undefined when it is (`v` is present). */
function idProblem(v: unknown): string | undefined {
  if (typeof v !== 'string') return `must be a string, got ${show(v)}`
  const n = v.length
  if (n === 0) return 'must not be empty'
  // UTF-16 length >= code points >= UTF-16 length / 2: count only in the ambiguous band.
  if (n > MAX_ID_LENGTH && (n > 2 * MAX_ID_LENGTH || countCodePoints(v) > MAX_ID_LENGTH)) {
    return `is longer than ${MAX_ID_LENGTH} characters`
  }
  if (!v.isWellFormed()) return 'is not well-formed Unicode (lone surrogate)'
  if (v.includes('\u0000')) return 'must not contain U+0000'
  return undefined
}

function keyStreamId(key: Uint8Array | null | undefined): string | undefined {
  if (key === null || key === undefined || key.length === 0 || key.length > 4 * MAX_ID_LENGTH)
    return undefined
  try {
    const s = utf8.decode(key)
    return idProblem(s) === undefined ? s : undefined
  } catch {
    return undefined
  }
}

function reject(
  reason: RejectReason,
  detail: string,
  streamId: string | undefined,
): Extract<DecodeResult, { ok: false }> {
  return streamId === undefined ? { ok: false, reason, detail } : { ok: false, reason, detail, streamId }
}

/**
 * Decodes one record value. Never throws: every input yields either
 * `{ ok: true, event }` or `{ ok: false, reason, detail, streamId? }` where `reason`
 * is one of the decoder's {@link REJECT_REASONS}, `detail` names the field, and
 * `streamId` is the value's `stream_id` when valid, else the record key when it is a
 * valid id. Pure and deterministic.
 */
export function decodeEvent(value: Uint8Array, key?: Uint8Array | null): DecodeResult {
  if (Buffer.isBuffer(value)) {
    const event = decodeCommon(value)
    if (event !== undefined) return { ok: true, event }
  }
  return decodeGeneral(value, key)
}

/**
 * {@link decodeEvent} without the fast path of fast.ts: JSON.parse, then the checks in
 * their fixed order. Exported for the tests that hold the fast path to it.
 */
export function decodeGeneral(value: Uint8Array, key?: Uint8Array | null): DecodeResult {
  if (value.length > MAX_RECORD_BYTES) {
    return reject(
      'too_large',
      `record is ${value.length} bytes, the limit is ${MAX_RECORD_BYTES}`,
      keyStreamId(key),
    )
  }
  if (value.length === 0) {
    return reject(
      'not_json',
      'record value is empty (a tombstone or an empty message), not JSON',
      keyStreamId(key),
    )
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(textOf(value))
  } catch (error) {
    const why = error instanceof SyntaxError ? 'not valid JSON' : 'not valid UTF-8'
    return reject('not_json', `record value is ${why}`, keyStreamId(key))
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return reject('not_object', `record value is JSON ${show(parsed)}, not an object`, keyStreamId(key))
  }
  return decodeObject(parsed as Record<string, unknown>, key)
}

/**
 * Validates an already-parsed wire object (same rules and results as
 * {@link decodeEvent} after JSON parsing). For callers that parse JSON themselves.
 */
export function decodeObject(o: Record<string, unknown>, key?: Uint8Array | null): DecodeResult {
  const streamIdRaw = o.stream_id
  if (streamIdRaw === undefined || streamIdRaw === null) {
    return reject('missing_field', 'stream_id is missing', keyStreamId(key))
  }
  const streamProblem = idProblem(streamIdRaw)
  if (streamProblem !== undefined) return reject('bad_field', `stream_id ${streamProblem}`, keyStreamId(key))
  const streamId = streamIdRaw as string

  const eventId = o.event_id
  if (eventId === undefined || eventId === null)
    return reject('missing_field', 'event_id is missing', streamId)
  const eventIdProblem = idProblem(eventId)
  if (eventIdProblem !== undefined) return reject('bad_field', `event_id ${eventIdProblem}`, streamId)

  const eventType = o.event_type
  if (eventType === undefined || eventType === null) {
    return reject('missing_field', 'event_type is missing', streamId)
  }
  if (typeof eventType !== 'string' || !TYPES.has(eventType)) {
    return reject('bad_event_type', `event_type ${show(eventType)} is not a known event type`, streamId)
  }

  const tsRaw = o.ts
  if (tsRaw === undefined || tsRaw === null) return reject('missing_field', 'ts is missing', streamId)
  const ts = typeof tsRaw === 'string' ? parseTimestamp(tsRaw) : undefined
  if (ts === undefined) {
    return reject('bad_ts', `ts ${show(tsRaw)} is not an ISO-8601 timestamp with a zone`, streamId)
  }

  const userId = o.user_id
  if (userId === undefined || userId === null) return reject('missing_field', 'user_id is missing', streamId)
  const userProblem = idProblem(userId)
  if (userProblem !== undefined) return reject('bad_field', `user_id ${userProblem}`, streamId)

  if (eventType === 'chat_message') {
    const len = o.message_len
    if (len === undefined || len === null) {
      return { ok: true, event: { eventId, ts, eventType, streamId, userId } as StreamEvent }
    }
    if (!Number.isSafeInteger(len) || (len as number) < 0) {
      return reject('bad_field', `message_len ${show(len)} is not an integer >= 0`, streamId)
    }
    const messageLen = (len as number) + 0 // + 0 turns -0 into 0
    return { ok: true, event: { eventId, ts, eventType, streamId, userId, messageLen } as StreamEvent }
  }

  if (eventType === 'donation') {
    let field = 'amount_usd'
    let amount = o.amount_usd
    if (amount === undefined || amount === null) {
      field = 'amount'
      amount = o.amount
    }
    if (amount === undefined || amount === null) {
      return reject('missing_field', 'amount_usd is missing (required for donation)', streamId)
    }
    if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0 || amount > MAX_AMOUNT_USD) {
      return reject(
        'bad_amount',
        `${field} ${show(amount)} is not a number from 0 to ${MAX_AMOUNT_USD}`,
        streamId,
      )
    }
    const amountCents = Math.round(amount * 100) + 0
    return { ok: true, event: { eventId, ts, eventType, streamId, userId, amountCents } as StreamEvent }
  }

  return { ok: true, event: { eventId, ts, eventType, streamId, userId } as StreamEvent }
}

/**
 * The generator's JSON encoding of one event: snake_case fields in a fixed order
 * (`event_id, ts, event_type, stream_id, user_id[, message_len][, amount_usd]`), no
 * whitespace, UTF-8. Deterministic: the same event always gives the same bytes.
 */
export function encodeEvent(e: WireEvent): Buffer {
  return Buffer.from(encodeEventString(e), 'utf8')
}

/** {@link encodeEvent} as a string (for JSON-lines files). */
export function encodeEventString(e: WireEvent): string {
  let s = `{"event_id":${JSON.stringify(e.event_id)},"ts":${JSON.stringify(e.ts)},"event_type":${JSON.stringify(
    e.event_type,
  )},"stream_id":${JSON.stringify(e.stream_id)},"user_id":${JSON.stringify(e.user_id)}`
  if (e.message_len !== undefined) s += `,"message_len":${JSON.stringify(e.message_len)}`
  if (e.amount_usd !== undefined) s += `,"amount_usd":${JSON.stringify(e.amount_usd)}`
  return `${s}}`
}

/**
 * The wire form of a decoded event (`ts` as ISO-8601 with `+00:00`, cents back to USD),
 * so that `decodeEvent(encodeEvent(toWireEvent(e)))` gives `e` again.
 */
export function toWireEvent(e: StreamEvent): WireEvent {
  const base = {
    event_id: e.eventId,
    ts: formatTimestampMicros(e.ts * 1000),
    event_type: e.eventType,
    stream_id: e.streamId,
    user_id: e.userId,
  }
  if (e.messageLen !== undefined) return { ...base, message_len: e.messageLen }
  if (e.amountCents !== undefined) return { ...base, amount_usd: e.amountCents / 100 }
  return base
}
