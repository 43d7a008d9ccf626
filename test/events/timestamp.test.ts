import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { formatTimestampMicros, parseTimestamp } from '../../src/events/timestamp.ts'

const pad = (n: number, w: number) => String(n).padStart(w, '0')

describe('parseTimestamp', () => {
  it('reads the reference format with microseconds, truncating to the millisecond', () => {
    assert.equal(parseTimestamp('2025-12-20T18:34:38.300308+00:00'), Date.UTC(2025, 11, 20, 18, 34, 38, 300))
    assert.equal(parseTimestamp('2025-12-20T18:34:38.999999999Z'), Date.UTC(2025, 11, 20, 18, 34, 38, 999))
    assert.equal(parseTimestamp('2025-12-20T18:34:38Z'), Date.UTC(2025, 11, 20, 18, 34, 38))
  })

  it('reads 1 and 2 fraction digits as tenths and hundredths', () => {
    assert.equal(parseTimestamp('2025-01-01T00:00:00.5Z'), Date.UTC(2025, 0, 1, 0, 0, 0, 500))
    assert.equal(parseTimestamp('2025-01-01T00:00:00.05Z'), Date.UTC(2025, 0, 1, 0, 0, 0, 50))
    assert.equal(parseTimestamp('2025-01-01T00:00:00.0001Z'), Date.UTC(2025, 0, 1))
  })

  it('applies offsets', () => {
    const utc = Date.UTC(2025, 11, 20, 18, 34, 38)
    assert.equal(parseTimestamp('2025-12-20T19:34:38+01:00'), utc)
    assert.equal(parseTimestamp('2025-12-20T13:04:38-05:30'), utc)
    assert.equal(parseTimestamp('2025-12-20T18:34:38-00:00'), utc)
    assert.equal(parseTimestamp('2025-12-21T00:00:00+23:59'), Date.UTC(2025, 11, 20, 0, 1))
  })

  it('floors toward the earlier millisecond before 1970 and with negative offsets', () => {
    assert.equal(parseTimestamp('1969-12-31T23:59:59.9999Z'), -1)
    assert.equal(parseTimestamp('1969-12-31T23:59:59.0001Z'), -1000)
    assert.equal(parseTimestamp('1969-12-31T18:59:59.9995-05:00'), -1)
    assert.equal(parseTimestamp('1970-01-01T00:00:00.0009Z'), 0)
    assert.equal(parseTimestamp('0000-01-01T00:00:00Z'), Date.parse('0000-01-01T00:00:00Z'))
  })

  it('knows leap years', () => {
    assert.equal(parseTimestamp('2024-02-29T12:00:00Z'), Date.UTC(2024, 1, 29, 12))
    assert.equal(parseTimestamp('2000-02-29T12:00:00Z'), Date.UTC(2000, 1, 29, 12))
    assert.equal(parseTimestamp('2025-02-29T12:00:00Z'), undefined)
    assert.equal(parseTimestamp('1900-02-29T12:00:00Z'), undefined)
    assert.equal(parseTimestamp('2025-04-31T12:00:00Z'), undefined)
    assert.equal(parseTimestamp('2025-12-31T23:59:59Z'), Date.UTC(2025, 11, 31, 23, 59, 59))
  })

  const invalid = [
    '',
    '2025-12-20',
    '2025-12-20T18:34:38', // no zone
    '2025-12-20T18:34:38.300', // no zone
    '2025-12-20 18:34:38Z', // space instead of T: rejected by decision
    '2025-12-20t18:34:38Z', // lowercase t: rejected by decision
    '2025-12-20T18:34:38z', // lowercase z: rejected by decision
    '2025-12-20T24:00:00Z', // hour 24
    '2025-12-20T18:60:00Z',
    '2025-12-20T18:34:60Z', // leap second
    '2025-00-20T18:34:38Z',
    '2025-13-20T18:34:38Z',
    '2025-12-00T18:34:38Z',
    '2025-12-32T18:34:38Z',
    '2025-12-20T18:34:38.Z', // dot without digits
    '2025-12-20T18:34:38,5Z', // comma fraction
    '2025-12-20T18:34:38.1234567890Z', // 10 digits
    '2025-12-20T18:34:38+0100',
    '2025-12-20T18:34:38+01',
    '2025-12-20T18:34:38+24:00',
    '2025-12-20T18:34:38+01:60',
    '2025-12-20T18:34:38Z ',
    ' 2025-12-20T18:34:38Z',
    '2025-12-20T18:34:38ZZ',
    '2025-12-20T18:34:38+01:00Z',
    '20251220T183438Z',
    '+02025-12-20T18:34:38Z',
    '-2025-12-20T18:34:38Z',
    '2025-1-20T18:34:38Z',
    '2025-12-20T8:34:38Z',
    '2025/12/20T18:34:38Z',
    '2025-12-20T18-34-38Z',
    '2025-12-20T18:34:38.12a4Z',
    'abcd-ef-ghTij:kl:mnZ',
    '٢٠٢٥-12-20T18:34:38Z', // non-ASCII digits
    '2025-12-20T18:34:38+01:00:00',
  ]
  for (const s of invalid) {
    it(`rejects ${JSON.stringify(s)}`, () => assert.equal(parseTimestamp(s), undefined))
  }

  it('agrees with Date.parse for 3-digit fractions, any valid date and offset (property)', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('0000-01-01T00:00:00Z'),
          max: new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999)),
          noInvalidDate: true,
        }),
        fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
        (date, offset) => {
          // Write the instant as local time at `offset` minutes east of UTC.
          const local = new Date(date.getTime() + offset * 60_000)
          const y = local.getUTCFullYear()
          fc.pre(y >= 0 && y <= 9999)
          const sign = offset < 0 ? '-' : '+'
          const a = Math.abs(offset)
          const text =
            `${pad(y, 4)}-${pad(local.getUTCMonth() + 1, 2)}-${pad(local.getUTCDate(), 2)}T` +
            `${pad(local.getUTCHours(), 2)}:${pad(local.getUTCMinutes(), 2)}:${pad(local.getUTCSeconds(), 2)}` +
            `.${pad(local.getUTCMilliseconds(), 3)}${sign}${pad(Math.floor(a / 60), 2)}:${pad(a % 60, 2)}`
          assert.equal(parseTimestamp(text), Date.parse(text), text)
          assert.equal(parseTimestamp(text), date.getTime(), text)
        },
      ),
      { numRuns: 5000 },
    )
  })

  it('truncates extra fraction digits to the millisecond (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -62_000_000_000_000, max: 250_000_000_000_000 }),
        fc.integer({ min: 1, max: 6 }),
        (ms, extraDigits) => {
          const iso = new Date(ms).toISOString()
          fc.pre(/^\d{4}-/.test(iso))
          const withMore = `${iso.slice(0, 23)}${'9'.repeat(extraDigits)}Z`
          assert.equal(parseTimestamp(withMore), ms)
        },
      ),
    )
  })

  it('rejects what Date.parse rejects, for one-character mutations of a valid timestamp (property)', () => {
    const base = '2024-02-29T23:59:59.123456+05:30'
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: base.length - 1 }),
        fc.constantFrom(...'0123456789-:+.TZtz ,/a'),
        (at, ch) => {
          const s = base.slice(0, at) + ch + base.slice(at + 1)
          if (Number.isNaN(Date.parse(s))) assert.equal(parseTimestamp(s), undefined, s)
        },
      ),
      { numRuns: 2000 },
    )
  })
})

describe('formatTimestampMicros', () => {
  it('writes the reference format, fraction omitted when zero', () => {
    const ms = Date.UTC(2025, 11, 20, 18, 34, 38, 300)
    assert.equal(formatTimestampMicros(ms * 1000 + 308), '2025-12-20T18:34:38.300308+00:00')
    assert.equal(
      formatTimestampMicros(Date.UTC(2025, 11, 20, 18, 34, 38) * 1000),
      '2025-12-20T18:34:38+00:00',
    )
    assert.equal(formatTimestampMicros(-1), '1969-12-31T23:59:59.999999+00:00')
  })

  it('round-trips through parseTimestamp as the truncated millisecond (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -9_000_000_000_000_000, max: 9_000_000_000_000_000 }), (us) => {
        assert.equal(parseTimestamp(formatTimestampMicros(us)), Math.floor(us / 1000))
      }),
    )
  })
})
