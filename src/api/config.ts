/**
 * Settings of the HTTP API service (`rtsa serve`). Shares the PostgreSQL and common
 * groups with the other services and adds its own listener, auth and CORS settings.
 */
import {
  bytes,
  type ConfigOf,
  duration,
  integer,
  loadConfig,
  port,
  secret,
  secretList,
  text,
} from '../config/define.ts'
import { commonSettings, failOnProblems, postgresSettings } from '../config/settings.ts'
import { tokensOf } from './auth.ts'

export const apiSettings = {
  ...commonSettings,
  ...postgresSettings,
  port: port()('PORT', 8000, 'Port of the HTTP API and dashboard.'),
  host: text('HOST', '127.0.0.1', 'Address the API listens on (127.0.0.1: this machine only).'),
  apiToken: secret(
    'API_TOKEN',
    undefined,
    'When set, every endpoint except /health, /ready and the dashboard assets needs the token: `Authorization: Bearer <token>`, or as the password of HTTP Basic auth (browsers, /docs). At least 16 characters.',
  ),
  apiTokens: secretList(
    'API_TOKENS',
    undefined,
    'More accepted tokens, comma-separated (rotate: add the new one, move clients, remove the old one).',
  ),
  corsOrigin: text(
    'CORS_ORIGIN',
    undefined,
    'Allowed CORS origins, comma-separated, or `*`. Unset: no cross-origin access.',
  ),
  staleCommitAge: duration(
    'API_STALE_COMMIT_AGE',
    120_000,
    '/ready reports the processor as stale when its last commit is older than this.',
  ),
  cacheMaxAge: duration(
    'API_CACHE_MAX_AGE',
    1000,
    'Read endpoints cache their serialized responses; every commit notification clears them, and an entry ' +
      'is served for at most this long (the staleness bound when the LISTEN connection is down). 0 disables it.',
  ),
  cacheMaxEntries: integer(1, 1_000_000)(
    'API_CACHE_MAX_ENTRIES',
    1000,
    'At most this many cached responses; past it the least recently used go.',
  ),
  cacheMaxBytes: bytes(
    'API_CACHE_MAX_BYTES',
    64 * 1024 * 1024,
    'At most this many bytes of cached responses.',
  ),
  liveMaxClients: integer(1, 100_000)(
    'API_LIVE_MAX_CLIENTS',
    1000,
    'Open /live connections at most; past it a new one gets 503 with Retry-After.',
  ),
  rateLimit: integer(0, 10_000_000)(
    'API_RATE_LIMIT',
    1200,
    'Requests one client (IP address) may make per API_RATE_WINDOW; past it 429 with Retry-After. 0: no limit. /health, /ready and /prometheus are not limited.',
  ),
  rateWindow: duration('API_RATE_WINDOW', 60_000, 'The window of API_RATE_LIMIT.'),
  queryTimeout: duration(
    'API_QUERY_TIMEOUT',
    15_000,
    'A database query of the API is cancelled after this long (503); the client gives up 1 s later on a database that no longer answers.',
  ),
  poolSize: integer(1, 200)('API_POOL_SIZE', 10, 'Connections of the API to PostgreSQL.'),
}

export type ApiConfig = ConfigOf<typeof apiSettings>

/** Reads and validates the API settings from `env` (throws CONFIG_INVALID naming each bad variable). */
export function loadApiConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const c = loadConfig(apiSettings, env)
  // A short token is guessed: refuse it rather than protect the API with it.
  failOnProblems(
    tokensOf(c)
      .filter((t) => t.length < MIN_TOKEN_LENGTH)
      .map(
        () =>
          `API_TOKEN/API_TOKENS: a token is shorter than ${MIN_TOKEN_LENGTH} characters (e.g. openssl rand -hex 24)`,
      ),
  )
  return c
}

const MIN_TOKEN_LENGTH = 16
