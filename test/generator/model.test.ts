import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decodeEvent, encodeEventString } from '../../src/events/decode.ts'
import type { StreamEvent } from '../../src/events/types.ts'
import { DEFAULT_TUNING, EventModel, type ModelOptions, planModel } from '../../src/generator/model.ts'

const START = Date.UTC(2025, 0, 1)
const HOUR = 3_600_000

/** Runs the model for `ms` of event time and returns the decoded events (all must decode). */
function simulate(options: ModelOptions, ms: number): StreamEvent[] {
  const model = new EventModel(options)
  const out: StreamEvent[] = []
  for (;;) {
    const g = model.next()
    if (g.atMicros >= (options.startMs + ms) * 1000) return out
    const r = decodeEvent(Buffer.from(encodeEventString(g.event)))
    assert.ok(r.ok, JSON.stringify(r))
    assert.equal(r.event.ts, Math.floor(g.atMicros / 1000))
    out.push(r.event)
  }
}

const streamIds = (n: number) => Array.from({ length: n }, (_, i) => `stream_${1001 + i}`)

/**
 * A small reference of presence (docs/semantics.md section 3, without out-of-order
 * handling since the model emits in order): join/leave/stop and the idle timeout.
 * Returns the number of present users sampled at every minute.
 */
function presenceByMinute(events: StreamEvent[], timeoutMs = 300_000): number[] {
  const last = new Map<string, number>() // `${stream}\u0000${user}` -> last activity
  const samples: number[] = []
  let nextSample = START + 60_000
  const expire = (t: number) => {
    for (const [k, a] of last) if (a + timeoutMs <= t) last.delete(k)
  }
  for (const e of events) {
    while (e.ts >= nextSample) {
      expire(nextSample)
      samples.push(last.size)
      nextSample += 60_000
    }
    const k = `${e.streamId}\u0000${e.userId}`
    if (e.eventType === 'viewer_join') last.set(k, e.ts)
    else if (e.eventType === 'viewer_leave') last.delete(k)
    else if (e.eventType === 'stream_stop') {
      for (const key of [...last.keys()]) if (key.startsWith(`${e.streamId}\u0000`)) last.delete(key)
    } else if (e.eventType !== 'stream_start' && last.has(k)) {
      expire(e.ts)
      if (last.has(k)) last.set(k, e.ts)
    }
  }
  return samples
}

describe('EventModel', () => {
  const base: ModelOptions = {
    seed: 'test',
    streamIds: streamIds(3),
    userCount: 500,
    eventsPerSec: 20,
    startMs: START,
  }

  it('is deterministic: the same seed gives byte-identical events, another seed does not', () => {
    const run = (seed: string) => {
      const m = new EventModel({ ...base, seed })
      return Array.from({ length: 5000 }, () => encodeEventString(m.next().event)).join('\n')
    }
    assert.equal(run('a'), run('a'))
    assert.notEqual(run('a'), run('b'))
  })

  it('emits in event-time order, with unique event ids', () => {
    const m = new EventModel(base)
    let prev = -Infinity
    const ids = new Set<string>()
    for (let i = 0; i < 20_000; i++) {
      const g = m.next()
      assert.ok(g.atMicros >= prev)
      prev = g.atMicros
      assert.ok(!ids.has(g.event.event_id))
      ids.add(g.event.event_id)
      assert.match(g.event.event_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    }
  })

  it('over a simulated hour: rate near target, audience bounded and moving, realistic sessions', () => {
    const plan = planModel(base, DEFAULT_TUNING)
    const events = simulate(base, HOUR)
    const rate = events.length / 3600
    assert.ok(rate > 20 * 0.85 && rate < 20 * 1.15, `rate ${rate}`)

    const users = new Set(events.map((e) => e.userId))
    for (const u of users) {
      const n = Number(u.slice(5))
      assert.ok(u.startsWith('user_') && n >= 1 && n <= 500, u)
    }
    assert.ok(events.every((e) => base.streamIds.includes(e.streamId)))

    const audience = presenceByMinute(events)
    assert.equal(audience.length, 59) // minutes 1..59
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    const warm = audience.slice(2)
    const min = Math.min(...warm)
    const max = Math.max(...audience)
    const avg = mean(warm)
    // The biggest of 3 streams going offline may halve the audience for a while (its
    // viewers all leave); the arrival correction brings it back, so the mean stays near
    // the plan and the extremes stay within bounds.
    assert.ok(
      avg >= plan.audience * 0.75 && avg <= plan.audience * 1.2,
      `mean audience ${avg} (plan ${plan.audience})`,
    )
    assert.ok(min >= plan.audience * 0.3, `audience fell to ${min} (plan ${plan.audience})`)
    assert.ok(max <= 500, `audience ${max} exceeds the users`)
    assert.ok(max <= plan.audience * 1.6, `audience rose to ${max} (plan ${plan.audience})`)
    assert.ok(max - min >= 5, 'the audience should rise and fall')

    const byType = (t: string) => events.filter((e) => e.eventType === t).length
    assert.ok(byType('heartbeat') > byType('chat_message'))
    assert.ok(byType('chat_message') > byType('donation'))
    assert.ok(byType('donation') > 0)
    assert.ok(byType('viewer_leave') > 0 && byType('viewer_leave') < byType('viewer_join'))
    assert.ok(
      events
        .filter((e) => e.eventType === 'chat_message')
        .every((e) => e.messageLen! >= 1 && e.messageLen! <= 200),
    )
    assert.ok(
      events
        .filter((e) => e.eventType === 'donation')
        .every((e) => e.amountCents! >= 100 && e.amountCents! <= 20_000),
    )
  })

  it('sends heartbeats at the planned interval and lets some viewers vanish without a leave', () => {
    const options = { ...base, streamIds: streamIds(1), userCount: 5000, eventsPerSec: 30 }
    const plan = planModel(options, DEFAULT_TUNING)
    assert.equal(plan.activity, 1)
    const events = simulate(options, HOUR)
    const lastBeat = new Map<string, number>()
    const sinceJoin = new Set<string>()
    const ended = new Map<string, 'leave' | 'open'>()
    let gaps = 0
    for (const e of events) {
      const k = e.userId
      if (e.eventType === 'viewer_join') {
        lastBeat.set(k, e.ts)
        sinceJoin.add(k)
        ended.set(k, 'open')
      } else if (e.eventType === 'heartbeat') {
        const prev = lastBeat.get(k)
        assert.ok(prev !== undefined, 'heartbeat without join')
        const gap = e.ts - prev
        // Heartbeat to heartbeat: 30..60 s. The first one comes at a random phase of that.
        if (sinceJoin.has(k)) assert.ok(gap >= 0 && gap <= 60_001, `first heartbeat ${gap} ms after join`)
        else assert.ok(gap >= 29_999 && gap <= 60_001, `heartbeat gap ${gap} ms`)
        sinceJoin.delete(k)
        lastBeat.set(k, e.ts)
        gaps++
      } else if (e.eventType === 'viewer_leave') {
        ended.set(k, 'leave')
        lastBeat.delete(k)
      }
    }
    assert.ok(gaps > 1000)
    // Viewers whose last heartbeat is long before the end and who never left: silent.
    const end = START + HOUR
    let silent = 0
    for (const [user, state] of ended) {
      if (state === 'open' && (lastBeat.get(user) ?? end) < end - 120_000) silent++
    }
    const leaves = events.filter((e) => e.eventType === 'viewer_leave').length
    const share = silent / (silent + leaves)
    assert.ok(share > 0.05 && share < 0.3, `silent share ${share} (${silent} silent, ${leaves} leaves)`)
  })

  it('takes streams live and offline; a stopped stream has no viewer events until it starts again', () => {
    const options = { ...base, streamIds: streamIds(40), userCount: 20_000, eventsPerSec: 50 }
    const events = simulate(options, 1.5 * HOUR)
    const starts = events.filter((e) => e.eventType === 'stream_start')
    const stops = events.filter((e) => e.eventType === 'stream_stop')
    assert.ok(stops.length >= 5, `${stops.length} stops`)
    assert.ok(starts.length > 40, `${starts.length} starts`) // 40 would be only the initially-live ones
    const live = new Map<string, boolean>()
    for (const e of events) {
      if (e.eventType === 'stream_start') live.set(e.streamId, true)
      else if (e.eventType === 'stream_stop') live.set(e.streamId, false)
      else assert.equal(live.get(e.streamId), true, `${e.eventType} on offline ${e.streamId}`)
    }
  })

  it('gives streams Zipf-like popularity: a few big, many small', () => {
    const options = { ...base, streamIds: streamIds(20), userCount: 50_000, eventsPerSec: 300 }
    const events = simulate(options, HOUR / 2)
    const joins = new Map<string, number>()
    for (const e of events)
      if (e.eventType === 'viewer_join') joins.set(e.streamId, (joins.get(e.streamId) ?? 0) + 1)
    const sorted = [...joins.values()].sort((a, b) => b - a)
    const total = sorted.reduce((a, b) => a + b, 0)
    assert.ok(sorted[0]! > 5 * sorted.at(-1)!, `biggest ${sorted[0]} vs smallest ${sorted.at(-1)}`)
    assert.ok(sorted.slice(0, 4).reduce((a, b) => a + b, 0) > total * 0.4, 'top 4 streams hold a large share')
  })

  it('hits other target rates too, including when users are scarce', () => {
    for (const [rate, users] of [
      [500, 100_000],
      [200, 100],
    ] as const) {
      const options = { ...base, streamIds: streamIds(10), userCount: users, eventsPerSec: rate }
      const events = simulate(options, HOUR / 4)
      const got = events.length / 900
      assert.ok(got > rate * 0.85 && got < rate * 1.15, `rate ${got} for target ${rate}`)
    }
  })
})

describe('planModel', () => {
  it('sizes the audience by the rate, capped by the users, with activity making up the rest', () => {
    const roomy = planModel({ eventsPerSec: 20, userCount: 100_000 }, DEFAULT_TUNING)
    assert.equal(roomy.activity, 1)
    assert.ok(Math.abs(roomy.expectedEventsPerSec - 20) < 1e-9)
    const scarce = planModel({ eventsPerSec: 20, userCount: 500 }, DEFAULT_TUNING)
    assert.equal(scarce.audience, 350)
    assert.ok(scarce.activity > 1)
    assert.ok(Math.abs(scarce.expectedEventsPerSec - 20) < 1e-9)
    assert.ok(scarce.heartbeatMeanSec < roomy.heartbeatMeanSec)
  })
})
