/**
 * The whole pipeline as a new user runs it: `rtsa up` in the background, `rtsa smoke`
 * passes against it, `rtsa down` stops it, `rtsa up` again resumes without counting
 * anything twice, `rtsa doctor` reports a stopped processor and a stopped database,
 * and `rtsa down --reset` wipes everything. Real processes, real broker and database
 * (its own, on their own ports, in a temporary RTSA_HOME).
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { test } from 'node:test'
import pg from 'pg'
import { credentialsFileOf, loadLocalCredentials } from '../../src/infra/postgres/credentials.ts'
import { KafkaAdmin, KafkaProducer } from '../../src/kafka/client.ts'
import { defer } from '../helpers/services.ts'
import { waitFor } from '../processor/fixtures.ts'

const ROOT = resolve(import.meta.dirname, '../..')
const MAIN = join(ROOT, 'src/cli/main.ts')

function rtsa(args: string[], env: NodeJS.ProcessEnv): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString()
  })
  return Object.assign(child, { output: () => out })
}

async function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  console.log(`e2e: rtsa ${args.join(' ')}`)
  const child = rtsa(args, env)
  const [code] = (await once(child, 'exit')) as [number | null]
  return { code: code ?? 1, output: child.output() }
}

test('up, smoke, down, up again without double counting, doctor findings, down --reset', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'rtsa-e2e-'))
  const ports = {
    kafka: Number(process.env.RTSA_TEST_E2E_KAFKA_PORT ?? 19392),
    pg: Number(process.env.RTSA_TEST_E2E_PG_PORT ?? 15732),
    api: Number(process.env.RTSA_TEST_E2E_API_PORT ?? 18800),
    metrics: Number(process.env.RTSA_TEST_E2E_METRICS_PORT ?? 19464),
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RTSA_HOME: home,
    KAFKA_PORT: String(ports.kafka),
    PG_PORT: String(ports.pg),
    PORT: String(ports.api),
    METRICS_PORT: String(ports.metrics),
    KAFKA_PARTITIONS: '3',
  }
  for (const name of ['KAFKA_BOOTSTRAP', 'BOOTSTRAP', 'DATABASE_URL', 'PGHOST', 'PG_HOST']) delete env[name]
  defer(t, async () => {
    await run(['down', '--reset', '--yes'], env)
    rmSync(home, { recursive: true, force: true })
  })

  const up = rtsa(['up', '--rate', '100'], env)
  defer(t, () => up.kill('SIGKILL'))
  await waitFor('rtsa up to start', () => up.output().includes('running; press Ctrl-C'), 180_000)
  const smoke = await run(['smoke', '--rows-timeout', '150'], env)
  assert.equal(smoke.code, 0, `rtsa smoke passes against rtsa up:\n${smoke.output}\n--- up:\n${up.output()}`)
  assert.match(smoke.output, /injected donation .*"12\.34"/)

  const down = await run(['down'], env)
  assert.equal(down.code, 0, down.output)
  // rtsa down returns once rtsa up is gone (its 'exit' may already have been emitted).
  await waitFor('rtsa up to exit', () => up.exitCode !== null || up.signalCode !== null, 10_000)
  assert.match(up.output(), /stopped processor/)

  // Again, without new events: it resumes where it was and counts nothing twice.
  const again = rtsa(['up', '--no-generator'], env)
  defer(t, () => again.kill('SIGKILL'))
  // The local server's passwords are generated, kept in RTSA_HOME; read as the read-only role.
  const creds = loadLocalCredentials(credentialsFileOf(home))
  assert.ok(creds, 'rtsa up wrote the local PostgreSQL credentials')
  const url = `postgres://${creds.reader.user}:${encodeURIComponent(creds.reader.password)}@127.0.0.1:${ports.pg}/realtime`
  await waitFor('the second up to start', () => again.output().includes('running; press Ctrl-C'), 120_000)
  const admin = new KafkaAdmin([`127.0.0.1:${ports.kafka}`])
  const ends = await admin.offsets('stream.events')
  await admin.close()
  const total = ends.reduce((n, p) => n + Number(p.latest), 0)
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  defer(t, () => client.end().catch(() => {}))
  await waitFor(
    'the checkpoints to reach the end of the topic',
    async () => {
      const r = await client.query(
        'select coalesce(sum(greatest(next_offset, 0)), 0)::bigint as n from partition_checkpoints',
      )
      return Number(r.rows[0].n) === total
    },
    60_000,
  )
  const counted = await client.query(
    'select sum(accepted_count + late_count + duplicate_count + rejected_count)::bigint as n from stream_state',
  )
  assert.equal(
    Number(counted.rows[0].n),
    total,
    'every record of the topic counted exactly once across the restart',
  )
  await client.end()

  // doctor: healthy now, then a stopped processor and a stopped database are findings.
  const healthy = await run(['doctor'], env)
  assert.match(healthy.output, /ok +database reachable/)
  assert.match(healthy.output, /ok +consumer lag +0 records/)
  const status = await run(['status', '--json'], env)
  assert.equal(status.code, 0, status.output)
  assert.deepEqual(
    Object.entries(JSON.parse(status.output).parts as Record<string, { expected: boolean; running: boolean }>)
      .filter(([, p]) => p.expected)
      .map(([name, p]) => [name, p.running]),
    [
      ['processor', true],
      ['api', true],
    ],
  )
  // The processor dies: rtsa up reports it and starts it again.
  const pidOf = (part: string) => Number(readFileSync(join(home, 'run', `${part}.pid`), 'utf8').split(' ')[0])
  const first = pidOf('processor')
  process.kill(first, 'SIGKILL')
  await waitFor(
    'rtsa up to restart the processor',
    () => /processor exited \(SIGKILL\); restarting/.test(again.output()),
    30_000,
  )
  await waitFor(
    'status to show every part running again',
    async () => (await run(['status'], env)).code === 0,
    60_000,
  )
  assert.notEqual(pidOf('processor'), first)
  // A frozen processor (no exit, no answers): records that arrive are lag, never "ok".
  const frozen = pidOf('processor')
  process.kill(frozen, 'SIGSTOP')
  defer(t, () => {
    try {
      process.kill(frozen, 'SIGCONT')
    } catch {}
  })
  const producer = new KafkaProducer([`127.0.0.1:${ports.kafka}`])
  await producer.send(
    Array.from({ length: 5 }, (_, i) => ({
      topic: 'stream.events',
      key: Buffer.from('s'),
      value: Buffer.from(`{"n":${i}}`),
    })),
  )
  await producer.close()
  const lagging = await run(['doctor'], env)
  assert.equal(lagging.code, 1, lagging.output)
  assert.match(lagging.output, /FAIL consumer lag +5 records not committed and the processor is down/)
  process.kill(frozen, 'SIGCONT')
  const stopped = await run(['down'], env)
  assert.equal(stopped.code, 0, stopped.output)
  const doctor = await run(['doctor'], env)
  assert.equal(doctor.code, 1, doctor.output)
  assert.match(doctor.output, /FAIL database reachable/)
  assert.match(doctor.output, /FAIL processor alive/)

  // A part that cannot run (its port is taken) is retried a few times, then rtsa up gives
  // up with its last log lines and exits 1 instead of showing a pipeline that does not run.
  const blocker = createServer()
  await new Promise<void>((r) => blocker.listen(ports.metrics, '127.0.0.1', () => r()))
  defer(t, () => new Promise<void>((r) => blocker.close(() => r())))
  const looping = rtsa(['up', '--no-generator'], env)
  defer(t, () => looping.kill('SIGKILL'))
  const [loopCode] = (await once(looping, 'exit')) as [number | null]
  assert.equal(loopCode, 1, looping.output())
  assert.match(looping.output(), /processor exited 5 times within a minute .*giving up/)
  assert.match(looping.output(), /processor \| .*(EADDRINUSE|address already in use)/)

  const reset = await run(['down', '--reset', '--yes'], env)
  assert.equal(reset.code, 0, reset.output)
  assert.match(reset.output, /deleted the local PostgreSQL data/)
  assert.ok(!existsSync(join(home, 'kafka', 'data')), 'the local topic data is gone')
})
