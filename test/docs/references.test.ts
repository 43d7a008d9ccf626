/**
 * References in code and docs resolve inside the repository: "docs/semantics.md section N"
 * names a section that exists, and nothing points at files outside the repository (its
 * readers cannot open them).
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { test } from 'node:test'

const ROOT = resolve(import.meta.dirname, '../..')

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name)
    if (statSync(full).isDirectory()) return name === 'node_modules' || name === 'results' ? [] : files(full)
    return /\.(ts|md|js)$/.test(name) ? [full] : []
  })
}

test('section references name sections of docs/semantics.md; no path leaves the repository', () => {
  const doc = readFileSync(join(ROOT, 'docs/semantics.md'), 'utf8')
  const sections = new Set([...doc.matchAll(/^## (\d+)\. /gm)].map((m) => Number(m[1])))
  assert.ok(sections.size >= 7)
  const all = [
    ...['src', 'test', 'bench', 'docs', 'scripts'].flatMap((d) => files(join(ROOT, d))),
    join(ROOT, 'README.md'),
  ]
  let refs = 0
  for (const f of all) {
    const text = readFileSync(f, 'utf8').replace(/\n\s*\*\s*/g, ' ')
    const name = relative(ROOT, f)
    for (const m of text.matchAll(/semantics\.md\)?,? sections? (\d+)(?: and (\d+))?/g)) {
      for (const n of [m[1], m[2]]) {
        if (n === undefined) continue
        refs++
        assert.ok(sections.has(Number(n)), `${name}: docs/semantics.md has no section ${n}`)
      }
    }
    if (name !== 'test/docs/references.test.ts') {
      assert.doesNotMatch(text, /(\.\.\/shared\/|\/work\/shared)/, `${name} points outside the repository`)
    }
  }
  assert.ok(refs > 10, `${refs} references checked`)
})
