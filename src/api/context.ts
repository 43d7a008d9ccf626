/** What every route module gets: the typed app and the shared dependencies. */
import type pg from 'pg'
import type { ResponseCache } from './cache.ts'
import type { DatabaseProbe } from './db-probe.ts'
import type { LiveHub } from './live/hub.ts'
import type { RateSampler } from './rate.ts'
import type { Telemetry } from './telemetry.ts'

export type { Api } from './api.ts'

/** The settings buildApp needs (a subset of ApiConfig, so tests can pass `{}`). */
export interface AppConfig {
  readonly apiToken?: string | undefined
  /** More accepted tokens (rotation): API_TOKENS. */
  readonly apiTokens?: readonly string[] | undefined
  readonly corsOrigin?: string | undefined
  /** /ready calls the processor stale when its last commit is older than this (ms). */
  readonly staleCommitAge?: number | undefined
  /** Max age of a cached read response (ms); 0 disables the cache. Default 1000. */
  readonly cacheMaxAge?: number | undefined
  /** Bounds of the response cache (default 1000 entries, 64 MiB of bodies). */
  readonly cacheMaxEntries?: number | undefined
  readonly cacheMaxBytes?: number | undefined
  /** Requests per client and window; unset or 0: no limit (ApiConfig's default is 1200 per minute). */
  readonly rateLimit?: number | undefined
  readonly rateWindow?: number | undefined
  /** Open /live connections at most (default 1000). */
  readonly liveMaxClients?: number | undefined
}

export interface ApiContext {
  /** The clock of every "now" the routes compute (epoch ms); tests pass a fixed one. */
  readonly now: () => number
  readonly pool: pg.Pool
  readonly config: AppConfig
  readonly telemetry: Telemetry
  readonly rate: RateSampler
  readonly hub: LiveHub
  readonly cache: ResponseCache
  /** The database check of /health and /ready (its own connection). */
  readonly probe: DatabaseProbe
}
