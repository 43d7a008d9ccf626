import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { WeightedPicker, zipfIntegerWeights } from '../../src/generator/weights.ts'

describe('WeightedPicker', () => {
  it('finds the same item as a linear scan of cumulative weights, after any updates (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 1000 }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 1000 })), { maxLength: 40 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (initial, updates, u) => {
          const picker = new WeightedPicker(initial.length)
          const weights = [...initial]
          for (const [i, w] of weights.entries()) picker.set(i, w)
          for (const [i, w] of updates) {
            weights[i % weights.length] = w
            picker.set(i % weights.length, w)
          }
          const total = weights.reduce((a, b) => a + b, 0)
          assert.equal(picker.total, total)
          fc.pre(total > 0)
          const r = Math.floor(u * total)
          let acc = 0
          const expected = weights.findIndex((w) => {
            acc += w
            return r < acc
          })
          assert.equal(picker.find(r), expected)
          assert.ok(weights[expected]! > 0, 'a zero weight is never picked')
        },
      ),
    )
  })
})

describe('zipfIntegerWeights', () => {
  it('decreases with rank, stays exact in sum, and never reaches 0', () => {
    const w = zipfIntegerWeights(1_000_000, 1.1)
    assert.ok(w.every((x, i) => i === 0 || x <= w[i - 1]!))
    assert.ok(w.at(-1)! >= 1)
    assert.ok(Number.isSafeInteger(w.reduce((a, b) => a + b, 0)))
    const flat = zipfIntegerWeights(1_000_000, 0)
    assert.ok(Number.isSafeInteger(flat.reduce((a, b) => a + b, 0)))
  })
})
