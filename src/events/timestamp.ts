/**
 * A fast, strict ISO-8601 timestamp parser and formatter for the wire `ts` field
 * (docs/semantics.md section 1). Hand-written because it runs once per record on the hot
 * path: `Date.parse` accepts far more than the contract (no zone, local time, RFC 2822)
 * and is slower.
 *
 * Accepted, exactly: `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+hh:mm|-hh:mm)`
 * - year 0000..9999 (four digits), real calendar dates (Feb 29 only in leap years);
 * - hour 00..23 (`24:00:00` is rejected), minute 00..59, second 00..59 (no leap second);
 * - 1 to 9 fraction digits after a `.` (a `.` with no digit is rejected; a `,` is rejected);
 * - a zone is required: `Z`, or an offset `+hh:mm` / `-hh:mm` with hh 00..23, mm 00..59
 *   (`-00:00` means UTC);
 * - decided strictness: only uppercase `T` and `Z`, no space instead of `T`, no
 *   compact forms (`20251220T...`), no `+hhmm` or `+hh` offsets, nothing before or after.
 *   The generator and the reference deployment never produce the lenient forms, and a
 *   strict contract is the same in every language that re-implements it.
 *
 * The result is epoch milliseconds, truncated: digits below the millisecond are
 * dropped, which is a floor toward the earlier millisecond also before 1970 and with
 * negative offsets (the sub-millisecond part is always a non-negative addition to a
 * whole millisecond of the same instant).
 */

const DAY_MS = 86_400_000
const C0 = 48 // '0'
const CUMULATIVE_DAYS = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
}

/** Days from 1970-01-01 to the first of January of `year` (proleptic Gregorian). */
function daysBeforeYear(year: number): number {
  const y = year - 1
  // Leap days in years 1..y minus leap days in years 1..1969 (477).
  return (year - 1970) * 365 + Math.floor(y / 4) - Math.floor(y / 100) + Math.floor(y / 400) - 477
}

/** The number of days in a month (1..12) of a year. */
function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeap(year) ? 29 : 28
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31
}

/** Two decimal digits at `i`, or -1. */
function d2(b: Uint8Array, i: number): number {
  const x = b[i]! - C0
  const y = b[i + 1]! - C0
  if (!(x >= 0 && x <= 9 && y >= 0 && y <= 9)) return -1
  return x * 10 + y
}

/** The longest accepted timestamp: 9 fraction digits and an offset. */
const MAX_LENGTH = 35
/** {@link parseTimestamp} copies its string here: one parser, over bytes, for both entry points. */
const scratch = new Uint8Array(MAX_LENGTH)

/**
 * Parses a wire timestamp. Returns epoch milliseconds (truncated to the millisecond),
 * or `undefined` when `s` is not exactly of the accepted form (see the module doc).
 */
export function parseTimestamp(s: string): number | undefined {
  const n = s.length
  if (n < 20 || n > MAX_LENGTH) return undefined
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    // Every accepted character is ASCII; 0 stands for any other, and is rejected.
    scratch[i] = c < 0x80 ? c : 0
  }
  return parseTimestampBytes(scratch, 0, n)
}

/**
 * {@link parseTimestamp} over the ASCII bytes `b[start, end)`, for the decoder's fast
 * path, which reads the timestamp straight from the record without making a string.
 */
export function parseTimestampBytes(b: Uint8Array, start: number, end: number): number | undefined {
  const n = end - start
  // Shortest: 2025-12-20T18:34:38Z (20); longest: 9 fraction digits and an offset (35).
  if (n < 20 || n > MAX_LENGTH || end > b.length) return undefined
  const yHi = d2(b, start)
  const yLo = d2(b, start + 2)
  const month = d2(b, start + 5)
  const day = d2(b, start + 8)
  const hour = d2(b, start + 11)
  const minute = d2(b, start + 14)
  const second = d2(b, start + 17)
  if (yHi < 0 || yLo < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23) return undefined
  if (minute < 0 || minute > 59 || second < 0 || second > 59) return undefined
  if (b[start + 4] !== 45 || b[start + 7] !== 45 || b[start + 10] !== 84) return undefined // - - T
  if (b[start + 13] !== 58 || b[start + 16] !== 58) return undefined // : :
  const year = yHi * 100 + yLo
  if (day > daysInMonth(year, month)) return undefined

  let i = start + 19
  let millis = 0
  if (b[i] === 46) {
    // '.': 1..9 digits; only the first three count, the rest is truncated.
    i++
    const first = i
    while (i < end) {
      const c = b[i]! - C0
      if (c < 0 || c > 9) break
      if (i - first < 3) millis = millis * 10 + c
      i++
    }
    const digits = i - first
    if (digits < 1 || digits > 9) return undefined
    if (digits === 1) millis *= 100
    else if (digits === 2) millis *= 10
  }
  // The zone must be inside [start, end): the byte at `end` belongs to whatever follows.
  if (i >= end) return undefined

  let offsetMinutes = 0
  const z = b[i]
  if (z === 90) {
    // 'Z'
    if (i + 1 !== end) return undefined
  } else if (z === 43 || z === 45) {
    // '+' or '-'
    if (i + 6 !== end || b[i + 3] !== 58) return undefined
    const oh = d2(b, i + 1)
    const om = d2(b, i + 4)
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return undefined
    offsetMinutes = (oh * 60 + om) * (z === 43 ? 1 : -1)
  } else {
    return undefined
  }

  const days =
    daysBeforeYear(year) + CUMULATIVE_DAYS[month - 1]! + (month > 2 && isLeap(year) ? 1 : 0) + day - 1
  return days * DAY_MS + hour * 3_600_000 + minute * 60_000 + second * 1000 + millis - offsetMinutes * 60_000
}

function pad(n: number, width: number): string {
  return n.toString().padStart(width, '0')
}

/** The formatted whole second last asked for: events come in time order, so most calls reuse it. */
let cachedSecond = Number.NaN
let cachedBase = ''

function formatSecond(second: number): string {
  if (second === cachedSecond) return cachedBase
  const d = new Date(second * 1000)
  const year = d.getUTCFullYear()
  if (!Number.isFinite(second) || year < 0 || year > 9999) {
    throw new RangeError(`timestamp out of range: ${second} s`)
  }
  cachedBase = `${pad(year, 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}T${pad(
    d.getUTCHours(),
    2,
  )}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`
  cachedSecond = second
  return cachedBase
}

/**
 * Formats epoch microseconds (an integer) the way the reference generator (Python's
 * `datetime.isoformat()` in UTC) does: `2025-12-20T18:34:38.300308+00:00`, the
 * fraction omitted when it is zero. Years 0000..9999 only (throws a RangeError otherwise).
 */
export function formatTimestampMicros(epochMicros: number): string {
  const us = Math.floor(epochMicros)
  const second = Math.floor(us / 1_000_000)
  const fraction = us - second * 1_000_000
  const base = formatSecond(second)
  if (fraction === 0) return `${base}+00:00`
  // Six digits with leading zeros, without padStart (hot path of the generator).
  return `${base}.${(1_000_000 + fraction).toString().slice(1)}+00:00`
}
