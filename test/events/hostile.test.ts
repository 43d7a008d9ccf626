/**
 * The decoder is total (docs/semantics.md section 1): every byte sequence gives an event or a
 * rejection with a reason and a short detail, and never throws, whatever the nesting,
 * size, encoding or numbers. fast-check prints the seed of a failing run.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { decodeEvent, decodeGeneral, encodeEvent, show } from '../../src/events/decode.ts'
import { MAX_RECORD_BYTES } from '../../src/events/schema.ts'
import { DECODER_REASONS, EVENT_TYPES } from '../../src/events/types.ts'

const RUNS = Number(process.env.RTSA_PROPERTY_RUNS ?? 3000)
const FIELDS = ['event_id', 'ts', 'event_type', 'stream_id', 'user_id', 'message_len', 'amount_usd', 'amount']

const valid = {
  event_id: 'e1',
  ts: '2026-11-20T18:00:00.123456+00:00',
  event_type: 'donation',
  stream_id: 'stream_1',
  user_id: 'u1',
  amount_usd: 1.5,
}

/** Decodes and checks the verdict's shape; returns it. */
function decided(value: Buffer, key: Buffer | null = null) {
  const r = decodeEvent(value, key)
  if (r.ok) {
    assert.equal(typeof r.event.streamId, 'string')
    assert.ok(Number.isFinite(r.event.ts))
  } else {
    assert.ok((DECODER_REASONS as readonly string[]).includes(r.reason), r.reason)
    assert.ok(r.detail.length > 0 && r.detail.length <= 300, `detail of ${r.detail.length} chars`)
  }
  // Both paths agree on every input.
  assert.deepEqual(decodeGeneral(value, key).ok, r.ok)
  return r
}

const nested = (depth: number, open: string, close: string, inner = '1') =>
  open.repeat(depth) + inner + close.repeat(depth)

describe('decodeEvent is total', () => {
  it('deep nesting in any field, up to the size limit, is a rejection', () => {
    for (const field of FIELDS) {
      for (const [open, close] of [
        ['[', ']'],
        ['{"a":', '}'],
      ] as const) {
        // As deep as a record under the size limit can be.
        const depth = Math.floor((MAX_RECORD_BYTES - 300) / (open.length + close.length))
        const text = JSON.stringify({ ...valid, [field]: 0 }).replace(
          `"${field}":0`,
          `"${field}":${nested(depth, open, close)}`,
        )
        const r = decided(Buffer.from(text))
        if (field === 'message_len' || field === 'amount') {
          // Ignored outside chat_message / when amount_usd is present.
          assert.ok(r.ok, field)
        } else assert.ok(!r.ok && r.detail.includes('...'), `${field}: ${JSON.stringify(r)}`)
      }
    }
    // The whole value nested, and an array of many elements.
    assert.equal(decided(Buffer.from(nested(30_000, '[', ']'))).ok, false)
    assert.equal(decided(Buffer.from(`[${'1,'.repeat(30_000)}1]`)).ok, false)
  })

  it('empty values, tombstones, invalid UTF-8, NUL bytes and oversized records', () => {
    const cases: Array<[Buffer, string]> = [
      [Buffer.alloc(0), 'not_json'],
      [Buffer.from([0xff, 0xfe, 0x7b]), 'not_json'],
      [Buffer.from(JSON.stringify({ ...valid, user_id: 'a\u0000b' })), 'bad_field'],
      [Buffer.from('{"stream_id":"s\\u0000"}'), 'bad_field'],
      [Buffer.from('{"stream_id":"s\u0000"}'), 'not_json'],
      [Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc3]), Buffer.from('"}')]), 'not_json'],
      [Buffer.alloc(MAX_RECORD_BYTES + 1, 0x20), 'too_large'],
      [Buffer.alloc(8 * 1024 * 1024, 0x5b), 'too_large'],
      [Buffer.from(JSON.stringify({ ...valid, amount_usd: 0 }).replace(':0}', ':1e999}')), 'bad_amount'],
      [
        Buffer.from(JSON.stringify({ ...valid, stream_id: 'x'.repeat(100_000) }).slice(0, 60_000)),
        'not_json',
      ],
    ]
    for (const [value, reason] of cases) {
      const r = decided(value, Buffer.from('k'))
      assert.equal(r.ok ? 'ok' : r.reason, reason, value.subarray(0, 40).toString())
    }
    const negZero = decided(Buffer.from(JSON.stringify({ ...valid, amount_usd: 0 }).replace(':0}', ':-0}')))
    assert.ok(negZero.ok && Object.is(negZero.event.amountCents, 0))
    // A huge string value is shown cut, never whole.
    const long = decided(Buffer.from(JSON.stringify({ ...valid, event_type: 'x'.repeat(60_000) })))
    assert.ok(!long.ok && long.detail.length < 200)
  })

  it('random bytes, random JSON and mutated valid events never throw', () => {
    const bytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a))
    const json = fc.jsonValue({ maxDepth: 6 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null'))
    const objects = fc
      .record(
        Object.fromEntries(
          FIELDS.map((f) => [
            f,
            fc.oneof(
              fc.jsonValue({ maxDepth: 3 }),
              fc.constantFrom(...EVENT_TYPES, valid.ts, '2024-06-30T23:59:60Z', '-0', 1e308, -0),
            ),
          ]),
        ),
        { requiredKeys: [] },
      )
      .map((o) => Buffer.from(JSON.stringify(o)))
    const mutated = fc
      .tuple(
        fc.constantFrom(...EVENT_TYPES),
        fc.array(
          fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'cut', 'insert')),
        ),
      )
      .map(([type, edits]) => {
        const b = [...encodeEvent({ ...valid, event_type: type, message_len: 3 })]
        for (const [at, byte, op] of edits) {
          const i = at % (b.length + 1)
          if (op === 'set' && i < b.length) b[i] = byte
          else if (op === 'cut') b.splice(i, 1)
          else b.splice(i, 0, byte)
        }
        return Buffer.from(b)
      })
    const key = fc.option(
      fc.oneof(
        fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
        fc.constant(Buffer.from('stream_1')),
      ),
    )
    fc.assert(
      fc.property(fc.oneof(bytes, json, objects, mutated), key, (value, k) => {
        decided(value, k)
      }),
      { numRuns: RUNS },
    )
  })

  it('show() renders any value in a few dozen steps and at most 60 characters', () => {
    let deep: unknown = 1
    for (let i = 0; i < 1_000_000; i++) deep = [deep]
    const wide = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i]))
    for (const v of [
      deep,
      wide,
      'x'.repeat(1e6),
      -0,
      Number.POSITIVE_INFINITY,
      null,
      true,
      { a: [1, { b: 2 }] },
    ]) {
      const s = show(v)
      assert.ok(s.length <= 60, s)
    }
    assert.equal(show({ a: [1, { b: 2 }] }), '{"a":[1,{"b":2}]}')
    assert.equal(show([]), '[]')
    assert.equal(show('abc'), '"abc"')
  })
})
