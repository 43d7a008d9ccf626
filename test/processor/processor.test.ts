/**
 * The processor's partition lifecycle, without a broker or a database (fakes.ts): claim,
 * process and commit; revoke; fence and claim again; commit retries; a reconnect; a
 * clean stop; a poison record. The tables are held to the oracle.
 */
import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import pino from 'pino'
import type { InputRecord } from '../../src/engine/types.ts'
import { decodeEvent } from '../../src/events/decode.ts'
import { loadProcessorConfig } from '../../src/processor/config.ts'
import { createEngineFactory, type EngineFactory } from '../../src/processor/engine-adapter.ts'
import { inlineEngines } from '../../src/processor/engine-handle.ts'
import { createProcessorMetrics } from '../../src/processor/metrics.ts'
import { PartitionTable } from '../../src/processor/partitions.ts'
import { Processor } from '../../src/processor/processor.ts'
import { sortRows } from '../engine/helpers.ts'
import { oracle } from '../engine/oracle.ts'
import { FakeBroker, FakeCheckpoints, FakeTopic } from './fakes.ts'
import { poisonous } from './poison.ts'

const M = 60_000
const T0 = Date.UTC(2026, 10, 20, 18)
const config = loadProcessorConfig({ BATCH_MAX_RECORDS: '7', BATCH_MAX_WAIT: '5ms' })
/** The same, with the shortest stall timeout the config allows. */
const stallConfig = loadProcessorConfig({
  BATCH_MAX_RECORDS: '7',
  BATCH_MAX_WAIT: '5ms',
  COMMIT_STALL_TIMEOUT: '1s',
})
const CFG = { windowMs: M, watermarkMs: 10 * M, viewerTimeoutMs: 5 * M }

/** A little traffic per partition: joins, heartbeats, a leave, and a late clock record that finalizes. */
function traffic(topic: FakeTopic, partitions: number[], from: number, n: number) {
  for (const p of partitions) {
    for (let i = from; i < from + n; i++) {
      const type = i % 5 === 0 ? 'viewer_join' : i % 7 === 0 ? 'viewer_leave' : 'heartbeat'
      topic.add(p, T0 + i * 20_000, type, `u${i % 4}`)
    }
  }
}

function setup(
  t: TestContext,
  opts: {
    partitions?: number
    factory?: (f: EngineFactory) => EngineFactory
    config?: ReturnType<typeof loadProcessorConfig>
  } = {},
) {
  const topic = new FakeTopic(opts.partitions ?? 2)
  const broker = new FakeBroker(topic)
  const store = new FakeCheckpoints()
  const metrics = createProcessorMetrics()
  const factory = createEngineFactory(config)
  const make = () => {
    const p = new Processor({
      config: opts.config ?? config,
      broker,
      checkpoints: store,
      engines: inlineEngines(opts.factory ? opts.factory(factory) : factory),
      log: pino({ level: 'silent' }),
      metrics,
      reclaimAfterMs: 20,
    })
    // A failed assertion must not leave a processor running (the test file would never end).
    t.after(() => p.stop())
    return p
  }
  return { topic, broker, store, metrics, make }
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(2)
  }
}

const caughtUp = (topic: FakeTopic, store: FakeCheckpoints, partitions: number[]) => () =>
  partitions.every((p) => store.next(p) === BigInt(topic.partitions[p]!.length))

/** The oracle's rows and totals of the given partitions, against what the store holds. */
function assertOracle(
  topic: FakeTopic,
  store: FakeCheckpoints,
  partitions: number[],
  skip?: (r: InputRecord) => boolean,
) {
  const rows = []
  const states = []
  for (const p of partitions) {
    const o = oracle(
      CFG,
      p,
      topic.partitions[p]!.filter((r) => !skip?.(r)),
      decodeEvent,
    )
    rows.push(...o.rows)
    states.push(...o.states)
  }
  // Final rows: provisional ones are written up to the newest record's window only.
  assert.deepEqual(store.tables.finalRows(), sortRows(rows.filter((r) => r.isFinal)))
  assert.ok(store.tables.finalRows().length >= partitions.length, 'the input makes final rows')
  assert.deepEqual(
    [...store.tables.states.values()].sort((a, b) => (a.streamId < b.streamId ? -1 : 1)),
    states.sort((a, b) => (a.streamId < b.streamId ? -1 : 1)),
  )
}

/** The oracle's rows up to each partition's newest window, and its states, against the store (not only final rows). */
function matchesOracleNow(topic: FakeTopic, store: FakeCheckpoints, partitions: number[]): boolean {
  const rows = []
  const states = []
  for (const p of partitions) {
    const o = oracle(CFG, p, topic.partitions[p]!, decodeEvent)
    const horizon = Math.floor(((o.watermark ?? 0) + CFG.watermarkMs) / M) * M
    rows.push(...o.rows.filter((r) => r.windowStart <= horizon))
    states.push(...o.states)
  }
  const byId = (a: { streamId: string }, b: { streamId: string }) => (a.streamId < b.streamId ? -1 : 1)
  return (
    JSON.stringify(store.tables.allRows()) === JSON.stringify(sortRows(rows)) &&
    JSON.stringify([...store.tables.states.values()].sort(byId)) === JSON.stringify(states.sort(byId))
  )
}

describe('PROVISIONAL_INTERVAL (fakes)', () => {
  const run = async (t: TestContext, interval: string, failFlush: boolean) => {
    const c = loadProcessorConfig({
      BATCH_MAX_RECORDS: '7',
      BATCH_MAX_WAIT: '5ms',
      PROVISIONAL_INTERVAL: interval,
    })
    const { topic, broker, store, make } = setup(t, { partitions: 1, config: c })
    traffic(topic, [0], 0, 120)
    const p = make()
    p.start()
    await until('connected', () => broker.source !== undefined)
    broker.assign([0])
    await until('caught up', caughtUp(topic, store, [0]))
    // The flush commit after the records is refused once: retried with the same content.
    if (failFlush) store.failCommits = 1
    // No stop, no new record: the quiet partition's held-back rows are written by a flush.
    await until('provisional and state rows current', () => matchesOracleNow(topic, store, [0]))
    await p.stop()
    assertOracle(topic, store, [0])
    return store.provisionalRows
  }

  it('holds provisional and state rows back, flushes a quiet partition, same tables; a retried flush counts once', async (t) => {
    const every = await run(t, '0ms', false)
    const throttled = await run(t, '300ms', true)
    assert.ok(throttled < every, `provisional rows written: ${throttled} with the interval, ${every} without`)
  })
})

describe('processor lifecycle (fakes)', () => {
  it('claims its assigned partitions, processes and commits them exactly as the oracle says', async (t) => {
    const { topic, broker, store, make } = setup(t)
    traffic(topic, [0, 1], 0, 60)
    const p = make()
    p.start()
    await until('connected', () => broker.source !== undefined)
    broker.assign([0, 1])
    await until('caught up', caughtUp(topic, store, [0, 1]))
    assert.deepEqual(p.owned(), [0, 1])
    assert.equal(p.health().status, 'running')
    await p.stop()
    assertOracle(topic, store, [0, 1])
    assert.deepEqual(store.releases.sort(), [0, 1])
    assert.equal(p.health().status, 'stopped')
  })

  it('a revoked partition is dropped: its new records are left to the next owner', async (t) => {
    const { topic, broker, store, make } = setup(t)
    traffic(topic, [0, 1], 0, 30)
    const p = make()
    p.start()
    await until('connected', () => broker.source !== undefined)
    broker.assign([0, 1])
    await until('caught up', caughtUp(topic, store, [0, 1]))
    broker.assign([1])
    assert.deepEqual(p.owned(), [1])
    const p0 = store.next(0)
    traffic(topic, [0, 1], 30, 10)
    await until('p1 caught up', caughtUp(topic, store, [1]))
    assert.equal(store.next(0), p0, 'nothing committed for the revoked partition')
    // Assigned again: claimed again (a new epoch) and resumed from its checkpoint.
    broker.assign([0, 1])
    await until('p0 caught up', caughtUp(topic, store, [0]))
    assert.equal(store.rows.get(0)?.epoch, 2)
    await p.stop()
    assertOracle(topic, store, [0, 1])
  })

  it('a fenced commit drops the partition; still assigned, it is claimed again and nothing is lost', async (t) => {
    const { topic, broker, store, metrics, make } = setup(t, { partitions: 1 })
    traffic(topic, [0], 0, 20)
    const p = make()
    p.start()
    await until('connected', () => broker.source !== undefined)
    broker.assign([0])
    await until('caught up', caughtUp(topic, store, [0]))
    store.steal(0)
    traffic(topic, [0], 20, 20)
    await until('caught up again', caughtUp(topic, store, [0]))
    assert.equal((await metrics.fenced.get()).values[0]?.value, 1)
    assert.equal(store.rows.get(0)?.epoch, 3, 'claimed again after the thief')
    await p.stop()
    assertOracle(topic, store, [0])
  })

  it('failed commits are retried with the same content: counted once', async (t) => {
    const { topic, broker, store, metrics, make } = setup(t, { partitions: 1 })
    traffic(topic, [0], 0, 60)
    store.failCommits = 3
    const p = make()
    p.start()
    await until('connected', () => broker.source !== undefined)
    broker.assign([0])
    await until('caught up', caughtUp(topic, store, [0]))
    assert.equal((await metrics.commitErrors.get()).values[0]?.value, 3)
    await p.stop()
    assertOracle(topic, store, [0])
  })

  it('a broken connection reconnects; the partitions are claimed again and processing resumes', async (t) => {
    const { topic, broker, store, make } = setup(t)
    traffic(topic, [0, 1], 0, 20)
    const p = make()
    p.start()
    await until('connected', () => broker.source !== undefined)
    broker.assign([0, 1])
    await until('caught up', caughtUp(topic, store, [0, 1]))
    const first = broker.source
    broker.fail(new Error('connection reset'))
    await until('reconnected', () => broker.connections === 2 && broker.source !== first)
    assert.equal(first?.closed, true)
    traffic(topic, [0, 1], 20, 20)
    broker.assign([0, 1])
    await until('caught up again', caughtUp(topic, store, [0, 1]))
    await p.stop()
    assertOracle(topic, store, [0, 1])
  })

  it('a store that fails past COMMIT_STALL_TIMEOUT: partitions given up, group left, rejoined once it answers', async (t) => {
    const { topic, broker, store, metrics, make } = setup(t, { config: stallConfig })
    traffic(topic, [0, 1], 0, 20)
    const p = make()
    p.start()
    await until('connected', () => broker.source !== undefined)
    broker.assign([0, 1])
    await until('caught up', caughtUp(topic, store, [0, 1]))
    const first = broker.source!
    store.down = true
    traffic(topic, [0, 1], 20, 20)
    await until('the group left', () => first.closed && p.owned().length === 0)
    assert.equal(p.health().status, 'recovering')
    assert.equal((await metrics.stalls.get()).values[0]?.value, 1)
    // It does not rejoin while the store is down: it asks the store until it answers.
    const pings = store.pings
    await until('the store asked again', () => store.pings > pings + 1)
    assert.equal(broker.connections, 1)
    store.down = false
    await until('rejoined', () => broker.connections === 2 && p.health().status === 'running')
    broker.assign([0, 1])
    await until('caught up again', caughtUp(topic, store, [0, 1]))
    await p.stop()
    assertOracle(topic, store, [0, 1])
  })

  it('a claim that keeps failing counts as a stall too (the instance does not sit on an assignment)', async (t) => {
    const { topic, broker, store, make } = setup(t, { config: stallConfig })
    traffic(topic, [0], 0, 10)
    store.down = true
    const p = make()
    p.start()
    await until('connected', () => broker.source !== undefined)
    const first = broker.source!
    broker.assign([0])
    await until('the group left', () => first.closed)
    store.down = false
    await until('rejoined', () => broker.connections === 2)
    broker.assign([0])
    await until('caught up', caughtUp(topic, store, [0]))
    await p.stop()
  })

  it('a record the engine throws on is dead-lettered as processing_error; the rest as if it were absent', async (t) => {
    const poison = (r: InputRecord) => r.value.includes('"poison')
    const { topic, broker, store, metrics, make } = setup(t, {
      partitions: 1,
      factory: poisonous(poison, () => new RangeError('boom')),
    })
    traffic(topic, [0], 0, 15)
    topic.add(0, T0 + 16 * 20_000, 'viewer_join', 'u9', 's0', 'poison-1')
    traffic(topic, [0], 17, 45)
    const p = make()
    p.start()
    await until('connected', () => broker.source !== undefined)
    broker.assign([0])
    await until('caught up', caughtUp(topic, store, [0]))
    await p.stop()
    assert.deepEqual(
      store.dead.filter((d) => d.endsWith('processing_error')),
      ['0:15:processing_error'],
    )
    assert.equal((await metrics.processingErrors.get()).values[0]?.value, 1)
    assertOracle(topic, store, [0], poison)
  })

  it('a processor started again resumes from the checkpoints: nothing is applied twice', async (t) => {
    const { topic, broker, store, make } = setup(t)
    traffic(topic, [0, 1], 0, 25)
    const a = make()
    a.start()
    await until('connected', () => broker.source !== undefined)
    broker.assign([0, 1])
    await until('caught up', caughtUp(topic, store, [0, 1]))
    await a.stop()
    traffic(topic, [0, 1], 25, 25)
    const first = broker.source
    const b = make()
    b.start()
    await until('connected again', () => broker.source !== first)
    broker.assign([0, 1])
    await until('caught up', caughtUp(topic, store, [0, 1]))
    await b.stop()
    assertOracle(topic, store, [0, 1])
  })
})

describe('processor lifecycle: races (fakes)', () => {
  it('records read for an ownership that ended during its slow commit are not applied to the next one', async (t) => {
    const { topic, broker, store, make } = setup(t, { partitions: 1 })
    traffic(topic, [0], 0, 40)
    let release: (() => void) | undefined
    const commit = store.commit.bind(store)
    let first = true
    store.commit = async (b) => {
      if (first) {
        first = false
        await new Promise<void>((r) => {
          release = r
        })
      }
      return commit(b)
    }
    const p = make()
    p.start()
    await until('connected', () => broker.source !== undefined)
    broker.assign([0])
    await until('the first commit is held', () => release !== undefined)
    // The held commit's batch was the first delivery; the second is read and waits for the commit.
    await until('the loop has read the next batch', () => broker.source!.deliveries >= 2)
    broker.assign([])
    broker.assign([0]) // claimed again from the checkpoint: nothing committed yet
    await until('claimed again', () => store.rows.get(0)?.epoch === 2 && p.owned().length === 1)
    release!() // the held commit is now fenced
    await until('caught up', caughtUp(topic, store, [0]))
    await p.stop()
    assertOracle(topic, store, [0])
  })

  it('a revoke while isolation reads the committed state ends the isolation quietly', async (t) => {
    const poison = (r: InputRecord) => r.offset === 3n
    const { topic, broker, store, make } = setup(t, {
      partitions: 1,
      factory: poisonous(poison, () => new Error('boom')),
    })
    traffic(topic, [0], 0, 10)
    const load = store.load.bind(store)
    let loads = 0
    store.load = async (partition) => {
      // The rebalance comes while the state is read for the part before the poison record.
      if (++loads === 2) broker.assign([])
      return load(partition)
    }
    const p = make()
    p.start()
    await until('connected', () => broker.source !== undefined)
    broker.assign([0])
    await until('revoked', () => p.owned().length === 0 && store.rows.get(0) !== undefined)
    await sleep(30)
    assert.equal(broker.connections, 1, 'no reconnect: the member stays')
    assert.equal(p.health().status, 'running')
    await p.stop()
  })
})

describe('partition table', () => {
  it('enforces the transitions of a slot', () => {
    const t = new PartitionTable()
    assert.deepEqual(t.assign([0, 1]), [])
    assert.deepEqual(t.unclaimed(), [0, 1])
    const s = t.startClaim(0)
    assert.throws(() => t.startClaim(0), /cannot be claimed now/)
    assert.throws(() => t.startClaim(5), /cannot be claimed now/)
    assert.throws(() => s.to('committing'), /no transition claiming -> committing/)
    s.to('owned')
    s.to('committing')
    s.to('owned')
    assert.deepEqual(
      t.held().map((x) => x.partition),
      [0],
    )
    assert.deepEqual(
      t.assign([1]).map((x) => x.partition),
      [0],
    )
    assert.ok(t.drop(s))
    assert.ok(!t.drop(s), 'a slot is dropped once')
    assert.throws(() => s.to('owned'), /no transition dropped -> owned/)
    assert.deepEqual(t.unclaimed(), [1])
  })
})
