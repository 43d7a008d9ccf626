/** What every benchmark gets from bench/main.ts. */
import type { BenchResult } from './report.ts'
import type { BenchServers } from './servers.ts'

export interface BenchContext {
  /** `--long`: larger inputs, longer runs. */
  readonly long: boolean
  /** Measured runs per figure (`--runs`, default 3). */
  readonly runs: number
  /** Progress lines (stderr). */
  readonly log: (line: string) => void
  /** The benchmark's private Kafka and PostgreSQL, started on first use. */
  readonly servers: () => Promise<BenchServers>
  /** Extra `key=value` options from the command line (`--set key=value`). */
  readonly options: Readonly<Record<string, string>>
  /** The state folder (`--home`, else RTSA_HOME or .rtsa), absolute; installs go under it. */
  readonly home: string
}

export type BenchResultBody = Pick<BenchResult, 'settings' | 'figures' | 'notes'>

export interface Benchmark {
  readonly name: string
  readonly describe: string
  run(ctx: BenchContext): Promise<BenchResultBody>
}

/** A numeric option: `--set key=value`, else the long or default value. */
export function opt(ctx: BenchContext, key: string, normal: number, long: number): number {
  const raw = ctx.options[key]
  if (raw === undefined) return ctx.long ? long : normal
  const n = Number(raw.replaceAll('_', ''))
  if (!Number.isFinite(n)) throw new Error(`--set ${key}=${raw}: not a number`)
  return n
}
