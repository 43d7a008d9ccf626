import assert from 'node:assert/strict'
import { test } from 'node:test'
import { encodeCommitNotice, parseCommitNotice } from '../../src/store/commit-notice.ts'

const facts = (streams: string[]) => ({
  topic: 'stream.events',
  partition: 2,
  nextOffset: 120n,
  watermark: Date.UTC(2026, 11, 1),
  streams,
  committedAt: new Date(Date.UTC(2026, 11, 1, 12)),
})

test('what a commit encodes, the API parses: streams once each, or null (all) when too many', () => {
  const n = parseCommitNotice(encodeCommitNotice(facts(['a', 'b', 'a'])))
  assert.deepEqual(n, {
    topic: 'stream.events',
    partition: 2,
    streams: ['a', 'b'],
    committedAt: '2026-12-01T12:00:00.000Z',
  })
  const many = Array.from({ length: 5000 }, (_, i) => `stream_${i}`)
  const payload = encodeCommitNotice(facts(many))
  assert.ok(Buffer.byteLength(payload) < 8000, `${Buffer.byteLength(payload)} bytes`)
  assert.equal(parseCommitNotice(payload).streams, null)
})
