/**
 * The OpenAPI document against the running API, by schemathesis (`--checks all`): every
 * response conforms to the document (status, content type, headers, schema), no request
 * the document allows is refused, no 500, and undeclared methods get 405. Bounded: a few
 * examples per operation, deterministic generation. `/live` streams without end, so it gets
 * the coverage phase only (its boundary cases), with a short request timeout.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import { clearOfMinuteEdge, seedKnownRows, serveApp, setupDatabase } from './fixtures.ts'

function st(args: string[]): Promise<{ code: number; output: string }> {
  const bin = process.env.RTSA_TEST_SCHEMATHESIS
  if (!bin)
    throw new Error(
      'RTSA_TEST_SCHEMATHESIS is not set: run the tests with `npm test` (scripts/run-tests.ts installs it)',
    )
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: { ...process.env, NO_COLOR: '1' } })
    let output = ''
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString()
    })
    child.on('error', reject)
    child.on('exit', (code) => resolve({ code: code ?? 1, output }))
  })
}

test('schemathesis --checks all finds nothing the document and the server disagree on', async (t) => {
  const now = clearOfMinuteEdge()
  const { pool } = await setupDatabase(t)
  await seedKnownRows(pool, now())
  const { base } = await serveApp(t, { pool, clock: now, config: {} })
  const doc = `${base}/openapi.json`
  const common = ['--checks', 'all', '--generation-deterministic', '--request-timeout', '5']
  const rest = await st(['run', doc, ...common, '-n', '10', '--exclude-path', '/live'])
  assert.equal(rest.code, 0, rest.output.slice(-6000))
  const live = await st([
    'run',
    doc,
    ...common.slice(0, 3),
    '--request-timeout',
    '1',
    '--include-path',
    '/live',
    '--phases',
    'coverage',
  ])
  assert.equal(live.code, 0, live.output.slice(-6000))
  assert.match(rest.output, /Tested: 12/, 'every operation but /live was exercised')
})
