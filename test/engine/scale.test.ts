/**
 * The engine against the oracle on one larger partition. The property tests keep
 * inputs small (a few users, 70 records) so that they can run a thousand cases; here
 * thousands of users, pending records and de-duplication ids make the engine's tables
 * grow past their first size, rebuild, and reuse freed slots (users folded away and
 * created again), under batch splits and restores from pieces and from a buffer.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { EngineConfig } from '../../src/engine/types.ts'
import { prng } from '../helpers/prng.ts'
import { Run } from './driver.ts'
import { buildRecords, type Op } from './gen.ts'

const TYPES = [
  'viewer_join',
  'viewer_join',
  'heartbeat',
  'heartbeat',
  'heartbeat',
  'viewer_leave',
  'chat_message',
  'donation',
] as const

function ops(rnd: () => number, n: number): Op[] {
  const int = (max: number) => Math.floor(rnd() * max)
  const out: Op[] = []
  for (let i = 0; i < n; i++) {
    const r = rnd()
    if (r < 0.02) out.push({ k: 'copy', pick: int(1 << 30) })
    else if (r < 0.025) out.push({ k: 'garbage', stream: int(30) })
    else if (r < 0.03) {
      const type = rnd() < 0.5 ? 'stream_stop' : 'stream_start'
      out.push({
        k: 'event',
        dt: 0,
        back: 0,
        type,
        user: 0,
        stream: int(30),
        pooledId: null,
        cents: 0,
        lag: null,
        key: 'stream',
      })
    } else
      out.push({
        k: 'event',
        // About five records per unit of time: with a 400-unit watermark, thousands pending at once.
        dt: rnd() < 0.8 ? 0 : 1,
        back: rnd() < 0.1 ? int(450) : 0,
        type: TYPES[int(TYPES.length)]!,
        user: int(3000),
        stream: int(30),
        pooledId: rnd() < 0.01 ? int(5) : null,
        lag: null,
        key: 'stream',
        cents: int(500),
      })
  }
  return out
}

const CONFIG: EngineConfig = { windowMs: 50, watermarkMs: 400, viewerTimeoutMs: 150 }

test('engine = oracle on a partition of thousands of users and pending records (tables grow, rebuild, reuse slots)', () => {
  const seed = Number(process.env.RTSA_TEST_SEED ?? 20261126)
  const rnd = prng(seed)
  const records = buildRecords(ops(rnd, 20_000), 0, true)
  const run = new Run(CONFIG, 0, records)
  let most = { users: 0, pending: 0, dedup: 0 }
  let batches = 0
  while (!run.done) {
    const r = rnd()
    run.batch(1 + Math.floor(rnd() * 1500), r < 0.15 ? 'pieces' : r < 0.25 ? 'buffer' : 'none')
    batches++
    const s = run.engine.stats()
    most = {
      users: Math.max(most.users, s.users),
      pending: Math.max(most.pending, s.pendingRecords),
      dedup: Math.max(most.dedup, s.dedupIds),
    }
  }
  run.check()
  // The sizes this test is for (the tables start at 1,024 slots), and folds that free users.
  assert.ok(
    most.users > 1024 && most.pending > 1024 && most.dedup > 1024,
    `seed ${seed}: ${JSON.stringify(most)}`,
  )
  assert.ok(run.engine.stats().users < most.users, `seed ${seed}: users were folded away`)
  assert.ok(batches > 10, `seed ${seed}: ${batches} batches`)
})
