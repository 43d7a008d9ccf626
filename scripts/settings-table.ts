/**
 * Writes README's settings table from the settings' definitions (src/*\/config.ts), between
 * its markers. `npm run docs:settings`; test/docs/settings-table.test.ts fails when README differs.
 *
 *   node scripts/settings-table.ts [--check]
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { SERVICE_SETTINGS } from '../src/cli/config.ts'
import { settingsTable } from '../src/config/describe.ts'

export const BEGIN = '<!-- settings-table:begin (npm run docs:settings writes it) -->'
export const END = '<!-- settings-table:end -->'
const README = join(import.meta.dirname, '..', 'README.md')

/** README with the table written from the definitions. */
export function readmeWithTable(readme: string): string {
  const at = readme.indexOf(BEGIN)
  const end = readme.indexOf(END)
  if (at < 0 || end < at) throw new Error(`README.md has no ${BEGIN} ... ${END} section`)
  return `${readme.slice(0, at + BEGIN.length)}\n${settingsTable(SERVICE_SETTINGS)}\n${readme.slice(end)}`
}

if (import.meta.main) {
  const readme = readFileSync(README, 'utf8')
  const next = readmeWithTable(readme)
  if (process.argv.includes('--check')) {
    if (next !== readme) {
      console.error('README.md settings table differs from the definitions: npm run docs:settings')
      process.exit(1)
    }
  } else writeFileSync(README, next)
}
