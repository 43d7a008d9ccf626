import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseTimestamp } from '../../src/events/timestamp.ts'
import { loadGeneratorConfig, streamIdsOf } from '../../src/generator/config.ts'
import type { DeliveryStats } from '../../src/generator/producer.ts'
import { type RunConfig, runGenerator } from '../../src/generator/run.ts'

class MemorySink {
  readonly records: Array<{ key: string | null; value: string; at: number }> = []
  batches = 0
  readonly clock: () => number
  constructor(clock: () => number = () => 0) {
    this.clock = clock
  }
  async add(key: string | Buffer | null, value: string | Buffer): Promise<void> {
    this.records.push({ key: key === null ? null : String(key), value: String(value), at: this.clock() })
  }
  async sendBatch(): Promise<void> {
    this.batches++
  }
  async flush(): Promise<void> {}
  get stats(): DeliveryStats {
    return { queued: this.records.length, acked: this.records.length, failed: 0, bytes: 0, errors: [] }
  }
}

const config = (env: Record<string, string>): RunConfig => ({ ...loadGeneratorConfig(env), seed: 'run' })
const T0 = Date.UTC(2025, 5, 1, 12)

describe('runGenerator', () => {
  it('simulate mode: generates DURATION of event time from SIMULATE_FROM, then stops', async () => {
    const sink = new MemorySink()
    const c = config({ SIMULATE_FROM: '2025-06-01T10:00:00Z', DURATION: '10 minutes', EVENTS_PER_SEC: '50' })
    const summary = await runGenerator({ config: c, sink, now: () => T0 })
    assert.equal(summary.mode, 'simulate')
    assert.equal(summary.records, sink.records.length)
    const ts = sink.records.map((r) => parseTimestamp(JSON.parse(r.value).ts)!)
    assert.ok(ts.every((t) => t >= Date.UTC(2025, 5, 1, 10) && t < Date.UTC(2025, 5, 1, 10, 10)))
    assert.ok(Math.abs(sink.records.length - 50 * 600) < 50 * 600 * 0.15, `${sink.records.length} records`)
  })

  it('simulate mode without DURATION runs up to the start of the run; COUNT stops early', async () => {
    const sink = new MemorySink()
    const c = config({ SIMULATE_FROM: '2 minutes', EVENTS_PER_SEC: '100' })
    const summary = await runGenerator({ config: c, sink, now: () => T0 })
    assert.ok(summary.lastEmitMs! < T0 && summary.firstEmitMs! >= T0 - 120_000)
    assert.ok(summary.records > 10_000)
    const counted = new MemorySink()
    const limited = await runGenerator({
      config: config({ SIMULATE_FROM: '1 hour', COUNT: '777' }),
      sink: counted,
      now: () => T0,
    })
    assert.equal(limited.records, 777)
    assert.equal(counted.records.length, 777)
  })

  it('live mode: sends each record once the clock reaches its time, with event time = wall time', async () => {
    let clock = T0
    const sink = new MemorySink(() => clock)
    const c = config({ DURATION: '30s', EVENTS_PER_SEC: '20' })
    const summary = await runGenerator({
      config: c,
      sink,
      now: () => clock,
      sleep: async (ms) => {
        clock += ms
      },
    })
    assert.equal(summary.mode, 'live')
    assert.ok(sink.records.length > 300 && sink.records.length < 900, `${sink.records.length}`)
    for (const r of sink.records) {
      const ts = parseTimestamp(JSON.parse(r.value).ts)!
      assert.ok(ts <= r.at, 'never sent before its time')
      assert.ok(r.at - ts <= 100, `sent ${r.at - ts} ms late`)
    }
    assert.ok(sink.batches > 100, 'live mode hands batches over as it goes')
    assert.ok(clock >= T0 + 30_000 && clock < T0 + 31_000)
  })

  it('stops when the signal aborts, after sending what it took', async () => {
    const controller = new AbortController()
    let n = 0
    const sink = new MemorySink()
    const add = sink.add.bind(sink)
    sink.add = async (k, v) => {
      if (++n === 500) controller.abort()
      return add(k, v)
    }
    const summary = await runGenerator({
      config: config({ SIMULATE_FROM: '1 day' }),
      sink,
      signal: controller.signal,
      now: () => T0,
    })
    assert.equal(summary.interrupted, true)
    assert.equal(summary.records, 500)
  })
})

describe('runGenerator in parallel (model in a worker thread)', () => {
  it('sends exactly the records of the single-threaded path, faults included', async () => {
    const env = {
      SIMULATE_FROM: '2025-06-01T10:00:00Z',
      DURATION: '3 minutes',
      EVENTS_PER_SEC: '200',
      STREAM_COUNT: '7',
      FAULT_DUPLICATE_RATE: '0.05',
      FAULT_DISORDER_RATE: '0.05',
      FAULT_LATE_RATE: '0.01',
      FAULT_MALFORMED_RATE: '0.02',
    }
    const single = new MemorySink()
    const a = await runGenerator({ config: config(env), sink: single, now: () => T0 })
    const parallel = new MemorySink()
    const b = await runGenerator({ config: config(env), sink: parallel, now: () => T0, parallel: true })
    assert.ok(single.records.length > 30_000)
    assert.equal(parallel.records.length, single.records.length)
    for (let i = 0; i < single.records.length; i++) {
      const x = single.records[i]!
      const y = parallel.records[i]!
      assert.equal(String(y.key), x.key)
      assert.equal(String(y.value), x.value)
    }
    assert.deepEqual(b.faults, a.faults)
    assert.equal(b.lastEmitMs, a.lastEmitMs)
  })

  it('stops at COUNT and on abort', async () => {
    const sink = new MemorySink()
    const s = await runGenerator({
      config: config({ SIMULATE_FROM: '1 day', COUNT: '4321' }),
      sink,
      now: () => T0,
      parallel: true,
    })
    assert.equal(s.records, 4321)
    assert.equal(sink.records.length, 4321)
    const controller = new AbortController()
    const aborted = new MemorySink()
    const add = aborted.add.bind(aborted)
    aborted.add = async (k, v) => {
      if (aborted.records.length === 100) controller.abort()
      return add(k, v)
    }
    const r = await runGenerator({
      config: config({ SIMULATE_FROM: '1 day' }),
      sink: aborted,
      signal: controller.signal,
      now: () => T0,
      parallel: true,
    })
    assert.equal(r.interrupted, true)
    assert.ok(r.records < 10_000, `${r.records} records after abort`)
  })
})

describe('generator config', () => {
  it('has the reference defaults', () => {
    const c = loadGeneratorConfig({})
    assert.equal(c.eventsPerSec, 20)
    assert.equal(c.userCount, 500)
    assert.equal(c.kafkaTopic, 'stream.events')
    assert.deepEqual(streamIdsOf(c), ['stream_1001', 'stream_1002', 'stream_1003'])
    assert.equal(c.duplicateRate, 0)
    assert.equal(c.watermark, 600_000)
  })

  it('reads stream ids, aliases, fault rates and both forms of SIMULATE_FROM', () => {
    const c = loadGeneratorConfig({
      STREAM_IDS: 'a, b ,c',
      STREAM_COUNT: '9',
      BOOTSTRAP: 'kafka:29092',
      TOPIC: 'x',
      FAULT_LATE_RATE: '0.25',
      FAULT_DISORDER_MAX: '5s',
      SIMULATE_FROM: '2025-06-01T10:00:00+02:00',
    })
    assert.deepEqual(streamIdsOf(c), ['a', 'b', 'c'])
    assert.deepEqual(streamIdsOf({ streamIds: ['x', 'y', 'x'], streamCount: 3 }), ['x', 'y'])
    assert.deepEqual(c.kafkaBootstrap, ['kafka:29092'])
    assert.equal(c.kafkaTopic, 'x')
    assert.equal(c.lateRate, 0.25)
    assert.equal(c.disorderMax, 5000)
    assert.equal(c.simulateFrom!(0), Date.UTC(2025, 5, 1, 8))
    assert.equal(loadGeneratorConfig({ SIMULATE_FROM: '2 hours' }).simulateFrom!(T0), T0 - 7_200_000)
  })

  it('names every bad variable', () => {
    assert.throws(
      () =>
        loadGeneratorConfig({
          FAULT_DUPLICATE_RATE: '1.5',
          EVENTS_PER_SEC: 'fast',
          SIMULATE_FROM: 'last week',
        }),
      (e: Error) =>
        e.message.includes('FAULT_DUPLICATE_RATE') &&
        e.message.includes('EVENTS_PER_SEC') &&
        e.message.includes('SIMULATE_FROM'),
    )
  })
})
