/**
 * The `rtsa` command line. Each sub-command lives in its own module; this file holds the
 * table of commands (their flags, help and examples: src/cli/command.ts is the
 * convention), dispatches, and turns errors into one clear line and an exit code
 * (0 done, 1 failed, 2 usage error).
 */
import { apiSettings } from '../api/config.ts'
import { canonicalEnvOf } from '../config/define.ts'
import { isRtsaError, messageOf } from '../errors/catalogue.ts'
import { processorSettings } from '../processor/config.ts'
import { VERSION } from '../version.ts'
import { type CommandDef, dispatch, type Flag, USAGE_ERROR } from './command.ts'
import { doctorCommand } from './doctor.ts'
import { generateCommand, produceCommand } from './generate.ts'
import { downCommand, logsCommand, statusCommand } from './ops.ts'
import { PARTS } from './parts.ts'
import { processCommand } from './process.ts'
import { smokeCommand } from './smoke.ts'
import { upCommand, upSettings } from './up.ts'

const log = (line: string) => console.log(`rtsa: ${line}`)

const UP_FLAGS: Record<string, Flag> = {
  rate: { type: 'string', value: '<n>', doc: 'events per second of the generator (default 20)' },
  'no-generator': { type: 'boolean', doc: 'do not start the event generator' },
  'keep-infra': { type: 'boolean', doc: 'leave the local Kafka and PostgreSQL running on exit' },
}
const JSON_FLAG: Record<string, Flag> = {
  json: { type: 'boolean', doc: 'print the result as JSON (for scripts)' },
}
const UP_ENV = canonicalEnvOf(upSettings)

const commands: Record<string, CommandDef> = {
  up: {
    summary:
      'run the whole pipeline (local Kafka + PostgreSQL unless given, processor, API, generator); Ctrl-C stops',
    flags: UP_FLAGS,
    env: UP_ENV,
    example: 'rtsa up --rate 100',
    run: ({ values }) => upCommand(values, log),
  },
  process: {
    summary: 'run one stream processor instance (Kafka -> engine -> PostgreSQL); several form a group',
    env: canonicalEnvOf(processorSettings),
    example: 'KAFKA_BOOTSTRAP=kafka:9092 DATABASE_URL=postgres://rtsa_writer:...@db/realtime rtsa process',
    run: () => processCommand(),
  },
  serve: {
    summary: 'run the HTTP API and dashboard (PORT, default 8000); Ctrl-C stops',
    env: canonicalEnvOf(apiSettings),
    example: 'PORT=8080 API_TOKEN=$(openssl rand -hex 24) rtsa serve',
    run: async () => (await import('../api/server.ts')).serve(log),
  },
  generate: {
    summary: 'generate realistic events to Kafka (live or --simulate-from); rtsa generate --help',
    raw: true,
    example: 'rtsa generate --rate 500 --streams 20',
    run: ({ args }) => generateCommand(args),
  },
  produce: {
    summary: 'replay a JSON-lines file of events to Kafka (--file); rtsa produce --help',
    raw: true,
    example: 'rtsa produce --file events.jsonl',
    run: ({ args }) => produceCommand(args),
  },
  down: {
    summary: 'stop everything, keeping data (--reset: also delete metrics, state, offsets, after asking)',
    flags: {
      reset: { type: 'boolean', doc: 'also delete all data (asks first on a terminal)' },
      yes: { type: 'boolean', short: 'y', doc: 'do not ask (needed with --reset off a terminal)' },
    },
    env: UP_ENV,
    example: 'rtsa down --reset',
    run: ({ values }) => downCommand(values, log),
  },
  reset: {
    summary: 'delete all data (as down --reset, asking first), then up',
    flags: { yes: { type: 'boolean', short: 'y', doc: 'do not ask' }, ...UP_FLAGS },
    env: UP_ENV,
    example: 'rtsa reset --yes --rate 50',
    run: async ({ values }) => {
      const down = await downCommand({ reset: true, yes: values.yes }, log)
      return down === 0 ? upCommand(values, log) : down
    },
  },
  doctor: {
    summary: 'diagnose a running pipeline (exit 0 healthy, 1 findings)',
    flags: JSON_FLAG,
    env: UP_ENV,
    example: 'rtsa doctor --json',
    run: ({ values }) => doctorCommand(values, log),
  },
  smoke: {
    summary: "the reference's smoke test against a running pipeline (exit 0 passed, 1 failed)",
    flags: {
      'rows-timeout': { type: 'string', value: '<s>', doc: 'seconds to wait for recent rows (default 150)' },
      ...JSON_FLAG,
    },
    env: UP_ENV,
    example: 'rtsa smoke --rows-timeout 60',
    run: ({ values }) => smokeCommand(values, log),
  },
  status: {
    summary: 'what runs, and how the pipeline is doing (exit 0 up, 1 a part is down, 3 nothing runs)',
    flags: JSON_FLAG,
    env: UP_ENV,
    example: 'rtsa status --json',
    run: ({ values }) => statusCommand(values, log),
  },
  config: {
    summary: 'the effective settings of each service, with their source; secrets masked',
    positionals: { usage: '[process|serve|generate|up]...', allowed: ['process', 'serve', 'generate', 'up'] },
    flags: JSON_FLAG,
    example: 'KAFKA_SASL_PASSWORD=... rtsa config process',
    run: async ({ values, positionals }) => (await import('./config.ts')).configCommand(positionals, values),
  },
  logs: {
    summary: 'follow the logs of the parts',
    positionals: { usage: `[${PARTS.join('|')}]...`, allowed: PARTS },
    flags: { 'no-follow': { type: 'boolean', doc: 'print the last lines and exit' } },
    example: 'rtsa logs processor',
    run: ({ values, positionals }) => logsCommand(positionals, values),
  },
}

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`)
  return [
    `rtsa ${VERSION}: real-time streaming analytics for live streams`,
    '',
    'usage: rtsa <command> [options]     rtsa <command> --help for its options and settings',
    '',
    'commands:',
    ...lines,
    '',
    'options:',
    '  -h, --help     this help',
    '  -V, --version  the version',
  ].join('\n')
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv
  if (name === 'help' || name === '--help' || name === '-h') {
    console.log(usage())
    return 0
  }
  if (name === '--version' || name === '-V') {
    console.log(VERSION)
    return 0
  }
  if (name === undefined) {
    console.error(usage())
    return USAGE_ERROR
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined
  if (command === undefined) {
    console.error(`rtsa: unknown ${name.startsWith('-') ? 'option' : 'command'} "${name}"\n\n${usage()}`)
    return USAGE_ERROR
  }
  return dispatch(name, command, args)
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (isRtsaError(error)) console.error(`rtsa: ${error.code}: ${error.message}`)
    else console.error(`rtsa: unexpected error: ${messageOf(error)}`, error)
    process.exit(1)
  },
)
