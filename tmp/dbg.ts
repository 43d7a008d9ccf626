import assert from 'node:assert/strict'
import fc from 'fast-check'
import { config, partitionInput, plan } from '/work/main/test/engine/gen.ts'
import { Run } from '/work/main/test/engine/driver.ts'
const r = fc.check(
    fc.property(config, partitionInput(0, 50), plan, (cfg, records, steps) => {
      const full = new Run(cfg, 0, records)
      const lean = new Run(cfg, 0, records, { retainLog: false })
      for (let i = 0; !full.done; i++) {
        const s = steps[i % steps.length]!
        full.batch(s.size, 'none')
        lean.batch(s.size, s.restore === 'none' ? 'none' : 'pieces')
        assert.deepEqual([...lean.store.keys()].sort(), [...full.store.keys()].sort())
      }
    }), { numRuns: 30000 })
if (r.failed) {
  const [cfg, records, steps] = r.counterexample!
  console.log(JSON.stringify(cfg))
  for (const x of records) console.log(x.offset, x.key?.toString(), x.value.toString(), x.timestamp)
  const full = new Run(cfg, 0, records)
  const lean = new Run(cfg, 0, records, { retainLog: false })
  for (let i = 0; !full.done; i++) {
    const s = steps[i % steps.length]!
    console.log('batch', s.size, s.restore, 'pos', full.pos)
    full.batch(s.size, 'none')
    lean.batch(s.size, s.restore === 'none' ? 'none' : 'pieces')
    console.log(' full', [...full.store.keys()].sort().join(' '))
    console.log(' lean', [...lean.store.keys()].sort().join(' '))
  }
}
{
  const [cfg, records, steps] = r.counterexample!
  const lean = new Run(cfg, 0, records, { retainLog: false })
  const full = new Run(cfg, 0, records)
  for (let i = 0; i < 8; i++) { lean.batch(1, 'pieces'); full.batch(1, 'none') }
  for (const [name, run] of [['lean', lean], ['full', full]] as const) {
    const e = run.engine as any
    const s = e.streams.get('s2')
    console.log(name, s && { inActive: s.inActive, inDirty: s.inDirty, emitted: [...s.emitted], base: s.baseCount, users: s.users.size, windows: [...s.windows.keys()], stops: s.stops.ts, dirty: [s.dirtyFrom, s.dirtyTo] }, e.ctx.foldIdx)
  }
}
{
  const [cfg, records] = r.counterexample!
  const lean = new Run(cfg, 0, records, { retainLog: false })
  for (let i = 0; i < 9; i++) {
    lean.batch(1, i === 5 ? 'pieces' : 'none')
    const e = lean.engine as any
    console.log(i, [...e.streams.keys()], [...lean.store.keys()].join(' '))
  }
}
{
  console.log('----')
  const [cfg, records] = r.counterexample!
  const lean = new Run(cfg, 0, records, { retainLog: false })
  for (let i = 0; i < 9; i++) {
    lean.batch(1, i === 5 ? 'pieces' : 'none')
    const e = lean.engine as any
    const s = e.streams.get('s2')
    console.log(i, e.active.has(s), s.inActive, s.inDirty, e.dirty.has(s), s.users.size, s.windows.size, s.emitted.size, s.baseCount, e.ctx.foldIdx, e.maybeIdle.length)
  }
}
