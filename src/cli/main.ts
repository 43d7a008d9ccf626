/**
 * The `rtsa` command line. Each sub-command lives in its own module; this file only
 * dispatches and turns errors into one clear line and an exit code.
 */
import { isRtsaError, messageOf } from '../errors/catalogue.ts'
import { startInfra, stopInfra } from './infra.ts'
import { processCommand } from './process.ts'

const log = (line: string) => console.log(`rtsa: ${line}`)

type Command = (args: string[]) => Promise<number>

const commands: Record<string, { summary: string; run: Command }> = {
  up: {
    summary: 'start the local Kafka broker and PostgreSQL (and, as they land, the pipeline); Ctrl-C stops',
    run: async () => {
      const infra = await startInfra(log)
      log(`kafka      ${infra.kafkaBootstrap.join(',')}${infra.localKafka ? ' (local)' : ''}`)
      log(
        `postgres   ${infra.databaseUrl.replace(/:[^:@/]*@/, ':***@')}${infra.localPostgres ? ' (local)' : ''}`,
      )
      log('running; press Ctrl-C to stop (data is kept)')
      await new Promise<void>((done) => {
        process.once('SIGINT', done)
        process.once('SIGTERM', done)
      })
      log('stopping')
      await stopInfra(log)
      return 0
    },
  },
  process: {
    summary: 'run one stream processor instance (Kafka -> engine -> PostgreSQL); several form a group',
    run: (args) => processCommand(args),
  },
  serve: {
    summary: 'run the HTTP API and dashboard (PORT, default 8000); Ctrl-C stops',
    run: async () => (await import('../api/server.ts')).serve(log),
  },
  down: {
    summary: 'stop the local services, keeping data',
    run: async () => {
      await stopInfra(log)
      return 0
    },
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
