/** Small statistics and formatting helpers of the benchmarks. */

/** The median (the upper middle one for an even count); NaN for no values. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
}

/** The p-th percentile (0..100) by nearest rank; NaN for no values. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN
  const sorted = [...xs].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!
}

/** p50, p95, p99 and max of a sample. */
export function latencySummary(xs: readonly number[]) {
  return {
    count: xs.length,
    p50: percentile(xs, 50),
    p95: percentile(xs, 95),
    p99: percentile(xs, 99),
    max: xs.length === 0 ? Number.NaN : Math.max(...xs),
  }
}

/** A number with thousands separators and at most `digits` decimals. */
export function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return String(n)
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 })
}

export const mib = (bytes: number) => bytes / 1024 / 1024
