/**
 * The one catalogue of rtsa's error codes. Every error a part of rtsa raises on
 * purpose is an {@link RtsaError} with one of these codes, so logs, the CLI and
 * the API can react to the code rather than to a message.
 *
 * `retryable` says whether trying the same operation again later can succeed
 * (a broker that is restarting) or cannot (a bad setting); `status` is the HTTP status
 * the API answers when the error reaches it (the body names the code). README's table
 * of codes is checked against this one by test/errors/catalogue.test.ts.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: { retryable: false, status: 500, summary: 'a setting has a bad value' },
  DEPENDENCY_MISSING: { retryable: false, status: 500, summary: 'a program rtsa needs is not installed' },
  KAFKA_INSTALL_FAILED: {
    retryable: false,
    status: 500,
    summary: 'the local Kafka broker could not be installed',
  },
  KAFKA_START_FAILED: { retryable: true, status: 503, summary: 'the local Kafka broker did not start' },
  KAFKA_UNREACHABLE: { retryable: true, status: 503, summary: 'the Kafka broker does not answer' },
  KAFKA_REQUEST_FAILED: { retryable: true, status: 503, summary: 'a Kafka request failed' },
  KAFKA_AUTH_FAILED: {
    retryable: false,
    status: 500,
    summary: 'Kafka refused the credentials or a certificate (KAFKA_SASL_*, KAFKA_SSL_*)',
  },
  KAFKA_NOT_AUTHORIZED: {
    retryable: false,
    status: 500,
    summary: 'an ACL of the Kafka cluster denies rtsa an operation it needs',
  },
  KAFKA_TOPIC_MISSING: {
    retryable: false,
    status: 500,
    summary: 'a topic rtsa needs does not exist and KAFKA_CREATE_TOPICS=false',
  },
  KAFKA_RECORD_TOO_LARGE: {
    retryable: false,
    status: 500,
    summary: 'the broker refused records as larger than the topic allows',
  },
  POSTGRES_START_FAILED: {
    retryable: true,
    status: 503,
    summary: 'the local PostgreSQL server did not start',
  },
  POSTGRES_UNREACHABLE: { retryable: true, status: 503, summary: 'the PostgreSQL server does not answer' },
  POSTGRES_AUTH_FAILED: {
    retryable: false,
    status: 500,
    summary: 'PostgreSQL refused the login or its certificate is not trusted',
  },
  POSTGRES_BUSY: {
    retryable: true,
    status: 503,
    summary: 'every database connection is in use; retry shortly',
  },
  POSTGRES_QUERY_FAILED: { retryable: true, status: 500, summary: 'a PostgreSQL query failed' },
  COMMIT_STALLED: {
    retryable: true,
    status: 503,
    summary: 'the processor could not commit for COMMIT_STALL_TIMEOUT and gave its partitions up',
  },
  SCHEMA_MIGRATION_FAILED: {
    retryable: false,
    status: 500,
    summary: 'the database schema could not be migrated',
  },
  SNAPSHOT_INCOMPATIBLE: {
    retryable: false,
    status: 500,
    summary: 'a stored engine snapshot has an unknown format',
  },
  CAPACITY_EXCEEDED: {
    retryable: true,
    status: 503,
    summary: 'a capacity limit of the API is reached (e.g. API_LIVE_MAX_CLIENTS); retry later',
  },
  INPUT_INVALID: { retryable: false, status: 400, summary: 'an input file, argument or request is invalid' },
  RATE_LIMITED: {
    retryable: true,
    status: 429,
    summary: 'this client sent more requests than API_RATE_LIMIT allows; retry after the given time',
  },
  UNAUTHORIZED: { retryable: false, status: 401, summary: 'the request has no or a wrong API token' },
  SERVICE_TIMEOUT: { retryable: true, status: 503, summary: 'a service did not become ready in time' },
  PROCESS_FAILED: { retryable: false, status: 500, summary: 'a child process exited unexpectedly' },
  METHOD_NOT_ALLOWED: {
    retryable: false,
    status: 405,
    summary: 'the path exists but not for this method (the Allow header lists them)',
  },
  NOT_FOUND: { retryable: false, status: 404, summary: 'the requested thing does not exist' },
  INTERNAL: { retryable: false, status: 500, summary: 'a bug in rtsa' },
} as const satisfies Record<string, { retryable: boolean; status: HttpStatus; summary: string }>

/** The HTTP statuses of the catalogue, and the short name an API error body gives each. */
export const HTTP_ERRORS = {
  400: 'bad_request',
  401: 'unauthorized',
  404: 'not_found',
  405: 'method_not_allowed',
  429: 'too_many_requests',
  500: 'internal_error',
  503: 'service_unavailable',
} as const

export type HttpStatus = keyof typeof HTTP_ERRORS
export type HttpErrorName = (typeof HTTP_ERRORS)[HttpStatus]

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

/** The catalogue's HTTP status of a code. */
export function statusOf(code: ErrorCode): HttpStatus {
  return ERROR_CODES[code].status
}

export function isRtsaError(error: unknown, code?: ErrorCode): error is RtsaError {
  return error instanceof RtsaError && (code === undefined || error.code === code)
}

/** The message of any thrown value, for logs and one-line reports. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}
