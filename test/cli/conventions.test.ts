/**
 * One CLI convention for every command (src/cli/command.ts): `--help` answers before
 * anything runs (usage, options, settings, an example; exit 0), an unknown flag or
 * argument is the usage and exit 2, `--version` prints the package's version, and a
 * command that deletes data asks first: `reset --help` deletes nothing, `down --reset`
 * off a terminal needs --yes. No services are needed: none of this may reach one.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { test } from 'node:test'

const ROOT = resolve(import.meta.dirname, '../..')
const COMMANDS = [
  'up',
  'process',
  'serve',
  'generate',
  'produce',
  'down',
  'reset',
  'doctor',
  'smoke',
  'status',
  'logs',
]
const home = mkdtempSync(join(tmpdir(), 'rtsa-cli-'))

function rtsa(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT,
    // Nowhere to connect: a command that tried would fail, not hang (KAFKA_PORT/PG_PORT closed).
    env: { ...process.env, RTSA_HOME: home, KAFKA_PORT: '1', PG_PORT: '2', ...env },
    encoding: 'utf8',
    timeout: 30_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

test('rtsa --help lists every command; --version is the package version; no command or an unknown one is exit 2', () => {
  const help = rtsa(['--help'])
  assert.equal(help.code, 0)
  for (const c of COMMANDS) assert.match(help.out, new RegExp(`^  ${c} `, 'm'), c)
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string
  for (const flag of ['--version', '-V']) {
    const v = rtsa([flag])
    assert.equal(v.code, 0)
    assert.equal(v.out.trim(), version)
  }
  assert.equal(rtsa([]).code, 2)
  const unknown = rtsa(['nope'])
  assert.equal(unknown.code, 2)
  assert.match(unknown.err, /unknown command "nope"[\s\S]*usage: rtsa <command>/)
})

test('every command answers --help with its usage, options and an example, and runs nothing', () => {
  for (const c of COMMANDS) {
    const r = rtsa([c, '--help'])
    assert.equal(r.code, 0, `${c}: ${r.err}`)
    assert.match(r.out, new RegExp(`usage: rtsa ${c}`), c)
    assert.match(r.out, /--help/, c)
    assert.match(r.out, /example:/i, c)
    assert.doesNotMatch(r.out + r.err, /error|ECONNREFUSED|started/i, `${c} --help ran something`)
  }
  // The settings a service reads are in its help.
  assert.match(rtsa(['process', '--help']).out, /KAFKA_SECURITY_PROTOCOL[\s\S]*DATABASE_URL/)
  assert.match(rtsa(['serve', '--help']).out, /API_TOKEN/)
})

test('an unknown flag or argument is the usage and exit 2, before anything runs', () => {
  for (const c of COMMANDS) {
    const r = rtsa([c, '--bogus-flag'])
    assert.equal(r.code, 2, `${c}: ${r.out}${r.err}`)
    assert.match(r.err, /bogus-flag/, c)
    assert.match(r.err, new RegExp(`usage: rtsa ${c}`), c)
    assert.doesNotMatch(r.err, /at .*\.ts:\d+/, `${c}: no stack trace`)
  }
  for (const args of [
    ['process', 'extra'],
    ['status', 'x'],
    ['logs', 'nope'],
    ['up', '--rate'],
  ]) {
    const r = rtsa(args)
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`)
  }
})

test('reset --help deletes nothing; down --reset off a terminal needs --yes and names what it would delete', () => {
  const data = join(home, 'kafka', 'data')
  mkdirSync(data, { recursive: true })
  writeFileSync(join(data, 'meta.properties'), 'keep me')
  assert.equal(rtsa(['reset', '--help']).code, 0)
  assert.equal(rtsa(['reset', '-h']).code, 0)
  assert.equal(rtsa(['down', '--reset', '--help']).code, 0)
  assert.ok(existsSync(join(data, 'meta.properties')), 'reset --help deleted the local Kafka data')
  for (const args of [['reset'], ['down', '--reset']]) {
    const r = rtsa(args)
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.out}${r.err}`)
    assert.match(r.err, /INPUT_INVALID: --reset deletes the local PostgreSQL .*local Kafka data.*add --yes/)
    assert.ok(existsSync(join(data, 'meta.properties')), `${args.join(' ')} deleted without --yes`)
  }
})

test('status says nothing runs with exit 3, as JSON too', () => {
  const r = rtsa(['status', '--json'])
  assert.equal(r.code, 3, r.err)
  const s = JSON.parse(r.out) as { up: { running: boolean }; exitCode: number }
  assert.equal(s.up.running, false)
  assert.equal(s.exitCode, 3)
})

test('README shows rtsa --help as it is', () => {
  const help = rtsa(['--help']).out.trimEnd()
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  assert.ok(
    readme.includes(`$ npx rtsa --help\n${help}\n\`\`\``),
    'README\'s "The command line" differs from rtsa --help',
  )
})

test('rtsa config: each setting with its value and source, secrets masked, a bad value named (exit 1)', () => {
  const env = {
    KAFKA_SASL_PASSWORD: 'kafka-secret-value',
    DATABASE_URL: 'postgres://u:db-secret-value@db:5432/realtime',
    WINDOW: '2 minutes',
  }
  const r = rtsa(['config', 'process', '--json'], env)
  assert.equal(r.code, 0, r.err)
  assert.doesNotMatch(r.out, /kafka-secret-value|db-secret-value/)
  const rows = (JSON.parse(r.out) as { process: { name: string; value: string; source: string }[] }).process
  const row = (n: string) => rows.find((x) => x.name === n)
  assert.deepEqual(row('KAFKA_SASL_PASSWORD'), {
    name: 'KAFKA_SASL_PASSWORD',
    value: '********',
    source: 'env KAFKA_SASL_PASSWORD',
    secret: true,
  })
  assert.equal(row('WINDOW')?.value, '2 minutes')
  assert.equal(row('WATERMARK')?.source, 'default')
  assert.equal(row('WATERMARK')?.value, '10 minutes')
  const bad = rtsa(['config', 'process'], { WATERMARK: 'banana' })
  assert.equal(bad.code, 1)
  assert.match(bad.out, /WATERMARK +"banana" +\(env WATERMARK\) +INVALID: expected a duration/)
})
