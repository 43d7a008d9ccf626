/** The snapshot writer's strings: the same bytes as a length varint + Buffer UTF-8, read back equal. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Reader, Writer } from '../../src/engine/codec.ts'

test('Writer.str writes varint length + UTF-8 for ASCII and non-ASCII strings of any length', () => {
  const samples = [
    '',
    'a',
    'evt_0001',
    'x'.repeat(127),
    'y'.repeat(128),
    'z'.repeat(300),
    'é',
    'ab€c',
    `${'a'.repeat(126)}é`,
    '😀x',
  ]
  const w = new Writer(1)
  for (const s of samples) w.str(s)
  const buf = w.done()
  const parts: Buffer[] = []
  for (const s of samples) {
    const b = Buffer.from(s, 'utf8')
    const len: number[] = []
    let n = b.length
    while (n >= 0x80) {
      len.push((n % 0x80) | 0x80)
      n = Math.floor(n / 0x80)
    }
    len.push(n)
    parts.push(Buffer.from(len), b)
  }
  assert.deepEqual(buf, Buffer.concat(parts))
  const r = new Reader(buf)
  for (const s of samples) assert.equal(r.str(), s)
  assert.equal(r.atEnd, true)
})
