/**
 * Input with an exact number of present viewers, for the memory and recovery
 * benchmarks: `viewers` distinct users join one of `streams` streams over a minute of
 * event time, then each sends one heartbeat over the next minute, so at the end all of
 * them are present (well inside VIEWER_TIMEOUT). 2 x viewers records, keyed by stream.
 *
 * Event ids are random UUIDs, as the contract's producers write them (uuid4), or with
 * `ids: 'plain'` short strings such as `v-j-17`: the engine keeps an id that is not a
 * canonical UUID as a string in a map, its slower and larger path.
 */
import { randomUUID } from 'node:crypto'
import { encodeEventString } from '../../src/events/decode.ts'
import { openKafkaProducer } from '../../src/generator/producer.ts'
import { fmt } from './stats.ts'

const T0 = Date.UTC(2025, 11, 20, 18, 0, 0)
const iso = (ms: number) => new Date(ms).toISOString().replace('Z', '+00:00')

/** How the benchmark input names its events. */
export type IdStyle = 'uuid' | 'plain'

/** The `ids` benchmark setting (`--set ids=uuid|plain`), uuid unless told. */
export function idStyle(options: Readonly<Record<string, string>>): IdStyle {
  const v = options.ids ?? 'uuid'
  if (v !== 'uuid' && v !== 'plain') throw new Error(`--set ids=${v}: expected uuid or plain`)
  return v
}

export async function produceViewers(
  bootstrap: readonly string[],
  topic: string,
  viewers: number,
  log: (line: string) => void,
  o: { streams?: number; tag?: string; startMs?: number; ids?: IdStyle } = {},
): Promise<number> {
  const plain = o.ids === 'plain'
  const streams = o.streams ?? 500
  const tag = o.tag ?? 'v'
  const start = o.startMs ?? T0
  const producer = openKafkaProducer(bootstrap, { topic, batchSize: 2000, maxInFlight: 4 })
  const t0 = Date.now()
  let last = t0
  for (const phase of ['viewer_join', 'heartbeat'] as const) {
    const base = phase === 'viewer_join' ? start : start + 60_000
    for (let i = 0; i < viewers; i++) {
      const stream = `stream_${1001 + (i % streams)}`
      const value = encodeEventString({
        event_id: plain ? `${tag}-${phase === 'viewer_join' ? 'j' : 'h'}-${i}` : randomUUID(),
        ts: iso(base + Math.floor((i / viewers) * 60_000)),
        event_type: phase,
        stream_id: stream,
        user_id: `user_${i + 1}`,
      })
      await producer.add(stream, value)
      if (Date.now() - last > 10_000) {
        last = Date.now()
        log(`    produced ${fmt(producer.stats.queued)} of ${fmt(2 * viewers)} records`)
      }
    }
  }
  await producer.close()
  const st = producer.stats
  if (st.failed > 0) throw new Error(`producing viewers: ${st.failed} failed: ${st.errors.join('; ')}`)
  log(
    `    produced ${fmt(st.acked)} records (${fmt(viewers)} viewers) in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  )
  return st.acked
}

/** A few heartbeats after the viewers' input (so a restarted processor has something to commit). */
export async function produceTail(
  bootstrap: readonly string[],
  topic: string,
  count: number,
  o: { streams?: number; tag: string; startMs?: number; ids?: IdStyle },
): Promise<void> {
  const streams = o.streams ?? 500
  const at = (o.startMs ?? T0) + 120_000
  const producer = openKafkaProducer(bootstrap, { topic, batchSize: 2000, maxInFlight: 4 })
  for (let i = 0; i < count; i++) {
    const stream = `stream_${1001 + (i % streams)}`
    await producer.add(
      stream,
      encodeEventString({
        event_id: o.ids === 'plain' ? `${o.tag}-t-${i}` : randomUUID(),
        ts: iso(at + i),
        event_type: 'heartbeat',
        stream_id: stream,
        user_id: `user_${i + 1}`,
      }),
    )
  }
  await producer.close()
}
