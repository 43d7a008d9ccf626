/**
 * Shared pieces of the processor's integration tests: a deterministic input with
 * disorder, duplicates, late and malformed records; producing it; running processors
 * (in this process or as real child processes that can be SIGKILLed); waiting until
 * they caught up; and reading the tables for comparison.
 */
import type { TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type pg from 'pg'
import pino from 'pino'
import { encodeEvent } from '../../src/events/decode.ts'
import type { EventType, WireEvent } from '../../src/events/types.ts'
import {
  type IncomingRecord,
  KafkaAdmin,
  KafkaProducer,
  type OutgoingRecord,
} from '../../src/kafka/client.ts'
import { loadProcessorConfig } from '../../src/processor/config.ts'
import { createEngineFactory, type EngineFactory } from '../../src/processor/engine-adapter.ts'
import { inlineEngines } from '../../src/processor/engine-handle.ts'
import { createProcessorMetrics, type ProcessorMetrics } from '../../src/processor/metrics.ts'
import type { Processor } from '../../src/processor/processor.ts'
import { createProcessor, engineHostOf } from '../../src/processor/wiring.ts'
import { migrate } from '../../src/store/migrations.ts'
import { createPool } from '../../src/store/pool.ts'
import { processorEnv, spawnProcessor, stopChild } from '../../testkit/processes.ts'
import { prng } from '../helpers/prng.ts'

export { processorEnv, spawnProcessor, stopChild }

import { defer, freshDatabase } from '../helpers/services.ts'

export interface InputOptions {
  readonly seed: number
  readonly count: number
  readonly streams: number
  readonly users: number
  /** Event time of the first record (ms). */
  readonly start: number
  /** Average event-time step between records (ms). */
  readonly stepMs: number
}

/**
 * Records of a busy little platform: sessions (join, heartbeats, chat, donations,
 * leave or silence), stream starts and stops, with disorder within 2 minutes, 2%
 * exact duplicates, 1% late records (older than the 10-minute watermark) and 1%
 * malformed records. Ends with one far-future record per stream, so that every
 * window but the last is final.
 */
export function makeInput(o: InputOptions): OutgoingRecord[] {
  const rnd = prng(o.seed)
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!
  const streams = Array.from({ length: o.streams }, (_, i) => `stream_${1001 + i}`)
  const types: EventType[] = [
    'viewer_join',
    'viewer_join',
    'viewer_join',
    'viewer_leave',
    'viewer_leave',
    'heartbeat',
    'heartbeat',
    'heartbeat',
    'chat_message',
    'chat_message',
    'donation',
    'stream_start',
    'stream_stop',
  ]
  const out: { key: string; value: Buffer; ts: number }[] = []
  let clock = o.start
  let n = 0
  const event = (ts: number, stream: string, type: EventType, user: string): WireEvent => ({
    event_id: `e${o.seed}-${n++}`,
    ts: new Date(ts).toISOString().replace('Z', '+00:00'),
    event_type: type,
    stream_id: stream,
    user_id: user,
    ...(type === 'chat_message' ? { message_len: 1 + Math.floor(rnd() * 200) } : {}),
    ...(type === 'donation' ? { amount_usd: Math.round(rnd() * 20000) / 100 } : {}),
  })
  while (out.length < o.count) {
    clock += Math.floor(rnd() * 2 * o.stepMs)
    const stream = pick(streams)
    const user = `user_${1 + Math.floor(rnd() * o.users)}`
    const type = rnd() < 0.005 ? pick(['stream_start', 'stream_stop'] as const) : pick(types)
    const roll = rnd()
    let ts = clock - (rnd() < 0.3 ? Math.floor(rnd() * 120_000) : 0)
    if (roll < 0.01) ts = clock - 11 * 60_000 - Math.floor(rnd() * 60_000)
    if (roll >= 0.01 && roll < 0.02) {
      const bad = pick([
        '{not json',
        '[]',
        '{"event_id":"x"}',
        `{"event_id":"b${n++}","ts":"yesterday","event_type":"chat_message","stream_id":"${stream}","user_id":"u"}`,
      ])
      out.push({ key: stream, value: Buffer.from(bad), ts })
      continue
    }
    const value = encodeEvent(event(ts, stream, type, user))
    out.push({ key: stream, value, ts })
    if (roll >= 0.02 && roll < 0.04) out.push({ key: stream, value, ts })
  }
  for (const stream of streams) {
    out.push({
      key: stream,
      value: encodeEvent(event(clock + 3_600_000, stream, 'heartbeat', 'user_flush')),
      ts: 0,
    })
  }
  return out.map((r) => ({ topic: '', key: Buffer.from(r.key), value: r.value }))
}

/** Produces records to `topic` in order (keyed, so each stream keeps its order in its partition). */
export async function produceAll(bootstrap: string[], topic: string, records: readonly OutgoingRecord[]) {
  const producer = new KafkaProducer(bootstrap)
  try {
    for (let i = 0; i < records.length; i += 2000) {
      await producer.send(records.slice(i, i + 2000).map((r) => ({ ...r, topic })))
    }
  } finally {
    await producer.close()
  }
}

/** Records of a topic grouped by partition, in offset order. */
export function byPartition(records: readonly IncomingRecord[]): Map<number, IncomingRecord[]> {
  const out = new Map<number, IncomingRecord[]>()
  for (const r of [...records].sort((a, b) => a.partition - b.partition || Number(a.offset - b.offset))) {
    const list = out.get(r.partition) ?? []
    list.push(r)
    out.set(r.partition, list)
  }
  return out
}

/**
 * A processor running inside the test process, its engines on PROCESSOR_THREADS threads
 * (the machine's cores unless `env` says); `wrap` replaces its engines by wrapped ones on
 * the test's own thread (fault injection).
 */
export function startInProcess(
  env: Record<string, string>,
  pool: pg.Pool,
  opts: { wrap?: (f: EngineFactory) => EngineFactory; metrics?: ProcessorMetrics } = {},
): Processor {
  const config = loadProcessorConfig(env)
  const log = pino({ level: 'warn' })
  const engines = opts.wrap
    ? inlineEngines(opts.wrap(createEngineFactory(config)))
    : engineHostOf(config, log)
  const processor = createProcessor(config, pool, log, opts.metrics ?? createProcessorMetrics(), { engines })
  processor.start()
  return processor
}

/**
 * Waits until the committed offsets of every partition reach the topic's end
 * offsets. Fails after `timeoutMs` with what is missing.
 */
export async function waitCaughtUp(
  pool: pg.Pool,
  bootstrap: string[],
  topic: string,
  timeoutMs = 120_000,
): Promise<void> {
  const admin = new KafkaAdmin(bootstrap)
  try {
    const ends = await admin.offsets(topic)
    const deadline = Date.now() + timeoutMs
    let behind = ''
    while (Date.now() < deadline) {
      const rows = (
        await pool
          .query<{ partition: number; next_offset: number | null; held_back: boolean }>(
            'select partition, next_offset, held_back from partition_checkpoints where topic = $1',
            [topic],
          )
          .catch(() => ({ rows: [] }))
      ).rows
      const next = new Map(
        rows.map((r) => [r.partition, r.next_offset === null ? -1n : BigInt(r.next_offset)]),
      )
      // Caught up: every record committed, and no row held back (PROVISIONAL_INTERVAL).
      const held = new Set(rows.filter((r) => r.held_back).map((r) => r.partition))
      behind = ends
        .filter(
          (e) =>
            e.latest > e.earliest && ((next.get(e.partition) ?? -1n) < e.latest || held.has(e.partition)),
        )
        .map(
          (e) =>
            `p${e.partition}: ${next.get(e.partition) ?? 'none'}/${e.latest}${held.has(e.partition) ? ' (rows held back)' : ''}`,
        )
        .join(', ')
      if (behind === '') return
      await sleep(200)
    }
    throw new Error(`processors did not catch up within ${timeoutMs} ms: ${behind}`)
  } finally {
    await admin.close()
  }
}

export interface Tables {
  readonly windows: string[]
  readonly states: string[]
  readonly deadLetters: string[]
}

/** Every row of the result tables, as comparable strings (without updated_at and ids). */
export async function readTables(pool: pg.Pool): Promise<Tables> {
  const windows = await pool.query(
    `select window_start, window_end, stream_id, active_viewers, peak_viewers, unique_viewers, viewer_joins,
            viewer_leaves, chat_messages, unique_chatters, donations_cents, donations_usd, donation_count, events,
            is_final, partition
       from stream_metrics_minute order by stream_id, window_start`,
  )
  const states = await pool.query(
    `select stream_id, active_viewers, live, last_event_ts, accepted_count, late_count, duplicate_count,
            rejected_count, partition, watermark
       from stream_state order by stream_id`,
  )
  const dead = await pool.query(
    `select partition, "offset", reason, stream_id, event_ts, encode(value, 'hex') as value
       from dead_letters order by partition, "offset"`,
  )
  const line = (r: Record<string, unknown>) =>
    JSON.stringify(r, (_k, v) => (v instanceof Date ? v.toISOString() : v))
  return { windows: windows.rows.map(line), states: states.rows.map(line), deadLetters: dead.rows.map(line) }
}

/** A migrated fresh database and a pool on it, both cleaned up after the test. */
export async function freshStore(t: TestContext): Promise<{ url: string; pool: pg.Pool }> {
  const url = await freshDatabase(t)
  const pool = createPool(url, { max: 4 })
  defer(t, () => pool.end())
  await migrate(pool)
  return { url, pool }
}

/** Waits until `check` returns true, polling; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await sleep(100)
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** Sum of committed offsets of a topic's partitions (progress of the processors). */
export async function committedTotal(pool: pg.Pool, topic: string): Promise<number> {
  const r = await pool.query<{ n: number | null }>(
    'select sum(greatest(next_offset, 0))::bigint as n from partition_checkpoints where topic = $1',
    [topic],
  )
  return Number(r.rows[0]?.n ?? 0)
}
