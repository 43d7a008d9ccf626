import { RtsaError } from '../errors/catalogue.ts'
import { parseBytes, parseDuration, parseHostPorts } from './units.ts'

/**
 * One setting: the env vars it is read from (first one set wins; the first name is
 * the canonical one), its default, a parser, and a short doc used by the README and
 * `rtsa config`. A parser returns `undefined` for a value it cannot read.
 */
export interface Setting<T> {
  readonly env: readonly string[]
  readonly default: T | undefined
  readonly parse: (raw: string) => T | undefined
  /** What a valid value looks like, for the error message. */
  readonly expect: string
  readonly doc: string
  /** A password or token: `rtsa config` and logs show it masked. */
  readonly secret?: boolean
  /** The default as documentation shows it, when it depends on the machine (a host name, a pid). */
  readonly shown?: string
}

type Env = Readonly<Record<string, string | undefined>>

function setting<T>(
  expect: string,
  parse: (raw: string) => T | undefined,
): (env: string | readonly string[], def: T | undefined, doc: string) => Setting<T> {
  return (env, def, doc) => ({ env: typeof env === 'string' ? [env] : env, default: def, parse, expect, doc })
}

export const duration = setting('a duration such as "10 minutes", "30s" or "250ms"', parseDuration)
export const durations = setting('durations, comma-separated, such as "1 minute,1 hour,1 day"', (raw) => {
  const items = raw
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '')
  const ms = items.map(parseDuration)
  return items.length > 0 && ms.every((v) => v !== undefined) ? (ms as number[]) : undefined
})
export const bytes = setting('a size such as "64MB" or "1GiB"', parseBytes)
export const hostPorts = setting('host:port[,host:port...]', parseHostPorts)
/** Like `text`, for passwords and tokens (masked wherever settings are shown). */
export function secret(
  env: string | readonly string[],
  def: string | undefined,
  doc: string,
): Setting<string> {
  return { ...text(env, def, doc), secret: true }
}
/** A comma-separated list of passwords or tokens (masked wherever settings are shown). */
export function secretList(
  env: string | readonly string[],
  def: string[] | undefined,
  doc: string,
): Setting<string[]> {
  return { ...list(env, def, doc), secret: true }
}
export const text = setting('a non-empty string', (raw) => (raw.trim() === '' ? undefined : raw.trim()))
export const list = setting('a comma-separated list', (raw) => {
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  return items.length > 0 ? items : undefined
})
export const boolean = setting('true or false', (raw) => {
  const v = raw.trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(v)) return true
  if (['0', 'false', 'no', 'off'].includes(v)) return false
  return undefined
})

export function integer(min: number, max: number) {
  return setting(`an integer from ${min} to ${max}`, (raw) => {
    if (!/^\s*-?\d+\s*$/.test(raw)) return undefined
    const n = Number(raw)
    return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined
  })
}

export function number(min: number, max: number) {
  return setting(`a number from ${min} to ${max}`, (raw) => {
    if (raw.trim() === '') return undefined
    const n = Number(raw)
    return Number.isFinite(n) && n >= min && n <= max ? n : undefined
  })
}

export function oneOf<const T extends string>(values: readonly T[]) {
  // Any case is accepted ("sasl_ssl", "SASL_SSL"); the value returned is the listed spelling.
  return setting(`one of ${values.join(', ')}`, (raw) => {
    const v = raw.trim().toLowerCase()
    return values.find((x) => x.toLowerCase() === v)
  })
}

/**
 * A Kafka name (`[A-Za-z0-9._-]`, 1 to 249 characters) in which `{hostname}` stands for
 * this machine's host name, so that one value can name every replica of a deployment
 * (each container or pod has its own host name, kept across restarts).
 */
export function kafkaName(host: string) {
  return setting(
    'letters, digits, ".", "_" and "-" (at most 249; "{hostname}" is replaced by the host name)',
    (raw) => {
      // A host name with characters Kafka does not take (rare) gets "-" for them.
      const v = raw.trim().replaceAll('{hostname}', host.replace(/[^A-Za-z0-9._-]/g, '-'))
      return /^[A-Za-z0-9._-]{1,249}$/.test(v) ? v : undefined
    },
  )
}

export function port() {
  return integer(1, 65535)
}

/** The typed result of loading a spec: each key is the parsed value (or undefined when it has no default). */
export type ConfigOf<S extends Record<string, Setting<unknown>>> = {
  readonly [K in keyof S]: S[K] extends Setting<infer T>
    ? S[K]['default'] extends undefined
      ? T | undefined
      : T
    : never
}

/**
 * Reads every setting of `spec` from `env`. Collects every bad value and throws one
 * `CONFIG_INVALID` error naming each variable, its value and what was expected, so a
 * service fails at startup rather than halfway through its work.
 */
export function loadConfig<S extends Record<string, Setting<unknown>>>(
  spec: S,
  env: Env = process.env,
): ConfigOf<S> {
  const out: Record<string, unknown> = {}
  const problems: string[] = []
  for (const [key, s] of Object.entries(spec)) {
    const name = s.env.find((n) => env[n] !== undefined && env[n] !== '')
    if (name === undefined) {
      out[key] = s.default
      continue
    }
    const raw = env[name] as string
    const value = s.parse(raw)
    if (value === undefined) problems.push(`${name}=${JSON.stringify(raw)} is invalid: expected ${s.expect}`)
    else out[key] = value
  }
  if (problems.length > 0) {
    throw new RtsaError('CONFIG_INVALID', `Bad configuration: ${problems.join('; ')}`, {
      details: { problems },
    })
  }
  return out as ConfigOf<S>
}

/** Every env var a spec knows, canonical names and aliases. */
export function envNamesOf(spec: Record<string, Setting<unknown>>): string[] {
  return Object.values(spec).flatMap((s) => [...s.env])
}

/** The canonical env var of each setting of a spec (for help texts). */
export function canonicalEnvOf(spec: Record<string, Setting<unknown>>): string[] {
  return Object.values(spec).map((s) => s.env[0]!)
}

/** The same setting with the default shown as `shown` in documentation (a machine-dependent default). */
export function shownAs<T>(s: Setting<T>, shown: string): Setting<T> {
  return { ...s, shown }
}

/** A retention: a duration, or `off` (null: keep forever). */
export const retention = setting('a duration such as "30 days", or off (keep forever)', (raw) =>
  raw.trim().toLowerCase() === 'off' ? null : parseDuration(raw),
)
