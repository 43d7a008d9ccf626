/**
 * Parsers for setting values with units. Pure functions; they return `undefined`
 * for a value they cannot read so that the caller can name the variable in its error.
 */

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
}

/**
 * Reads a duration such as `"10 minutes"`, `"1 minute"`, `"30s"`, `"250ms"` or a
 * bare number of milliseconds (`"1500"`). Returns milliseconds, or `undefined`.
 */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text)
  if (!match) return undefined
  const amount = Number(match[1])
  const unit = (match[2] ?? '').toLowerCase()
  const factor = unit === '' ? 1 : DURATION_UNITS[unit]
  if (factor === undefined || !Number.isFinite(amount)) return undefined
  const ms = amount * factor
  return Number.isInteger(ms) ? ms : undefined
}

/** Formats milliseconds the way a person would write them in a setting. */
export function formatDuration(ms: number): string {
  if (ms % 86_400_000 === 0 && ms > 0) return plural(ms / 86_400_000, 'day')
  if (ms % 3_600_000 === 0 && ms > 0) return plural(ms / 3_600_000, 'hour')
  if (ms % 60_000 === 0 && ms > 0) return plural(ms / 60_000, 'minute')
  if (ms % 1000 === 0 && ms > 0) return plural(ms / 1000, 'second')
  return `${ms}ms`
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`
}

/** Reads a byte size such as `"64MB"`, `"1 GiB"`, `"512k"` or a bare number of bytes. */
export function parseBytes(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text)
  if (!match) return undefined
  const unit = (match[2] ?? '').toLowerCase().replace(/i?b$/, '')
  const factors: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }
  const factor = factors[unit]
  if (factor === undefined) return undefined
  return Math.round(Number(match[1]) * factor)
}

/** Reads `host:port` pairs separated by commas, e.g. `"localhost:9092,kafka:29092"`. */
export function parseHostPorts(text: string): string[] | undefined {
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
  if (parts.length === 0) return undefined
  for (const part of parts) {
    const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(part)
    if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) return undefined
  }
  return parts
}
