/**
 * The test command (`npm test` after the static checks, and `.ci/run`). Starts one
 * real Kafka broker and one real PostgreSQL server for the whole run (or uses the
 * ones named by KAFKA_BOOTSTRAP / DATABASE_URL), hands them to the test files through
 * RTSA_TEST_KAFKA_BOOTSTRAP / RTSA_TEST_DATABASE_URL, runs `node --test`, and stops
 * what it started. A service that cannot start fails the run; nothing is skipped. The
 * API's schemathesis test gets schemathesis (from PyPI, pinned, in a venv under RTSA_HOME,
 * installed once) through RTSA_TEST_SCHEMATHESIS.
 *
 *   node scripts/run-tests.ts [--unit] [file or folder ...]
 */
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { messageOf } from '../src/errors/catalogue.ts'
import { run } from '../src/infra/exec.ts'
import { startLocalKafka, stopLocalKafka, wipeLocalKafka } from '../src/infra/kafka/broker.ts'
import { startLocalPostgres, stopLocalPostgres, wipeLocalPostgres } from '../src/infra/postgres/server.ts'
import { databaseUrlOf } from '../testkit/fresh.ts'

const args = process.argv.slice(2)
const unitOnly = args.includes('--unit')
const targets = args.filter((a) => !a.startsWith('--'))
const home = resolve(process.env.RTSA_HOME ?? '.rtsa')
const testHome = join(home, 'test')

function findTests(path: string): string[] {
  const st = statSync(path)
  if (st.isFile()) return [path]
  return readdirSync(path)
    .sort()
    .flatMap((name) => {
      const full = join(path, name)
      if (statSync(full).isDirectory()) return findTests(full)
      return name.endsWith('.test.ts') ? [full] : []
    })
}

const files = (targets.length > 0 ? targets : ['test'])
  .flatMap(findTests)
  .filter((f) => !unitOnly || !f.endsWith('.int.test.ts'))
const needsServices = files.some((f) => f.endsWith('.int.test.ts'))
const log = (line: string) => console.log(`[test-services] ${line}`)

const SCHEMATHESIS = '4.32.5'

/** The `st` of a pinned schemathesis in `<home>/tools`, installed with pip on first use. */
async function schemathesis(): Promise<string> {
  const venv = join(home, 'tools', `schemathesis-${SCHEMATHESIS}`)
  const st = join(venv, 'bin', 'st')
  if (existsSync(st)) return st
  log(`installing schemathesis ${SCHEMATHESIS} into ${venv}`)
  rmSync(venv, { recursive: true, force: true })
  try {
    await run('python3', ['-m', 'venv', venv])
    await run(join(venv, 'bin', 'pip'), [
      'install',
      '--quiet',
      '--disable-pip-version-check',
      `schemathesis==${SCHEMATHESIS}`,
    ])
  } catch (error) {
    rmSync(venv, { recursive: true, force: true })
    throw new Error(`schemathesis could not be installed (python3 and pip are needed): ${messageOf(error)}`)
  }
  return st
}

const env: NodeJS.ProcessEnv = { ...process.env }
const cleanups: Array<() => Promise<unknown>> = []
let code = 1
try {
  if (needsServices) {
    const kafkaStart = (async () => {
      if (process.env.KAFKA_BOOTSTRAP) {
        env.RTSA_TEST_KAFKA_BOOTSTRAP = process.env.KAFKA_BOOTSTRAP
        return
      }
      const dir = join(testHome, 'kafka')
      await stopLocalKafka({ home, dir })
      wipeLocalKafka({ home, dir })
      const port = Number(process.env.RTSA_TEST_KAFKA_PORT ?? 19092)
      const kafka = await startLocalKafka({ home, dir, port, log })
      cleanups.push(() => stopLocalKafka({ home, dir }))
      env.RTSA_TEST_KAFKA_BOOTSTRAP = kafka.bootstrap.join(',')
      env.RTSA_TEST_KAFKA_LOG = kafka.logFile
    })()
    const pgStart = (async () => {
      if (process.env.DATABASE_URL) {
        env.RTSA_TEST_DATABASE_URL = process.env.DATABASE_URL
        return
      }
      const options = {
        home: testHome,
        port: Number(process.env.RTSA_TEST_PG_PORT ?? 15432),
        database: 'realtime',
        log,
      }
      await stopLocalPostgres(options)
      wipeLocalPostgres(options)
      const server = await startLocalPostgres(options)
      cleanups.push(() => stopLocalPostgres(options))
      // The superuser: tests create and drop a database each.
      env.RTSA_TEST_DATABASE_URL = databaseUrlOf(server.adminUrl, 'realtime')
      env.RTSA_TEST_PG_DATA = server.dataDir
    })()
    const toolsStart = (async () => {
      if (files.some((f) => f.includes('schemathesis'))) env.RTSA_TEST_SCHEMATHESIS = await schemathesis()
    })()
    const results = await Promise.allSettled([kafkaStart, pgStart, toolsStart])
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed.length > 0) {
      throw new Error(`test services could not start: ${failed.map((f) => messageOf(f.reason)).join('; ')}`)
    }
    log(
      `kafka ${env.RTSA_TEST_KAFKA_BOOTSTRAP}, postgres ${env.RTSA_TEST_DATABASE_URL?.replace(/:[^:@/]*@/, ':***@')}`,
    )
  }
  log(`running ${files.length} test files`)
  code = await new Promise<number>((done) => {
    const child = spawn(
      process.execPath,
      [
        '--test',
        '--test-reporter=spec',
        `--test-concurrency=${process.env.RTSA_TEST_CONCURRENCY ?? 2}`,
        ...files,
      ],
      { stdio: 'inherit', env },
    )
    child.on('exit', (c, signal) => done(c ?? (signal ? 1 : 0)))
  })
} catch (error) {
  console.error(`[test-services] FAILED: ${messageOf(error)}`)
  code = 1
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch((e) => console.error(messageOf(e)))
}
process.exit(code)
