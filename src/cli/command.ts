/**
 * The one convention of rtsa's sub-commands: `--help` (usage, flags, the env vars it
 * reads, an example) answered before anything runs, flags parsed strictly before any
 * work (so `rtsa reset --help` can never delete a thing), and an unknown flag or argument
 * answered with the usage and exit 2. Exit codes: 0 done, 1 failed, 2 usage error.
 */
import { parseArgs } from 'node:util'

export interface Flag {
  readonly type: 'string' | 'boolean'
  readonly short?: string
  /** The value's placeholder in the help, e.g. `<n>`. */
  readonly value?: string
  readonly doc: string
}

export type Values = Readonly<Record<string, string | boolean | undefined>>

export interface CommandDef {
  readonly summary: string
  /** Positional arguments: their names in the usage line and which values are allowed. */
  readonly positionals?: { readonly usage: string; readonly allowed: readonly string[] }
  readonly flags?: Readonly<Record<string, Flag>>
  /** Env vars it reads (canonical names), listed in its help. */
  readonly env?: readonly string[]
  readonly example: string
  /**
   * Parses its own arguments (generate, produce: flags that map onto settings) and answers
   * its own --help and usage errors; only `help` is used for the listing.
   */
  readonly raw?: boolean
  readonly run: (input: { values: Values; positionals: string[]; args: string[] }) => Promise<number>
}

/** Exit code of a usage error (as getopt tools, and Node's own parseArgs users, do). */
export const USAGE_ERROR = 2

function wrap(words: readonly string[], width: number, indent: string): string {
  const lines: string[] = []
  let line = ''
  for (const w of words) {
    if (line !== '' && line.length + w.length + 2 > width) {
      lines.push(`${line},`)
      line = ''
    }
    line = line === '' ? w : `${line}, ${w}`
  }
  if (line !== '') lines.push(line)
  return lines.map((l) => indent + l).join('\n')
}

/** The help text of one command. */
export function helpOf(name: string, def: CommandDef): string {
  const flags = Object.entries(def.flags ?? {})
  const head = `usage: rtsa ${name}${flags.length > 0 ? ' [options]' : ''}${def.positionals ? ` ${def.positionals.usage}` : ''}`
  const rows = [
    ...flags.map(([f, d]) => [
      `${d.short ? `-${d.short}, ` : ''}--${f}${d.value ? ` ${d.value}` : ''}`,
      d.doc,
    ]),
    ['-h, --help', 'show this help'],
  ]
  const width = Math.max(...rows.map(([l]) => l!.length))
  const out = [
    head,
    '',
    `  ${def.summary}`,
    '',
    'options:',
    ...rows.map(([l, d]) => `  ${l!.padEnd(width)}  ${d}`),
  ]
  if (def.env && def.env.length > 0) {
    out.push('', 'environment (see README, Configuration):', wrap(def.env, 76, '  '))
  }
  out.push('', 'example:', `  ${def.example}`)
  return out.join('\n')
}

/**
 * Runs `def` on `args`: its help, or its usage error (exit 2), or its work. Help and
 * parsing come first, so nothing runs on a mistyped command line.
 */
export async function dispatch(
  name: string,
  def: CommandDef,
  args: string[],
  io: { out: (text: string) => void; err: (text: string) => void } = {
    out: (t) => console.log(t),
    err: (t) => console.error(t),
  },
): Promise<number> {
  if (def.raw) return def.run({ values: {}, positionals: [], args })
  const beforeDashes = args.includes('--') ? args.slice(0, args.indexOf('--')) : args
  if (beforeDashes.includes('--help') || beforeDashes.includes('-h')) {
    io.out(helpOf(name, def))
    return 0
  }
  let parsed: { values: Values; positionals: string[] }
  try {
    parsed = parseArgs({
      args,
      options: Object.fromEntries(
        Object.entries(def.flags ?? {}).map(([f, d]) => [
          f,
          { type: d.type, ...(d.short ? { short: d.short } : {}) },
        ]),
      ),
      strict: true,
      allowPositionals: def.positionals !== undefined,
    })
  } catch (error) {
    io.err(`rtsa ${name}: ${(error as Error).message.split('\n')[0]}\n\n${helpOf(name, def)}`)
    return USAGE_ERROR
  }
  const bad = parsed.positionals.find((p) => !def.positionals?.allowed.includes(p))
  if (bad !== undefined) {
    io.err(`rtsa ${name}: unexpected argument "${bad}"\n\n${helpOf(name, def)}`)
    return USAGE_ERROR
  }
  return def.run({ ...parsed, args })
}
