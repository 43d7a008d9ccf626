/**
 * A deliberately simple reference implementation of the spec
 * (docs/semantics.md) for a whole partition input: decide every record
 * in offset order, then sort each stream's accepted records and replay them; compute
 * every window's row by brute force over the presence intervals. No cleverness, no
 * incremental state: it is what the engine is checked against.
 */
import {
  DEFAULT_MAX_CLOCK_SKEW_MS,
  type Decoder,
  type EngineConfig,
  type InputRecord,
  type WindowRow,
} from '../../src/engine/types.ts'
import type { StreamEvent } from '../../src/events/types.ts'
import type { StateTotals } from './helpers.ts'

export interface OracleResult {
  /** Per record, in offset order: 'accepted', 'late', 'duplicate' or the decoder's reason. */
  readonly verdicts: string[]
  /** Every window row that exists given all records (isFinal: watermark at the end >= window end). */
  readonly rows: WindowRow[]
  readonly states: StateTotals[]
  readonly watermark: number | null
}

interface Interval {
  from: number
  until: number
}

export function oracle(
  config: EngineConfig,
  partition: number,
  input: readonly InputRecord[],
  decode: Decoder,
): OracleResult {
  const W = config.windowMs
  const T = config.viewerTimeoutMs
  const verdicts: string[] = []
  const accepted: StreamEvent[] = []
  const counts = new Map<string, { late: number; dup: number; rej: number; acc: number; wm: number | null }>()
  const cnt = (s: string) => {
    const c = counts.get(s) ?? { late: 0, dup: 0, rej: 0, acc: 0, wm: null }
    counts.set(s, c)
    return c
  }
  const wmNow = () =>
    accepted.length === 0 ? null : Math.max(...accepted.map((e) => e.ts)) - config.watermarkMs

  const skew = config.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS
  const keyIs = (key: Buffer | null, sid: string) => key?.equals(Buffer.from(sid, 'utf8')) === true
  // A record that is not applied counts on its stream from the stream's first accepted record on.
  const counted = (sid: string) => (counts.get(sid)?.acc ?? 0) > 0
  // Section 1, then 2 and 3: per record, in offset order.
  for (const rec of input) {
    const d = decode(rec.value, rec.key)
    if (!d.ok) {
      verdicts.push(d.reason)
      if (d.streamId !== undefined && keyIs(rec.key, d.streamId) && counted(d.streamId)) {
        cnt(d.streamId).rej++
        cnt(d.streamId).wm = wmNow()
      }
      continue
    }
    const e = d.event
    if (!keyIs(rec.key, e.streamId)) {
      verdicts.push('key_mismatch')
      continue
    }
    if (rec.timestamp >= 0 && e.ts > rec.timestamp + skew) {
      verdicts.push('future_ts')
      if (counted(e.streamId)) {
        cnt(e.streamId).rej++
        cnt(e.streamId).wm = wmNow()
      }
      continue
    }
    const wm = wmNow() ?? Number.NEGATIVE_INFINITY
    if (e.ts < wm) {
      verdicts.push('late')
      if (counted(e.streamId)) cnt(e.streamId).late++
    } else if (accepted.some((a) => a.eventId === e.eventId && a.ts >= wm)) {
      verdicts.push('duplicate')
      if (counted(e.streamId)) cnt(e.streamId).dup++
    } else {
      verdicts.push('accepted')
      accepted.push(e)
      cnt(e.streamId).acc++
    }
    if (counted(e.streamId)) cnt(e.streamId).wm = wmNow()
  }
  const watermark = wmNow()
  const finalWm = watermark ?? Number.NEGATIVE_INFINITY

  const rows: WindowRow[] = []
  const states: StateTotals[] = []
  const streamIds = [...new Set(accepted.map((e) => e.streamId))].sort()
  for (const sid of streamIds) {
    // Section 4: apply in event-time order, ties by event id.
    const evs = accepted
      .filter((e) => e.streamId === sid)
      .sort((a, b) => a.ts - b.ts || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0))
    const intervals = new Map<string, Interval[]>()
    const present = new Map<string, { from: number; last: number }>()
    const end = (u: string, t: number) => {
      const p = present.get(u)!
      const list = intervals.get(u) ?? []
      intervals.set(u, list)
      list.push({ from: p.from, until: t })
      present.delete(u)
    }
    const timeoutsUpTo = (t: number) => {
      // Timeouts in time order (their order among themselves does not matter).
      for (const [u, p] of [...present]) if (p.last + T <= t) end(u, p.last + T)
    }
    for (const e of evs) {
      timeoutsUpTo(e.ts)
      const p = present.get(e.userId)
      switch (e.eventType) {
        case 'viewer_join':
          if (p === undefined) present.set(e.userId, { from: e.ts, last: e.ts })
          else p.last = e.ts
          break
        case 'viewer_leave':
          if (p !== undefined) end(e.userId, e.ts)
          break
        case 'heartbeat':
        case 'chat_message':
        case 'donation':
          if (p !== undefined) p.last = e.ts
          break
        case 'stream_stop':
          for (const u of [...present.keys()]) end(u, e.ts)
          break
        case 'stream_start':
          break
      }
    }
    // Nobody refreshes the users still present: they time out.
    for (const [u, p] of [...present]) end(u, p.last + T)

    const all = [...intervals.entries()]
    const presentAt = (t: number) => all.filter(([, l]) => l.some((i) => i.from <= t && t < i.until)).length
    // Section 5: every window from the first record on that has a record or a present user.
    let lo = Math.floor(evs[0]!.ts / W)
    let hi = Math.floor(evs[evs.length - 1]!.ts / W)
    for (const [, l] of all) for (const i of l) hi = Math.max(hi, Math.floor(i.until / W))
    lo = Math.min(lo, ...all.flatMap(([, l]) => l.map((i) => Math.floor(i.from / W))))
    for (let idx = lo; idx <= hi; idx++) {
      const s = idx * W
      const e = s + W
      const inW = evs.filter((x) => x.ts >= s && x.ts < e)
      const unique = all.filter(([, l]) =>
        l.some((i) => i.from < i.until && i.from < e && i.until > s),
      ).length
      if (inW.length === 0 && unique === 0) continue
      const active = all.filter(([, l]) => l.some((i) => i.from < e && e <= i.until)).length
      const instants = new Set<number>([s])
      for (const [, l] of all)
        for (const i of l) for (const t of [i.from, i.until]) if (t > s && t < e) instants.add(t)
      let peak = 0
      for (const t of instants) peak = Math.max(peak, presentAt(t))
      const chats = inW.filter((x) => x.eventType === 'chat_message')
      const dons = inW.filter((x) => x.eventType === 'donation')
      rows.push({
        streamId: sid,
        windowStart: s,
        windowEnd: e,
        activeViewers: active,
        peakViewers: peak,
        uniqueViewers: unique,
        viewerJoins: inW.filter((x) => x.eventType === 'viewer_join').length,
        viewerLeaves: inW.filter((x) => x.eventType === 'viewer_leave').length,
        chatMessages: chats.length,
        uniqueChatters: new Set(chats.map((x) => x.userId)).size,
        donationsCents: dons.reduce((sum, x) => sum + (x.amountCents ?? 0), 0),
        donationCount: dons.length,
        events: inW.length,
        isFinal: finalWm >= e,
      })
    }
    // Section 6: present users at the newest record.
    const lastTs = Math.max(...evs.map((x) => x.ts))
    const latest = evs.filter((x) => x.eventType === 'stream_start' || x.eventType === 'stream_stop').at(-1)
    const c = cnt(sid)
    states.push({
      streamId: sid,
      partition,
      activeViewers: presentAt(lastTs),
      live: latest === undefined ? null : latest.eventType === 'stream_start',
      lastEventTs: lastTs,
      acceptedCount: c.acc,
      lateCount: c.late,
      duplicateCount: c.dup,
      rejectedCount: c.rej,
      watermark: c.wm,
    })
  }
  return { verdicts, rows, states, watermark }
}
