import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import {
  decodeEvent,
  decodeObject,
  encodeEvent,
  encodeEventString,
  toWireEvent,
} from '../../src/events/decode.ts'
import { MAX_RECORD_BYTES, wireEventJsonSchema } from '../../src/events/schema.ts'
import type { DecodeResult, RejectReason, WireEvent } from '../../src/events/types.ts'
import { DECODER_REASONS, EVENT_TYPES, REJECT_REASONS } from '../../src/events/types.ts'

const TS = '2025-12-20T18:34:38.300308+00:00'
const TS_MS = Date.UTC(2025, 11, 20, 18, 34, 38, 300)

const base = { event_id: 'e-1', ts: TS, event_type: 'heartbeat', stream_id: 'stream_1001', user_id: 'user_7' }

const bytes = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v))
const decode = (v: unknown, key?: Buffer | null) => decodeEvent(bytes(v), key)

function rejected(result: DecodeResult, reason: RejectReason, detailIncludes: string) {
  assert.equal(result.ok, false, JSON.stringify(result))
  if (result.ok) return
  assert.equal(result.reason, reason, result.detail)
  assert.ok(
    result.detail.includes(detailIncludes),
    `detail "${result.detail}" should name "${detailIncludes}"`,
  )
}

describe('decodeEvent: valid records', () => {
  it('decodes every event type, ts truncated to the millisecond', () => {
    for (const t of EVENT_TYPES) {
      const extra = t === 'donation' ? { amount_usd: 5 } : {}
      const r = decode({ ...base, event_type: t, ...extra })
      assert.ok(r.ok, JSON.stringify(r))
      assert.equal(r.event.eventType, t)
      assert.equal(r.event.ts, TS_MS)
      assert.equal(r.event.eventId, 'e-1')
      assert.equal(r.event.streamId, 'stream_1001')
      assert.equal(r.event.userId, 'user_7')
    }
  })

  it('gives exactly the contract fields', () => {
    assert.deepEqual(decode(base), {
      ok: true,
      event: { eventId: 'e-1', ts: TS_MS, eventType: 'heartbeat', streamId: 'stream_1001', userId: 'user_7' },
    })
  })

  it('keeps message_len on chat_message, optional there', () => {
    const r = decode({ ...base, event_type: 'chat_message', message_len: 42 })
    assert.ok(r.ok)
    assert.equal(r.event.messageLen, 42)
    const none = decode({ ...base, event_type: 'chat_message' })
    assert.ok(none.ok)
    assert.equal('messageLen' in none.event, false)
    const nul = decode({ ...base, event_type: 'chat_message', message_len: null })
    assert.ok(nul.ok)
    assert.equal('messageLen' in nul.event, false)
    const zero = decode(
      '{"event_id":"e","ts":"2025-01-01T00:00:00Z","event_type":"chat_message","stream_id":"s","user_id":"u","message_len":-0}',
    )
    assert.ok(zero.ok)
    assert.ok(Object.is(zero.event.messageLen, 0))
    const float = decode({ ...base, event_type: 'chat_message', message_len: 7.0 })
    assert.ok(float.ok)
  })

  it('ignores message_len, even invalid, on other types', () => {
    const r = decode({ ...base, message_len: 'lots' })
    assert.ok(r.ok)
    assert.equal('messageLen' in r.event, false)
  })

  it('rounds donations to whole cents with Math.round(amount_usd * 100)', () => {
    const cents = (v: unknown) => {
      const r = decode({ ...base, event_type: 'donation', amount_usd: v })
      assert.ok(r.ok, JSON.stringify(r))
      return r.event.amountCents
    }
    assert.equal(cents(12.34), 1234)
    assert.equal(cents(0), 0)
    assert.equal(cents(0.004), 0)
    assert.equal(cents(0.005), 1)
    assert.equal(cents(1.005), Math.round(1.005 * 100))
    assert.equal(cents(1_000_000), 100_000_000)
    const negZero = decode(
      '{"event_id":"e","ts":"2025-01-01T00:00:00Z","event_type":"donation","stream_id":"s","user_id":"u","amount_usd":-0}',
    )
    assert.ok(negZero.ok)
    assert.ok(Object.is(negZero.event.amountCents, 0))
  })

  it('accepts the legacy amount only when amount_usd is absent', () => {
    const legacy = decode({ ...base, event_type: 'donation', amount: 3.5 })
    assert.ok(legacy.ok)
    assert.equal(legacy.event.amountCents, 350)
    const both = decode({ ...base, event_type: 'donation', amount_usd: 1, amount: 99 })
    assert.ok(both.ok)
    assert.equal(both.event.amountCents, 100)
    const nullUsd = decode({ ...base, event_type: 'donation', amount_usd: null, amount: 2 })
    assert.ok(nullUsd.ok)
    assert.equal(nullUsd.event.amountCents, 200)
  })

  it('ignores amounts on other types and unknown fields everywhere', () => {
    const r = decode({ ...base, amount_usd: -5, extra: { deep: [1, 2] }, another: null })
    assert.ok(r.ok)
    assert.equal('amountCents' in r.event, false)
  })

  it('accepts ids up to 128 code points, counting astral characters once', () => {
    assert.ok(decode({ ...base, event_id: 'x'.repeat(128) }).ok)
    assert.ok(decode({ ...base, user_id: '😀'.repeat(128) }).ok)
    assert.ok(decode({ ...base, stream_id: ' ' }).ok)
  })

  it('accepts a UTF-8 BOM-free value with non-ASCII text', () => {
    const r = decode({ ...base, user_id: 'Zoë 🎮' })
    assert.ok(r.ok)
    assert.equal(r.event.userId, 'Zoë 🎮')
  })
})

describe('decodeEvent: rejections', () => {
  const cases: Array<[string, unknown, RejectReason, string]> = [
    ['empty value', '', 'not_json', 'JSON'],
    ['not JSON', 'hello', 'not_json', 'JSON'],
    ['truncated JSON', '{"event_id":"e-1","ts":', 'not_json', 'JSON'],
    ['trailing garbage', `${JSON.stringify(base)}x`, 'not_json', 'JSON'],
    ['two objects', `${JSON.stringify(base)}${JSON.stringify(base)}`, 'not_json', 'JSON'],
    ['single quotes', "{'event_id':'e'}", 'not_json', 'JSON'],
    ['JSON null', 'null', 'not_object', 'null'],
    ['JSON number', '42', 'not_object', '42'],
    ['JSON string', '"event"', 'not_object', 'event'],
    ['JSON true', 'true', 'not_object', 'true'],
    ['JSON array', JSON.stringify([base]), 'not_object', 'not an object'],
    ['empty object', {}, 'missing_field', 'stream_id'],
    ['no stream_id', { ...base, stream_id: undefined }, 'missing_field', 'stream_id'],
    ['null stream_id', { ...base, stream_id: null }, 'missing_field', 'stream_id'],
    ['numeric stream_id', { ...base, stream_id: 1001 }, 'bad_field', 'stream_id'],
    ['empty stream_id', { ...base, stream_id: '' }, 'bad_field', 'stream_id'],
    ['long stream_id', { ...base, stream_id: 's'.repeat(129) }, 'bad_field', 'stream_id'],
    ['no event_id', { ...base, event_id: undefined }, 'missing_field', 'event_id'],
    ['null event_id', { ...base, event_id: null }, 'missing_field', 'event_id'],
    ['numeric event_id', { ...base, event_id: 7 }, 'bad_field', 'event_id'],
    ['object event_id', { ...base, event_id: { id: 'x' } }, 'bad_field', 'event_id'],
    ['array event_id', { ...base, event_id: ['x'] }, 'bad_field', 'event_id'],
    ['boolean event_id', { ...base, event_id: true }, 'bad_field', 'event_id'],
    ['empty event_id', { ...base, event_id: '' }, 'bad_field', 'event_id'],
    ['129-char event_id', { ...base, event_id: 'x'.repeat(129) }, 'bad_field', 'event_id'],
    ['129 astral chars', { ...base, event_id: '😀'.repeat(129) }, 'bad_field', 'event_id'],
    ['NUL in event_id', { ...base, event_id: 'a\u0000b' }, 'bad_field', 'event_id'],
    [
      'lone surrogate',
      '{"event_id":"a\\ud800","ts":"2025-01-01T00:00:00Z","event_type":"heartbeat","stream_id":"s","user_id":"u"}',
      'bad_field',
      'event_id',
    ],
    ['no event_type', { ...base, event_type: undefined }, 'missing_field', 'event_type'],
    ['unknown event_type', { ...base, event_type: 'viewer_dance' }, 'bad_event_type', 'viewer_dance'],
    ['uppercase event_type', { ...base, event_type: 'HEARTBEAT' }, 'bad_event_type', 'event_type'],
    ['padded event_type', { ...base, event_type: ' heartbeat' }, 'bad_event_type', 'event_type'],
    ['numeric event_type', { ...base, event_type: 3 }, 'bad_event_type', 'event_type'],
    ['prototype event_type', { ...base, event_type: 'constructor' }, 'bad_event_type', 'event_type'],
    ['no ts', { ...base, ts: undefined }, 'missing_field', 'ts'],
    ['null ts', { ...base, ts: null }, 'missing_field', 'ts'],
    ['numeric ts', { ...base, ts: TS_MS }, 'bad_ts', 'ts'],
    ['ts without zone', { ...base, ts: '2025-12-20T18:34:38.300308' }, 'bad_ts', 'ts'],
    ['ts Feb 29 2025', { ...base, ts: '2025-02-29T00:00:00Z' }, 'bad_ts', 'ts'],
    ['ts hour 24', { ...base, ts: '2025-12-20T24:00:00Z' }, 'bad_ts', 'ts'],
    ['ts garbage', { ...base, ts: 'yesterday' }, 'bad_ts', 'yesterday'],
    ['no user_id', { ...base, user_id: undefined }, 'missing_field', 'user_id'],
    ['numeric user_id', { ...base, user_id: 7 }, 'bad_field', 'user_id'],
    ['empty user_id', { ...base, user_id: '' }, 'bad_field', 'user_id'],
    [
      'chat negative len',
      { ...base, event_type: 'chat_message', message_len: -1 },
      'bad_field',
      'message_len',
    ],
    [
      'chat fractional len',
      { ...base, event_type: 'chat_message', message_len: 1.5 },
      'bad_field',
      'message_len',
    ],
    [
      'chat string len',
      { ...base, event_type: 'chat_message', message_len: '12' },
      'bad_field',
      'message_len',
    ],
    [
      'chat huge len',
      { ...base, event_type: 'chat_message', message_len: 1e300 },
      'bad_field',
      'message_len',
    ],
    ['donation no amount', { ...base, event_type: 'donation' }, 'missing_field', 'amount_usd'],
    [
      'donation null amounts',
      { ...base, event_type: 'donation', amount_usd: null, amount: null },
      'missing_field',
      'amount_usd',
    ],
    ['donation negative', { ...base, event_type: 'donation', amount_usd: -0.01 }, 'bad_amount', 'amount_usd'],
    [
      'donation too big',
      { ...base, event_type: 'donation', amount_usd: 1_000_000.01 },
      'bad_amount',
      'amount_usd',
    ],
    ['donation string', { ...base, event_type: 'donation', amount_usd: '5.00' }, 'bad_amount', 'amount_usd'],
    ['donation boolean', { ...base, event_type: 'donation', amount_usd: true }, 'bad_amount', 'amount_usd'],
    [
      'donation object',
      { ...base, event_type: 'donation', amount_usd: { usd: 5 } },
      'bad_amount',
      'amount_usd',
    ],
    [
      'donation infinity',
      '{"event_id":"e","ts":"2025-01-01T00:00:00Z","event_type":"donation","stream_id":"s","user_id":"u","amount_usd":1e400}',
      'bad_amount',
      'amount_usd',
    ],
    [
      'donation bad amount_usd, good amount',
      { ...base, event_type: 'donation', amount_usd: -1, amount: 5 },
      'bad_amount',
      'amount_usd',
    ],
    [
      'donation bad legacy amount',
      { ...base, event_type: 'donation', amount: 'five' },
      'bad_amount',
      'amount',
    ],
  ]
  for (const [name, value, reason, detail] of cases) {
    it(`${name} -> ${reason}`, () => rejected(decode(value), reason, detail))
  }

  it('rejects invalid UTF-8 as not_json', () => {
    const value = Buffer.concat([Buffer.from('{"event_id":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])
    rejected(decodeEvent(value), 'not_json', 'UTF-8')
  })

  it('rejects records over the size limit as too_large without parsing them', () => {
    const big = Buffer.alloc(MAX_RECORD_BYTES + 1, 0x20)
    rejected(decodeEvent(big), 'too_large', String(MAX_RECORD_BYTES))
    // A valid event padded with an unknown field just under the limit is fine.
    const padding = 'p'.repeat(MAX_RECORD_BYTES - JSON.stringify(base).length - 20)
    const ok = bytes({ ...base, pad: padding })
    assert.ok(ok.length <= MAX_RECORD_BYTES)
    assert.ok(decodeEvent(ok).ok)
  })

  it('names the stream: from the value when valid, else from the key, else none', () => {
    const key = Buffer.from('stream_key')
    const fromValue = decode({ ...base, ts: 'bad' }, key)
    assert.ok(!fromValue.ok)
    assert.equal(fromValue.streamId, 'stream_1001')
    const fromKey = decode('not json', key)
    assert.ok(!fromKey.ok)
    assert.equal(fromKey.streamId, 'stream_key')
    const badStream = decode({ ...base, stream_id: 5 }, key)
    assert.ok(!badStream.ok)
    assert.equal(badStream.streamId, 'stream_key')
    const none = decode('not json', null)
    assert.ok(!none.ok)
    assert.equal('streamId' in none, false)
    const badKey = decodeEvent(bytes('[]'), Buffer.from([0xff]))
    assert.ok(!badKey.ok)
    assert.equal('streamId' in badKey, false)
  })

  it('only ever uses decoder reasons', () => {
    const decoderReasons: readonly RejectReason[] = DECODER_REASONS
    for (const [, value] of cases) {
      const r = decode(value)
      assert.ok(!r.ok && decoderReasons.includes(r.reason))
    }
  })
})

describe('decodeEvent: properties', () => {
  const wire = fc.record({
    event_id: fc
      .string({ minLength: 1, maxLength: 128, unit: 'grapheme-ascii' })
      .filter((s) => !s.includes('\u0000')),
    ts: fc.integer({ min: 0, max: 4_000_000_000_000_000 }),
    event_type: fc.constantFrom(...EVENT_TYPES),
    stream_id: fc
      .string({ minLength: 1, maxLength: 40, unit: 'grapheme' })
      .filter((s) => !s.includes('\u0000') && [...s].length <= 128),
    user_id: fc
      .string({ minLength: 1, maxLength: 40 })
      .filter((s) => !s.includes('\u0000') && s.isWellFormed()),
    message_len: fc.nat(),
    amount_usd: fc.integer({ min: 0, max: 100_000_000 }).map((c) => c / 100),
  })

  it('decodes what encodeEvent writes, and rejects no valid event (property)', async () => {
    const { formatTimestampMicros } = await import('../../src/events/timestamp.ts')
    fc.assert(
      fc.property(wire, (w) => {
        const e: WireEvent = {
          event_id: w.event_id,
          ts: formatTimestampMicros(w.ts),
          event_type: w.event_type,
          stream_id: w.stream_id,
          user_id: w.user_id,
          ...(w.event_type === 'chat_message' ? { message_len: w.message_len } : {}),
          ...(w.event_type === 'donation' ? { amount_usd: w.amount_usd } : {}),
        }
        const r = decodeEvent(encodeEvent(e))
        assert.ok(r.ok, JSON.stringify(r))
        assert.equal(r.event.eventId, w.event_id)
        assert.equal(r.event.ts, Math.floor(w.ts / 1000))
        assert.equal(r.event.streamId, w.stream_id)
        assert.equal(r.event.userId, w.user_id)
        if (w.event_type === 'chat_message') assert.equal(r.event.messageLen, w.message_len)
        if (w.event_type === 'donation') assert.equal(r.event.amountCents, Math.round(w.amount_usd * 100))
        assert.equal(encodeEventString(e), JSON.stringify(e))
      }),
    )
  })

  it('never throws on arbitrary bytes or JSON values, and always gives a known reason (property)', () => {
    const check = (r: DecodeResult) => {
      if (!r.ok) {
        assert.ok(REJECT_REASONS.includes(r.reason))
        assert.ok(r.detail.length > 0)
      }
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => check(decodeEvent(b))))
    fc.assert(fc.property(fc.jsonValue(), (v) => check(decode(JSON.stringify(v) ?? 'null'))))
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom(
            'event_id',
            'ts',
            'event_type',
            'stream_id',
            'user_id',
            'amount_usd',
            'amount',
            'message_len',
          ),
          fc.jsonValue(),
        ),
        (o) => check(decodeObject({ ...base, ...o })),
      ),
    )
  })
})

describe('toWireEvent', () => {
  it('round-trips decoded events of every type', () => {
    for (const t of EVENT_TYPES) {
      const extra = t === 'donation' ? { amount_usd: 12.34 } : t === 'chat_message' ? { message_len: 9 } : {}
      const first = decode({ ...base, event_type: t, ...extra })
      assert.ok(first.ok)
      const again = decodeEvent(encodeEvent(toWireEvent(first.event)))
      assert.deepEqual(again, first)
    }
  })
})

describe('wire schema', () => {
  it('is a JSON Schema object with the contract fields', () => {
    const schema = wireEventJsonSchema()
    assert.equal(schema.type, 'object')
    const props = schema.properties as Record<string, unknown>
    for (const f of [
      'event_id',
      'ts',
      'event_type',
      'stream_id',
      'user_id',
      'message_len',
      'amount_usd',
      'amount',
    ]) {
      assert.ok(f in props, f)
    }
    assert.deepEqual([...(schema.required as string[])].sort(), [
      'event_id',
      'event_type',
      'stream_id',
      'ts',
      'user_id',
    ])
  })
})
