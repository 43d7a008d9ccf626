/**
 * The memory benchmark's idle-streams case (docs/semantics.md section 7): `streams` distinct
 * streams each get a start, a join and a leave within ten minutes of event time (so all
 * of them are above the watermark: live), and a processor catches up (phase "live").
 * Then one later record per partition moves every watermark past all of them, and a
 * processor restarted on the same database catches up on it (phase "idle": it restores
 * the live state, then forgets the streams). A third one restarts on what is stored then
 * ("restarted"). Figures: RSS of each against the empty-topic baseline, stored state
 * rows, and the time to restore every partition from the stored state, against an
 * empty database's.
 */
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { encodeEvent, encodeEventString } from '../../src/events/decode.ts'
import { openKafkaProducer } from '../../src/generator/producer.ts'
import { KafkaProducer } from '../../src/kafka/client.ts'
import { loadProcessorConfig } from '../../src/processor/config.ts'
import { createEngineFactory } from '../../src/processor/engine-adapter.ts'
import { loadPartitionState } from '../../src/store/checkpoints.ts'
import type { ViewerProcessor } from '../memory.ts'
import type { BenchContext } from './context.ts'
import { peakRssOf, rssOf } from './machine.ts'
import { stopChild } from './processors.ts'
import { type Figure, figure } from './report.ts'
import { deleteTopic, type FreshDb, freshDb, freshTopic } from './servers.ts'
import { fmt, mib } from './stats.ts'

const PARTITIONS = 6
const iso = (ms: number) => new Date(ms).toISOString().replace('Z', '+00:00')

/** `caughtUpProcessor` of memory.ts: a processor child caught up on a topic, with its fresh database. */
type CaughtUp = (
  ctx: BenchContext,
  topic: string,
  label: string,
  extra?: Record<string, string>,
  reuse?: FreshDb,
) => Promise<ViewerProcessor>

// Two hours ago: well behind the records' Kafka timestamps (no future_ts).
const T0 = Date.now() - 2 * 3_600_000

async function produceStreams(
  bootstrap: readonly string[],
  topic: string,
  streams: number,
  log: (l: string) => void,
) {
  const producer = openKafkaProducer(bootstrap, { topic, batchSize: 2000, maxInFlight: 4 })
  for (let i = 0; i < streams; i++) {
    const stream = `idle_${i}`
    const at = T0 + Math.floor((i / streams) * 600_000)
    for (const [type, ts] of [
      ['stream_start', at],
      ['viewer_join', at],
      ['viewer_leave', at + 1000],
    ] as const) {
      await producer.add(
        stream,
        encodeEventString({
          event_id: randomUUID(),
          ts: iso(ts),
          event_type: type,
          stream_id: stream,
          user_id: 'u1',
        }),
      )
    }
  }
  await producer.close()
  if (producer.stats.failed > 0)
    throw new Error(`producing idle streams: ${producer.stats.errors.join('; ')}`)
  log(`    produced ${fmt(3 * streams)} records (${fmt(streams)} streams)`)
}

/** One record per partition, an hour later, keyed by its own stream: every watermark passes the rest. */
async function produceClock(bootstrap: readonly string[], topic: string) {
  const flush = new KafkaProducer(bootstrap)
  try {
    await flush.send(
      Array.from({ length: PARTITIONS }, (_, p) => ({
        topic,
        partition: p,
        key: Buffer.from(`clock_${p}`),
        value: encodeEvent({
          event_id: randomUUID(),
          ts: iso(T0 + 3_600_000),
          event_type: 'heartbeat',
          stream_id: `clock_${p}`,
          user_id: 'u1',
        }),
      })),
    )
  } finally {
    await flush.close()
  }
}

/**
 * Restores every partition's engine from the stored state, as a claim does; returns the
 * median ms of 3 tries (one GC pause of the benchmark process would otherwise be the
 * figure) and the stored rows.
 */
async function restoreTime(db: FreshDb, topic: string): Promise<{ ms: number; rows: number }> {
  const factory = createEngineFactory(loadProcessorConfig({}))
  const times: number[] = []
  let rows = 0
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now()
    rows = 0
    for (let p = 0; p < PARTITIONS; p++) {
      const state = await loadPartitionState(db.pool, topic, p)
      rows += state.pieces.length
      factory(p, state.pieces)
    }
    times.push(performance.now() - t0)
  }
  return { ms: times.sort((a, b) => a - b)[1]!, rows }
}

interface Phase {
  rss: number[]
  restore: number[]
  rows: number[]
}

/** Runs the case; `baseline` holds the empty-topic RSS of each run (MiB). */
export async function idleStreamsCase(
  ctx: BenchContext,
  streams: number,
  baseline: readonly number[],
  caughtUp: CaughtUp,
): Promise<{ figures: Figure[]; notes: string[] }> {
  const servers = await ctx.servers()
  const phases: Record<'live' | 'idle' | 'restarted', Phase> = {
    live: { rss: [], restore: [], rows: [] },
    idle: { rss: [], restore: [], rows: [] },
    restarted: { rss: [], restore: [], rows: [] },
  }
  const emptyRestore: number[] = []
  const notes: string[] = []
  for (let run = 1; run <= ctx.runs; run++) {
    const topic = await freshTopic(servers, `idle${streams}`, PARTITIONS)
    try {
      ctx.log(`  ${fmt(streams)} idle streams run ${run}: producing`)
      await produceStreams(servers.bootstrap, topic, streams, ctx.log)
      const empty = await freshDb(servers, 'idle0')
      emptyRestore.push((await restoreTime(empty, topic)).ms)
      await empty.drop()
      let db: FreshDb | undefined
      for (const phase of ['live', 'idle', 'restarted'] as const) {
        if (phase === 'idle') await produceClock(servers.bootstrap, topic)
        const p = await caughtUp(ctx, topic, `idle-${phase}-${run}`, {}, db)
        db = p.db
        await sleep(10_000)
        const rss = mib(rssOf(p.child.pid!))
        const peak = mib(peakRssOf(p.child.pid!))
        await stopChild(p.child)
        const r = await restoreTime(p.db, topic)
        const f = phases[phase]
        f.rss.push(rss)
        f.restore.push(r.ms)
        f.rows.push(r.rows)
        ctx.log(
          `    ${phase}: caught up in ${p.catchUpSeconds.toFixed(1)} s; RSS ${fmt(rss)} MiB 10 s later (peak ${fmt(peak)} MiB); ` +
            `${fmt(r.rows)} stored state rows, restored in ${r.ms.toFixed(0)} ms`,
        )
        notes.push(
          `${fmt(streams)} idle streams run ${run}, ${phase}: ${fmt(r.rows)} engine_snapshots rows; peak RSS (VmHWM) ${fmt(peak)} MiB`,
        )
      }
      await db?.drop()
    } finally {
      await deleteTopic(servers, topic)
    }
  }
  const base = { name: 'empty topic', runs: baseline.slice(0, ctx.runs) }
  const emptyBase = { name: 'empty database', runs: emptyRestore }
  const label = {
    live: `${fmt(streams)} live streams`,
    idle: `after ${fmt(streams)} streams went idle, same process`,
    restarted: `after ${fmt(streams)} streams went idle, restarted`,
  }
  const figures: Figure[] = []
  for (const phase of ['live', 'idle', 'restarted'] as const) {
    figures.push(figure(`RSS, ${label[phase]}`, 'MiB', phases[phase].rss, { baseline: base }))
  }
  for (const phase of ['live', 'restarted'] as const) {
    figures.push(
      figure(`restore of 6 partitions, ${label[phase]}`, 'ms', phases[phase].restore, {
        baseline: emptyBase,
      }),
    )
  }
  notes.push(
    `Idle streams: ${fmt(streams)} streams, each a stream_start, a viewer_join and a viewer_leave 1 s later, within 10 minutes of event time (all live until one later record per partition passes them). "live": the processor caught up on them; "idle, same process": a processor restarted on that state caught up on the later records (V8 keeps the memory it grew to: its RSS shows the heap's high-water mark, not the live state); "restarted": one more restart on the state stored then. Restore: every partition's state read from PostgreSQL and the engine built from it, in the benchmark process.`,
  )
  return { figures, notes }
}
