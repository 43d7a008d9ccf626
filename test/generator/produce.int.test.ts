import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { generateCommand, produceCommand } from '../../src/cli/generate.ts'
import { decodeEvent } from '../../src/events/decode.ts'
import { readTopic } from '../../src/kafka/client.ts'
import { defer, freshTopic, kafkaBootstrap } from '../helpers/services.ts'

function tempFile(t: Parameters<typeof defer>[0], lines: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'rtsa-produce-'))
  defer(t, () => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'events.jsonl')
  writeFileSync(file, `${lines.join('\n')}\n`)
  return file
}

const event = (i: number, stream: string) =>
  JSON.stringify({
    event_id: `e-${i}`,
    ts: new Date(Date.UTC(2025, 0, 1) + i * 10).toISOString(),
    event_type: i % 5 === 0 ? 'viewer_join' : 'heartbeat',
    stream_id: stream,
    user_id: `user_${i % 17}`,
  })

describe('rtsa produce --file (real broker)', () => {
  it('reports progress while it works: bytes of the file, percent, rate, records sent', async (t) => {
    const topic = await freshTopic(t, 1)
    const file = tempFile(
      t,
      Array.from({ length: 200 }, (_, i) => event(i, 'stream_p')),
    )
    const written: string[] = []
    const original = process.stderr.write.bind(process.stderr)
    process.stderr.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk))
      return true
    }) as typeof process.stderr.write
    let code: number
    try {
      code = await produceCommand([
        '--file',
        file,
        '--bootstrap',
        kafkaBootstrap().join(','),
        '--topic',
        topic,
      ])
    } finally {
      process.stderr.write = original
    }
    assert.equal(code, 0, written.join(''))
    const out = written.join('')
    assert.match(out, /rtsa produce: [\d,]+\/[\d,]+ bytes \(\d+%\), [\d,]+\/s.*records sent/)
    assert.match(out, /done: 200 lines, 200 sent/)
  })

  it('sends every line in file order per key, across partitions, concurrent batches', async (t) => {
    const topic = await freshTopic(t, 3)
    const streams = ['stream_a', 'stream_b', 'stream_c', 'stream_d']
    const lines = Array.from({ length: 600 }, (_, i) => event(i, streams[(i * 7) % 4]!))
    const file = tempFile(t, lines)
    const code = await produceCommand([
      '--file',
      file,
      '--bootstrap',
      kafkaBootstrap().join(','),
      '--topic',
      topic,
      '--batch',
      '7',
      '--in-flight',
      '4',
    ])
    assert.equal(code, 0)
    const records = await readTopic(kafkaBootstrap(), topic)
    assert.equal(records.length, lines.length)
    for (const stream of streams) {
      const sent = lines.filter((l) => JSON.parse(l).stream_id === stream)
      const got = records
        .filter((r) => r.key?.toString() === stream)
        .sort((a, b) => (a.offset < b.offset ? -1 : 1))
        .map((r) => r.value.toString())
      assert.deepEqual(got, sent, `order of ${stream}`)
      assert.equal(
        new Set(records.filter((r) => r.key?.toString() === stream).map((r) => r.partition)).size,
        1,
      )
    }
  })

  it('reports bad lines (exit 1), does not send them, and sends {key, value} lines as they are', async (t) => {
    const topic = await freshTopic(t, 1)
    const file = tempFile(t, [
      event(1, 's1'),
      'this is not json',
      JSON.stringify({ key: 's1', value: '{"broken": ' }),
      JSON.stringify({ ...JSON.parse(event(2, 's1')), ts: 'yesterday' }),
      event(3, 's1'),
    ])
    const code = await produceCommand([
      '--file',
      file,
      '--bootstrap',
      kafkaBootstrap().join(','),
      '--topic',
      topic,
    ])
    assert.equal(code, 1)
    const records = await readTopic(kafkaBootstrap(), topic)
    assert.deepEqual(
      records.map((r) => [r.key?.toString(), r.value.toString()]),
      [
        ['s1', event(1, 's1')],
        ['s1', '{"broken": '],
        ['s1', event(3, 's1')],
      ],
    )
  })
})

describe('rtsa generate (real broker)', () => {
  it('simulates a past interval into the topic, keyed by stream, with the requested faults', async (t) => {
    const topic = await freshTopic(t, 3)
    const code = await generateCommand([
      '--bootstrap',
      kafkaBootstrap().join(','),
      '--topic',
      topic,
      '--simulate-from',
      '2025-03-01T00:00:00Z',
      '--count',
      '3000',
      '--rate',
      '100',
      '--seed',
      'int',
      '--malformed-rate',
      '0.05',
      '--dup-rate',
      '0.05',
    ])
    assert.equal(code, 0)
    const records = await readTopic(kafkaBootstrap(), topic)
    assert.equal(records.length, 3000)
    let bad = 0
    const values = new Set<string>()
    let duplicates = 0
    for (const r of records) {
      const v = r.value.toString()
      if (values.has(v)) duplicates++
      values.add(v)
      const d = decodeEvent(r.value, r.key)
      if (!d.ok) {
        bad++
        continue
      }
      assert.equal(r.key?.toString(), d.event.streamId)
      assert.ok(d.event.ts >= Date.UTC(2025, 2, 1))
    }
    assert.ok(bad > 50 && bad < 300, `${bad} malformed`)
    assert.ok(duplicates > 50 && duplicates < 300, `${duplicates} duplicates`)
  })
})
