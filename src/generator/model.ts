/**
 * The audience model behind `rtsa generate`: a discrete-event simulation of live
 * streams and their viewers. Pure and deterministic: the same options (seed included)
 * give the same events; time only advances through the events themselves (the caller
 * passes the start time, nothing reads a clock).
 *
 * - Streams have Zipf-like popularity (a few big, a long tail of small ones) and go
 *   live and offline (`stream_start` / `stream_stop`, log-normal durations; at least
 *   one stream stays live so that there is always traffic).
 * - Viewers arrive as one Poisson process split across live streams in proportion to
 *   popularity, which is the same as one Poisson process per stream. A viewer is one of
 *   `user_1..user_N` who is not watching anything else, stays for a log-normal session,
 *   sends heartbeats every 30..60 s, chats (a minority of viewers) and rarely donates,
 *   then leaves; a share of viewers never sends `viewer_leave` (closed tab), so the
 *   processor's idle timeout matters. A `stream_stop` ends every session of the stream.
 * - Rate target: see {@link planModel}. The audience is sized so that the expected event
 *   rate matches `eventsPerSec`; when there are not enough users for that audience, the
 *   audience is capped and each viewer's activity is sped up instead.
 * - The simulation starts warm: streams are live or offline as in steady state, and an
 *   initial audience joins during the first heartbeat interval, so the rate is on
 *   target from the first minute instead of ramping up over a session length.
 */

import { formatTimestampMicros } from '../events/timestamp.ts'
import type { WireEvent } from '../events/types.ts'
import { type Scheduled, TimeHeap } from './heap.ts'
import { DEFAULT_TUNING, type ModelPlan, type ModelTuning, planModel } from './plan.ts'
import { Random } from './random.ts'
import { WeightedPicker, zipfIntegerWeights } from './weights.ts'

export { DEFAULT_TUNING, type ModelPlan, type ModelTuning, planModel } from './plan.ts'

export interface ModelOptions {
  readonly seed: string | number
  readonly streamIds: readonly string[]
  /** Users are `user_1..user_<userCount>`. */
  readonly userCount: number
  /** Target rate of events per second of event time. */
  readonly eventsPerSec: number
  /** Event time of the start of the simulation, epoch milliseconds. */
  readonly startMs: number
  readonly tuning?: Partial<ModelTuning>
}

/** One generated event: its exact time in epoch microseconds and its wire form. */
export interface GeneratedEvent {
  readonly atMicros: number
  readonly event: WireEvent
}

const US = 1_000_000

interface Stream {
  readonly index: number
  readonly id: string
  readonly weight: number
  readonly streamer: string
  live: boolean
  readonly sessions: Set<Session>
}

interface StreamToggle extends Scheduled {
  readonly kind: 'toggle'
  readonly stream: Stream
}

interface Arrival extends Scheduled {
  readonly kind: 'arrival'
}

interface Session extends Scheduled {
  readonly kind: 'session'
  readonly stream: Stream
  readonly user: number
  readonly endAt: number
  readonly silent: boolean
  /** Part of the initial audience of the warm start. */
  readonly warm: boolean
  /** Mean gap between chat messages (µs); Infinity for viewers who never chat. */
  readonly chatGap: number
  nextHeartbeat: number
  nextChat: number
  nextDonation: number
  joined: boolean
  alive: boolean
}

interface Announce extends Scheduled {
  readonly kind: 'announce'
  readonly stream: Stream
}

type Entry = StreamToggle | Arrival | Session | Announce

/**
 * The event model as an iterator: `next()` returns the next event in event-time order,
 * forever (the caller decides when to stop, e.g. by time or count).
 */
export class EventModel {
  readonly plan: ModelPlan
  readonly #t: ModelTuning
  readonly #rng: Random
  readonly #heap = new TimeHeap<Entry>()
  readonly #streams: Stream[]
  readonly #freeUsers: Int32Array
  #freeCount: number
  /** Weights of the live streams (offline streams weigh 0), for picking by popularity. */
  readonly #live: WeightedPicker
  #liveCount = 0
  #audience = 0
  /** Sessions started and not ended, including those whose join is still ahead. */
  #sessions = 0
  #emitted = 0

  constructor(options: ModelOptions) {
    if (options.streamIds.length === 0) throw new RangeError('the model needs at least one stream')
    if (!(options.userCount >= 1) || !(options.eventsPerSec > 0)) {
      throw new RangeError('the model needs userCount >= 1 and eventsPerSec > 0')
    }
    const t = { ...DEFAULT_TUNING, ...options.tuning }
    this.#t = t
    this.plan = planModel(options, t)
    this.#rng = new Random(`${options.seed}/model`)
    const weights = zipfIntegerWeights(options.streamIds.length, t.zipfExponent)
    this.#live = new WeightedPicker(options.streamIds.length)
    this.#streams = options.streamIds.map((id, index) => ({
      index,
      id,
      weight: weights[index]!,
      streamer: `user_${(index % options.userCount) + 1}`,
      live: false,
      sessions: new Set<Session>(),
    }))
    this.#freeUsers = Int32Array.from({ length: options.userCount }, (_, i) => i)
    this.#freeCount = options.userCount
    this.#warmStart(Math.round(options.startMs * 1000))
  }

  /** Concurrent viewers in the model right now (sessions that joined and have not ended). */
  get audience(): number {
    return this.#audience
  }

  get liveStreams(): number {
    return this.#liveCount
  }

  get emitted(): number {
    return this.#emitted
  }

  /** The next event, in event-time order (ties: scheduling order). */
  next(): GeneratedEvent {
    for (;;) {
      const entry = this.#heap.pop()!
      let event: GeneratedEvent | undefined
      if (entry.kind === 'session') event = this.#onSession(entry)
      else if (entry.kind === 'arrival') event = this.#onArrival(entry)
      else if (entry.kind === 'toggle') event = this.#onToggle(entry)
      else event = this.#onAnnounce(entry)
      if (event !== undefined) {
        this.#emitted++
        return event
      }
    }
  }

  #warmStart(at: number): void {
    const t = this.#t
    const pOn = t.liveMedianMin / (t.liveMedianMin + t.offlineMedianMin)
    for (const s of this.#streams) {
      const live = this.#rng.chance(pOn) || s.index === 0
      // Residual time of the current phase: uniform share of a fresh phase.
      const phase = this.#phaseMicros(live) * this.#rng.next()
      this.#setLive(s, live)
      this.#heap.push({ kind: 'toggle', stream: s, at: at + Math.max(1, Math.round(phase)), seq: 0 })
    }
    for (const s of this.#streams) if (s.live) this.#heap.push({ kind: 'announce', stream: s, at, seq: 0 })
    // The steady-state audience joins during the first heartbeat interval; each one's
    // remaining session is a uniform share of a length-biased session (renewal theory).
    const spread = this.plan.heartbeatMeanSec * US
    const biasedMedian = t.sessionMedianSec * Math.exp(t.sessionSigma * t.sessionSigma)
    const initial = Math.round(this.plan.audience)
    for (let i = 0; i < initial; i++) {
      const joinAt = at + 1 + Math.round(this.#rng.uniform(0, spread))
      const residual = this.#rng.logNormal(biasedMedian, t.sessionSigma) * this.#rng.next() * US
      this.#startSession(this.#pickStream(), joinAt, joinAt + Math.round(residual), true)
    }
    this.#heap.push({ kind: 'arrival', at: at + this.#arrivalGap(), seq: 0 })
  }

  #phaseMicros(live: boolean): number {
    const t = this.#t
    return this.#rng.logNormal(live ? t.liveMedianMin : t.offlineMedianMin, t.streamSigma) * 60 * US
  }

  /**
   * The gap to the next arrival. The arrival rate follows Little's law, corrected by how
   * far the audience is from the plan: a stream going offline ends all its sessions at
   * once, and without the correction the total rate would sag for a session length
   * (the audience still rises and falls, it just does not drift away from the plan).
   */
  #arrivalGap(): number {
    // A steep correction (4th power) keeps the steady-state shortfall small (~2%) even
    // though stream stops shorten the average session below the plan's.
    const ratio = this.plan.audience / Math.max(1, this.#sessions)
    const factor = Math.min(4, Math.max(0.25, ratio * ratio * ratio * ratio))
    return Math.max(1, Math.round(this.#rng.exponential(US / (this.plan.arrivalsPerSec * factor))))
  }

  #setLive(s: Stream, live: boolean): void {
    if (s.live === live) return
    s.live = live
    this.#live.set(s.index, live ? s.weight : 0)
    this.#liveCount += live ? 1 : -1
  }

  /** A live stream, chosen in proportion to popularity. */
  #pickStream(): Stream {
    return this.#streams[this.#live.find(Math.floor(this.#rng.next() * this.#live.total))]!
  }

  #startSession(stream: Stream, joinAt: number, endAt: number, warm = false): void {
    if (this.#freeCount === 0) return // every user is watching something: the arrival is lost
    const slot = this.#rng.int(this.#freeCount)
    const user = this.#freeUsers[slot]!
    this.#freeUsers[slot] = this.#freeUsers[--this.#freeCount]!
    const t = this.#t
    const k = this.plan.activity
    const chatter = this.#rng.chance(t.chatterShare)
    const session: Session = {
      kind: 'session',
      stream,
      user,
      endAt: Math.max(joinAt + 1, endAt),
      silent: this.#rng.chance(t.silentLeaveShare),
      warm,
      chatGap:
        chatter && t.chatPerViewerPerMin > 0
          ? (60 * US * t.chatterShare) / (t.chatPerViewerPerMin * k)
          : Infinity,
      nextHeartbeat: 0,
      nextChat: 0,
      nextDonation: 0,
      joined: false,
      alive: true,
      at: joinAt,
      seq: 0,
    }
    stream.sessions.add(session)
    this.#sessions++
    this.#heap.push(session)
  }

  #endSession(s: Session): void {
    s.alive = false
    s.stream.sessions.delete(s)
    this.#freeUsers[this.#freeCount++] = s.user
    this.#sessions--
    if (s.joined) this.#audience--
  }

  #heartbeatGap(): number {
    const t = this.#t
    return Math.round((this.#rng.uniform(t.heartbeatMinSec, t.heartbeatMaxSec) * US) / this.plan.activity)
  }

  #onSession(s: Session): GeneratedEvent | undefined {
    if (!s.alive) return undefined
    const at = s.at
    const userId = `user_${s.user + 1}`
    let out: GeneratedEvent
    if (!s.joined) {
      s.joined = true
      this.#audience++
      // The heartbeat timer starts at a random phase: every heartbeat interval of the
      // session then holds one heartbeat on average, which is what the plan counts
      // (a full first gap would lose half a heartbeat per session, ~4% of the rate).
      // The warm-start audience waits a full gap instead, which offsets the burst of
      // its joins in the first interval.
      const phase = s.warm ? 1 : this.#rng.nextOpen()
      s.nextHeartbeat = at + Math.max(1, Math.round(this.#heartbeatGap() * phase))
      s.nextChat = at + Math.max(1, Math.round(this.#rng.exponential(s.chatGap)))
      s.nextDonation = at + this.#donationGap()
      out = this.#event(at, s.stream, userId, 'viewer_join')
    } else if (at === s.endAt) {
      this.#endSession(s)
      return s.silent ? undefined : this.#event(at, s.stream, userId, 'viewer_leave')
    } else if (at === s.nextHeartbeat) {
      s.nextHeartbeat = at + this.#heartbeatGap()
      out = this.#event(at, s.stream, userId, 'heartbeat')
    } else if (at === s.nextChat) {
      s.nextChat = at + Math.max(1, Math.round(this.#rng.exponential(s.chatGap)))
      out = this.#chat(at, s.stream, userId)
    } else {
      s.nextDonation = at + this.#donationGap()
      out = this.#donation(at, s.stream, userId)
    }
    s.at = Math.min(s.endAt, s.nextHeartbeat, s.nextChat, s.nextDonation)
    this.#heap.push(s)
    return out
  }

  #donationGap(): number {
    const perHour = this.#t.donationsPerViewerPerHour * this.plan.activity
    if (!(perHour > 0)) return Infinity
    return Math.max(1, Math.round(this.#rng.exponential((3600 * US) / perHour)))
  }

  #onArrival(a: Arrival): GeneratedEvent | undefined {
    const t = this.#t
    const length = this.#rng.logNormal(t.sessionMedianSec, t.sessionSigma) * US
    this.#startSession(this.#pickStream(), a.at, a.at + Math.round(length))
    a.at += this.#arrivalGap()
    this.#heap.push(a)
    return undefined // the session's join is emitted when the heap reaches it (same instant)
  }

  #onToggle(e: StreamToggle): GeneratedEvent | undefined {
    const s = e.stream
    const at = e.at
    if (s.live && this.#liveCount === 1) {
      // Keep one stream live: postpone this stop by another live phase.
      e.at = at + Math.max(1, Math.round(this.#phaseMicros(true)))
      this.#heap.push(e)
      return undefined
    }
    const live = !s.live
    if (!live) for (const session of [...s.sessions]) this.#endSession(session)
    this.#setLive(s, live)
    e.at = at + Math.max(1, Math.round(this.#phaseMicros(live)))
    this.#heap.push(e)
    return this.#event(at, s, s.streamer, live ? 'stream_start' : 'stream_stop')
  }

  #onAnnounce(e: Announce): GeneratedEvent | undefined {
    // A stream that was live before the simulation started says so at the start.
    return e.stream.live ? this.#event(e.at, e.stream, e.stream.streamer, 'stream_start') : undefined
  }

  #event(at: number, s: Stream, userId: string, eventType: WireEvent['event_type']): GeneratedEvent {
    const event: WireEvent = {
      event_id: this.#rng.uuid(),
      ts: formatTimestampMicros(at),
      event_type: eventType,
      stream_id: s.id,
      user_id: userId,
    }
    return { atMicros: at, event }
  }

  #chat(at: number, s: Stream, userId: string): GeneratedEvent {
    const event: WireEvent = {
      event_id: this.#rng.uuid(),
      ts: formatTimestampMicros(at),
      event_type: 'chat_message',
      stream_id: s.id,
      user_id: userId,
      message_len: this.#messageLen(),
    }
    return { atMicros: at, event }
  }

  #donation(at: number, s: Stream, userId: string): GeneratedEvent {
    const event: WireEvent = {
      event_id: this.#rng.uuid(),
      ts: formatTimestampMicros(at),
      event_type: 'donation',
      stream_id: s.id,
      user_id: userId,
      amount_usd: this.#amount(),
    }
    return { atMicros: at, event }
  }

  #messageLen(): number {
    return Math.min(200, Math.max(1, Math.round(this.#rng.logNormal(30, 0.8))))
  }

  #amount(): number {
    // Most donations are round amounts, some are arbitrary; 1..200 USD, whole cents.
    if (this.#rng.chance(0.7)) return [1, 2, 5, 5, 10, 10, 20, 25, 50, 100, 200][this.#rng.int(11)]!
    return Math.round(this.#rng.uniform(1, 200) * 100) / 100
  }
}
