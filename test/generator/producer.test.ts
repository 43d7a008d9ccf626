import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { BatchingProducer, type RecordSender } from '../../src/generator/producer.ts'
import type { OutgoingRecord } from '../../src/kafka/client.ts'

/** A sender whose sends complete only when the test says so. */
class ManualSender implements RecordSender {
  readonly batches: OutgoingRecord[][] = []
  readonly pending: Array<{ resolve: () => void; reject: (e: Error) => void }> = []
  maxOpen = 0
  closed = false

  send(records: readonly OutgoingRecord[]): Promise<void> {
    this.batches.push([...records])
    const done = new Promise<void>((resolve, reject) => this.pending.push({ resolve, reject }))
    const entry = this.pending.at(-1)
    this.maxOpen = Math.max(this.maxOpen, this.pending.length)
    return done.finally(() => this.pending.splice(this.pending.indexOf(entry!), 1))
  }

  async close(): Promise<void> {
    this.closed = true
  }
}

/** A sender that acks immediately, or fails the batches whose first value is in `failOn`. */
class AutoSender implements RecordSender {
  readonly batches: string[][] = []
  open = 0
  maxOpen = 0
  readonly failOn: Set<string>

  constructor(failOn: string[] = []) {
    this.failOn = new Set(failOn)
  }

  async send(records: readonly OutgoingRecord[]): Promise<void> {
    const values = records.map((r) => r.value?.toString() ?? '')
    this.batches.push(values)
    this.open++
    this.maxOpen = Math.max(this.maxOpen, this.open)
    await new Promise((r) => setTimeout(r, 1))
    this.open--
    if (this.failOn.has(values[0]!)) throw new Error(`broker said no to ${values[0]}`)
  }

  async close(): Promise<void> {}
}

describe('BatchingProducer', () => {
  it('sends full batches in order, keyed, and the rest on flush', async () => {
    const sender = new AutoSender()
    const p = new BatchingProducer(sender, { topic: 't', batchSize: 3, maxInFlight: 2 })
    for (let i = 0; i < 10; i++) await p.add(`k${i % 2}`, `v${i}`)
    await p.flush()
    assert.deepEqual(sender.batches, [['v0', 'v1', 'v2'], ['v3', 'v4', 'v5'], ['v6', 'v7', 'v8'], ['v9']])
    assert.deepEqual(p.stats, { queued: 10, acked: 10, failed: 0, bytes: 20, errors: [] })
  })

  it('keeps at most maxInFlight batches unacknowledged (backpressure)', async () => {
    const sender = new AutoSender()
    const p = new BatchingProducer(sender, { topic: 't', batchSize: 2, maxInFlight: 3 })
    for (let i = 0; i < 200; i++) await p.add(null, `v${i}`)
    await p.flush()
    assert.equal(sender.maxOpen, 3)
    assert.equal(p.stats.acked, 200)
  })

  it('makes add wait while the in-flight limit is reached, and sends the first batch alone', async () => {
    const sender = new ManualSender()
    const p = new BatchingProducer(sender, { topic: 't', batchSize: 1, maxInFlight: 2 })
    let added = 0
    const adding = (async () => {
      for (let i = 0; i < 5; i++) {
        await p.add('k', `v${i}`)
        added++
      }
    })()
    await new Promise((r) => setTimeout(r, 10))
    assert.equal(added, 0, 'the first batch is awaited before anything else')
    assert.equal(sender.pending.length, 1)
    sender.pending[0]!.resolve()
    await new Promise((r) => setTimeout(r, 10))
    assert.equal(sender.pending.length, 2, 'then up to maxInFlight at once')
    assert.equal(added, 3, 'v0 acked, v1 and v2 in flight, v3 waits for room')
    while (sender.pending.length > 0) {
      sender.pending[0]!.resolve()
      await new Promise((r) => setTimeout(r, 5))
    }
    await adding
    await p.flush()
    assert.equal(sender.maxOpen, 2)
    assert.equal(p.stats.acked, 5)
  })

  it('counts delivery errors instead of throwing, and keeps going', async () => {
    const sender = new AutoSender(['v2', 'v6'])
    const p = new BatchingProducer(sender, { topic: 't', batchSize: 2, maxInFlight: 2 })
    for (let i = 0; i < 10; i++) await p.add('k', `v${i}`)
    await p.close()
    assert.equal(p.stats.acked, 6)
    assert.equal(p.stats.failed, 4)
    assert.deepEqual(p.stats.errors, ['broker said no to v2', 'broker said no to v6'])
  })

  it('closes the sender even when nothing was sent', async () => {
    const sender = new ManualSender()
    const p = new BatchingProducer(sender, { topic: 't', batchSize: 10, maxInFlight: 1 })
    await p.close()
    assert.equal(sender.closed, true)
    assert.equal(sender.batches.length, 0)
  })
})
