/**
 * The fault matrix: two processors in one group, a private broker and database (so they
 * can be killed), and proxies that can black-hole the network (testkit/fault-rig.ts).
 * Each fault alone, then some in sequence, while records keep arriving. After each: every
 * processor is alive (only a SIGKILLed one is restarted, by the test), the tables equal the
 * test oracle over everything produced so far, and the time from the fault's end to the
 * first commit is reported (the figures belong to `npm run bench -- faults`, not here).
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { decodeEvent } from '../../src/events/decode.ts'
import { readTopic } from '../../src/kafka/client.ts'
import { FaultRig, faults } from '../../testkit/fault-rig.ts'
import { spawnProcessor, stopChild } from '../../testkit/processes.ts'
import { kafkaRequestKeys } from '../../testkit/tcp-proxy.ts'
import { prng } from '../helpers/prng.ts'
import { expectedTables, storedTables } from './compare.ts'
import { byPartition, makeInput, produceAll, waitFor } from './fixtures.ts'

const CONFIG = { windowMs: 60_000, watermarkMs: 600_000, viewerTimeoutMs: 300_000 }
// Early enough that hundreds of chunks two hours apart stay in the past (no future_ts).
const T0 = Date.UTC(2026, 0, 1)
const JOIN_GROUP = 11

let rig: FaultRig
let chunks = 0
const recovery: string[] = []
const rnd = prng(2020)

before(async () => {
  rig = await FaultRig.start({
    kafkaPort: Number(process.env.RTSA_TEST_FAULTS_KAFKA_PORT ?? 19292),
    pgPort: Number(process.env.RTSA_TEST_FAULTS_PG_PORT ?? 15632),
  })
  await produceChunk()
  await rig.waitCaughtUp()
})

after(async () => {
  await rig?.close()
})

/** More traffic, each chunk two hours after the last (so none of it is late because of the last one's flush). */
async function produceChunk(count = 1200): Promise<void> {
  const start = T0 + chunks * 2 * 3_600_000
  await produceAll(
    rig.bootstrap,
    rig.topic,
    makeInput({ seed: 500 + chunks, count, streams: 9, users: 60, start, stepMs: 300 }),
  )
  chunks++
}

/** Both processors alive, caught up, and the tables exactly what the oracle computes from the whole topic. */
async function assertRecovered(what: string): Promise<void> {
  await rig.waitCaughtUp(180_000)
  assert.deepEqual(rig.dead(), [], `${what}: every processor is alive`)
  const want = expectedTables(CONFIG, byPartition(await readTopic(rig.bootstrap, rig.topic)), decodeEvent)
  const got = await storedTables(rig.pool)
  assert.equal(got.windows.length, want.windows.length, `${what}: windows`)
  assert.deepEqual(got.windows, want.windows, `${what}: windows`)
  assert.deepEqual(got.states, want.states, `${what}: states`)
  assert.deepEqual(got.dead, want.dead, `${what}: dead letters`)
}

/**
 * Runs one fault while traffic arrives: `fault` returns when the fault has ended (servers
 * back, network healed); then more traffic, the time to the first commit, and the checks.
 */
async function faultCase(name: string, fault: () => Promise<void>): Promise<void> {
  // Records keep arriving during the fault, so it always meets processors at work. While the
  // broker is away a chunk fails and the next is tried (the oracle reads the topic as it is,
  // so a chunk sent in part counts as sent).
  let faulting = true
  const trickle = (async () => {
    while (faulting) {
      await produceChunk(150).catch(() => {})
      await sleep(250)
    }
  })()
  try {
    await sleep(500)
    await fault()
  } finally {
    faulting = false
  }
  const ended = Date.now()
  await trickle
  const from = await rig.committed()
  await produceChunk(300)
  const ms = await rig.firstCommitAfter(ended, from)
  recovery.push(`${name}: first commit ${ms} ms after the fault ended`)
  await assertRecovered(name)
}

// Each fault of the shared catalogue alone (the cut-off and SIGKILL ones below check more).
const FAULTS = faults(8000)
for (const [name, fault] of Object.entries(FAULTS)) {
  if (name.startsWith('p0 ')) continue
  test(name, async () => {
    await faultCase(name, () => fault(rig))
  })
}

test('one processor cut off from PostgreSQL only: it gives its partitions up, the other takes them', async () => {
  await faultCase('p0 cut off from PostgreSQL only', async () => {
    // Only an instance with work notices its database is gone: after the earlier faults'
    // rebalances the other one may hold every partition for a moment.
    await waitFor('p0 to own a partition', async () => (await rig.owned(0)).length > 0, 30_000)
    const before = rig.processors[0]!.output().length
    rig.pgProxies[0]!.blackhole()
    try {
      await waitFor(
        'p0 to give its partitions up',
        () => rig.processors[0]!.output().slice(before).includes('giving the partitions up'),
        30_000,
      ).catch((error: unknown) => {
        throw new Error(
          `${String(error)}\n--- p0 since the cut:\n${rig.processors[0]!.output().slice(before).slice(-3000)}`,
        )
      })
      assert.equal(await rig.ready(0), 503, 'p0 is not ready while it cannot reach its database')
      // The other instance does p0's work meanwhile.
      const from = await rig.committed()
      await produceChunk(300)
      await waitFor('p1 to commit the new records', async () => (await rig.committed()) > from, 30_000)
    } finally {
      // Healed whatever happened, so a failure here does not become the next tests' failure.
      rig.pgProxies[0]!.heal()
    }
    await waitFor('p0 ready again', async () => (await rig.ready(0)) === 200, 60_000)
  })
})

test('a processor SIGKILLed at random moments, restarted', async () => {
  for (let i = 0; i < 3; i++) {
    await faultCase(`p0 SIGKILL #${i + 1} + restart`, async () => {
      await sleep(Math.floor(rnd() * 1500))
      await FAULTS['p0 SIGKILL + restart']!(rig)
    })
  }
})

test('a rejoin that fails (JoinGroup cut during a rebalance) does not end the processor', async () => {
  await faultCase('failed rejoin', async () => {
    const before = rig.processors.map((c) => c.output().length)
    // Every JoinGroup through the proxy fails from now on; a member joining through the
    // direct listener makes the group rebalance, so both processors rejoin, and fail.
    rig.kafkaProxy.inspector = () => {
      const keys = kafkaRequestKeys()
      return (chunk) => (keys(chunk).includes(JOIN_GROUP) ? 'cut' : undefined)
    }
    // Connections made from now on are watched from their first byte.
    rig.kafkaProxy.cut()
    const env = { ...rig.processorEnv(0), KAFKA_BOOTSTRAP: rig.bootstrap.join(','), METRICS_PORT: '0' }
    const third = spawnProcessor(env, 'p-direct')
    try {
      await waitFor(
        'both processors to see their rejoin fail',
        () => {
          const dead = rig.dead()
          if (dead.length > 0) throw new Error(`a failed rejoin ended a processor:\n${dead.join('\n')}`)
          return rig.processors.every((c, i) => /group membership failed/.test(c.output().slice(before[i])))
        },
        60_000,
      )
    } finally {
      rig.kafkaProxy.inspector = undefined
      await stopChild(third, 'SIGTERM')
    }
  })
})

test('in sequence: PostgreSQL immediate restart, broker SIGKILL, a processor frozen', async () => {
  await faultCase('sequence', async () => {
    await rig.stopPostgres('immediate')
    await rig.startPostgres()
    await rig.killBroker()
    await rig.startBroker()
    rig.freeze(0)
    await sleep(5000)
    rig.thaw(0)
  })
})

test('recovery times', (t) => {
  for (const line of recovery) t.diagnostic(line)
  assert.ok(recovery.length >= 10, 'every case reported')
})
