import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { decodeEvent, decodeGeneral, encodeEvent } from '../../src/events/decode.ts'
import { decodeCommon } from '../../src/events/fast.ts'
import { formatTimestampMicros } from '../../src/events/timestamp.ts'
import { EVENT_TYPES, type WireEvent } from '../../src/events/types.ts'

/**
 * The fast path's contract (src/events/fast.ts): on any bytes it gives exactly the
 * general path's event, or nothing, and then decodeEvent takes the general path.
 */
function agrees(b: Buffer): void {
  const general = decodeGeneral(b)
  const fast = decodeCommon(b)
  if (fast !== undefined) assert.deepStrictEqual({ ok: true, event: fast }, general, b.toString('latin1'))
  assert.deepStrictEqual(decodeEvent(b), general)
}

const FIELDS = ['event_id', 'ts', 'event_type', 'stream_id', 'user_id', 'message_len', 'amount_usd']

// Ids that are mostly fine, sometimes not: empty, 128/129 long, quotes, backslashes,
// control characters, non-ASCII, NUL.
const id = fc.oneof(
  { weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme-ascii' }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', 'a'.repeat(128), 'b'.repeat(129), 'x"y', 'x\\y', 'x\u0000', 'é', '\t'),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 8, unit: 'binary' }) },
)
const ts = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 253_402_300_799_000_000 }).map(formatTimestampMicros) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '2025-12-20T18:34:38Z',
      '2025-12-20T18:34:38.1-05:30',
      '2025-12-20T18:34:38.123456789+23:59',
      '2025-12-20T18:34:38.1234567890Z',
      '2025-12-20T18:34:38.+00:00',
      '2025-12-20T18:34:38',
      '2025-02-29T00:00:00Z',
      '2025-12-20T24:00:00Z',
      '2025-12-20 18:34:38Z',
      '2025-12-20T18:34:38+0000',
      '2025-12-20T18:34:38z',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 36 }) },
)
const type = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...EVENT_TYPES) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('donations', 'stream', 'Heartbeat', 'viewer_joi', 'chat_message '),
  },
)
/** JSON number texts, valid and not, and other JSON values, for message_len and amount_usd. */
const numberText = fc.oneof(
  fc.nat().map(String),
  fc.integer({ min: 0, max: 100_000_000 }).map((c) => String(c / 100)),
  fc.double().map((d) => JSON.stringify(d)),
  fc.constantFrom(
    '0',
    '-0',
    '00',
    '01',
    '1.',
    '.5',
    '1e2',
    '1E+2',
    '1e-7',
    '-1',
    '+1',
    '1e400',
    '1000000',
    '1000000.001',
    '999999999999999',
    '9999999999999999',
    '0.005',
    '12.345',
    'null',
    '"3"',
    'true',
    '[]',
    '1 2',
  ),
)

/** Whitespace as JSON allows it between tokens, and some it does not allow. */
const space = fc.constantFrom('', '', '', ' ', '\n', '\t\r ', '\u00a0', '\f')

/** A record text made of the fields in any order, with whitespace between tokens and some damage. */
const recordText = fc
  .record({
    values: fc.record({
      event_id: id.map((s) => JSON.stringify(s)),
      ts: ts.map((s) => JSON.stringify(s)),
      event_type: type.map((s) => JSON.stringify(s)),
      stream_id: id.map((s) => JSON.stringify(s)),
      user_id: id.map((s) => JSON.stringify(s)),
      message_len: numberText,
      amount_usd: numberText,
      amount: numberText,
      other: fc.jsonValue().map((v) => JSON.stringify(v)),
    }),
    keys: fc.shuffledSubarray([...FIELDS, 'amount', 'other', 'ts'], { minLength: 4 }),
    spaces: fc.array(space, { minLength: 40, maxLength: 40 }),
    cut: fc.option(fc.nat(), { freq: 8 }),
  })
  .map(({ values, keys, spaces, cut }) => {
    let i = 0
    const sp = () => spaces[i++ % spaces.length]
    const v = values as Record<string, string>
    const text = `${sp()}{${keys.map((k) => `${sp()}"${k}"${sp()}:${sp()}${v[k]}${sp()}`).join(',')}}${sp()}`
    return cut === null ? text : text.slice(0, cut % (text.length + 1))
  })

function wire(e: {
  id: string
  ts: number
  type: (typeof EVENT_TYPES)[number]
  stream: string
  user: string
  len: number
  cents: number
}): WireEvent {
  return {
    event_id: e.id,
    ts: formatTimestampMicros(e.ts),
    event_type: e.type,
    stream_id: e.stream,
    user_id: e.user,
    ...(e.type === 'chat_message' ? { message_len: e.len } : {}),
    ...(e.type === 'donation' ? { amount_usd: e.cents / 100 } : {}),
  }
}
const validWire = fc
  .record({
    id: fc.uuid(),
    ts: fc.integer({ min: 0, max: 4_000_000_000_000_000 }),
    type: fc.constantFrom(...EVENT_TYPES),
    stream: fc.stringMatching(/^stream_[0-9]{1,6}$/),
    user: fc.stringMatching(/^[a-z_0-9]{1,20}$/),
    len: fc.nat({ max: 10_000 }),
    cents: fc.nat({ max: 100_000_000 }),
  })
  .map(wire)

describe('decodeCommon, the fast path', () => {
  it('agrees with the general path on records of any key order, spacing and damage (property)', () => {
    fc.assert(
      fc.property(recordText, (text) => agrees(Buffer.from(text, 'utf8'))),
      { numRuns: 20_000 },
    )
  })

  it('agrees with the general path on the numbers of chat messages and donations (property)', () => {
    fc.assert(
      fc.property(validWire, numberText, fc.boolean(), (w, n, legacy) => {
        const base = encodeEvent({ ...w, message_len: undefined, amount_usd: undefined }).toString()
        for (const type of ['chat_message', 'donation', 'heartbeat']) {
          const typed = base.replace(`"event_type":"${w.event_type}"`, `"event_type":"${type}"`)
          for (const key of ['message_len', 'amount_usd', ...(legacy ? ['amount'] : [])]) {
            agrees(Buffer.from(`${typed.slice(0, -1)},"${key}":${n}}`))
          }
        }
      }),
      { numRuns: 5_000 },
    )
  })

  it('agrees with the general path on a valid record with one byte changed, cut or inserted (property)', () => {
    fc.assert(
      fc.property(validWire, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(2), (w, at, byte, how) => {
        const b = encodeEvent(w)
        const i = at % b.length
        const changed =
          how === 0
            ? Buffer.concat([b.subarray(0, i), Buffer.of(byte), b.subarray(i + 1)])
            : how === 1
              ? b.subarray(0, i)
              : Buffer.concat([b.subarray(0, i), Buffer.of(byte), b.subarray(i)])
        agrees(changed)
      }),
      { numRuns: 20_000 },
    )
  })

  it("takes every record of the generator's format, and Python's spacing of it (property)", () => {
    fc.assert(
      fc.property(validWire, (w) => {
        const compact = encodeEvent(w)
        const python = Buffer.from(JSON.stringify(w).replaceAll('","', '", "').replaceAll('":', '": '))
        for (const b of [compact, python]) {
          assert.notEqual(decodeCommon(b), undefined, b.toString())
          agrees(b)
        }
      }),
      { numRuns: 5_000 },
    )
  })

  it('leaves to the general path what only it can say', () => {
    const base =
      '"event_id":"e","ts":"2025-12-20T18:34:38Z","event_type":"heartbeat","stream_id":"s","user_id":"u"'
    for (const text of [
      `{${base},"ts":"2025-12-20T18:34:39Z"}`, // a repeated key: JSON.parse keeps the last
      `{${base},"extra":1}`,
      `{${base},"message_len":null}`,
      `{${base.replace('"u"', '"\\u0075"')}}`, // an escape
      `{${base.replace('"u"', '"ü"')}}`,
      `{${base.replace('heartbeat', 'donation')},"amount":1.5}`, // the legacy name
      `{${base.replace('heartbeat', 'donation')}}`, // a missing amount: rejected
      `{${base}}x`,
      `[{${base}}]`,
    ]) {
      const b = Buffer.from(text)
      assert.equal(decodeCommon(b), undefined, text)
      agrees(b)
    }
  })

  it('gives the same string for a repeated id, and the right one when two ids share a slot', () => {
    const userOf = (id: string, user: string) =>
      decodeCommon(encodeEvent(wire({ id, ts: 0, type: 'heartbeat', stream: 's', user, len: 0, cents: 0 })))
        ?.userId
    const a = userOf('e1', 'user_1')
    assert.equal(a, 'user_1')
    assert.equal(userOf('e2', 'user_1'), a)
    // Same length, first and last three bytes: the same slot, told apart by the full compare.
    for (const user of ['uAAxyz', 'uBBxyz', 'uAAxyz']) assert.equal(userOf('e3', user), user)
  })
})
