/**
 * De-duplication table against a plain Map: exact verdicts (no false positives or
 * negatives) over many ids, so that 32-bit hash collisions and probing are exercised,
 * with eviction by a moving watermark and growth/shrink rebuilds.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Dedup } from '../../src/engine/dedup.ts'

test('Dedup gives the same verdicts as a Map of id -> newest ts', () => {
  const windowMs = 1000
  const d = new Dedup(windowMs)
  const oracle = new Map<string, number>()
  let seed = 12345
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    return seed / 2 ** 32
  }
  let ts = 0
  let wm = Number.NEGATIVE_INFINITY
  for (let n = 0; n < 300_000; n++) {
    ts += rnd() < 0.5 ? 1 : 0
    // Ids from a small space reappear (duplicates, and re-accepted ids below the watermark).
    const id = `e${Math.floor(rnd() * 200_000)}`
    const prev = oracle.get(id)
    const dup = prev !== undefined && prev >= wm
    assert.equal(d.seenAtOrAbove(id, wm), dup, `id ${id} at ${n}`)
    if (!dup) {
      d.addChecked(id, ts)
      oracle.set(id, ts)
    }
    if (n % 5000 === 0) {
      wm = ts - 3000
      d.evict(wm)
    }
  }
  // Restore-style adds in any order keep the newest ts.
  const r = new Dedup(windowMs)
  const entries = [...oracle].reverse()
  for (const [id, t] of entries) r.add(id, t - 1)
  for (const [id, t] of entries) r.add(id, t)
  for (const [id, t] of entries) r.add(id, t - 2)
  for (const [id, t] of oracle) {
    assert.equal(r.seenAtOrAbove(id, t), true)
    assert.equal(r.seenAtOrAbove(id, t + 1), false)
  }
  assert.equal(r.seenAtOrAbove('never', Number.NEGATIVE_INFINITY), false)
})
