/**
 * Migrations are append-only: a migration that has shipped is never edited (a database
 * that applied it would never see the change). Each one's SQL is pinned by its hash; a
 * new migration adds a line here.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { test } from 'node:test'
import { MIGRATIONS } from '../../src/store/migrations.ts'

const SHIPPED: Readonly<Record<number, string>> = {
  1: '0fe6555f16ca9618',
  2: 'fe6897186aed90b4',
  3: 'ef01bcfac056e76e',
  4: 'a5a7f9ce86825e2e',
  5: '38745f0549f0d707',
  6: '6f65caabef31002e',
  7: '3cf31be2e306cc9f',
  8: 'a6678e876be27765',
  9: 'f9b907619ae03358',
}

test('shipped migrations are unchanged, and versions run 1, 2, 3, ... without gaps', () => {
  assert.deepEqual(
    MIGRATIONS.map((m) => m.version),
    MIGRATIONS.map((_, i) => i + 1),
  )
  for (const m of MIGRATIONS) {
    const hash = createHash('sha256').update(m.sql).digest('hex').slice(0, 16)
    assert.equal(
      hash,
      SHIPPED[m.version],
      `migration ${m.version} (${m.name}) differs from what shipped: add a new migration instead (or pin a new one here)`,
    )
  }
})
