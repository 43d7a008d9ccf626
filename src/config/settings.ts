import { resolve } from 'node:path'
import { RtsaError } from '../errors/catalogue.ts'
import { credentialsFileOf, loadLocalCredentials, localUrlOf } from '../infra/postgres/credentials.ts'
import { SASL_MECHANISMS, SECURITY_PROTOCOLS } from '../kafka/connection.ts'
import { boolean, duration, durations, hostPorts, integer, oneOf, port, secret, text } from './define.ts'
import { readSettingFile } from './files.ts'

/**
 * Settings shared by several services. Each service's own config module
 * (`src/processor/config.ts`, `src/api/config.ts`, ...) picks the groups it needs
 * and adds its own. Names follow the reference deployment where it had one.
 */

/** How every Kafka client of rtsa authenticates; read by `kafkaConnectionOf` (src/config/kafka.ts). */
export const kafkaSecuritySettings = {
  kafkaSecurityProtocol: oneOf(SECURITY_PROTOCOLS)(
    'KAFKA_SECURITY_PROTOCOL',
    'PLAINTEXT',
    'PLAINTEXT, SSL (TLS), SASL_PLAINTEXT or SASL_SSL (TLS and SASL: managed clusters).',
  ),
  kafkaSaslMechanism: oneOf(SASL_MECHANISMS)(
    'KAFKA_SASL_MECHANISM',
    undefined,
    'PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; needed with SASL_*.',
  ),
  kafkaSaslUsername: text(
    'KAFKA_SASL_USERNAME',
    undefined,
    'SASL user name (an API key on Confluent Cloud).',
  ),
  kafkaSaslPassword: secret('KAFKA_SASL_PASSWORD', undefined, 'SASL password (an API secret). Never logged.'),
  kafkaSaslPasswordFile: text(
    'KAFKA_SASL_PASSWORD_FILE',
    undefined,
    'File holding the SASL password (a mounted secret), instead of KAFKA_SASL_PASSWORD.',
  ),
  kafkaSslCaFile: text(
    'KAFKA_SSL_CA_FILE',
    undefined,
    "PEM file of the CA(s) that signed the brokers' certificates. Unset: the system's CAs.",
  ),
  kafkaSslCertFile: text('KAFKA_SSL_CERT_FILE', undefined, 'PEM client certificate, for mutual TLS.'),
  kafkaSslKeyFile: text(
    'KAFKA_SSL_KEY_FILE',
    undefined,
    "PEM private key of KAFKA_SSL_CERT_FILE's certificate.",
  ),
}

export const kafkaSettings = {
  kafkaBootstrap: hostPorts(
    ['KAFKA_BOOTSTRAP', 'BOOTSTRAP'],
    undefined,
    'Kafka bootstrap servers. Unset: `rtsa up` starts a local broker on KAFKA_PORT.',
  ),
  kafkaTopic: text(['KAFKA_TOPIC', 'TOPIC'], 'stream.events', 'Topic of input events, keyed by stream_id.'),
  kafkaDlqTopic: text('KAFKA_DLQ_TOPIC', 'stream.events.dlq', 'Dead-letter topic for rejected records.'),
  kafkaPartitions: integer(1, 10_000)('KAFKA_PARTITIONS', 6, 'Partitions of the topic when rtsa creates it.'),
  kafkaReplicationFactor: integer(1, 32)(
    'KAFKA_REPLICATION_FACTOR',
    undefined,
    "Replicas of each topic rtsa creates. Unset: the broker's default.replication.factor.",
  ),
  kafkaCreateTopics: boolean(
    'KAFKA_CREATE_TOPICS',
    true,
    'Create missing topics. false: never create one (no CreateTopics permission needed); a missing topic is an error naming it.',
  ),
  ...kafkaSecuritySettings,
}

export const localKafkaSettings = {
  kafkaPort: port()('KAFKA_PORT', 9092, 'Port of the local broker (its controller uses the next port).'),
}

/** The brokers to use: KAFKA_BOOTSTRAP, else the local broker that `rtsa up` starts on KAFKA_PORT. */
export function bootstrapOf(c: { kafkaBootstrap: string[] | undefined; kafkaPort: number }): string[] {
  return c.kafkaBootstrap ?? [`127.0.0.1:${c.kafkaPort}`]
}

export const engineSettings = {
  window: duration('WINDOW', 60_000, 'Tumbling window length of stream_metrics_minute (the base window).'),
  windows: durations(
    'WINDOWS',
    [60_000, 3_600_000, 86_400_000],
    'Window lengths computed at once, each exact (stream_metrics_rollup holds those longer than WINDOW). Each a whole multiple of WINDOW.',
  ),
  watermark: duration(
    'WATERMARK',
    600_000,
    'Allowed lateness: the watermark trails the newest event time by this.',
  ),
  viewerTimeout: duration(
    'VIEWER_TIMEOUT',
    300_000,
    'A viewer with no record for this long is no longer present.',
  ),
  maxClockSkew: duration(
    'MAX_CLOCK_SKEW',
    300_000,
    'A record dated more than this ahead of its Kafka timestamp is rejected (future_ts). Shorter than WATERMARK.',
  ),
}

/**
 * The checks between engine settings that one value alone cannot make: a record at the
 * largest allowed skew moves the watermark to `kafka time + MAX_CLOCK_SKEW - WATERMARK`,
 * which must stay behind the present or on-time records would be late.
 */
export function engineSettingsProblems(c: {
  watermark: number
  maxClockSkew: number
  window: number
  windows: readonly number[]
}): string[] {
  const problems: string[] = []
  if (c.maxClockSkew >= c.watermark)
    problems.push(
      `MAX_CLOCK_SKEW (${c.maxClockSkew} ms) must be shorter than WATERMARK (${c.watermark} ms): ` +
        'a record dated that far ahead would make on-time records late',
    )
  for (const ms of c.windows) {
    if (ms > c.window && ms % 1000 !== 0)
      problems.push(
        `WINDOWS: ${ms} ms is not a whole number of seconds (the rollup table keys windows by seconds)`,
      )
    if (ms < c.window || ms % c.window !== 0)
      problems.push(
        `WINDOWS: ${ms} ms is not a whole multiple of WINDOW (${c.window} ms); every window must be made of whole base windows`,
      )
  }
  return problems
}

/** The longer windows of WINDOWS (those beyond WINDOW), ascending and without repeats: the engine's rollupMs. */
export function rollupWindowsOf(c: { window: number; windows: readonly number[] }): number[] {
  return [...new Set(c.windows.filter((ms) => ms > c.window))].sort((a, b) => a - b)
}

/** Throws one CONFIG_INVALID naming every problem (as `loadConfig` does for single values). */
export function failOnProblems(problems: readonly string[]): void {
  if (problems.length === 0) return
  throw new RtsaError('CONFIG_INVALID', `Bad configuration: ${problems.join('; ')}`, {
    details: { problems },
  })
}

/** The libpq TLS modes PostgreSQL users know; the driver verifies fully for all but disable and no-verify. */
export const PG_SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'] as const

export const postgresSettings = {
  databaseUrl: secret(
    'DATABASE_URL',
    undefined,
    'PostgreSQL URL (sslmode=verify-full&sslrootcert=<file> for TLS). Unset (and no PGHOST): the local server.',
  ),
  pgHost: text(['PGHOST', 'PG_HOST'], undefined, 'PostgreSQL host, when DATABASE_URL is not given.'),
  pgPort: port()(['PGPORT', 'PG_PORT'], 5432, 'PostgreSQL port (also the port of the local server).'),
  pgDatabase: text(['PGDATABASE', 'PG_DB'], 'realtime', 'Database name.'),
  pgUser: text(['PGUSER', 'PG_USER'], undefined, 'Database user (with PGHOST). Local server: its own roles.'),
  pgPassword: secret(
    ['PGPASSWORD', 'PG_PASS'],
    undefined,
    'Database password (with PGHOST). Local server: generated, in RTSA_HOME.',
  ),
  pgSslMode: oneOf(PG_SSL_MODES)(
    'PGSSLMODE',
    undefined,
    'TLS to PostgreSQL: disable, no-verify, or verify-full (require and verify-ca verify fully too).',
  ),
  pgSslRootCert: text('PGSSLROOTCERT', undefined, "PEM file of the CA that signed the server's certificate."),
  pgSslCert: text('PGSSLCERT', undefined, 'PEM client certificate (certificate logins).'),
  pgSslKey: text('PGSSLKEY', undefined, "Private key of PGSSLCERT's certificate."),
}

export const startingOffsetsSetting = {
  startingOffsets: oneOf(['earliest', 'latest'] as const)(
    'STARTING_OFFSETS',
    'earliest',
    'Where a partition without a checkpoint starts.',
  ),
}

export const commonSettings = {
  home: text('RTSA_HOME', '.rtsa', 'Folder of local state: broker and database data, logs, caches.'),
  logLevel: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const)(
    'LOG_LEVEL',
    'info',
    'Log level.',
  ),
}

/** The connection settings of PostgreSQL as `pg` wants them. */
export interface PgConnection {
  readonly connectionString?: string
  readonly host?: string
  readonly port?: number
  readonly database?: string
  readonly user?: string
  readonly password?: string
}

/** The settings a PostgreSQL connection is made of (postgresSettings and RTSA_HOME). */
export interface PgSettings {
  readonly home: string
  readonly databaseUrl: string | undefined
  readonly pgHost: string | undefined
  readonly pgPort: number
  readonly pgDatabase: string
  readonly pgUser: string | undefined
  readonly pgPassword: string | undefined
  readonly pgSslMode: (typeof PG_SSL_MODES)[number] | undefined
  readonly pgSslRootCert: string | undefined
  readonly pgSslCert: string | undefined
  readonly pgSslKey: string | undefined
}

/** The URL query parameters of libpq's TLS settings, and the PG* variables that give them. */
const SSL_PARAMS = [
  ['sslmode', 'PGSSLMODE', 'pgSslMode'],
  ['sslrootcert', 'PGSSLROOTCERT', 'pgSslRootCert'],
  ['sslcert', 'PGSSLCERT', 'pgSslCert'],
  ['sslkey', 'PGSSLKEY', 'pgSslKey'],
] as const

/**
 * The PostgreSQL connection of a service, always as one URL (the form every part and
 * tool takes): DATABASE_URL, else PGHOST and the other PG* settings, else the local
 * server's `role` (writer: the processor; reader: the API and read-only commands) with
 * its password from RTSA_HOME. PGSSLMODE, PGSSLROOTCERT, PGSSLCERT and PGSSLKEY apply as in
 * libpq, where the URL does not say; each file they name must be readable (checked here,
 * so a typo is one CONFIG_INVALID, not a crash in the driver).
 */
export function pgConnectionOf(c: PgSettings, role: 'writer' | 'reader' = 'writer'): PgConnection {
  const problems: string[] = []
  let url: URL | undefined
  if (c.databaseUrl !== undefined) {
    try {
      url = new URL(c.databaseUrl)
    } catch {
      // The value holds a password: never echo it.
      problems.push('DATABASE_URL is not a URL (postgres://user:password@host:port/database)')
    }
    if (url !== undefined && !['postgres:', 'postgresql:'].includes(url.protocol))
      problems.push(`DATABASE_URL must start with postgres:// (not ${url.protocol}//)`)
  } else if (c.pgHost !== undefined) {
    if (c.pgUser === undefined) problems.push('PGHOST needs PGUSER (the database user)')
    const auth =
      c.pgPassword === undefined
        ? encodeURIComponent(c.pgUser ?? '')
        : `${encodeURIComponent(c.pgUser ?? '')}:${encodeURIComponent(c.pgPassword)}`
    const host = c.pgHost.includes(':') ? `[${c.pgHost}]` : c.pgHost
    url = new URL(`postgres://${auth}@${host}:${c.pgPort}/${encodeURIComponent(c.pgDatabase)}`)
  } else {
    const file = credentialsFileOf(resolve(c.home))
    const creds = loadLocalCredentials(file)
    if (creds === undefined) {
      throw new RtsaError(
        'POSTGRES_UNREACHABLE',
        `The local PostgreSQL of RTSA_HOME=${c.home} is not set up (no ${file}): start it with \`rtsa up\`, or set DATABASE_URL`,
      )
    }
    return { connectionString: localUrlOf(creds, role, c.pgPort, c.pgDatabase) }
  }
  if (url !== undefined) {
    for (const [param, , key] of SSL_PARAMS) {
      const value = c[key]
      if (value !== undefined && !url.searchParams.has(param)) url.searchParams.set(param, value)
    }
    for (const [param, env] of SSL_PARAMS.slice(1)) {
      const path = url.searchParams.get(param)
      const name =
        url.searchParams.has(param) && c.databaseUrl !== undefined ? `DATABASE_URL's ${param}` : env
      if (path !== null) readSettingFile(name, path, problems)
    }
  }
  failOnProblems(problems)
  return { connectionString: url!.toString() }
}

/** True when the user pointed rtsa at a PostgreSQL server of their own. */
export function hasExternalPostgres(c: {
  databaseUrl: string | undefined
  pgHost: string | undefined
}): boolean {
  return c.databaseUrl !== undefined || c.pgHost !== undefined
}

/** The same connection as one URL (for tools that want a string). */
export function pgUrlOf(c: PgConnection): string {
  if (c.connectionString !== undefined) return c.connectionString
  const auth = `${encodeURIComponent(c.user ?? '')}:${encodeURIComponent(c.password ?? '')}`
  return `postgres://${auth}@${c.host ?? '127.0.0.1'}:${c.port ?? 5432}/${encodeURIComponent(c.database ?? '')}`
}
