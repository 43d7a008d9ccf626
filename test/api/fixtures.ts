/**
 * Test fixtures for the API: a fresh database with rtsa's schema, rows with known
 * values, an app on it, and a validator that checks a response against the route's
 * schema in the OpenAPI document (so the document and the behaviour cannot drift).
 */
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import type { TestContext } from 'node:test'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import type pg from 'pg'
import { buildApp } from '../../src/api/app.ts'
import type { Api, AppConfig } from '../../src/api/context.ts'
import type { LiveOptions } from '../../src/api/live/hub.ts'
import {
  type CommitHandlers,
  type CommitSource,
  LISTENER_APPLICATION_NAME,
  PgCommitListener,
} from '../../src/api/live/listener.ts'
import { migrate } from '../../src/store/migrations.ts'
import { createPool } from '../../src/store/pool.ts'
import { defer, freshDatabase } from '../helpers/services.ts'

export const MINUTE = 60_000

/** The start of the minute `minutesAgo` minutes before now. */
export function minuteStart(minutesAgo: number, now = Date.now()): Date {
  return minuteStartOf(minutesAgo, now)
}

function minuteStartOf(minutesAgo: number, now: number): Date {
  return new Date(Math.floor(now / MINUTE) * MINUTE - minutesAgo * MINUTE)
}

/** A fresh database with the schema, and a pool on it (closed at the end of the test). */
export async function setupDatabase(t: TestContext): Promise<{ url: string; pool: pg.Pool }> {
  const url = await freshDatabase(t)
  const pool = createPool(url, { max: 5 }) // idle clients terminated in outage tests are ignored
  defer(t, () => pool.end())
  await migrate(pool) // the processor's own schema, so the API reads exactly what it writes
  return { url, pool }
}

export interface WindowFixture {
  stream: string
  start: Date
  activeViewers?: number
  peakViewers?: number
  uniqueViewers?: number
  joins?: number
  leaves?: number
  chat?: number
  chatters?: number
  cents?: number
  donations?: number
  events?: number
  final?: boolean
  partition?: number
}

/** Inserts (or replaces) one window row; donations_usd is written as cents/100 like the processor. */
export async function putWindow(pool: pg.Pool, w: WindowFixture): Promise<void> {
  const cents = w.cents ?? 0
  await pool.query(
    `insert into stream_metrics_minute (window_start, window_end, stream_id, active_viewers, peak_viewers,
       unique_viewers, viewer_joins, viewer_leaves, chat_messages, unique_chatters, donations_usd,
       donations_cents, donation_count, events, is_final, partition, updated_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, clock_timestamp())
     on conflict (window_start, stream_id) do update set active_viewers = excluded.active_viewers,
       peak_viewers = excluded.peak_viewers, unique_viewers = excluded.unique_viewers,
       viewer_joins = excluded.viewer_joins, viewer_leaves = excluded.viewer_leaves,
       chat_messages = excluded.chat_messages, unique_chatters = excluded.unique_chatters,
       donations_usd = excluded.donations_usd, donations_cents = excluded.donations_cents,
       donation_count = excluded.donation_count, events = excluded.events, is_final = excluded.is_final,
       updated_at = excluded.updated_at`,
    [
      w.start,
      new Date(w.start.getTime() + MINUTE),
      w.stream,
      w.activeViewers ?? 0,
      w.peakViewers ?? w.activeViewers ?? 0,
      w.uniqueViewers ?? w.activeViewers ?? 0,
      w.joins ?? 0,
      w.leaves ?? 0,
      w.chat ?? 0,
      w.chatters ?? 0,
      cents / 100,
      cents,
      w.donations ?? (cents > 0 ? 1 : 0),
      w.events ?? 1,
      w.final ?? false,
      w.partition ?? 0,
    ],
  )
}

export interface StateFixture {
  stream: string
  activeViewers: number
  live?: boolean | null
  lastEvent?: Date
  accepted?: number
  late?: number
  duplicate?: number
  rejected?: number
  partition?: number
  watermark?: Date | null
}

/** Inserts (or replaces) one stream_state row. */
export async function putState(pool: pg.Pool, s: StateFixture): Promise<void> {
  await pool.query(
    `insert into stream_state (stream_id, active_viewers, live, last_event_ts, accepted_count, late_count,
       duplicate_count, rejected_count, partition, watermark, updated_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, clock_timestamp())
     on conflict (stream_id) do update set active_viewers = excluded.active_viewers, live = excluded.live,
       last_event_ts = excluded.last_event_ts, accepted_count = excluded.accepted_count,
       late_count = excluded.late_count, duplicate_count = excluded.duplicate_count,
       rejected_count = excluded.rejected_count, watermark = excluded.watermark,
       updated_at = excluded.updated_at`,
    [
      s.stream,
      s.activeViewers,
      s.live === undefined ? true : s.live,
      s.lastEvent ?? new Date(),
      s.accepted ?? 0,
      s.late ?? 0,
      s.duplicate ?? 0,
      s.rejected ?? 0,
      s.partition ?? 0,
      s.watermark ?? null,
    ],
  )
}

/** Inserts (or replaces) one partition checkpoint, committed `ageMs` ago. */
export async function putCheckpoint(
  pool: pg.Pool,
  c: {
    topic?: string
    partition: number
    next: number
    end: number | null
    watermark?: Date | null
    ageMs?: number
  },
): Promise<void> {
  await pool.query(
    `insert into partition_checkpoints (topic, partition, next_offset, epoch, owner, watermark, end_offset, updated_at)
     values ($1, $2, $3, 1, 'proc-1', $4, $5, now() - make_interval(secs => $6::double precision))
     on conflict (topic, partition) do update set next_offset = excluded.next_offset,
       end_offset = excluded.end_offset, watermark = excluded.watermark, updated_at = excluded.updated_at`,
    [c.topic ?? 'stream.events', c.partition, c.next, c.watermark ?? null, c.end, (c.ageMs ?? 0) / 1000],
  )
}

/** Inserts one dead letter. */
export async function putDeadLetter(
  pool: pg.Pool,
  d: { offset: number; value: Buffer; key?: Buffer | null; reason?: string; stream?: string | null },
): Promise<void> {
  await pool.query(
    `insert into dead_letters (topic, partition, "offset", key, value, reason, detail, stream_id, event_ts)
     values ('stream.events', 0, $1, $2, $3, $4, 'detail of the rejection', $5, null)`,
    [d.offset, d.key ?? null, d.value, d.reason ?? 'not_json', d.stream ?? null],
  )
}

/** A commit source that never fires (for tests that do not use /live). */
export const silentSource: CommitSource = { start: () => {}, close: async () => {} }

/**
 * The production LISTEN client on `pool`'s database, with hooks for tests: `notify()`
 * sends the `NOTIFY rtsa_commits` the processor sends after a commit and resolves once
 * the API has received it (so the next request sees its effect); `connected()` and
 * `lost()` resolve when the connection is up or gone.
 */
export function trackedListener(pool: pg.Pool) {
  const inner = new PgCommitListener(pool.options)
  let notices = 0
  let connected = false
  let lostCount = 0
  const waiters: Array<() => void> = []
  const wake = () => {
    for (const w of waiters.splice(0)) w()
  }
  const until = async (ok: () => boolean, what: string, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs
    while (!ok()) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`listener: no ${what} within ${timeoutMs} ms`)
      await new Promise<void>((r) => {
        waiters.push(r)
        setTimeout(r, Math.min(left, 100))
      })
    }
  }
  const source: CommitSource = {
    start(handlers: CommitHandlers) {
      inner.start({
        onNotice: (n) => {
          handlers.onNotice(n)
          notices += 1
          wake()
        },
        onResync: () => {
          handlers.onResync()
          connected = true
          wake()
        },
        onLost: () => {
          handlers.onLost?.()
          connected = false
          lostCount += 1
          wake()
        },
      })
    },
    close: () => inner.close(),
  }
  return {
    source,
    connected: () => until(() => connected, 'connection'),
    lost: (before = 0) => until(() => lostCount > before, 'loss'),
    async notify(payload: object = {}): Promise<void> {
      await until(() => connected, 'connection')
      const seen = notices
      await pool.query(`select pg_notify('rtsa_commits', $1)`, [JSON.stringify(payload)])
      await until(() => notices > seen, 'notification')
    },
  }
}

/** Builds the app on `pool` (closed at the end of the test). */
export async function makeApp(
  t: TestContext,
  pool: pg.Pool,
  options: { config?: AppConfig; listen?: CommitSource; live?: LiveOptions; clock?: () => number } = {},
): Promise<Api> {
  const app = await buildApp({
    pool,
    config: options.config ?? {},
    listen: options.listen ?? silentSource,
    ...(options.live ? { live: options.live } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  })
  defer(t, () => app.close())
  await app.ready()
  return app
}

type OpenApiDoc = {
  openapi: string
  components?: unknown
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>
  >
}

const validators = new WeakMap<Api, Map<string, (data: unknown) => boolean>>()
const ajv = new Ajv2020({ strict: false, allErrors: true })
addFormats.default(ajv)

/** `/metrics/history` -> `/metrics/history`; `/vendor/uplot/x` -> `/vendor/uplot/{file}` is not needed. */
function openApiPath(url: string): string {
  return url.split('?')[0]!
}

/**
 * Asserts that a JSON response matches the schema the OpenAPI document gives for its
 * route and status: what tests see is what the document promises.
 */
export function assertMatchesOpenApi(
  app: Api,
  method: string,
  url: string,
  response: { statusCode: number; json: () => unknown },
): void {
  let cache = validators.get(app)
  if (!cache) {
    cache = new Map()
    validators.set(app, cache)
  }
  const key = `${method} ${openApiPath(url)} ${response.statusCode}`
  let validate = cache.get(key)
  if (!validate) {
    const doc = app.swagger() as unknown as OpenApiDoc
    const operation = doc.paths[openApiPath(url)]?.[method.toLowerCase()]
    assert.ok(operation, `OpenAPI has no operation ${method} ${openApiPath(url)}`)
    const schema = operation.responses[String(response.statusCode)]?.content?.['application/json']?.schema
    assert.ok(schema, `OpenAPI has no JSON schema for ${key}`)
    // `#/components/...` references resolve against the root: give the schema the document's components.
    validate = ajv.compile({ ...(schema as object), components: doc.components })
    cache.set(key, validate)
  }
  const body = response.json()
  const ok = validate(body)
  assert.ok(
    ok,
    `${key}: response does not match its schema: ${ajv.errorsText((validate as { errors?: never }).errors)}`,
  )
}

/** Builds the app on `deps`, listens on a free port of 127.0.0.1, closes it after the test; returns it and its base URL. */
export async function serveApp(
  t: TestContext,
  deps: Parameters<typeof buildApp>[0],
): Promise<{ app: Api; base: string }> {
  const app = await buildApp(deps)
  defer(t, () => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` }
}

/**
 * A clock for an app that must keep running (a browser, /live): real time, set back to 1 s
 * past the start of the current minute, so "the current minute" stays the same for 59 s
 * without waiting for a minute's edge.
 */
export function clearOfMinuteEdge(): () => number {
  const shift = (Date.now() % MINUTE) - 1000
  return () => Date.now() - shift
}

/** Resolves once the app's LISTEN connection is listening (it connects in the background). */
export async function listenerReady(pool: pg.Pool, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const { rowCount } = await pool.query(
      `select 1 from pg_stat_activity where application_name = $1 and query ilike 'LISTEN %' and state = 'idle'`,
      [LISTENER_APPLICATION_NAME],
    )
    if ((rowCount ?? 0) > 0) return
    if (Date.now() > deadline) throw new Error('the API never started listening for commits')
    await new Promise((r) => setTimeout(r, 20))
  }
}

/**
 * Known rows, relative to the current minute m0:
 * - stream_a: windows m0-5 .. m0-1 (viewers 10,12,14,16,18; final up to m0-3) and the
 *   open window m0 (viewers 20); 12.30 USD at m0-2 and 0.30 at m0-1; 5 chat messages each.
 * - stream_b: final windows m0-3 .. m0-1 (viewers 50,40,30), 1.99 USD at m0-1, and one at m0-120.
 * - stream_c: one final window at m0-30 (viewers 7).
 * State for a and b, one checkpoint per partition (lag 40), two dead letters.
 */
export async function seedKnownRows(pool: pg.Pool, now: number): Promise<void> {
  const minuteStart = (ago: number) => minuteStartOf(ago, now)
  const viewersA = [10, 12, 14, 16, 18]
  for (let i = 0; i < 5; i++) {
    const ago = 5 - i
    await putWindow(pool, {
      stream: 'stream_a',
      start: minuteStart(ago),
      activeViewers: viewersA[i]!,
      peakViewers: viewersA[i]! + 3,
      chat: 5,
      chatters: 3,
      cents: ago === 2 ? 1230 : ago === 1 ? 30 : 0,
      events: 20,
      final: ago >= 3,
      partition: 0,
    })
  }
  await putWindow(pool, { stream: 'stream_a', start: minuteStart(0), activeViewers: 20, chat: 2, events: 4 })
  const viewersB = [50, 40, 30]
  for (let i = 0; i < 3; i++) {
    await putWindow(pool, {
      stream: 'stream_b',
      start: minuteStart(3 - i),
      activeViewers: viewersB[i]!,
      peakViewers: 55,
      chat: 1,
      cents: i === 2 ? 199 : 0,
      events: 9,
      final: true,
      partition: 1,
    })
  }
  await putWindow(pool, {
    stream: 'stream_b',
    start: minuteStart(120),
    activeViewers: 99,
    final: true,
    partition: 1,
  })
  await putWindow(pool, {
    stream: 'stream_c',
    start: minuteStart(30),
    activeViewers: 7,
    final: true,
    partition: 2,
  })
  await putState(pool, {
    stream: 'stream_a',
    activeViewers: 20,
    live: true,
    accepted: 104,
    late: 2,
    duplicate: 3,
    rejected: 1,
    partition: 0,
    watermark: minuteStart(2),
  })
  await putState(pool, { stream: 'stream_b', activeViewers: 30, live: false, accepted: 27, partition: 1 })
  await putCheckpoint(pool, { partition: 0, next: 100, end: 130, watermark: minuteStart(2), ageMs: 1000 })
  await putCheckpoint(pool, { partition: 1, next: 50, end: 60, watermark: minuteStart(1), ageMs: 3000 })
  await putDeadLetter(pool, { offset: 7, value: Buffer.from('{"not json'), reason: 'not_json' })
  await putDeadLetter(pool, {
    offset: 8,
    value: Buffer.from([0xff, 0xfe, 0x00, 0x01]),
    key: Buffer.from('stream_a'),
    reason: 'bad_field',
    stream: 'stream_a',
  })
}

/** A clock that stands still until the test moves it (`advance`): "now" for the app's routes and cache. */
export function testClock(start = Date.now()): { now: () => number; advance: (ms: number) => void } {
  let at = start
  return {
    now: () => at,
    advance: (ms) => {
      at += ms
    },
  }
}
