/**
 * Counterexamples the property tests found, kept as fixed cases: a restore replays a
 * stream's records in another order than they came in, and must not change what it emits
 * or when it forgets the stream.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { EngineConfig } from '../../src/engine/types.ts'
import { Run } from './driver.ts'
import { ev, records } from './helpers.ts'

const CFG: EngineConfig = {
  windowMs: 5,
  watermarkMs: 12,
  viewerTimeoutMs: 30,
  maxClockSkewMs: 5,
  rollupMs: [15, 75],
}

test('a husk the restore leaves after the newest record does not keep a stream from being forgotten', () => {
  // The leave (ts 20) comes before the join (19): never an end at 19 + 30. Restored, the
  // viewer present at the frontier gets that end first and the leave moves it: a husk.
  const input = records([
    ev(20, 'viewer_leave', 'u2', { stream: 's2' }),
    ev(19, 'viewer_join', 'u2', { stream: 's2' }),
    ev(25, 'heartbeat', 'u0', { stream: 's0' }),
    ev(31, 'donation', 'u0', { stream: 's0', cents: 0 }),
    ev(33, 'viewer_leave', 'u0', { stream: 's0' }),
    ev(35, 'viewer_leave', 'u0', { stream: 's0' }),
    ev(37, 'donation', 'u0', { stream: 's0', cents: 0 }),
    ev(37, 'viewer_join', 'u0', { stream: 's0' }),
    ev(37, 'viewer_leave', 'u0', { stream: 's0' }),
  ])
  const full = new Run(CFG, 0, input)
  const lean = new Run(CFG, 0, input, { retainLog: false })
  for (const [size, restore] of [
    [5, true],
    [1, false],
    [3, false],
  ] as const) {
    full.batch(size, 'none')
    lean.batch(size, restore ? 'pieces' : 'none')
    assert.deepEqual([...lean.store.keys()].sort(), [...full.store.keys()].sort())
    assert.deepEqual(lean.store, full.store)
  }
  assert.equal(full.store.has('h:s2'), false, 's2 is forgotten (its open longer windows parked)')
  lean.check()
})

test('restored with a viewer present at the frontier, the longer window there gets its provisional row', () => {
  // u0 is present from 69 to 99; the fold frontier ends up at 75, with no record of s0
  // in 75..90: that 15 ms window has a row only from the viewer carried into it.
  const input = records([
    ev(57, 'viewer_join', 'u0', { stream: 's0' }),
    ev(60, 'chat_message', 'u0', { stream: 's0', len: 0 }),
    ev(69, 'donation', 'u0', { stream: 's0', cents: 0 }),
    ev(81, 'stream_stop', 'u0', { stream: 's1' }),
    ev(86, 'heartbeat', 'u0', { stream: 's1' }),
    ev(90, 'chat_message', 'u0', { stream: 's0', len: 0 }),
  ])
  const run = new Run(CFG, 0, input)
  // Every batch defers its provisional output and restores from a buffer; the flush emits it.
  while (!run.done) run.batch(1, 'buffer', false)
  run.flush()
  run.check()
  const row = run.tables.rollupRows(15).find((r) => r.streamId === 's0' && r.windowStart === 75)
  assert.equal(row?.activeViewers, 1)
})
