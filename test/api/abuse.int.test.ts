/**
 * The API as `rtsa serve` runs it (a child process), under abuse: hundreds of /live
 * clients (some never read), thousands of requests with random parameters, bursts past the
 * rate limit, and its database black-holed and then stopped (a TCP proxy between them)
 * while requests run. No answer is a 500, /health tells the truth throughout, the process's
 * memory stays bounded, and it recovers by itself.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { type IncomingMessage, request } from 'node:http'
import { resolve } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from '../../testkit/fault-rig.ts'
import { TcpProxy } from '../../testkit/tcp-proxy.ts'
import { defer } from '../helpers/services.ts'
import { seedKnownRows, setupDatabase } from './fixtures.ts'

const ROOT = resolve(import.meta.dirname, '../..')

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))
  return Number(line?.replace(/\D+/g, '') ?? 0) / 1024
}

/** Status codes seen, by code. */
const seen = new Map<number, number>()

async function get(base: string, path: string, timeoutMs = 20_000): Promise<number> {
  const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(timeoutMs) })
  await res.arrayBuffer()
  seen.set(res.status, (seen.get(res.status) ?? 0) + 1)
  return res.status
}

/** Polls `path` until it answers `status`; fails after `timeoutMs`. */
async function until(base: string, path: string, status: number, timeoutMs: number): Promise<number> {
  const started = Date.now()
  let last = 0
  while (Date.now() - started < timeoutMs) {
    last = await get(base, path).catch(() => 0)
    if (last === status) return Date.now() - started
    await sleep(200)
  }
  throw new Error(`${path} did not answer ${status} within ${timeoutMs} ms (last ${last})`)
}

/** Opens a /live connection; `read: false` never reads what the server sends. */
function openLive(base: string, read: boolean): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/live?minutes=10`, { headers: { accept: 'text/event-stream' } }, (res) => {
      seen.set(res.statusCode ?? 0, (seen.get(res.statusCode ?? 0) ?? 0) + 1)
      if (read || res.statusCode !== 200) res.resume()
      else res.pause()
      resolve(res)
    })
    req.on('error', reject)
    req.end()
  })
}

function word(rnd: () => number): string {
  return Array.from({ length: 1 + Math.floor(rnd() * 10) }, () =>
    String.fromCharCode(97 + Math.floor(rnd() * 26)),
  ).join('')
}

test('the API under abuse: no 500, truthful /health, bounded memory, recovers by itself', async (t) => {
  const { url, pool } = await setupDatabase(t)
  await seedKnownRows(pool, Date.now())
  const db = new URL(url)
  const proxy = await TcpProxy.start({ port: Number(db.port) })
  defer(t, () => proxy.close())
  db.port = String(proxy.port)
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const child: ChildProcess = spawn(process.execPath, [resolve(ROOT, 'src/cli/main.ts'), 'serve'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: db.toString(),
      PORT: String(port),
      HOST: '127.0.0.1',
      API_LIVE_MAX_CLIENTS: '200',
      // A short window: the burst passes the limit, and the later phases get a fresh one.
      API_RATE_LIMIT: '4000',
      API_RATE_WINDOW: '10s',
      API_QUERY_TIMEOUT: '2s',
      LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString()
  })
  defer(t, () => {
    child.kill('SIGKILL')
  })
  await until(base, '/health', 200, 30_000)
  const pid = child.pid!
  const rssStart = rssMiB(pid)

  // 1. Live clients up to the cap, a third of them never reading; past the cap: 503.
  const live: IncomingMessage[] = []
  for (let i = 0; i < 200; i++) live.push(await openLive(base, i % 3 !== 0))
  defer(t, () => {
    for (const res of live) res.destroy()
  })
  assert.ok(
    live.every((r) => r.statusCode === 200),
    `statuses ${[...new Set(live.map((r) => r.statusCode))]}`,
  )
  const extra = await Promise.all(Array.from({ length: 20 }, () => openLive(base, true)))
  assert.ok(
    extra.every((r) => r.statusCode === 503),
    `past the cap: ${extra.map((r) => r.statusCode)}`,
  )
  for (const r of extra) r.destroy()

  // 2. Thousands of requests with random extra parameters, 50 at a time: all 400s.
  let seed = 11
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed / 2 ** 31
  }
  const paths = ['/metrics', '/metrics/latest', '/metrics/history', '/state', '/streams', '/streams/top']
  const random: string[] = Array.from(
    { length: 3000 },
    (_, i) => `${paths[i % paths.length]}?x_${word(rnd)}=${word(rnd)}`,
  )
  for (let i = 0; i < random.length; i += 50) {
    const codes = await Promise.all(random.slice(i, i + 50).map((p) => get(base, p)))
    assert.ok(
      codes.every((c) => c === 400),
      `random parameters: ${[...new Set(codes)]}`,
    )
  }
  // 3. A burst past the rate limit (4000 per 10 s from this address; the burst alone is
  // more, whatever is left of the window): 429s, never 500s.
  const burst = await Promise.all(Array.from({ length: 4500 }, () => get(base, '/state')))
  assert.ok(burst.includes(429), 'the burst passed the limit')
  assert.ok(
    burst.every((c) => c === 200 || c === 429),
    `burst: ${[...new Set(burst)]}`,
  )
  assert.equal(await get(base, '/health'), 200, 'probes are not rate limited')
  const rssAfterLoad = rssMiB(pid)

  // 4. The database black-holed while requests run: 503s within the timeouts, /health says so.
  proxy.blackhole()
  const during = await Promise.all(
    Array.from({ length: 20 }, (_, i) => sleep(i * 100).then(() => get(base, '/ready', 30_000))),
  )
  assert.ok(
    during.every((c) => c === 503 || c === 200),
    `during the black hole: ${[...new Set(during)]}`,
  )
  await until(base, '/health', 503, 15_000)
  proxy.heal()
  await until(base, '/health', 200, 30_000)
  await until(base, '/ready', 200, 30_000)

  // 5. The database stopped (connections closed, new ones refused), then back.
  proxy.refuse()
  await until(base, '/health', 503, 15_000)
  await until(base, '/metrics/latest', 503, 15_000)
  proxy.heal()
  await until(base, '/health', 200, 30_000)
  await until(base, '/metrics/latest', 200, 30_000)

  assert.equal(child.exitCode, null, `the API is still running:\n${output.slice(-2000)}`)
  assert.equal(seen.get(500) ?? 0, 0, `no 500s (seen: ${JSON.stringify([...seen])})`)
  const rssEnd = rssMiB(pid)
  t.diagnostic(
    `API RSS: ${rssStart.toFixed(0)} MiB at start, ${rssAfterLoad.toFixed(0)} after 200 /live clients and 7,500 requests, ${rssEnd.toFixed(0)} at the end`,
  )
  assert.ok(rssEnd - rssStart < 200, `RSS grew ${(rssEnd - rssStart).toFixed(0)} MiB`)
})
