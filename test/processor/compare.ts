/**
 * The tables the test oracle computes for a topic's records, and the tables the
 * processor wrote, in one comparable form (sorted lines), for the integration tests
 * that hold the real pipeline to the oracle.
 */
import type pg from 'pg'
import type { Decoder, EngineConfig, InputRecord, WindowRow } from '../../src/engine/types.ts'
import { oracle } from '../engine/oracle.ts'

export interface ComparableTables {
  readonly windows: string[]
  /** `stream_metrics_rollup`: the longer windows, by length (seconds) first. */
  readonly rollups: string[]
  /** `stream_state` without updated_at. */
  readonly states: string[]
  /** `[partition, offset, reason]` of every dead letter. */
  readonly dead: string[]
}

const byRowKey = (a: string, b: string) => {
  const [sa, wa] = JSON.parse(a) as [string, number]
  const [sb, wb] = JSON.parse(b) as [string, number]
  return sa < sb ? -1 : sa > sb ? 1 : wa - wb
}
const byPosition = (a: string, b: string) => {
  const [pa, oa] = JSON.parse(a) as [number, number]
  const [pb, ob] = JSON.parse(b) as [number, number]
  return pa - pb || oa - ob
}

/**
 * What the oracle says the tables hold after `partitions` (records of each partition in
 * offset order). Records for which `poisoned` is true are left out of the oracle's input
 * and expected as `processing_error` dead letters.
 */
export function expectedTables(
  config: EngineConfig,
  partitions: ReadonlyMap<number, readonly InputRecord[]>,
  decode: Decoder,
  poisoned: (r: InputRecord) => boolean = () => false,
): ComparableTables & { notApplied: number } {
  const windows: string[] = []
  const rollups: string[] = []
  const states: string[] = []
  const dead: string[] = []
  for (const [partition, all] of partitions) {
    const records = all.filter((r) => !poisoned(r))
    for (const r of all)
      if (poisoned(r)) dead.push(JSON.stringify([partition, Number(r.offset), 'processing_error']))
    const o = oracle(config, partition, records, decode)
    for (const r of o.rows) windows.push(rowLine(r, partition))
    // A longer window is the oracle's window of that length (docs/semantics.md section 8).
    for (const ms of config.rollupMs ?? []) {
      for (const r of oracle({ ...config, windowMs: ms }, partition, records, decode).rows)
        rollups.push(`${ms / 1000} ${rowLine(r, partition)}`)
    }
    for (const s of o.states) {
      states.push(
        JSON.stringify([
          s.streamId,
          s.activeViewers,
          s.live,
          s.lastEventTs,
          s.acceptedCount,
          s.lateCount,
          s.duplicateCount,
          s.rejectedCount,
          partition,
          s.watermark,
        ]),
      )
    }
    o.verdicts.forEach((v, i) => {
      if (v !== 'accepted') dead.push(JSON.stringify([partition, Number(records[i]!.offset), v]))
    })
  }
  return {
    windows: windows.sort(byRowKey),
    rollups: rollups.sort(),
    states: states.sort(),
    dead: dead.sort(byPosition),
    notApplied: dead.length,
  }
}

function rowLine(r: WindowRow, partition: number): string {
  return JSON.stringify([
    r.streamId,
    r.windowStart,
    r.windowEnd,
    r.activeViewers,
    r.peakViewers,
    r.uniqueViewers,
    r.viewerJoins,
    r.viewerLeaves,
    r.chatMessages,
    r.uniqueChatters,
    r.donationsCents,
    r.donationCount,
    r.events,
    r.isFinal,
    partition,
  ])
}

/** The processor's tables in the form of {@link expectedTables}. */
export async function storedTables(pool: pg.Pool): Promise<ComparableTables> {
  const ms = (d: Date | null) => (d === null ? null : d.getTime())
  const line = (r: Record<string, unknown>) =>
    JSON.stringify([
      r.stream_id,
      ms(r.window_start as Date),
      ms(r.window_end as Date),
      r.active_viewers,
      r.peak_viewers,
      r.unique_viewers,
      r.viewer_joins,
      r.viewer_leaves,
      r.chat_messages,
      r.unique_chatters,
      // bigint comes back as text.
      Number(r.donations_cents),
      r.donation_count,
      r.events,
      r.is_final,
      r.partition,
    ])
  const windows = (
    await pool.query('select * from stream_metrics_minute order by stream_id, window_start')
  ).rows.map(line)
  const rollups = (await pool.query('select * from stream_metrics_rollup')).rows.map(
    (r) => `${r.window_seconds} ${line(r)}`,
  )
  const states = (await pool.query('select * from stream_state order by stream_id')).rows.map((s) =>
    JSON.stringify([
      s.stream_id,
      s.active_viewers,
      s.live,
      ms(s.last_event_ts),
      s.accepted_count,
      s.late_count,
      s.duplicate_count,
      s.rejected_count,
      s.partition,
      ms(s.watermark),
    ]),
  )
  const dead = (
    await pool.query('select partition, "offset", reason from dead_letters order by partition, "offset"')
  ).rows.map((d) => JSON.stringify([d.partition, d.offset, d.reason]))
  return { windows: windows.sort(byRowKey), rollups: rollups.sort(), states: states.sort(), dead }
}
