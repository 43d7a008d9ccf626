/**
 * The import graph of src has no cycles: every module can be read (and tested) after
 * the ones it imports. (The lint keeps the directions: the engine imports no shell, and
 * src imports no test, benchmark or test kit; biome.json.)
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { test } from 'node:test'

const SRC = resolve(import.meta.dirname, '../../src')

function modules(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const f = join(dir, n)
    return statSync(f).isDirectory() ? modules(f) : f.endsWith('.ts') ? [f] : []
  })
}

test('src has no import cycles (type-only imports included)', () => {
  const files = modules(SRC)
  const known = new Set(files)
  const graph = new Map<string, string[]>()
  for (const f of files) {
    const text = readFileSync(f, 'utf8')
    const deps = [...text.matchAll(/^(?:import|export)[^'"]*?from '(\.[^']+)'/gm)]
      .map((m) => resolve(dirname(f), m[1]!))
      .filter((d) => known.has(d))
    graph.set(f, deps)
  }
  // Depth-first search with colours: grey = on the current path.
  const colour = new Map<string, 'grey' | 'black'>()
  const cycles: string[] = []
  const visit = (n: string, path: string[]) => {
    colour.set(n, 'grey')
    for (const d of graph.get(n) ?? []) {
      if (colour.get(d) === 'grey') {
        cycles.push([...path.slice(path.indexOf(d)), n, d].map((x) => relative(SRC, x)).join(' -> '))
      } else if (colour.get(d) === undefined) visit(d, [...path, n])
    }
    colour.set(n, 'black')
  }
  for (const f of files) if (colour.get(f) === undefined) visit(f, [])
  assert.ok(graph.size > 50, `${graph.size} modules read`)
  assert.deepEqual(cycles, [])
})
