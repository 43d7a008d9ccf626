/**
 * Settings shown to people, from the same definitions the services load: the effective
 * value of each setting with its source and secrets masked (`rtsa config`), and README's
 * settings table (`npm run docs:settings` writes it; a test fails when it differs).
 */
import type { Setting } from './define.ts'

type Env = Readonly<Record<string, string | undefined>>
type Spec = Record<string, Setting<unknown>>

const UNITS: Array<[number, string, string]> = [
  [86_400_000, 'day', 'days'],
  [3_600_000, 'hour', 'hours'],
  [60_000, 'minute', 'minutes'],
  [1000, 's', 's'],
]

function durationText(ms: number): string {
  for (const [size, one, many] of UNITS) {
    if (ms >= size && ms % size === 0) {
      const n = ms / size
      return size === 1000 ? `${n}s` : `${n} ${n === 1 ? one : many}`
    }
  }
  return `${ms}ms`
}

function bytesText(n: number): string {
  for (const [size, unit] of [
    [1024 ** 3, 'GiB'],
    [1024 ** 2, 'MiB'],
    [1024, 'KiB'],
  ] as const) {
    if (n >= size && n % size === 0) return `${n / size}${unit}`
  }
  return `${n} bytes`
}

/** A value as a person writes it: durations and sizes with units, lists with commas. */
export function valueText(s: Setting<unknown>, value: unknown): string {
  if (value === undefined) return 'unset'
  if (value === null) return 'off'
  if (typeof value === 'number' && s.expect.startsWith('a duration')) return durationText(value)
  if (typeof value === 'number' && s.expect.startsWith('a size')) return bytesText(value)
  if (Array.isArray(value) && s.expect.startsWith('durations'))
    return value.map((v) => durationText(v)).join(',')
  if (Array.isArray(value)) return value.join(',')
  if (typeof value === 'function') return '(a point in time)'
  return String(value)
}

export interface EffectiveSetting {
  readonly name: string
  readonly value: string
  /** `default`, or `env NAME` (the alias that was set). */
  readonly source: string
  readonly secret: boolean
  /** Set when the value does not parse: what was expected. */
  readonly problem?: string
}

/** Each setting of `spec` as `env` makes it: value (secrets masked), source, or the problem. */
export function effectiveSettings(spec: Spec, env: Env): EffectiveSetting[] {
  return Object.values(spec).map((s) => {
    const name = s.env[0]!
    const from = s.env.find((n) => env[n] !== undefined && env[n] !== '')
    const secret = s.secret === true
    if (from === undefined) {
      return { name, value: s.shown ?? valueText(s, s.default), source: 'default', secret }
    }
    const raw = env[from] as string
    const parsed = s.parse(raw)
    const value = secret ? '********' : parsed === undefined ? JSON.stringify(raw) : valueText(s, parsed)
    return {
      name,
      value,
      source: `env ${from}`,
      secret,
      ...(parsed === undefined ? { problem: `expected ${s.expect}` } : {}),
    }
  })
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ')

/**
 * README's table: one row per setting of any service (each named once), its aliases,
 * default, the services that read it and its doc.
 */
export function settingsTable(services: Readonly<Record<string, Spec>>): string {
  const rows = new Map<string, { s: Setting<unknown>; users: string[] }>()
  for (const [service, spec] of Object.entries(services)) {
    for (const s of Object.values(spec)) {
      const row = rows.get(s.env[0]!) ?? { s, users: [] }
      if (!row.users.includes(service)) row.users.push(service)
      rows.set(s.env[0]!, row)
    }
  }
  const lines = ['| variable | default | read by | meaning |', '|---|---|---|---|']
  for (const [name, { s, users }] of rows) {
    const aliases =
      s.env.length > 1
        ? ` (alias ${s.env
            .slice(1)
            .map((a) => `\`${a}\``)
            .join(', ')})`
        : ''
    const def = s.shown ?? valueText(s, s.default)
    lines.push(
      `| \`${name}\`${aliases} | ${def === 'unset' ? 'unset' : `\`${cell(def)}\``} | ${users.join(', ')} | ${cell(s.doc)} |`,
    )
  }
  return lines.join('\n')
}
