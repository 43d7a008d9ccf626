/**
 * Prometheus metrics of one app: its own registry (so several apps in one process,
 * as in tests, do not clash), the reference HTTP and data-freshness gauges, and the
 * pipeline figures read from the database at scrape time.
 */

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { Api } from './api.ts'

export interface Telemetry {
  readonly registry: Registry
  /** Counted by the onResponse hook; hijacked responses (SSE) count themselves. */
  readonly requests: Counter<'method' | 'path' | 'status'>
  readonly liveClients: Gauge
  /** Read responses served from the response cache (or a read in flight), by route. */
  readonly cacheHits: Counter<'path'>
  /** Read responses that had to read the database, by route. */
  readonly cacheMisses: Counter<'path'>
  readonly cacheEvictions: Counter
  /** Requests answered 503 because every database connection was in use. */
  readonly dbBusy: Counter
  readonly rateLimited: Counter
  /** /live connections refused at API_LIVE_MAX_CLIENTS, and dropped for not reading. */
  readonly liveRefused: Counter
  readonly liveDropped: Counter
  /** Set by /prometheus when scraped. */
  readonly cacheEntries: Gauge
  readonly cacheBytes: Gauge
  readonly dbOk: Gauge
  readonly rowsRecent: Gauge
  readonly donationRowsRecent: Gauge
  readonly latestWindowAge: Gauge
  readonly pipeline: {
    readonly lag: Gauge
    readonly lastCommitAge: Gauge
    readonly watermarkDelay: Gauge
    readonly eventsPerSecond: Gauge
    readonly accepted: Counter
    readonly late: Counter
    readonly duplicate: Counter
    readonly rejected: Counter
    readonly streams: Gauge
    readonly activeViewers: Gauge
  }
}

/** Creates the registry and counts every response by route pattern (never the raw URL). */
export function installTelemetry(app: Api): Telemetry {
  const registry = new Registry()
  // process_* (CPU, memory, file descriptors) and nodejs_* (event loop lag, GC, heap).
  collectDefaultMetrics({ register: registry })
  const gauge = (name: string, help: string) => new Gauge({ name, help, registers: [registry] })
  const total = (name: string, help: string) => new Counter({ name, help, registers: [registry] })
  const requests = new Counter({
    name: 'api_http_requests_total',
    help: 'HTTP requests by method, route pattern and status',
    labelNames: ['method', 'path', 'status'] as const,
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'api_http_request_duration_seconds',
    help: 'HTTP request duration by method and route pattern',
    labelNames: ['method', 'path'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  })
  app.addHook('onResponse', async (request, reply) => {
    // Unmatched URLs share one label so random paths cannot blow up cardinality.
    const path = request.routeOptions.url ?? 'unmatched'
    requests.inc({ method: request.method, path, status: String(reply.statusCode) })
    duration.observe({ method: request.method, path }, reply.elapsedTime / 1000)
  })
  const cacheCounter = (name: string, help: string) =>
    new Counter({ name, help, labelNames: ['path'] as const, registers: [registry] })
  return {
    registry,
    requests,
    cacheHits: cacheCounter('api_cache_hits_total', 'read responses served from the response cache'),
    cacheMisses: cacheCounter('api_cache_misses_total', 'read responses that read the database'),
    cacheEvictions: new Counter({
      name: 'api_cache_evictions_total',
      help: 'cached responses dropped to stay within API_CACHE_MAX_ENTRIES / API_CACHE_MAX_BYTES',
      registers: [registry],
    }),
    cacheEntries: gauge('api_cache_entries', 'responses in the response cache'),
    liveRefused: new Counter({
      name: 'api_live_refused_total',
      help: '/live connections refused because API_LIVE_MAX_CLIENTS were open',
      registers: [registry],
    }),
    liveDropped: new Counter({
      name: 'api_live_dropped_total',
      help: '/live connections dropped because they did not read (8 MiB unread)',
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'api_rate_limited_total',
      help: 'requests refused with 429 (API_RATE_LIMIT per client and API_RATE_WINDOW)',
      registers: [registry],
    }),
    dbBusy: new Counter({
      name: 'api_db_busy_total',
      help: 'requests answered 503 because every database connection was in use (API_POOL_SIZE)',
      registers: [registry],
    }),
    cacheBytes: gauge('api_cache_bytes', 'bytes of the responses in the response cache'),
    liveClients: gauge('api_live_clients', 'open /live (Server-Sent Events) connections'),
    dbOk: gauge('api_db_ok', '1 when the database answered the last scrape, else 0'),
    rowsRecent: gauge('api_stream_metrics_rows_recent', 'stream_metrics_minute rows of the last 5 minutes'),
    donationRowsRecent: gauge(
      'api_donation_rows_recent',
      'stream_metrics_minute rows of the last 5 minutes with donations',
    ),
    latestWindowAge: gauge('api_latest_window_age_seconds', 'seconds since the start of the newest window'),
    pipeline: {
      lag: gauge('rtsa_pipeline_lag_records', 'records in Kafka not yet processed (sum over partitions)'),
      lastCommitAge: gauge(
        'rtsa_pipeline_last_commit_age_seconds',
        'seconds since the last processor commit',
      ),
      watermarkDelay: gauge('rtsa_pipeline_watermark_delay_seconds', 'now - lowest partition watermark'),
      eventsPerSecond: gauge('rtsa_pipeline_events_per_second', 'accepted records per second'),
      accepted: total(
        'rtsa_pipeline_accepted_records_total',
        'accepted records (sum of stream_state counters)',
      ),
      late: total('rtsa_pipeline_late_records_total', 'records dropped as late'),
      duplicate: total('rtsa_pipeline_duplicate_records_total', 'records dropped as duplicates'),
      rejected: total('rtsa_pipeline_rejected_records_total', 'records rejected as invalid'),
      streams: gauge('rtsa_streams', 'streams with state'),
      activeViewers: gauge('rtsa_active_viewers', 'present viewers over all streams'),
    },
  }
}

const lastTotals = new WeakMap<Counter, number>()

/**
 * Moves a counter to a total read from the database (a sum that only grows, unless the
 * data was reset: then the counter restarts, which Prometheus' rate() reads as a reset).
 */
export function moveCounterTo(counter: Counter, value: number): void {
  const last = lastTotals.get(counter) ?? 0
  if (value < last) {
    counter.reset()
    counter.inc(value)
  } else if (value > last) counter.inc(value - last)
  lastTotals.set(counter, value)
}
