/**
 * The decoder's fast path: reads the common record straight from its bytes, without
 * JSON.parse and without the intermediate object. JSON.parse was about two thirds of
 * the decoder's cost, and the decoder about half of the processor's cost per record.
 *
 * Contract: {@link decodeCommon} returns either exactly the event that the general
 * path (`decodeEvent` in decode.ts) returns for the same bytes, or `undefined`, and
 * then the caller takes the general path. It never rejects: every rejection, with its
 * reason and detail, stays with the general path. The property tests in
 * test/events/fast.test.ts compare the two on generated and mutated records.
 *
 * Taken for: one JSON object, any order of its keys, JSON whitespace anywhere between
 * tokens (Python's `json.dumps` writes `", "` and `": "`), keys among the event's
 * fields, each at most once; strings of printable ASCII without escapes; ids of 1 to
 * 128 characters; a known `event_type`; a valid `ts`; `message_len` as a plain
 * non-negative integer; `amount_usd` as a JSON number. Anything else (escapes,
 * non-ASCII text, `null`, other keys, the legacy `amount`, a rejection) goes the
 * general way.
 */
import { MAX_AMOUNT_USD, MAX_ID_LENGTH, MAX_RECORD_BYTES } from './schema.ts'
import { parseTimestampBytes } from './timestamp.ts'
import { EVENT_TYPES, type EventType, type StreamEvent } from './types.ts'

const QUOTE = 0x22
const BACKSLASH = 0x5c

/** The fields, in the generator's order; a field's bit is `1 << index`. */
const FIELDS = ['event_id', 'ts', 'event_type', 'stream_id', 'user_id', 'message_len', 'amount_usd'] as const
const EVENT_ID = 0
const TS = 1
const EVENT_TYPE = 2
const STREAM_ID = 3
const USER_ID = 4
const MESSAGE_LEN = 5
const AMOUNT_USD = 6
const REQUIRED = 0b11111

const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0))
const NAMES = FIELDS.map(bytes)
/** Each key as it appears with its quotes and colon, to match the expected next key in one pass. */
const QUOTED = FIELDS.map((f) => bytes(`"${f}":`))
const TYPES = new Map<number, readonly (readonly [Uint8Array, EventType])[]>()
for (const t of EVENT_TYPES) {
  // Candidates by first letter; the closing quote is part of the match.
  const c = t.charCodeAt(0)
  TYPES.set(c, [...(TYPES.get(c) ?? []), [bytes(`${t}"`), t]])
}

/** Whether `want` is at `b[p...]`. */
function matchAt(b: Uint8Array, p: number, want: Uint8Array): boolean {
  if (p + want.length > b.length) return false
  for (let i = 0; i < want.length; i++) if (b[p + i] !== want[i]) return false
  return true
}

/** What may follow a string's opening quote: 0 a character of the string, 1 its closing quote, 2 anything else. */
const CHAR = new Uint8Array(257).fill(2)
CHAR.fill(0, 0x20, 0x80)
CHAR[QUOTE] = 1
CHAR[BACKSLASH] = 2

/**
 * The position of the closing quote of a string of printable ASCII without escapes
 * whose first character is at `p`, or -1.
 */
function stringEnd(b: Uint8Array, p: number): number {
  const n = b.length
  for (; p < n; p++) {
    const k = CHAR[b[p]!]!
    if (k !== 0) return k === 1 ? p : -1
  }
  return -1
}

/** The first position at or after `p` that is not JSON whitespace. */
function skipSpace(b: Uint8Array, p: number): number {
  for (;;) {
    const c = b[p]
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return p
    p++
  }
}

/** The end of the digits from `p` (`p` itself when there is none). */
function digitsEnd(b: Uint8Array, p: number): number {
  for (;;) {
    const c = b[p]!
    if (!(c >= 0x30 && c <= 0x39)) return p
    p++
  }
}

/** The end of a JSON number at `p`, exactly as RFC 8259 writes one, or -1. */
function numberEnd(b: Uint8Array, p: number): number {
  if (b[p] === 0x2d) p++
  if (b[p] === 0x30) p++
  else {
    const e = digitsEnd(b, p)
    if (e === p) return -1
    p = e
  }
  if (b[p] === 0x2e) {
    const e = digitsEnd(b, p + 1)
    if (e === p + 1) return -1
    p = e
  }
  if (b[p] === 0x65 || b[p] === 0x45) {
    p++
    if (b[p] === 0x2b || b[p] === 0x2d) p++
    const e = digitsEnd(b, p)
    if (e === p) return -1
    p = e
  }
  return p
}

/**
 * Where the timestamp string starting at `p` would end by the shape of `ts` (its
 * closing quote), or -1. The parser then checks every byte before it, so the string
 * needs no scan of its own.
 */
function tsEnd(b: Uint8Array, p: number): number {
  let i = p + 19
  if (b[i] === 0x2e) i = digitsEnd(b, i + 1)
  const z = b[i]
  if (z === 0x5a) i += 1
  else if (z === 0x2b || z === 0x2d) i += 6
  else return -1
  return b[i] === QUOTE ? i : -1
}

/** The event type whose name and closing quote are at `p`, or undefined. */
function typeAt(b: Uint8Array, p: number): EventType | undefined {
  const candidates = TYPES.get(b[p]!)
  if (candidates === undefined) return undefined
  for (const [name, type] of candidates) if (matchAt(b, p, name)) return type
  return undefined
}

/** The field whose key (without quotes) is `b[start, end)`, or -1. */
function fieldOf(b: Uint8Array, start: number, end: number): number {
  for (let f = 0; f < NAMES.length; f++) {
    if (NAMES[f]!.length === end - start && matchAt(b, start, NAMES[f]!)) return f
  }
  return -1
}

/**
 * Stream and user ids repeat from record to record: a direct-mapped table of the
 * strings already made gives the same string again instead of a new one. Besides the
 * allocation it saves, the engine's maps then see a string whose hash V8 has already
 * computed. The slot comes from the length and the last and first bytes (ids differ
 * mostly at their end); a hit is confirmed by comparing every character.
 */
const INTERN_BITS = 16
const interned: (string | undefined)[] = new Array(1 << INTERN_BITS).fill(undefined)

function intern(b: Buffer, start: number, end: number): string {
  const n = end - start
  const mix = (b[end - 1]! | (b[end - 2]! << 8) | (b[end - 3]! << 16) | (b[start]! << 24)) ^ n
  const slot = Math.imul(mix, 0x9e3779b1) >>> (32 - INTERN_BITS)
  const known = interned[slot]
  if (known !== undefined && known.length === n) {
    let i = 0
    while (i < n && known.charCodeAt(i) === b[start + i]) i++
    if (i === n) return known
  }
  const s = b.toString('latin1', start, end)
  interned[slot] = s
  return s
}

/**
 * The event in `value` when it is a common record (see the module doc), or undefined:
 * then only the general path can say what it is.
 */
export function decodeCommon(value: Buffer): StreamEvent | undefined {
  const b = value
  if (b.length > MAX_RECORD_BYTES) return undefined
  let p = skipSpace(b, 0)
  if (b[p] !== 0x7b) return undefined // {
  p++
  let seen = 0
  let field = -1
  let eventId = ''
  let ts = 0
  let eventType: EventType | undefined
  let streamId = ''
  let userId = ''
  let messageLen = -1
  let amountStart = -1
  let amountEnd = -1
  for (;;) {
    p = skipSpace(b, p)
    // The key: most records have the generator's order, so try the next one first.
    const next = field + 1
    if (next < QUOTED.length && matchAt(b, p, QUOTED[next]!)) {
      field = next
      p += QUOTED[next]!.length
    } else {
      if (b[p] !== QUOTE) return undefined
      const keyEnd = stringEnd(b, p + 1)
      if (keyEnd < 0) return undefined
      field = fieldOf(b, p + 1, keyEnd)
      if (field < 0) return undefined
      p = skipSpace(b, keyEnd + 1)
      if (b[p] !== 0x3a) return undefined // :
      p++
    }
    // A repeated key: JSON.parse keeps the last value; the general path says which.
    if ((seen & (1 << field)) !== 0) return undefined
    seen |= 1 << field
    p = skipSpace(b, p)

    if (field === MESSAGE_LEN) {
      const end = digitsEnd(b, p)
      // A plain integer of up to 15 digits is always a safe integer; a leading zero is
      // not JSON unless the number is 0.
      if (end === p || end - p > 15 || (b[p] === 0x30 && end - p > 1)) return undefined
      messageLen = 0
      for (; p < end; p++) messageLen = messageLen * 10 + (b[p]! - 0x30)
    } else if (field === AMOUNT_USD) {
      amountStart = p
      amountEnd = numberEnd(b, p)
      if (amountEnd < 0) return undefined
      p = amountEnd
    } else {
      if (b[p] !== QUOTE) return undefined
      const start = p + 1
      if (field === TS) {
        const end = tsEnd(b, start)
        const t = end < 0 ? undefined : parseTimestampBytes(b, start, end)
        if (t === undefined) return undefined
        ts = t
        p = end + 1
      } else if (field === EVENT_TYPE) {
        eventType = typeAt(b, start)
        if (eventType === undefined) return undefined
        p = start + eventType.length + 1
      } else {
        const end = stringEnd(b, start)
        if (end <= start || end - start > MAX_ID_LENGTH) return undefined
        if (field === EVENT_ID) eventId = b.toString('latin1', start, end)
        else if (field === STREAM_ID) streamId = intern(b, start, end)
        else if (field === USER_ID) userId = intern(b, start, end)
        p = end + 1
      }
    }
    p = skipSpace(b, p)
    const c = b[p++]
    if (c === 0x7d) break // }
    if (c !== 0x2c) return undefined // ,
  }
  if (skipSpace(b, p) !== b.length || (seen & REQUIRED) !== REQUIRED) return undefined

  // The same object shapes, in the same key order, as the general path builds.
  if (eventType === 'chat_message' && messageLen >= 0) {
    return { eventId, ts, eventType, streamId, userId, messageLen }
  }
  if (eventType === 'donation') {
    if (amountStart < 0) return undefined
    // The grammar is checked above, so Number reads it as JSON.parse would.
    const amount = Number(b.toString('latin1', amountStart, amountEnd))
    if (!Number.isFinite(amount) || amount < 0 || amount > MAX_AMOUNT_USD) return undefined
    const amountCents = Math.round(amount * 100) + 0
    return { eventId, ts, eventType, streamId, userId, amountCents }
  }
  return { eventId, ts, eventType: eventType!, streamId, userId }
}
