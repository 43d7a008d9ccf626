/** rtsa up's restart policy: growing delays, a fresh count after a long run, a crash loop given up. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RestartPolicy } from '../../src/cli/restarts.ts'

const options = { maxRestarts: 3, windowMs: 60_000, baseDelayMs: 1000, maxDelayMs: 3000 }

test('a crash loop: delays double up to the cap, then the part is given up', () => {
  const p = new RestartPolicy(options)
  assert.deepEqual(p.onExit(0), { action: 'restart', delayMs: 1000, attempt: 1 })
  assert.deepEqual(p.onExit(2000), { action: 'restart', delayMs: 2000, attempt: 2 })
  assert.deepEqual(p.onExit(5000), { action: 'restart', delayMs: 3000, attempt: 3 })
  assert.deepEqual(p.onExit(9000), { action: 'give-up', exits: 4 })
})

test('exits further apart than the window are each restarted at once-ish', () => {
  const p = new RestartPolicy(options)
  for (let day = 0; day < 10; day++) {
    assert.deepEqual(p.onExit(day * 86_400_000), { action: 'restart', delayMs: 1000, attempt: 1 })
  }
})

test('only the exits within the window count', () => {
  const p = new RestartPolicy(options)
  p.onExit(0)
  p.onExit(10_000)
  p.onExit(20_000)
  // 0 and 10 s have left the window at 70 s: this is the second exit within it.
  assert.deepEqual(p.onExit(70_000), { action: 'restart', delayMs: 2000, attempt: 2 })
})
