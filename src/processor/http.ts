import { createServer, type Server } from 'node:http'
import type pg from 'pg'
import type { ProcessorMetrics } from './metrics.ts'
import type { Processor } from './processor.ts'

/**
 * The processor's own small HTTP endpoint: `/metrics` (Prometheus), `/health` (the
 * loop is alive: it went round within the last 30 s) and `/ready` (running, owns
 * partitions or is waiting for some, and the database answers within 2 s; false while
 * the instance has given its partitions up after a commit stall).
 */
export function startProcessorHttp(
  processor: Processor,
  metrics: ProcessorMetrics,
  pool: pg.Pool,
  host: string,
  port: number,
): Promise<Server> {
  const server = createServer(async (req, res) => {
    const send = (status: number, body: unknown, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type })
      res.end(typeof body === 'string' ? body : JSON.stringify(body))
    }
    try {
      if (req.url === '/metrics')
        return send(200, await metrics.registry.metrics(), metrics.registry.contentType)
      const h = processor.health()
      const loopAgeMs = Date.now() - h.lastLoopAt
      const info = {
        status: h.status,
        partitions: h.partitions,
        loop_age_ms: loopAgeMs,
        last_commit_at: h.lastCommitAt === null ? null : new Date(h.lastCommitAt).toISOString(),
        committed_batches: h.committedBatches,
      }
      if (req.url === '/health') {
        const ok = h.status !== 'stopped' && loopAgeMs < 30_000
        return send(ok ? 200 : 503, { ok, ...info })
      }
      if (req.url === '/ready') {
        // A database that drops packets must not hang the probe: no answer in 2 s is "down".
        let timer: NodeJS.Timeout | undefined
        const db = await Promise.race([
          pool.query('select 1').then(
            () => true,
            () => false,
          ),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(false), 2000)
          }),
        ])
        clearTimeout(timer)
        const ok = db && h.status === 'running'
        return send(ok ? 200 : 503, { ok, database: db, ...info })
      }
      send(404, { error: 'not found' })
    } catch (error) {
      send(500, { error: String(error) })
    }
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve(server))
  })
}
