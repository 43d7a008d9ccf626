/**
 * Record packs (the batches handed to engine threads): whatever the records, unpacking a
 * pack gives them back byte for byte, and a pack that does not add up is an INTERNAL
 * error, never a read past its end.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import type { InputRecord } from '../../src/engine/types.ts'
import { isRtsaError } from '../../src/errors/catalogue.ts'
import { packRecords, unpackRecords } from '../../src/processor/record-pack.ts'

const RUNS = Number(process.env.RTSA_PROPERTY_RUNS ?? 300)

const record = (partition: number) =>
  fc.record({
    partition: fc.constant(partition),
    offset: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
    key: fc.option(
      fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)),
      { nil: null },
    ),
    value: fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
    timestamp: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 2 ** 50 })),
  })

test('unpack(pack(records)) gives the records back, keys (or their absence) and values byte for byte', () => {
  fc.assert(
    fc.property(fc.nat({ max: 99 }), fc.array(record(7), { maxLength: 60 }), (_, records) => {
      const pack = packRecords(7, records)
      const back = unpackRecords(pack)
      assert.equal(back.length, records.length)
      back.forEach((r, i) => {
        const want = records[i]!
        assert.equal(r.partition, 7)
        assert.equal(r.offset, want.offset)
        assert.equal(r.timestamp, want.timestamp)
        assert.ok(Buffer.isBuffer(r.value))
        assert.deepEqual([...r.value], [...want.value])
        if (want.key === null) assert.equal(r.key, null)
        else assert.deepEqual([...r.key!], [...want.key])
      })
    }),
    { numRuns: RUNS },
  )
})

test('a cut, padded or garbled pack is INTERNAL, never a read past its end', () => {
  fc.assert(
    fc.property(
      fc.array(record(0), { minLength: 1, maxLength: 10 }),
      fc.nat(),
      fc.uint8Array({ minLength: 1, maxLength: 8 }),
      (records, at, junk) => {
        const good = new Uint8Array(packRecords(0, records).buffer)
        const cut = good.slice(0, at % good.length)
        const padded = new Uint8Array([...good, ...junk])
        const garbled = good.slice()
        garbled.set(
          junk.subarray(0, Math.min(junk.length, garbled.length - (at % garbled.length))),
          at % garbled.length,
        )
        for (const bytes of [cut, padded, garbled]) {
          try {
            const back = unpackRecords({ partition: 0, buffer: bytes.buffer })
            // A garbled pack can still add up (the junk hit bytes of a value): then it is records again.
            for (const r of back) assert.ok(r.value.byteOffset + r.value.length <= bytes.length)
          } catch (error) {
            assert.ok(isRtsaError(error, 'INTERNAL'), String(error))
          }
        }
      },
    ),
    { numRuns: RUNS },
  )
})

test('a record of another partition is refused when packing', () => {
  const r: InputRecord = { partition: 1, offset: 0n, key: null, value: Buffer.from('x'), timestamp: -1 }
  assert.throws(
    () => packRecords(0, [r]),
    (e: unknown) => isRtsaError(e, 'INTERNAL'),
  )
})

test('the pack moves to another thread: after the transfer the sender holds no bytes of it', () => {
  const pack = packRecords(0, [
    { partition: 0, offset: 5n, key: Buffer.from('k'), value: Buffer.from('v'), timestamp: 1 },
  ])
  const { port1, port2 } = new MessageChannel()
  port1.postMessage(pack, [pack.buffer])
  assert.equal(pack.buffer.byteLength, 0, 'transferred, not copied')
  port1.close()
  port2.close()
})
