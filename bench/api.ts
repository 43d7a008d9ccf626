/**
 * api: requests/s and latency of the read endpoints under load, on a database with 500
 * streams x 24 h of minute windows (lib/seed.ts). The API runs as a child process; the
 * load runs in this one. Per endpoint and run:
 *   - a paced, open-loop 1,000 requests/s (lib/paced.ts; latency from each request's
 *     scheduled time): the p50/p99 the target is about;
 *   - autocannon with overallRate 1,000 (its rate limiter sends each second's quota in a
 *     burst, so this is latency behind a 1,000-request burst);
 *   - autocannon unthrottled: the maximum throughput.
 * Baseline in the same run: `/health` (Fastify plus one `select 1`), the floor of any
 * endpoint that reads the database.
 */
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { startApiChild } from './lib/api-process.ts'
import { type BenchContext, type Benchmark, opt } from './lib/context.ts'
import { load } from './lib/load.ts'
import { rssOf } from './lib/machine.ts'
import { paced, settle } from './lib/paced.ts'
import { profileMarkdown, summarize } from './lib/profile.ts'
import { type Figure, figure } from './lib/report.ts'
import { seedTables } from './lib/seed.ts'
import { freshDb } from './lib/servers.ts'
import { connectSse, type SseClient } from './lib/sse.ts'
import { fmt } from './lib/stats.ts'
import { storeTimings } from './lib/store-timing.ts'

const ENDPOINTS = ['/health', '/metrics/latest', '/state', '/metrics/history?minutes=60'] as const

interface Series {
  p50: number[]
  p99: number[]
  rps: number[]
  acP50: number[]
  acP99: number[]
  acRps: number[]
  max: number[]
  maxP99: number[]
  bad: number
  bytes: number
}

/**
 * Unmeasured: the API under `--cpu-prof` while autocannon drives each database endpoint
 * unthrottled; the summary goes to bench/results/api-profile.md.
 */
async function profileApi(ctx: BenchContext, databaseUrl: string, seconds: number): Promise<string[]> {
  const dir = resolve(import.meta.dirname, 'results/profiles')
  mkdirSync(dir, { recursive: true })
  const out: string[] = []
  const sections: string[] = []
  for (const path of ENDPOINTS.filter((p) => p !== '/health')) {
    const t0 = Date.now()
    const server = await startApiChild(databaseUrl, {}, ['--cpu-prof', '--cpu-prof-dir', dir])
    try {
      ctx.log(`  profiling the API under ${path} (not measured)`)
      await load({ url: `${server.url}${path}`, connections: 20, duration: seconds })
    } finally {
      await server.stop()
    }
    const file = readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(dir, f))
      .filter((f) => statSync(f).mtimeMs >= t0)[0]
    if (file === undefined) continue
    const s = summarize(file, 12)
    sections.push(`## ${path}\n\n${file}\n\n${profileMarkdown(s)}\n`)
    const busy = s.categories.filter((c) => c.name !== 'idle').slice(0, 5)
    out.push(
      `API profile under ${path} (bench/results/api-profile.md): ${busy.map((c) => `${c.name} ${(c.share * 100).toFixed(0)}%`).join(', ')} of ${(s.busyMs / 1000).toFixed(1)} s busy.`,
    )
  }
  writeFileSync(
    resolve(import.meta.dirname, 'results/api-profile.md'),
    `# API profiles\n\n${sections.join('\n')}`,
  )
  return out
}

interface LiveCase {
  readonly rssIdle: number
  readonly rssLive: number
  readonly rssAfter: number
  readonly p99: number[]
}

/** Opens `n` /live clients, then measures the paced /metrics/latest load with them connected. */
async function withLiveClients(
  ctx: BenchContext,
  server: Awaited<ReturnType<typeof startApiChild>>,
  n: number,
  rate: number,
  seconds: number,
): Promise<LiveCase> {
  const pid = server.child.pid!
  const health = `${server.url}/health`
  await settle(health)
  const rssIdle = rssOf(pid) / 2 ** 20
  const clients: SseClient[] = []
  let snapshots = 0
  try {
    for (let i = 0; i < n; i += 50) {
      const batch = Array.from({ length: Math.min(50, n - i) }, () =>
        connectSse(`${server.url}/live?minutes=1`, (name) => {
          if (name === 'snapshot') snapshots++
        }),
      )
      clients.push(...batch)
      await Promise.all(batch.map((c) => c.ready))
    }
    const deadline = Date.now() + 120_000
    while (snapshots < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    if (snapshots < n) throw new Error(`only ${snapshots} of ${n} /live clients got their snapshot`)
    await settle(health)
    const rssLive = rssOf(pid) / 2 ** 20
    ctx.log(`  ${fmt(n)} /live clients: API RSS ${fmt(rssIdle)} -> ${fmt(rssLive)} MiB`)
    const p99: number[] = []
    for (let run = 1; run <= ctx.runs; run++) {
      const p = await paced(`${server.url}/metrics/latest`, rate, seconds)
      p99.push(p.p99)
      ctx.log(`  run ${run} /metrics/latest with ${fmt(n)} /live clients: p99 ${fmt(p.p99, 1)} ms`)
      await settle(health)
    }
    return { rssIdle, rssLive, rssAfter: rssOf(pid) / 2 ** 20, p99 }
  } finally {
    for (const c of clients) c.close()
  }
}

export const api: Benchmark = {
  name: 'api',
  describe: 'API requests/s and p50/p99 latency of /metrics/latest, /state, /metrics/history',
  async run(ctx) {
    const streams = opt(ctx, 'streams', 500, 500)
    const hours = opt(ctx, 'hours', 24, 24)
    const seconds = opt(ctx, 'seconds', 4, 20)
    const rate = opt(ctx, 'rate', 1000, 1000)
    const connections = opt(ctx, 'connections', 20, 20)
    const servers = await ctx.servers()
    const db = await freshDb(servers, 'api')
    ctx.log(`  seeding ${streams} streams x ${hours} h of minute windows`)
    const rows = await seedTables(db.pool, streams, hours)
    ctx.log(`  ${fmt(rows)} window rows`)
    const sql = await storeTimings(db.pool)
    for (const [path, t] of Object.entries(sql))
      ctx.log(`  store alone, ${path}: ${fmt(t.ms, 2)} ms, ${t.rows} rows`)
    const liveClients = opt(ctx, 'live_clients', 500, 500)
    const server = await startApiChild(db.url)
    const series = new Map<string, Series>()
    let live: LiveCase | undefined
    const health = `${server.url}/health`
    try {
      for (const path of ENDPOINTS) {
        // Warm-up (JIT, connections, the database's caches), not measured.
        await load({ url: `${server.url}${path}`, connections: 4, duration: 1 })
        await settle(health)
      }
      for (let run = 1; run <= ctx.runs; run++) {
        for (const path of ENDPOINTS) {
          const url = `${server.url}${path}`
          const p = await paced(url, rate, seconds)
          await settle(health)
          const a = await load({ url, connections, duration: seconds, overallRate: rate })
          await settle(health)
          const m = await load({ url, connections: connections * 2, duration: seconds })
          await settle(health)
          const s: Series = series.get(path) ?? {
            p50: [],
            p99: [],
            rps: [],
            acP50: [],
            acP99: [],
            acRps: [],
            max: [],
            maxP99: [],
            bad: 0,
            bytes: 0,
          }
          s.p50.push(p.p50)
          s.p99.push(p.p99)
          s.rps.push(p.requestsPerSec)
          s.acP50.push(a.p50)
          s.acP99.push(a.p99)
          s.acRps.push(a.requestsPerSec)
          s.max.push(m.requestsPerSec)
          s.maxP99.push(m.p99)
          s.bad += p.failed + p.shed + a.non2xx + a.errors + a.timeouts + m.non2xx + m.errors + m.timeouts
          s.bytes = p.bytes
          series.set(path, s)
          ctx.log(
            `  run ${run} ${path}: paced ${fmt(rate)}/s: ${fmt(p.requestsPerSec)} ok/s, p50 ${fmt(p.p50, 1)} ms, p99 ${fmt(p.p99, 1)} ms ` +
              `(${p.failed} failed, ${p.shed} shed, ${fmt(p.bytes)} B/response); autocannon overallRate: p50 ${a.p50} p99 ${a.p99} ms; ` +
              `max ${fmt(m.requestsPerSec)} req/s (p99 ${m.p99} ms)`,
          )
        }
      }
      live = await withLiveClients(ctx, server, liveClients, rate, seconds)
    } finally {
      await server.stop()
    }
    const profileNotes: string[] = []
    try {
      if (opt(ctx, 'profile', 1, 1) > 0) profileNotes.push(...(await profileApi(ctx, db.url, seconds)))
    } finally {
      await db.drop()
    }
    const figures: Figure[] = []
    const h = series.get('/health')!
    for (const path of ENDPOINTS) {
      const s = series.get(path)!
      const isBase = path === '/health'
      figures.push(
        figure(`${path}: ok responses/s at a paced ${fmt(rate)}/s`, 'req/s', s.rps),
        figure(`${path}: p50 at ${fmt(rate)}/s (paced)`, 'ms', s.p50, {
          ...(isBase ? {} : { baseline: { name: '/health', runs: h.p50 } }),
        }),
        figure(`${path}: p99 at ${fmt(rate)}/s (paced)`, 'ms', s.p99, {
          ...(isBase ? {} : { baseline: { name: '/health', runs: h.p99 } }),
          target: '< 20 ms',
          met: (v) => v < 20,
        }),
        figure(`${path}: p99 at autocannon overallRate ${fmt(rate)}`, 'ms', s.acP99, {
          ...(isBase ? {} : { baseline: { name: '/health', runs: h.acP99 } }),
        }),
        figure(`${path}: max throughput (autocannon, ${connections * 2} connections)`, 'req/s', s.max, {
          ...(isBase ? {} : { baseline: { name: '/health', runs: h.max } }),
        }),
      )
    }
    if (live !== undefined) {
      figures.push(
        figure('API RSS, no /live clients', 'MiB', [live.rssIdle]),
        figure(`API RSS with ${fmt(liveClients)} /live clients`, 'MiB', [live.rssLive], {
          baseline: { name: 'no /live clients', runs: [live.rssIdle] },
        }),
        figure(
          `/metrics/latest p99 at ${fmt(rate)}/s (paced) with ${fmt(liveClients)} /live clients`,
          'ms',
          live.p99,
          {
            baseline: { name: 'without them', runs: series.get('/metrics/latest')!.p99 },
            target: '< 20 ms',
            met: (v) => v < 20,
          },
        ),
      )
    }
    return {
      settings: {
        liveClients,
        streams,
        hours,
        windowRows: rows,
        seconds,
        rate,
        connections,
        maxConnections: connections * 2,
      },
      figures,
      notes: [
        `Each run and endpoint: ${seconds} s paced at ${fmt(rate)}/s (open loop, at most 256 outstanding, latency from the scheduled time), ${seconds} s of autocannon at overallRate ${fmt(rate)} over ${connections} connections, ${seconds} s of autocannon unthrottled over ${connections * 2} connections; between them the API is left to drain until /health answers within 100 ms. The load generator shares the 2 cores with the API and PostgreSQL.`,
        `The store function of each endpoint alone (SQL round trip and row parsing, sequential, median of 30 calls before the load): ${Object.entries(
          sql,
        )
          .map(([p, t]) => `${p} ${fmt(t.ms, 2)} ms (${t.rows} rows)`)
          .join(', ')}.`,
        ...profileNotes,
        `With /live clients: ${fmt(liveClients)} connections to /live?minutes=1 (opened 50 at a time, each reads its snapshot and everything after), then the paced /metrics/latest load ${ctx.runs} times; API RSS (VmRSS) before they connect and once all have their snapshot; ${live === undefined ? '' : `${fmt(live.rssAfter)} MiB after the load`}.`,
        `Response sizes: ${[...series].map(([p, s]) => `${p} ${fmt(s.bytes)} B`).join(', ')}.`,
        `Failed, shed (over 256 outstanding), non-2xx, errors and timeouts over all runs: ${[...series].map(([p, s]) => `${p} ${fmt(s.bad)}`).join(', ')}.`,
      ],
    }
  },
}
