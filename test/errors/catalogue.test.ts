/**
 * The error catalogue cannot drift: every code is raised somewhere in src, README's
 * table says what the catalogue says, and the API's error schema (hence OpenAPI) names
 * exactly the catalogue's codes and statuses.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { test } from 'node:test'
import { ErrorBody, errorResponses } from '../../src/api/schemas.ts'
import { ERROR_CODES, HTTP_ERRORS } from '../../src/errors/catalogue.ts'

const ROOT = resolve(import.meta.dirname, '../..')

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name)
    if (statSync(full).isDirectory()) return sources(full)
    return name.endsWith('.ts') ? [full] : []
  })
}

test('every code of the catalogue is raised or answered somewhere in src', () => {
  const text = sources(join(ROOT, 'src'))
    .filter((f) => !f.endsWith('catalogue.ts'))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n')
  for (const code of Object.keys(ERROR_CODES)) {
    assert.ok(text.includes(`'${code}'`), `${code} is in the catalogue but nothing in src uses it`)
  }
})

test("README's table of error codes is the catalogue", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const rows = [...readme.matchAll(/^\| `([A-Z_]+)` \| (\d+) \| (yes|no) \| (.+) \|$/gm)].map((m) => [
    m[1],
    Number(m[2]),
    m[3] === 'yes',
    m[4],
  ])
  assert.deepEqual(
    rows,
    Object.entries(ERROR_CODES).map(([code, e]) => [code, e.status, e.retryable, e.summary]),
  )
})

test('the API error schema names the catalogue codes and statuses', () => {
  const schema = ErrorBody as unknown as { properties: Record<string, { enum?: unknown[] }> }
  assert.deepEqual(schema.properties.code?.enum, Object.keys(ERROR_CODES))
  assert.deepEqual(schema.properties.error?.enum, Object.values(HTTP_ERRORS))
  const statuses = new Set(Object.values(ERROR_CODES).map((e) => e.status))
  // Every status a data route documents is one the catalogue gives (404 and 405 are about
  // routes, not answers of an operation: an unknown path, a method a path does not serve).
  for (const s of Object.keys(errorResponses)) assert.ok(statuses.has(Number(s) as never), s)
  for (const s of statuses)
    if (s !== 404 && s !== 405) assert.ok(s in errorResponses, `status ${s} documented`)
})
