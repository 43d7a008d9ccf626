import compress from '@fastify/compress'
import cors from '@fastify/cors'
import rateLimit from '@fastify/rate-limit'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, {
  type FastifyBaseLogger,
  type FastifySchemaValidationError,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify'
import type pg from 'pg'
import type { Logger } from 'pino'
import { RtsaError } from '../errors/catalogue.ts'
import { VERSION } from '../version.ts'
import { installAuth, tokensOf } from './auth.ts'
import { ResponseCache } from './cache.ts'
import type { Api, ApiContext, AppConfig } from './context.ts'
import { DatabaseProbe } from './db-probe.ts'
import { installErrorHandling } from './errors.ts'
import { LiveHub, type LiveOptions } from './live/hub.ts'
import { type CommitSource, PgCommitListener } from './live/listener.ts'
import { SharedCommitSource } from './live/shared-source.ts'
import { RateSampler } from './rate.ts'
import { dashboardRoutes } from './routes/dashboard.ts'
import { deadLetterRoutes } from './routes/dead-letters.ts'
import { healthRoutes } from './routes/health.ts'
import { liveRoutes } from './routes/live.ts'
import { metricsRoutes } from './routes/metrics.ts'
import { prometheusRoutes } from './routes/prometheus.ts'
import { streamRoutes } from './routes/streams.ts'
import { REQUEST_TIME_PATTERN, SHARED_SCHEMAS } from './schemas.ts'
import { installTelemetry } from './telemetry.ts'

export interface AppDeps {
  readonly pool: pg.Pool
  readonly config: AppConfig
  readonly logger?: Logger
  /** Commit notifications for `/live`; default: LISTEN on a dedicated connection like the pool's. */
  readonly listen?: CommitSource
  readonly live?: LiveOptions
  /** The clock of the routes, the cache and /live's horizons (epoch ms; default Date.now). */
  readonly clock?: () => number
}

/** One readable message per bad parameter, e.g. `querystring/minutes must be <= 1440`. */
function formatSchemaErrors(errors: FastifySchemaValidationError[], context: string): Error {
  const first = errors[0]
  if (first === undefined) return new Error(`${context} is invalid`)
  const unknown = (first.params as { additionalProperty?: string }).additionalProperty
  if (unknown !== undefined) {
    return new Error(
      `${context}${first.instancePath}/${unknown.slice(0, 100)} is not a parameter of this endpoint`,
    )
  }
  const missing = (first.params as { missingProperty?: string }).missingProperty
  const where = `${context}${first.instancePath}${missing !== undefined ? `/${missing}` : ''}`
  if ((first.params as { pattern?: string }).pattern === REQUEST_TIME_PATTERN) {
    return new Error(`${where} must be an ISO-8601 time such as 2026-12-01T10:00:00Z (seconds 00-59)`)
  }
  const allowed = (first.params as { allowedValues?: unknown[] }).allowedValues
  const suffix = Array.isArray(allowed) ? `: ${allowed.join(', ')}` : ''
  return new Error(`${where} ${first.message ?? 'is invalid'}${suffix}`)
}

interface OpenApiDocument {
  paths?: Record<
    string,
    Record<string, { summary?: string; responses?: Record<string, { description?: string }> }>
  >
}

/** Fills the responses the schemas left undescribed ("Default Response"): a 200 by its operation's summary. */
function describeResponses(doc: OpenApiDocument): OpenApiDocument {
  const generic: Record<string, string> = { '503': 'the database does not answer' }
  for (const ops of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(ops)) {
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        if (response.description !== undefined && response.description !== 'Default Response') continue
        response.description = status === '200' ? (op.summary ?? 'OK') : (generic[status] ?? 'an error')
      }
    }
  }
  return doc
}

/** Builds the API app (not listening). Close it to end live connections and the LISTEN client. */
export async function buildApp(deps: AppDeps): Promise<Api> {
  const app = Fastify<
    RawServerDefault,
    RawRequestDefaultExpression,
    RawReplyDefaultExpression,
    FastifyBaseLogger
  >({
    ...(deps.logger !== undefined ? { loggerInstance: deps.logger } : { logger: false }),
    schemaErrorFormatter: formatSchemaErrors,
    // Unknown query parameters are refused (schemas say additionalProperties: false), not
    // silently dropped: Fastify's validator strips them by default.
    ajv: { customOptions: { removeAdditional: false } },
    // On shutdown idle keep-alive sockets close at once; in-flight requests finish, new ones get 503.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>()

  await app.register(swagger, {
    // Shared schemas appear under components/schemas by their $id (not def-0, def-1, ...).
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
    transformObject: (documentObject) =>
      'openapiObject' in documentObject
        ? (describeResponses(
            documentObject.openapiObject as OpenApiDocument,
          ) as typeof documentObject.openapiObject)
        : documentObject.swaggerObject,
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'rtsa metrics API',
        version: VERSION,
        description:
          'Per-stream, per-minute live-stream metrics computed in event time (see the spec), current ' +
          'per-stream state, pipeline health and a live Server-Sent Events feed.',
      },
      // Relative: the document describes the server that serves it, wherever it listens.
      servers: [{ url: '/', description: 'this API' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      ...(tokensOf(deps.config).length > 0 ? { security: [{ bearer: [] }] } : {}),
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  // Every response gets a description of its own (a generator turns it into documentation).
  if (deps.config.corsOrigin !== undefined) {
    const origins = deps.config.corsOrigin.split(',').map((s) => s.trim())
    await app.register(cors, {
      origin: origins.includes('*') ? '*' : origins,
      methods: ['GET', 'HEAD', 'OPTIONS'],
      allowedHeaders: ['authorization', 'content-type', 'last-event-id'],
    })
  }

  const telemetry = installTelemetry(app)
  // Large JSON (history, state) compressed when the client accepts it; /live is hijacked
  // and streams uncompressed.
  await app.register(compress, { global: true, threshold: 4096, encodings: ['gzip', 'deflate'] })
  if ((deps.config.rateLimit ?? 0) > 0) {
    await app.register(rateLimit, {
      global: true,
      max: deps.config.rateLimit!,
      timeWindow: deps.config.rateWindow ?? 60_000,
      // Bounded memory whatever the number of clients (least recently seen go first).
      cache: 10_000,
      errorResponseBuilder: (_request, context) =>
        new RtsaError(
          'RATE_LIMITED',
          `more than ${context.max} requests in ${context.after}: retry after ${Math.ceil(context.ttl / 1000)} s (API_RATE_LIMIT)`,
        ),
      onExceeded: () => telemetry.rateLimited.inc(),
    })
  }
  installAuth(app, tokensOf(deps.config))
  installErrorHandling(app, () => telemetry.dbBusy.inc())

  const now = deps.clock ?? Date.now
  const rate = new RateSampler()
  const source = new SharedCommitSource(deps.listen ?? new PgCommitListener(deps.pool.options, deps.logger))
  const cache = new ResponseCache(
    {
      maxAgeMs: deps.config.cacheMaxAge ?? 1000,
      ...(deps.config.cacheMaxEntries === undefined ? {} : { maxEntries: deps.config.cacheMaxEntries }),
      ...(deps.config.cacheMaxBytes === undefined ? {} : { maxBytes: deps.config.cacheMaxBytes }),
    },
    {
      hit: (path) => telemetry.cacheHits.inc({ path }),
      miss: (path) => telemetry.cacheMisses.inc({ path }),
      evict: () => telemetry.cacheEvictions.inc(),
    },
    now,
  )
  if (cache.enabled) {
    // The processor NOTIFYs after every commit: any notification (or a reconnect, after
    // which some may have been missed) means the cached answers may be out of date. A lost
    // LISTEN connection clears it too: usually the database itself is gone, and reads
    // should say so (503) rather than answer from memory for another max age.
    source.start({
      onNotice: () => cache.clear(),
      onResync: () => cache.clear(),
      onLost: () => cache.clear(),
    })
  }
  const hub = new LiveHub(
    {
      pool: deps.pool,
      rate,
      source,
      now,
      onDrop: () => telemetry.liveDropped.inc(),
      ...(deps.logger ? { log: deps.logger } : {}),
    },
    {
      ...(deps.config.liveMaxClients === undefined ? {} : { maxClients: deps.config.liveMaxClients }),
      ...deps.live,
    },
  )
  const probe = new DatabaseProbe(deps.pool.options)
  const ctx: ApiContext = { now, pool: deps.pool, config: deps.config, telemetry, rate, hub, cache, probe }

  for (const schema of SHARED_SCHEMAS) app.addSchema(schema)
  healthRoutes(app, ctx)
  metricsRoutes(app, ctx)
  streamRoutes(app, ctx)
  deadLetterRoutes(app, ctx)
  prometheusRoutes(app, ctx)
  liveRoutes(app, ctx)
  dashboardRoutes(app)
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())

  // SSE responses never end by themselves: end them before the server waits for connections.
  app.addHook('preClose', async () => {
    await hub.close()
    await source.close()
    await probe.close()
  })
  return app
}
