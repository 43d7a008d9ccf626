/**
 * Every client of the Kafka library that rtsa makes has a listener for its 'error' event
 * (without one, an 'error' the library emits for a failed rejoin ends the process). Only
 * src/kafka may import the library (biome.json), so checking its files covers rtsa.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { test } from 'node:test'

const KAFKA = resolve(import.meta.dirname, '../../src/kafka')

test('each new Admin/Producer/Consumer in src/kafka is made through handleClientErrors', () => {
  let made = 0
  for (const name of readdirSync(KAFKA).filter((n) => n.endsWith('.ts'))) {
    const source = readFileSync(join(KAFKA, name), 'utf8')
    const all = source.match(/new (Admin|Producer|Consumer)\(/g) ?? []
    const guarded = source.match(/handleClientErrors\(\s*new (Admin|Producer|Consumer)\(/g) ?? []
    assert.equal(guarded.length, all.length, `${name}: a Kafka client without an 'error' listener`)
    made += all.length
  }
  assert.ok(made >= 4, 'the admin, the producer, the reader and the group member are all found')
})
