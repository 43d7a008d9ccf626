/**
 * Test helpers of the engine: a tiny JSON decoder standing in for src/events/decode.ts
 * (records carry the StreamEvent fields directly, ts in epoch ms), record builders,
 * and a model of the tables that applies batch results the way the processor does.
 */

import type { BatchResult, InputRecord, WindowRow } from '../../src/engine/types.ts'
import type { DecodeResult, EventType, StreamEvent } from '../../src/events/types.ts'

export function testDecode(value: Buffer, key: Buffer | null): DecodeResult {
  const streamId = key === null ? undefined : key.toString()
  let v: unknown
  try {
    v = JSON.parse(value.toString())
  } catch {
    return {
      ok: false,
      reason: 'not_json',
      detail: 'not JSON',
      ...(streamId === undefined ? {} : { streamId }),
    }
  }
  if (typeof v !== 'object' || v === null) return { ok: false, reason: 'not_object', detail: 'not an object' }
  return { ok: true, event: v as StreamEvent }
}

let counter = 0

/** A valid event; `id` defaults to a fresh one. */
export function ev(
  ts: number,
  eventType: EventType,
  userId: string,
  opts: { id?: string; stream?: string; cents?: number; len?: number } = {},
): StreamEvent {
  const e: StreamEvent = {
    eventId: opts.id ?? `x${++counter}`,
    ts,
    eventType,
    streamId: opts.stream ?? 's1',
    userId,
  }
  if (opts.cents !== undefined) return { ...e, amountCents: opts.cents }
  if (opts.len !== undefined) return { ...e, messageLen: opts.len }
  return e
}

/**
 * Input records for a list of events (or garbage strings), offsets from `first`, keyed by
 * their stream, with no Kafka timestamp (-1: no clock-skew check).
 */
export function records(items: readonly (StreamEvent | string)[], partition = 0, first = 0n): InputRecord[] {
  return items.map((it, i) => ({
    partition,
    offset: first + BigInt(i),
    key: Buffer.from(typeof it === 'string' ? 'bad' : it.streamId),
    value: Buffer.from(typeof it === 'string' ? it : JSON.stringify(it)),
    timestamp: -1,
  }))
}

/** A `stream_state` row as the table holds it: totals (the engine's rows carry what a batch adds). */
export interface StateTotals {
  readonly streamId: string
  readonly partition: number
  readonly activeViewers: number
  readonly live: boolean | null
  readonly lastEventTs: number
  readonly acceptedCount: number
  readonly lateCount: number
  readonly duplicateCount: number
  readonly rejectedCount: number
  readonly watermark: number | null
}

export const rowKey = (r: { streamId: string; windowStart: number }): string =>
  `${r.streamId}@${r.windowStart}`

/** The emission contract of one table of window rows (the base windows, or the longer ones). */
class RowTable {
  readonly rows = new Map<string, WindowRow>()
  readonly finalSeen = new Set<string>()

  apply(
    windows: readonly WindowRow[],
    removedKeys: readonly string[],
    keyOf: (r: WindowRow) => string,
  ): void {
    const keys = new Set<string>()
    for (const r of windows) {
      const k = keyOf(r)
      if (keys.has(k)) throw new Error(`row ${k} emitted twice in one batch`)
      keys.add(k)
      if (this.finalSeen.has(k)) throw new Error(`row ${k} emitted again after it was final`)
      if (r.isFinal) this.finalSeen.add(k)
      this.rows.set(k, r)
    }
    const removed = new Set<string>()
    for (const k of removedKeys) {
      if (this.finalSeen.has(k)) throw new Error(`final row ${k} removed`)
      if (keys.has(k)) throw new Error(`row ${k} both emitted and removed`)
      if (removed.has(k)) throw new Error(`row ${k} removed twice in one batch`)
      removed.add(k)
      this.rows.delete(k)
    }
  }
}

const rollupRowKey = (r: { streamId: string; windowStart: number; windowMs: number }): string =>
  `${r.windowMs}:${r.streamId}@${r.windowStart}`

/** The tables as the processor keeps them, plus checks of the emission contract. */
export class TableModel {
  private readonly base = new RowTable()
  private readonly longer = new RowTable()
  readonly states = new Map<string, StateTotals>()

  get rows(): Map<string, WindowRow> {
    return this.base.rows
  }

  apply(res: BatchResult): void {
    this.base.apply(res.windows, res.removedWindows.map(rowKey), rowKey)
    this.longer.apply(res.rollups, res.removedRollups.map(rollupRowKey), (r) =>
      rollupRowKey({ ...r, windowMs: r.windowEnd - r.windowStart }),
    )
    // As checkpoints.ts writes them: loose counts first (existing rows of this partition only), then the rows.
    for (const c of res.counts) {
      const prev = this.states.get(c.streamId)
      if (prev === undefined || prev.partition !== res.partition) continue
      this.states.set(c.streamId, {
        ...prev,
        lateCount: prev.lateCount + c.late,
        duplicateCount: prev.duplicateCount + c.duplicate,
        rejectedCount: prev.rejectedCount + c.rejected,
        watermark: c.watermark,
      })
    }
    for (const s of res.states) {
      const prev = this.states.get(s.streamId)
      this.states.set(s.streamId, {
        streamId: s.streamId,
        partition: s.partition,
        activeViewers: s.activeViewers,
        live: s.live ?? prev?.live ?? null,
        lastEventTs: Math.max(s.lastEventTs, prev?.lastEventTs ?? Number.NEGATIVE_INFINITY),
        acceptedCount: (prev?.acceptedCount ?? 0) + s.acceptedAdded,
        lateCount: (prev?.lateCount ?? 0) + s.lateAdded,
        duplicateCount: (prev?.duplicateCount ?? 0) + s.duplicateAdded,
        rejectedCount: (prev?.rejectedCount ?? 0) + s.rejectedAdded,
        watermark: s.watermark,
      })
    }
  }

  finalRows(): WindowRow[] {
    return sortRows([...this.rows.values()].filter((r) => r.isFinal))
  }

  allRows(): WindowRow[] {
    return sortRows([...this.rows.values()])
  }

  /** The rows of the longer windows of length `ms`. */
  rollupRows(ms: number): WindowRow[] {
    return sortRows([...this.longer.rows.values()].filter((r) => r.windowEnd - r.windowStart === ms))
  }
}

export function sortRows(rows: WindowRow[]): WindowRow[] {
  return rows.sort((a, b) =>
    a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : a.windowStart - b.windowStart,
  )
}
