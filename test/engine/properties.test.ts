/**
 * Property tests: the engine against the oracle on random partitions, under random
 * batch splits, snapshot/restore points and interleavings of several partitions.
 * On failure fast-check prints the seed and path to replay the counterexample.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { Run } from './driver.ts'
import { config, partitionInput, plan } from './gen.ts'

// RTSA_PROPERTY_RUNS raises the runs for a longer soak; the suite itself runs 1,000 per property.
const RUNS = Number(process.env.RTSA_PROPERTY_RUNS ?? 1000)

test('engine = oracle, whatever the batch split and restore points', () => {
  fc.assert(
    fc.property(config, partitionInput(0), plan, (cfg, records, steps) => {
      const run = new Run(cfg, 0, records)
      for (let i = 0; !run.done; i++) {
        const s = steps[i % steps.length]!
        run.batch(s.size, s.restore)
      }
      run.check()
    }),
    { numRuns: RUNS },
  )
})

test('provisional output deferred at random (PROVISIONAL_INTERVAL): the same tables once it is emitted', () => {
  fc.assert(
    fc.property(
      config,
      partitionInput(0, 40),
      plan,
      fc.array(fc.boolean(), { minLength: 1, maxLength: 9 }),
      (cfg, records, steps, emits) => {
        const run = new Run(cfg, 0, records)
        for (let i = 0; !run.done; i++) {
          const s = steps[i % steps.length]!
          run.batch(s.size, s.restore, emits[i % emits.length]!)
          run.check()
        }
        run.flush()
        run.check()
      },
    ),
    { numRuns: RUNS },
  )
})

test('engine = oracle after every batch (one record per batch, restores anywhere)', () => {
  fc.assert(
    fc.property(config, partitionInput(0, 35), plan, (cfg, records, steps) => {
      const run = new Run(cfg, 0, records)
      for (let i = 0; !run.done; i++) {
        run.batch(1, steps[i % steps.length]!.restore)
        run.check()
      }
    }),
    { numRuns: RUNS },
  )
})

test('several partitions, interleaved at random, each = oracle', () => {
  fc.assert(
    fc.property(
      config,
      fc.array(partitionInput(0, 35), { minLength: 2, maxLength: 3 }),
      fc.array(fc.record({ p: fc.nat(), size: fc.integer({ min: 1, max: 8 }), restore: fc.boolean() }), {
        minLength: 1,
        maxLength: 30,
      }),
      (cfg, inputs, order) => {
        // Same record contents in every partition is fine: partitions are independent.
        const runs = inputs.map(
          (recs, p) =>
            new Run(
              cfg,
              p,
              recs.map((r) => ({ ...r, partition: p })),
            ),
        )
        let i = 0
        while (runs.some((r) => !r.done)) {
          const o = order[i++ % order.length]!
          const open = runs.filter((r) => !r.done)
          const run = open[o.p % open.length]!
          run.batch(o.size, o.restore ? 'pieces' : 'none')
        }
        for (const run of runs) run.check()
      },
    ),
    { numRuns: RUNS },
  )
})

test('without retainLog the stored pieces are the same, and restoring from them gives the same rows', () => {
  fc.assert(
    fc.property(config, partitionInput(0, 50), plan, (cfg, records, steps) => {
      const full = new Run(cfg, 0, records)
      const lean = new Run(cfg, 0, records, { retainLog: false })
      for (let i = 0; !full.done; i++) {
        const s = steps[i % steps.length]!
        full.batch(s.size, 'none')
        lean.batch(s.size, s.restore === 'none' ? 'none' : 'pieces')
        assert.deepEqual(lean.store, full.store)
      }
      assert.deepEqual(lean.tables.finalRows(), full.tables.finalRows())
      lean.check()
    }),
    { numRuns: RUNS },
  )
})
