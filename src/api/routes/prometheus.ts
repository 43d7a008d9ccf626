/** `/prometheus`: the Prometheus text exposition of this app's registry. */
import { Type } from 'typebox'
import { recentActivity } from '../../store/read/activity.ts'
import type { Api, ApiContext } from '../context.ts'
import { readPipeline } from '../pipeline.ts'
import { moveCounterTo } from '../telemetry.ts'

const RECENT_MS = 5 * 60_000

/** Reads the data-freshness and pipeline gauges from the database; api_db_ok comes from the health probe. */
async function refreshGauges(ctx: ApiContext): Promise<void> {
  const t = ctx.telemetry
  t.liveClients.set(ctx.hub.clients)
  t.cacheEntries.set(ctx.cache.size)
  t.cacheBytes.set(ctx.cache.bytes)
  // Whether the database answers, on the probe's own connection: a busy pool is not an outage.
  t.dbOk.set((await ctx.probe.check()).ok ? 1 : 0)
  try {
    const now = new Date(ctx.now())
    const [activity, pipeline] = await Promise.all([
      recentActivity(ctx.pool, new Date(now.getTime() - RECENT_MS)),
      readPipeline(ctx),
    ])
    t.rowsRecent.set(activity.rows)
    t.donationRowsRecent.set(activity.donation_rows)
    if (activity.latest_window_start === null) t.latestWindowAge.reset()
    else t.latestWindowAge.set((now.getTime() - activity.latest_window_start.getTime()) / 1000)
    const p = t.pipeline
    const setOrReset = (g: typeof p.lag, v: number | null) => (v === null ? g.reset() : g.set(v))
    setOrReset(p.lag, pipeline.lag)
    setOrReset(p.lastCommitAge, pipeline.last_commit_age_seconds)
    setOrReset(p.watermarkDelay, pipeline.watermark_delay_seconds)
    setOrReset(p.eventsPerSecond, pipeline.events_per_second)
    moveCounterTo(p.accepted, pipeline.accepted)
    moveCounterTo(p.late, pipeline.late)
    moveCounterTo(p.duplicate, pipeline.duplicate)
    moveCounterTo(p.rejected, pipeline.rejected)
    p.streams.set(pipeline.streams)
    p.activeViewers.set(pipeline.active_viewers)
  } catch {
    // A scrape must still succeed when the database is down or busy: api_db_ok and
    // api_db_busy_total say which; the data gauges keep their last values.
  }
}

/** Registers `/prometheus`. */
export function prometheusRoutes(app: Api, ctx: ApiContext): void {
  app.get(
    '/prometheus',
    {
      // Probes and scrapes must work however busy a client is.
      config: { rateLimit: false },
      schema: {
        operationId: 'getPrometheusMetrics',
        summary: 'Prometheus metrics',
        description:
          'Reference names (api_http_requests_total{method,path,status}, api_http_request_duration_seconds, ' +
          'api_db_ok, api_stream_metrics_rows_recent, api_donation_rows_recent, api_latest_window_age_seconds) ' +
          'and pipeline figures (rtsa_pipeline_*). Answers 200 even when the database is down.',
        tags: ['health'],
        produces: ['text/plain'],
        response: {
          200: {
            description: 'Prometheus text format 0.0.4',
            content: { 'text/plain': { schema: Type.String() } },
          },
        },
      },
    },
    async (_request, reply) => {
      await refreshGauges(ctx)
      const text = await ctx.telemetry.registry.metrics()
      return reply.type(ctx.telemetry.registry.contentType).send(text)
    },
  )
}
