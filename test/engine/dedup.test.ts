/**
 * De-duplication table against a plain Map: exact verdicts (no false positives or
 * negatives) over many ids, so that 32-bit hash collisions and probing are exercised,
 * with eviction by a moving watermark and growth/shrink rebuilds.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Dedup } from '../../src/engine/dedup.ts'
import { EventKey, packId, unpackId } from '../../src/engine/ids.ts'

/** A canonical lowercase UUID made from a number (ids that differ in one digit collide often in the low words). */
function uuidOf(n: number): string {
  const h = n.toString(16).padStart(32, '0')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

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
    // Three kinds: canonical UUIDs (packed), uppercase ones and other strings (kept as strings).
    const k = Math.floor(rnd() * 200_000)
    const id = k % 3 === 0 ? `e${k}` : k % 3 === 1 ? uuidOf(k) : uuidOf(k).toUpperCase()
    const prev = oracle.get(id)
    const dup = prev !== undefined && prev >= wm
    // Both entry points: by string, and packed once as the engine does.
    const key = new EventKey().set(id)
    assert.equal(n % 2 === 0 ? d.seenAtOrAbove(id, wm) : d.seen(key, wm), dup, `id ${id} at ${n}`)
    if (!dup) {
      // After a lookup of the same id (the engine's path) or, every 7th time, without one.
      if (n % 7 === 0) d.seenAtOrAbove('other', wm)
      d.addChecked(key, ts)
      oracle.set(id, ts)
    }
    if (n % 5000 === 0) {
      wm = ts - 3000
      d.evict(wm)
    }
  }
  // Restore-style adds in any order keep the newest ts.
  // Half of them after reserve(), as a restore does, and every 3rd UUID from its words.
  const r = new Dedup(windowMs)
  const entries = [...oracle].reverse()
  const k = new EventKey()
  const add = (id: string, t: number, n: number) => {
    k.set(id)
    r.add(n % 3 === 0 && k.packed ? new EventKey().setPacked(id, k.words) : k, t)
  }
  for (const [n, [id, t]] of entries.entries()) add(id, t - 1, n)
  r.reserve(entries.length)
  for (const [n, [id, t]] of entries.entries()) add(id, t, n)
  for (const [n, [id, t]] of entries.entries()) add(id, t - 2, n)
  for (const [id, t] of oracle) {
    assert.equal(r.seenAtOrAbove(id, t), true)
    assert.equal(r.seenAtOrAbove(id, t + 1), false)
  }
  assert.equal(r.seenAtOrAbove('never', Number.NEGATIVE_INFINITY), false)
})

test('packId keeps the string order of canonical UUIDs and round-trips; other ids are not packed', () => {
  const ids = [
    '00000000-0000-4000-8000-000000000000',
    '0f000000-0000-4000-8000-000000000000',
    'a0000000-0000-4000-8000-000000000000',
    'ffffffff-ffff-4fff-bfff-ffffffffffff',
    '12345678-9abc-4def-8123-456789abcdef',
    '12345678-9abc-4def-8123-456789abcdee',
  ]
  const w = new Uint32Array(8)
  for (const a of ids) {
    assert.equal(packId(a, w, 0), true, a)
    assert.equal(unpackId(w, 0), a)
    for (const b of ids) {
      packId(b, w, 4)
      const cmp = [0, 1, 2, 3].map((i) => Math.sign(w[i]! - w[4 + i]!)).find((x) => x !== 0) ?? 0
      assert.equal(cmp, a < b ? -1 : a > b ? 1 : 0, `${a} vs ${b}`)
    }
  }
  for (const bad of [
    '12345678-9ABC-4def-8123-456789abcdef',
    '12345678-9abc-4def-8123-456789abcdeg',
    '123456789abc4def8123456789abcdef1234',
    'x',
    '',
  ]) {
    assert.equal(packId(bad, w, 0), false, bad)
  }
})

test('before the first record (watermark -Infinity) nothing is a duplicate until accepted', () => {
  const d = new Dedup(1000)
  for (const id of [uuidOf(0xabc7), 'plain-id', uuidOf(0xabc7).toUpperCase()]) {
    assert.equal(d.seenAtOrAbove(id, Number.NEGATIVE_INFINITY), false, id)
    d.addChecked(new EventKey().set(id), 5)
    assert.equal(d.seenAtOrAbove(id, Number.NEGATIVE_INFINITY), true, id)
    assert.equal(d.seenAtOrAbove(id, 6), false, `${id}: below the watermark it is forgotten`)
  }
  assert.equal(d.size, 3)
})
