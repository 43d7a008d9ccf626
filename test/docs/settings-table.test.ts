/** README's settings table is the definitions' (scripts/settings-table.ts writes it). */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { readmeWithTable } from '../../scripts/settings-table.ts'
import { SERVICE_SETTINGS } from '../../src/cli/config.ts'

test("README's settings table matches the settings' definitions (npm run docs:settings)", () => {
  const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8')
  assert.equal(readmeWithTable(readme), readme, 'run npm run docs:settings and commit README.md')
  for (const spec of Object.values(SERVICE_SETTINGS))
    for (const s of Object.values(spec)) assert.ok(readme.includes(`| \`${s.env[0]}\``), s.env[0])
})
