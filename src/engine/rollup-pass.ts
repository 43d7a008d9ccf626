/**
 * The longer windows' part of a stream's fold and of its provisional pass (see
 * rollup.ts for what is kept, docs/semantics.md section 8 for what the rows mean).
 */
import {
  addFinalRow,
  finalRollupRow,
  newDelta,
  newRollupAcc,
  presentIn,
  type Resolution,
  type RollupAcc,
  type RollupDelta,
  type RollupOut,
} from './rollup.ts'
import type { WindowRow } from './types.ts'
import { type WindowAcc, windowRow } from './window.ts'

/** What these passes read and change of a stream (stream.ts's Stream; an interface, so the import goes one way). */
export interface RollupHost {
  readonly id: string
  readonly ctx: {
    readonly windowMs: number
    readonly foldIdx: number
    readonly rollups: readonly Resolution[]
  }
  readonly users: ReadonlyMap<string, { readonly id: string; readonly iv: readonly number[] }>
  readonly rollups: Map<number, RollupAcc>[]
  ldFrom: number
  ldTo: number
  walk(toIdx: number, visit: (idx: number, acc: WindowAcc | undefined, entering: number) => void): number
}

/** A base window's final row, with its accumulator (for its chatters). */
export interface FinalBase {
  readonly row: WindowRow
  readonly acc: WindowAcc | undefined
}

/**
 * Composes what a fold from F to F' = `newFoldIdx` passes into the open longer windows:
 * the final base rows `finals`, and every user present at some instant of [F, F') (call
 * before the users are trimmed to F'). Emits the final rows of the windows F' closes, a
 * removal for a closed window that had a provisional row but ends with none
 * (`removedIdx`: base windows this fold removed), and the deltas to store.
 */
export function foldRollups(
  s: RollupHost,
  finals: readonly FinalBase[],
  removedIdx: readonly number[],
  newFoldIdx: number,
  out: RollupOut,
): void {
  const ctx = s.ctx
  const w = ctx.windowMs
  const from = ctx.foldIdx * w
  const to = newFoldIdx * w
  for (let k = 0; k < ctx.rollups.length; k++) {
    const res = ctx.rollups[k]!
    const ms = res.ms
    const open = s.rollups[k]!
    const deltas = new Map<number, RollupDelta>()
    const slot = (j: number): [RollupAcc, RollupDelta] | null => {
      if (j < res.startIdx) return null
      let a = open.get(j)
      if (a === undefined) {
        a = newRollupAcc()
        open.set(j, a)
      }
      let d = deltas.get(j)
      if (d === undefined) {
        d = newDelta(s.id, ms, j)
        deltas.set(j, d)
      }
      return [a, d]
    }
    for (const f of finals) {
      const j = Math.floor(f.row.windowStart / ms)
      const sd = slot(j)
      if (sd !== null) addFinalRow(sd[0], sd[1], f.row, f.acc, (j + 1) * ms)
    }
    for (const u of s.users.values()) {
      const iv = u.iv
      for (let i = 0; i < iv.length; i += 2) {
        const lo = Math.max(iv[i]!, from)
        const hi = Math.min(iv[i + 1]!, to)
        // (lo is finite: a carried start -Infinity exists only once a fold has set F.)
        if (!(lo < hi)) continue
        for (let j = Math.floor(lo / ms); j <= Math.floor((hi - 1) / ms); j++) {
          const sd = slot(j)
          if (sd !== null && !sd[0].viewers.has(u.id)) {
            sd[0].viewers.add(u.id)
            sd[1].viewers.push(u.id)
          }
        }
      }
    }
    const closed = closeWindows(s.id, open, ms, to, out)
    for (const [j, d] of deltas) if (!closed.has(j)) out.deltas.push(d)
    const gone = new Set<number>()
    for (const idx of removedIdx) {
      const j = Math.floor((idx * w) / ms)
      if ((j + 1) * ms > to || j < res.startIdx || closed.has(j) || gone.has(j)) continue
      gone.add(j)
      out.removed.push({ streamId: s.id, windowStart: j * ms, windowMs: ms })
    }
  }
}

/**
 * Emits the final rows of the windows of one resolution that end at or before `to` (the
 * new fold frontier) and drops them; returns their indexes. Also used for the parked
 * windows of forgotten streams (partition.ts).
 */
export function closeWindows(
  streamId: string,
  open: Map<number, RollupAcc>,
  ms: number,
  to: number,
  out: RollupOut,
): Set<number> {
  const closed = new Set<number>()
  for (const [j, a] of open) {
    if ((j + 1) * ms > to) continue
    out.rows.push(finalRollupRow(streamId, j, ms, a))
    open.delete(j)
    closed.add(j)
  }
  return closed
}

/**
 * Emits the provisional rows of the open longer windows that hold a changed base window
 * (`s.ldFrom..s.ldTo`), up to the window of the partition's newest record (`maxTs`), or
 * removes those left without a base row. Changes beyond wait in the range.
 */
export function provisionalRollups(s: RollupHost, maxTs: number, out: RollupOut): void {
  if (s.ldFrom > s.ldTo) return
  const ctx = s.ctx
  const w = ctx.windowMs
  const f = ctx.foldIdx * w
  const jobs: { k: number; j: number }[] = []
  let left = Number.POSITIVE_INFINITY
  let lastIdx = Number.NEGATIVE_INFINITY
  for (let k = 0; k < ctx.rollups.length; k++) {
    const { ms, startIdx } = ctx.rollups[k]!
    const horizon = Math.floor(maxTs / ms)
    const hi = Math.floor((s.ldTo * w) / ms)
    // The first open window: the one holding F (windows ending at or before F are final).
    let lo = Math.floor((s.ldFrom * w) / ms)
    if (Number.isFinite(f)) lo = Math.max(lo, Math.floor(f / ms))
    lo = Math.max(lo, startIdx)
    for (let j = lo; j <= Math.min(hi, horizon); j++) {
      jobs.push({ k, j })
      lastIdx = Math.max(lastIdx, ((j + 1) * ms) / w - 1)
    }
    if (hi > horizon) left = Math.min(left, ((horizon + 1) * ms) / w)
  }
  if (left <= s.ldTo) s.ldFrom = left
  else {
    s.ldFrom = Number.POSITIVE_INFINITY
    s.ldTo = Number.NEGATIVE_INFINITY
  }
  if (jobs.length === 0) return
  // One walk over the live base windows serves every job.
  const live: FinalBase[] = []
  s.walk(lastIdx, (idx, acc, ent) => {
    const row = windowRow(s.id, idx, w, acc, ent, false)
    if (row !== null) live.push({ row, acc })
  })
  for (const { k, j } of jobs) {
    const ms = ctx.rollups[k]!.ms
    const start = j * ms
    const end = start + ms
    const a = s.rollups[k]!.get(j)
    const rows = live.filter((x) => x.row.windowStart >= start && x.row.windowStart < end)
    if (a === undefined && rows.length === 0) {
      out.removed.push({ streamId: s.id, windowStart: start, windowMs: ms })
      continue
    }
    out.rows.push(provisionalRow(s, j, ms, a, rows, Math.max(start, f)))
  }
}

function provisionalRow(
  s: RollupHost,
  j: number,
  ms: number,
  a: RollupAcc | undefined,
  rows: readonly FinalBase[],
  liveFrom: number,
): WindowRow {
  const end = (j + 1) * ms
  let events = a?.events ?? 0
  let joins = a?.joins ?? 0
  let leaves = a?.leaves ?? 0
  let chat = a?.chat ?? 0
  let cents = a?.donationsCents ?? 0
  let donations = a?.donationCount ?? 0
  let peak = a?.peak ?? 0
  // The window's last instant is in the live part (the window is open): no row there, nobody present.
  let active = 0
  const extraChatters = new Set<string>()
  for (const { row, acc } of rows) {
    events += row.events
    joins += row.viewerJoins
    leaves += row.viewerLeaves
    chat += row.chatMessages
    cents += row.donationsCents
    donations += row.donationCount
    if (row.peakViewers > peak) peak = row.peakViewers
    if (row.windowEnd === end) active = row.activeViewers
    if (acc?.chatters) for (const c of acc.chatters) if (a?.chatters.has(c) !== true) extraChatters.add(c)
  }
  let unique = a?.viewers.size ?? 0
  for (const u of s.users.values()) {
    if (a?.viewers.has(u.id) === true) continue
    if (presentIn(u.iv, liveFrom, end)) unique++
  }
  return {
    streamId: s.id,
    windowStart: j * ms,
    windowEnd: end,
    activeViewers: active,
    peakViewers: peak,
    uniqueViewers: unique,
    viewerJoins: joins,
    viewerLeaves: leaves,
    chatMessages: chat,
    uniqueChatters: (a?.chatters.size ?? 0) + extraChatters.size,
    donationsCents: cents,
    donationCount: donations,
    events,
    isFinal: false,
  }
}
