import assert from 'node:assert/strict'
import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import pg from 'pg'
import { buildApp } from '../../src/api/app.ts'
import { LISTENER_APPLICATION_NAME } from '../../src/api/live/listener.ts'
import { defer } from '../helpers/services.ts'
import {
  clearOfMinuteEdge,
  listenerReady,
  minuteStart,
  putState,
  putWindow,
  seedKnownRows,
  serveApp,
  setupDatabase,
  silentSource,
} from './fixtures.ts'

interface SseEvent {
  id?: string
  event: string
  data: string
}

/** Opens an SSE connection and hands out parsed events (and comment lines) as they arrive. */
async function openSse(url: string, headers: Record<string, string> = {}) {
  const events: SseEvent[] = []
  const comments: string[] = []
  const waiters: Array<() => void> = []
  let buffer = ''
  const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, resolve)
    req.on('error', reject)
    req.end()
  })
  res.setEncoding('utf8')
  res.on('data', (chunk: string) => {
    buffer += chunk
    let end = buffer.indexOf('\n\n')
    while (end >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const ev: SseEvent = { event: 'message', data: '' }
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) comments.push(line)
        else if (line.startsWith('id: ')) ev.id = line.slice(4)
        else if (line.startsWith('event: ')) ev.event = line.slice(7)
        else if (line.startsWith('data: ')) ev.data += line.slice(6)
      }
      if (ev.data !== '') events.push(ev)
      for (const w of waiters.splice(0)) w()
      end = buffer.indexOf('\n\n')
    }
  })
  const next = async (
    name: string,
    timeoutMs = 5000,
    predicate: (d: Record<string, unknown>) => boolean = () => true,
  ) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const i = events.findIndex((e) => e.event === name && predicate(JSON.parse(e.data)))
      if (i >= 0)
        return JSON.parse(events.splice(i, 1)[0]!.data) as Record<string, unknown> & {
          windows: Array<Record<string, unknown>>
          states: Array<Record<string, unknown>>
        }
      const left = deadline - Date.now()
      if (left <= 0)
        throw new Error(`no "${name}" event within ${timeoutMs} ms; got ${events.map((e) => e.event)}`)
      await new Promise<void>((r) => {
        waiters.push(r)
        setTimeout(r, left)
      })
    }
  }
  return { res, events, comments, next, close: () => res.destroy() }
}

test('/live: snapshot on connect, update within a second of NOTIFY rtsa_commits, heartbeats', async (t) => {
  const now = clearOfMinuteEdge()
  const { pool, url } = await setupDatabase(t)
  await seedKnownRows(pool, now())
  const app = await buildApp({ pool, clock: now, config: {}, live: { heartbeatMs: 300, coalesceMs: 200 } })
  defer(t, () => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

  const sse = await openSse(`${base}/live?minutes=10`)
  defer(t, () => sse.close())
  assert.equal(sse.res.statusCode, 200)
  assert.match(sse.res.headers['content-type'] as string, /^text\/event-stream/)
  const snap = await sse.next('snapshot')
  assert.equal(snap.states.length, 2)
  assert.equal(snap.windows.length, 9)
  assert.ok(Array.isArray(snap.totals))
  assert.equal((snap.pipeline as Record<string, unknown>).lag, 40)

  // Once the API listens, commit like the processor does. The LISTEN connection's start
  // sends a resync update of every stream (coalesced, up to coalesceMs later): take it
  // first, or a write made before it is flushed would show up in it.
  await listenerReady(pool)
  await sse.next('update', 3000)
  await putWindow(pool, {
    stream: 'stream_a',
    start: minuteStart(0, now()),
    activeViewers: 77,
    chat: 9,
    cents: 505,
  })
  await putState(pool, { stream: 'stream_a', activeViewers: 77, accepted: 200 })
  const notifier = new pg.Client({ connectionString: url })
  await notifier.connect()
  defer(t, () => notifier.end())
  const sentAt = Date.now()
  const payload = {
    topic: 'stream.events',
    partition: 0,
    nextOffset: '123',
    watermark: null,
    streams: ['stream_a'],
    committedAt: new Date().toISOString(),
  }
  await notifier.query(`select pg_notify('rtsa_commits', $1)`, [JSON.stringify(payload)])
  const update = await sse.next('update', 3000, (d) =>
    (d.windows as Array<{ active_viewers: number }>).some((x) => x.active_viewers === 77),
  )
  const latency = Date.now() - sentAt
  assert.ok(latency < 1000, `update after ${latency} ms`)
  const w = update.windows.find(
    (x) => x.stream_id === 'stream_a' && x.window_start === minuteStart(0, now()).toISOString(),
  )
  assert.ok(w, 'the changed window is in the update')
  assert.equal(w.active_viewers, 77)
  assert.equal(w.donations_usd, '5.05')
  assert.ok(update.windows.every((x) => x.stream_id === 'stream_a'))
  assert.deepEqual(
    update.states.map((s) => [s.stream_id, s.active_viewers]),
    [['stream_a', 77]],
  )
  const total = (update.totals as Array<Record<string, unknown>>).find(
    (x) => x.window_start === minuteStart(0, now()).toISOString(),
  )
  assert.equal(total?.chat_messages, 9)

  // A burst of 20 commits is merged into a few reads, not 20.
  // (Sent in one transaction, so a busy machine cannot spread them over many 200 ms
  // periods; distinct payloads, as PostgreSQL folds identical ones.)
  const before = sse.events.filter((e) => e.event === 'update').length
  await notifier.query(
    `select pg_notify('rtsa_commits', json_build_object('streams', array['stream_a'], 'n', i)::text)
       from generate_series(1, 20) i`,
  )
  await new Promise((r) => setTimeout(r, 1500))
  const burst = sse.events.filter((e) => e.event === 'update').length - before
  assert.ok(burst >= 1 && burst <= 3, `burst gave ${burst} updates`)

  // Truncated stream lists and unreadable payloads mean "anything may have changed".
  await putWindow(pool, { stream: 'stream_b', start: minuteStart(0, now()), activeViewers: 31 })
  await notifier.query(`select pg_notify('rtsa_commits', $1)`, [
    JSON.stringify({ streams: [], streamsTruncated: true }),
  ])
  await sse.next('update', 3000, (d) =>
    (d.windows as Array<{ stream_id: string; active_viewers: number }>).some(
      (x) => x.stream_id === 'stream_b' && x.active_viewers === 31,
    ),
  )

  assert.ok(
    sse.comments.some((c) => c.startsWith(': heartbeat')),
    'heartbeat comments arrive',
  )
  await sse.next('pipeline', 3000)

  const prom = await (await fetch(`${base}/prometheus`)).text()
  assert.match(prom, /^api_live_clients 1$/m)
  assert.match(prom, /api_http_requests_total\{method="GET",path="\/live",status="200"\} 1/)

  // Reconnecting with Last-Event-ID gets a full snapshot again.
  const again = await openSse(`${base}/live?minutes=10`, { 'last-event-id': '3' })
  defer(t, () => again.close())
  const snap2 = await again.next('snapshot')
  assert.ok(snap2.windows.some((x) => x.stream_id === 'stream_b' && x.active_viewers === 31))
})

test('/live: closing the app ends open streams (graceful shutdown)', async (t) => {
  const now = clearOfMinuteEdge()
  const { pool } = await setupDatabase(t)
  await seedKnownRows(pool, now())
  const app = await buildApp({ pool, clock: now, config: {} })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const sse = await openSse(`${base}/live`)
  await sse.next('snapshot')
  const ended = new Promise<void>((r) => sse.res.on('close', () => r()))
  const started = Date.now()
  await app.close()
  await ended
  assert.ok(Date.now() - started < 3000)
})

test('/live: the LISTEN connection comes back after being killed, and resyncs', async (t) => {
  const now = clearOfMinuteEdge()
  const { pool, url } = await setupDatabase(t)
  await seedKnownRows(pool, now())
  const app = await buildApp({ pool, clock: now, config: {}, live: { coalesceMs: 100 } })
  defer(t, () => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const sse = await openSse(`${base}/live?minutes=10`)
  defer(t, () => sse.close())
  await sse.next('snapshot')
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  defer(t, () => admin.end())
  const listening = async () =>
    (
      await admin.query(
        'select pid from pg_stat_activity where datname = current_database() and application_name = $1',
        [LISTENER_APPLICATION_NAME],
      )
    ).rows as Array<{ pid: number }>
  for (let i = 0; i < 50 && (await listening()).length === 0; i++)
    await new Promise((r) => setTimeout(r, 100))
  const [victim] = await listening()
  assert.ok(victim, 'a LISTEN connection exists')
  // Changes made while the listener is away are not notified: the resync must find them.
  await admin.query('select pg_terminate_backend($1)', [victim.pid])
  await putWindow(pool, { stream: 'stream_c', start: minuteStart(0, now()), activeViewers: 4242 })
  await sse.next('update', 8000, (d) =>
    (d.windows as Array<{ active_viewers: number }>).some((w) => w.active_viewers === 4242),
  )
  // And notifications flow again on the new connection.
  for (let i = 0; i < 50 && (await listening()).length === 0; i++)
    await new Promise((r) => setTimeout(r, 100))
  await putWindow(pool, { stream: 'stream_c', start: minuteStart(0, now()), activeViewers: 4343 })
  await admin.query(`select pg_notify('rtsa_commits', '{"streams":["stream_c"]}')`)
  await sse.next('update', 3000, (d) =>
    (d.windows as Array<{ active_viewers: number }>).some((w) => w.active_viewers === 4343),
  )
})

test('/live: when more changed than an update may carry, clients get a fresh snapshot', async (t) => {
  const now = clearOfMinuteEdge()
  const { pool, url } = await setupDatabase(t)
  await seedKnownRows(pool, now())
  const app = await buildApp({ pool, clock: now, config: {}, live: { coalesceMs: 100, changeLimit: 3 } })
  defer(t, () => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const sse = await openSse(`${base}/live?minutes=10`)
  defer(t, () => sse.close())
  await sse.next('snapshot')
  await listenerReady(pool)
  for (const stream of ['s1', 's2', 's3', 's4'])
    await putWindow(pool, { stream, start: minuteStart(0, now()), activeViewers: 9 })
  const notifier = new pg.Client({ connectionString: url })
  await notifier.connect()
  defer(t, () => notifier.end())
  await notifier.query(`select pg_notify('rtsa_commits', '{"streams":["s1","s2","s3","s4"]}')`)
  const snap = await sse.next('snapshot', 3000, (d) =>
    (d.windows as Array<{ stream_id: string }>).some((w) => w.stream_id === 's4'),
  )
  assert.equal(snap.minutes, 10)
})

test('/live: without LISTEN (e.g. a pooler that cannot) it polls for changes instead', async (t) => {
  const now = clearOfMinuteEdge()
  const { pool } = await setupDatabase(t)
  await seedKnownRows(pool, now())
  const app = await buildApp({
    pool,
    clock: now,
    config: {},
    listen: silentSource,
    live: { pipelineMs: 300 },
  })
  defer(t, () => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const sse = await openSse(`${base}/live?minutes=10`)
  defer(t, () => sse.close())
  await sse.next('snapshot')
  await putWindow(pool, { stream: 'stream_b', start: minuteStart(0, now()), activeViewers: 5151 })
  await sse.next('update', 3000, (d) =>
    (d.windows as Array<{ active_viewers: number }>).some((w) => w.active_viewers === 5151),
  )
})

test('/live: at API_LIVE_MAX_CLIENTS a new connection gets 503 with Retry-After; a freed place is taken again', async (t) => {
  const now = clearOfMinuteEdge()
  const { pool } = await setupDatabase(t)
  await seedKnownRows(pool, now())
  const { app, base } = await serveApp(t, {
    pool,
    clock: now,
    config: { liveMaxClients: 2 },
    listen: silentSource,
  })
  const a = await openSse(`${base}/live?minutes=10`)
  defer(t, () => a.close())
  const b = await openSse(`${base}/live?minutes=5`)
  defer(t, () => b.close())
  await a.next('snapshot')
  await b.next('snapshot')
  const refused = await fetch(`${base}/live?minutes=10`)
  assert.equal(refused.status, 503)
  assert.equal(refused.headers.get('retry-after'), '10')
  const body = (await refused.json()) as { code: string; message: string }
  assert.equal(body.code, 'CAPACITY_EXCEEDED')
  assert.match(body.message, /at most 2 \/live connections \(API_LIVE_MAX_CLIENTS\)/)
  a.close()
  let again: Awaited<ReturnType<typeof openSse>> | undefined
  for (let i = 0; i < 100 && again === undefined; i++) {
    const c = await openSse(`${base}/live?minutes=10`)
    if (c.res.statusCode === 200) again = c
    else {
      c.close()
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  assert.ok(again, 'the place a closed connection freed is taken again')
  defer(t, () => again.close())
  await again.next('snapshot')
  const prom = (await app.inject('/prometheus')).body
  assert.match(prom, /^api_live_refused_total [1-9]\d*$/m)
})

test('/live: a crowd connecting at once shares one snapshot read', async (t) => {
  const now = clearOfMinuteEdge()
  const { pool } = await setupDatabase(t)
  await seedKnownRows(pool, now())
  const { base } = await serveApp(t, { pool, clock: now, config: {} })
  // Counts the snapshot's window reads (windowsBetween; a spy on the real pool). Update
  // flushes read windows too (by updated_at), so they are told apart by the query.
  let windowReads = 0
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown
  ;(pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    if (
      typeof args[0] === 'string' &&
      /where window_start >= \$1 and \(\$2::timestamptz is null/.test(args[0])
    )
      windowReads++
    return query(...args)
  }
  const one = await openSse(`${base}/live?minutes=10`)
  await one.next('snapshot')
  // Reuse past the read itself needs commit notices (else a change could go unseen): wait
  // until one has reached the hub (an update after a NOTIFY).
  await listenerReady(pool)
  await pool.query(`select pg_notify('rtsa_commits', '{"streams":["stream_a"]}')`)
  await one.next('update', 10_000)
  one.close()
  const perSnapshot = windowReads
  assert.ok(perSnapshot > 0)
  windowReads = 0
  const crowd = await Promise.all(Array.from({ length: 30 }, () => openSse(`${base}/live?minutes=10`)))
  defer(t, () => {
    for (const c of crowd) c.close()
  })
  const snapshots = await Promise.all(crowd.map((c) => c.next('snapshot')))
  assert.equal(new Set(snapshots.map((s) => JSON.stringify(s.windows))).size, 1, 'all see the same picture')
  assert.ok(
    windowReads <= 2 * perSnapshot,
    `${windowReads} reads for 30 connections (${perSnapshot} per snapshot)`,
  )
})
