import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { JsonLinesSink, replayLines } from '../../src/generator/replay.ts'

class MemorySink {
  readonly records: Array<[string | null, string]> = []
  flushed = 0
  async add(key: string | null, value: string): Promise<void> {
    this.records.push([key, value])
  }
  async flush(): Promise<void> {
    this.flushed++
  }
}

const ev = (id: string, stream: string, type = 'heartbeat') =>
  JSON.stringify({
    event_id: id,
    ts: '2025-01-01T00:00:00Z',
    event_type: type,
    stream_id: stream,
    user_id: 'u',
  })

describe('replayLines', () => {
  it('sends events keyed by stream_id and wrappers as is, in file order', async () => {
    const sink = new MemorySink()
    const lines = [
      ev('1', 'a'),
      JSON.stringify({ key: 'b', value: 'not json at all' }),
      '',
      `  ${ev('2', 'b')}  `,
      JSON.stringify({ key: null, value: '{}' }),
      JSON.stringify({ value: ev('3', 'c') }),
    ]
    const result = await replayLines(lines, sink)
    assert.deepEqual(sink.records, [
      ['a', ev('1', 'a')],
      ['b', 'not json at all'],
      ['b', ev('2', 'b')],
      [null, '{}'],
      [null, ev('3', 'c')],
    ])
    assert.deepEqual(result, { lines: 6, sent: 5, bad: 0, badLines: [] })
    assert.equal(sink.flushed, 1)
  })

  it('reports bad lines with their number and reason, and does not send them', async () => {
    const sink = new MemorySink()
    const seen: number[] = []
    const lines = [
      ev('1', 'a'),
      '{"event_id": "x",',
      ev('2', 'a', 'dance'),
      JSON.stringify({ key: 'a', value: 42 }),
      '[1,2]',
      ev('3', 'a'),
    ]
    const result = await replayLines(lines, sink, { onBadLine: (b) => seen.push(b.line) })
    assert.deepEqual(
      sink.records.map(([, v]) => JSON.parse(v).event_id),
      ['1', '3'],
    )
    assert.equal(result.bad, 4)
    assert.deepEqual(
      result.badLines.map((b) => [b.line, b.reason]),
      [
        [2, 'not_json'],
        [3, 'bad_event_type'],
        [4, 'bad_wrapper'],
        [5, 'not_object'],
      ],
    )
    assert.deepEqual(seen, [2, 3, 4, 5])
  })

  it('sends bad lines too with sendInvalid, keyed by their stream when readable', async () => {
    const sink = new MemorySink()
    const result = await replayLines(['oops', ev('2', 'a', 'dance')], sink, { sendInvalid: true })
    assert.deepEqual(sink.records, [
      [null, 'oops'],
      ['a', ev('2', 'a', 'dance')],
    ])
    assert.equal(result.bad, 2)
    assert.equal(result.sent, 2)
  })

  it('reads what JsonLinesSink writes back into the same records', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtsa-replay-'))
    try {
      const file = join(dir, 'out.jsonl')
      const out = new JsonLinesSink(file)
      const written: Array<[string | null, string]> = [
        ['a', ev('1', 'a')],
        ['b', '{"broken'],
        [null, 'x\ny'],
      ]
      for (const [k, v] of written) await out.add(k, v)
      await out.close()
      const sink = new MemorySink()
      const result = await replayLines(readFileSync(file, 'utf8').split('\n'), sink)
      assert.deepEqual(sink.records, written)
      assert.equal(result.bad, 0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
