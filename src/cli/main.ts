/**
 * The `rtsa` command line. Each sub-command lives in its own module; this file only
 * dispatches and turns errors into one clear line and an exit code.
 */
import { isRtsaError, messageOf } from '../errors/catalogue.ts'
import { doctorCommand } from './doctor.ts'
import { generateCommand, produceCommand } from './generate.ts'
import { downCommand, logsCommand, statusCommand } from './ops.ts'
import { processCommand } from './process.ts'
import { smokeCommand } from './smoke.ts'
import { upCommand } from './up.ts'

const log = (line: string) => console.log(`rtsa: ${line}`)

type Command = (args: string[]) => Promise<number>

const commands: Record<string, { summary: string; run: Command }> = {
  up: {
    summary:
      'run the whole pipeline (local Kafka + PostgreSQL unless given, processor, API, generator); Ctrl-C stops',
    run: (args) => upCommand(args, log),
  },
  process: {
    summary: 'run one stream processor instance (Kafka -> engine -> PostgreSQL); several form a group',
    run: (args) => processCommand(args),
  },
  serve: {
    summary: 'run the HTTP API and dashboard (PORT, default 8000); Ctrl-C stops',
    run: async () => (await import('../api/server.ts')).serve(log),
  },
  generate: { summary: 'generate realistic events to Kafka (live or --simulate-from)', run: generateCommand },
  produce: { summary: 'replay a JSON-lines file of events to Kafka (--file)', run: produceCommand },
  down: {
    summary: 'stop everything, keeping data (--reset: also delete metrics, state, offsets; --yes to confirm)',
    run: (args) => downCommand(args, log),
  },
  reset: {
    summary: 'full reset (down --reset --yes), then up',
    run: async (args) => {
      await downCommand(['--reset', '--yes'], log)
      return upCommand(args, log)
    },
  },
  doctor: {
    summary: 'diagnose a running pipeline (exit 0 healthy, 1 findings)',
    run: (args) => doctorCommand(args, log),
  },
  smoke: {
    summary: "the reference's smoke test against a running pipeline",
    run: (args) => smokeCommand(args, log),
  },
  status: { summary: 'what runs, and how the pipeline is doing', run: (args) => statusCommand(args, log) },
  logs: {
    summary: 'follow the logs of the parts (rtsa logs [processor|api|generator])',
    run: (args) => logsCommand(args, log),
  },
}

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  rtsa ${name.padEnd(10)} ${c.summary}`)
  return ['usage: rtsa <command> [options]', '', ...lines].join('\n')
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    console.log(usage())
    return name === undefined ? 1 : 0
  }
  const command = commands[name]
  if (!command) {
    console.error(`rtsa: unknown command "${name}"\n\n${usage()}`)
    return 2
  }
  return command.run(args)
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (isRtsaError(error)) console.error(`rtsa: ${error.code}: ${error.message}`)
    else console.error(`rtsa: unexpected error: ${messageOf(error)}`, error)
    process.exit(1)
  },
)
