/**
 * The one catalogue of rtsa's error codes. Every error a part of rtsa raises on
 * purpose is an {@link RtsaError} with one of these codes, so logs, the CLI and
 * the API can react to the code rather than to a message.
 *
 * `retryable` says whether trying the same operation again later can succeed
 * (a broker that is restarting) or cannot (a bad setting).
 */
export const ERROR_CODES = {
  CONFIG_INVALID: { retryable: false, summary: 'a setting has a bad value' },
  DEPENDENCY_MISSING: { retryable: false, summary: 'a program rtsa needs is not installed' },
  KAFKA_INSTALL_FAILED: { retryable: false, summary: 'the local Kafka broker could not be installed' },
  KAFKA_START_FAILED: { retryable: true, summary: 'the local Kafka broker did not start' },
  KAFKA_UNREACHABLE: { retryable: true, summary: 'the Kafka broker does not answer' },
  KAFKA_REQUEST_FAILED: { retryable: true, summary: 'a Kafka request failed' },
  KAFKA_RECORD_TOO_LARGE: {
    retryable: false,
    summary: 'the broker refused records as larger than the topic allows',
  },
  POSTGRES_START_FAILED: { retryable: true, summary: 'the local PostgreSQL server did not start' },
  POSTGRES_UNREACHABLE: { retryable: true, summary: 'the PostgreSQL server does not answer' },
  POSTGRES_QUERY_FAILED: { retryable: true, summary: 'a PostgreSQL query failed' },
  SCHEMA_MIGRATION_FAILED: { retryable: false, summary: 'the database schema could not be migrated' },
  PARTITION_FENCED: { retryable: false, summary: 'another processor owns this partition now' },
  SNAPSHOT_INCOMPATIBLE: { retryable: false, summary: 'a stored engine snapshot has an unknown format' },
  EVENT_REJECTED: { retryable: false, summary: 'an input record is not a valid event' },
  INPUT_INVALID: { retryable: false, summary: 'an input file or argument is invalid' },
  SERVICE_TIMEOUT: { retryable: true, summary: 'a service did not become ready in time' },
  PROCESS_FAILED: { retryable: false, summary: 'a child process exited unexpectedly' },
  NOT_FOUND: { retryable: false, summary: 'the requested thing does not exist' },
  INTERNAL: { retryable: false, summary: 'a bug in rtsa' },
} as const satisfies Record<string, { retryable: boolean; summary: string }>

export type ErrorCode = keyof typeof ERROR_CODES

/** A typed rtsa error: `code` from the catalogue, an optional `cause`, and whether a retry can help. */
export class RtsaError extends Error {
  readonly code: ErrorCode
  readonly retryable: boolean
  readonly details: Readonly<Record<string, unknown>>

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; retryable?: boolean; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'RtsaError'
    this.code = code
    this.retryable = options.retryable ?? ERROR_CODES[code].retryable
    this.details = options.details ?? {}
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, retryable: this.retryable, ...this.details }
  }
}

export function isRtsaError(error: unknown, code?: ErrorCode): error is RtsaError {
  return error instanceof RtsaError && (code === undefined || error.code === code)
}

/** The message of any thrown value, for logs and one-line reports. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}
