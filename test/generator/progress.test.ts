/** Progress lines of long work: done/total, rate, ETA; redrawn on a terminal, periodic otherwise. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { progressLine, progressWriter } from '../../src/generator/progress.ts'

test('done, total, percent, rate and ETA', () => {
  assert.equal(
    progressLine({ done: 12_000, total: 50_000, unit: 'records', elapsedMs: 4000 }),
    '12,000/50,000 records (24%), 3,000/s, ETA 13 s',
  )
  assert.equal(
    progressLine({ done: 1000, total: 1_000_000, unit: 'records', elapsedMs: 1000, ratePerSec: 100 }),
    '1,000/1,000,000 records (0%), 100/s, ETA 2 h 46 min',
  )
  assert.equal(
    progressLine({ done: 5, total: 5, unit: 'records', elapsedMs: 1000 }),
    '5/5 records (100%), 5/s',
  )
  assert.equal(
    progressLine({ done: 0, total: 10, unit: 'bytes', elapsedMs: 0 }),
    '0/10 bytes (0%), 0/s, ETA unknown',
  )
  assert.equal(progressLine({ done: 42, unit: 'records', elapsedMs: 2000 }), '42 records, 21/s')
})

test('a terminal gets one line redrawn in place; anything else plain lines at the interval', () => {
  const out: string[] = []
  const tty = progressWriter({
    tty: true,
    write: (t) => out.push(t),
    prefix: 'p: ',
    plainEveryMs: 5000,
    ttyEveryMs: 100,
  })
  tty.update(0, () => 'a')
  tty.update(50, () => 'b') // too soon
  tty.update(150, () => 'c')
  tty.finish()
  assert.deepEqual(out, ['\r\x1b[2Kp: a', '\r\x1b[2Kp: c', '\n'])
  out.length = 0
  const plain = progressWriter({ tty: false, write: (t) => out.push(t), prefix: 'p: ', plainEveryMs: 5000 })
  plain.update(0, () => 'a')
  plain.update(4000, () => 'b')
  plain.update(5000, () => 'c')
  plain.finish()
  assert.deepEqual(out, ['p: a\n', 'p: c\n'])
})
