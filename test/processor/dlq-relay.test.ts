/**
 * The DLQ record of a dead letter (dlq-relay.ts `envelope`): whole when it fits the
 * topic's limit, cut to fit otherwise with its full size and source position, and at
 * budget 0 its metadata alone.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { envelope } from '../../src/processor/dlq-relay.ts'
import type { PendingDeadLetter } from '../../src/store/dead-letters.ts'

const letter = (value: Buffer, key: Buffer | null = Buffer.from('stream_1')): PendingDeadLetter => ({
  id: 1,
  partition: 2,
  offset: 345,
  key,
  value,
  valueSize: value.length,
  reason: 'too_large',
  detail: 'record is big',
  streamId: 'stream_1',
})

const body = (e: ReturnType<typeof envelope>) =>
  JSON.parse(e.record.value!.toString()) as Record<string, unknown>

test('a dead letter that fits is relayed whole, keyed by its source position', () => {
  const e = envelope('stream.events', 'stream.events.dlq', letter(Buffer.from('{bad')), 1_000_000)
  assert.equal(e.record.topic, 'stream.events.dlq')
  assert.equal(e.record.key?.toString(), 'stream.events:2:345')
  assert.equal(e.truncated, false)
  const b = body(e)
  assert.deepEqual(
    [b.source_partition, b.source_offset, b.reason, b.value_size, b.value_truncated, b.key_base64],
    [2, '345', 'too_large', 4, false, Buffer.from('stream_1').toString('base64')],
  )
  assert.equal(Buffer.from(String(b.value_base64), 'base64').toString(), '{bad')
})

test('a dead letter too large for the topic is cut to fit, with its full size', () => {
  const value = Buffer.alloc(2_000_000, 0x61)
  for (const budget of [1_000_000, 100_000, 5_000]) {
    const e = envelope('t', 't.dlq', letter(value, Buffer.alloc(5000, 0x6b)), budget)
    assert.ok(e.size <= budget, `${e.size} <= ${budget}`)
    assert.ok(e.record.value!.length + e.record.key!.length <= budget)
    const b = body(e)
    assert.equal(b.value_truncated, true)
    assert.equal(b.value_size, 2_000_000)
    assert.equal(b.key_truncated, true)
    assert.equal(b.key_size, 5000)
    const kept = Buffer.from(String(b.value_base64), 'base64')
    assert.ok(
      kept.length > (budget > 10_000 ? budget / 2 : 0),
      `${kept.length} bytes of the value kept at ${budget}`,
    )
    assert.ok(value.subarray(0, kept.length).equals(kept))
  }
  const meta = body(envelope('t', 't.dlq', letter(value), 0))
  assert.deepEqual([meta.value_base64, meta.value_truncated, meta.source_offset], ['', true, '345'])
})
