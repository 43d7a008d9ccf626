/**
 * The engine stays pure: the lint rule refuses I/O, clocks and shell modules inside
 * src/engine (and src/events), and allows them elsewhere.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { test } from 'node:test'

const ROOT = resolve(import.meta.dirname, '../..')
const BIOME = join(ROOT, 'node_modules/.bin/biome')

function lint(path: string, source: string): { code: number; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rtsa-lint-'))
  try {
    copyFileSync(join(ROOT, 'biome.json'), join(dir, 'biome.json'))
    mkdirSync(join(dir, path, '..'), { recursive: true })
    writeFileSync(join(dir, path), source)
    const r = spawnSync(BIOME, ['lint', path], { cwd: dir, encoding: 'utf8' })
    return { code: r.status ?? 1, output: `${r.stdout}${r.stderr}` }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const IMPURE = [
  "import { readFileSync } from 'node:fs'",
  "import pg from 'pg'",
  "import { Processor } from '../processor/processor.ts'",
  '',
  'export const uses = [readFileSync, pg, Processor]',
  '',
].join('\n')

test('I/O, database and shell imports are refused in src/engine', () => {
  const r = lint('src/engine/probe.ts', IMPURE)
  assert.notEqual(r.code, 0, r.output)
  assert.match(r.output, /The engine is pure: no I\/O/)
  assert.match(r.output, /The engine must not talk to PostgreSQL/)
  assert.match(r.output, /Shells depend on the engine, never the reverse/)
})

test('the same imports are fine in a shell (src/processor)', () => {
  const r = lint('src/processor/probe.ts', IMPURE)
  assert.equal(r.code, 0, r.output)
})

const KAFKA_LIBRARY = [
  "import { Admin } from '@platformatic/kafka'",
  '',
  'export const uses = [Admin]',
  '',
].join('\n')

test('only src/kafka imports the Kafka client library', () => {
  const outside = lint('src/processor/probe.ts', KAFKA_LIBRARY)
  assert.notEqual(outside.code, 0, outside.output)
  assert.match(outside.output, /Only src\/kafka talks to the Kafka client library/)
  const inside = lint('src/kafka/probe.ts', KAFKA_LIBRARY)
  assert.equal(inside.code, 0, inside.output)
})

test('product code never imports tests, benchmarks or the test kit', () => {
  const source = [
    "import { uniqueName } from '../../testkit/fresh.ts'",
    '',
    'export const uses = [uniqueName]',
    '',
  ].join('\n')
  const r = lint('src/kafka/probe.ts', source)
  assert.notEqual(r.code, 0, r.output)
  assert.match(r.output, /Product code never imports tests, benchmarks or the test kit/)
})
