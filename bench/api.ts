/**
 * api: requests/s and latency of the read endpoints under concurrent load (autocannon)
 * on a database with 500 streams x 24 h of minute windows (lib/seed.ts). The API runs as
 * a child process; autocannon runs in this one. Per endpoint and run: a fixed 1,000
 * requests/s (overallRate, `connections` connections) for p50/p99 latency, then as fast as
 * it goes for the maximum throughput. Baseline in the same run: `/health` (Fastify plus
 * one `select 1`), the floor of any endpoint that reads the database.
 */
import { startApiChild } from './lib/api-process.ts'
import { type Benchmark, opt } from './lib/context.ts'
import { load } from './lib/load.ts'
import { type Figure, figure } from './lib/report.ts'
import { seedTables } from './lib/seed.ts'
import { freshDb } from './lib/servers.ts'
import { fmt } from './lib/stats.ts'

const ENDPOINTS = ['/health', '/metrics/latest', '/state', '/metrics/history?minutes=60'] as const

export const api: Benchmark = {
  name: 'api',
  describe: 'API requests/s and p50/p99 latency of /metrics/latest, /state, /metrics/history',
  async run(ctx) {
    const streams = opt(ctx, 'streams', 500, 500)
    const hours = opt(ctx, 'hours', 24, 24)
    const seconds = opt(ctx, 'seconds', 5, 20)
    const rate = opt(ctx, 'rate', 1000, 1000)
    const connections = opt(ctx, 'connections', 20, 20)
    const servers = await ctx.servers()
    const db = await freshDb(servers, 'api')
    ctx.log(`  seeding ${streams} streams x ${hours} h of minute windows`)
    const rows = await seedTables(db.pool, streams, hours)
    ctx.log(`  ${fmt(rows)} window rows`)
    const server = await startApiChild(db.url)
    const fixed = new Map<string, { p50: number[]; p99: number[]; rps: number[]; bad: number }>()
    const max = new Map<string, { rps: number[]; p99: number[] }>()
    try {
      for (const path of ENDPOINTS) {
        // Warm-up (JIT, connections, the database's caches), not measured.
        await load({ url: `${server.url}${path}`, connections, duration: 2 })
      }
      for (let run = 1; run <= ctx.runs; run++) {
        for (const path of ENDPOINTS) {
          const url = `${server.url}${path}`
          const f = await load({ url, connections, duration: seconds, overallRate: rate })
          const m = await load({ url, connections: connections * 2, duration: seconds })
          const e = fixed.get(path) ?? { p50: [], p99: [], rps: [], bad: 0 }
          e.p50.push(f.p50)
          e.p99.push(f.p99)
          e.rps.push(f.requestsPerSec)
          e.bad += f.non2xx + f.errors + f.timeouts + m.non2xx + m.errors + m.timeouts
          fixed.set(path, e)
          const x = max.get(path) ?? { rps: [], p99: [] }
          x.rps.push(m.requestsPerSec)
          x.p99.push(m.p99)
          max.set(path, x)
          ctx.log(
            `  run ${run} ${path}: at ${fmt(rate)}/s: ${fmt(f.requestsPerSec)} req/s, p50 ${f.p50} ms, p99 ${f.p99} ms; ` +
              `max ${fmt(m.requestsPerSec)} req/s (p99 ${m.p99} ms)`,
          )
        }
      }
    } finally {
      await server.stop()
      await db.drop()
    }
    const figures: Figure[] = []
    const health = fixed.get('/health')!
    const healthMax = max.get('/health')!
    for (const path of ENDPOINTS) {
      const f = fixed.get(path)!
      const m = max.get(path)!
      const isBase = path === '/health'
      figures.push(
        figure(`${path}: achieved rate at ${fmt(rate)}/s`, 'req/s', f.rps),
        figure(`${path}: p50 at ${fmt(rate)}/s`, 'ms', f.p50),
        figure(`${path}: p99 at ${fmt(rate)}/s`, 'ms', f.p99, {
          ...(isBase ? {} : { baseline: { name: '/health p99', runs: health.p99 } }),
          target: '< 20 ms',
          met: (v) => v < 20,
        }),
        figure(`${path}: max throughput`, 'req/s', m.rps, {
          ...(isBase ? {} : { baseline: { name: '/health max', runs: healthMax.rps } }),
        }),
      )
      if (f.bad > 0) ctx.log(`  ${path}: ${f.bad} non-2xx responses, errors or timeouts`)
    }
    return {
      settings: {
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
        `Each run: ${seconds} s at a fixed ${fmt(rate)} requests/s over ${connections} connections (autocannon overallRate), then ${seconds} s unthrottled over ${connections * 2} connections. autocannon runs on the same 2 cores as the API and PostgreSQL.`,
        `Responses that were not 2xx, errors, timeouts: ${[...fixed].map(([p, e]) => `${p} ${e.bad}`).join(', ')}.`,
      ],
    }
  },
}
