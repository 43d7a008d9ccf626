/**
 * How rtsa reaches a Kafka cluster: its bootstrap servers and its security (TLS, SASL).
 * Every client of src/kafka is made from one {@link KafkaConnection}, so the processor,
 * the dead-letter relay, the generator and the CLI all connect the same way. A plain list
 * of servers is a PLAINTEXT connection (the local broker, tests).
 */
import type { ConnectionOptions as TlsOptions } from 'node:tls'
import { RtsaError } from '../errors/catalogue.ts'
import { UNTRUSTED_CERTIFICATE_CODES } from '../errors/tls.ts'

export const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const
export type SecurityProtocol = (typeof SECURITY_PROTOCOLS)[number]
export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const
export type SaslMechanism = (typeof SASL_MECHANISMS)[number]

export interface KafkaConnection {
  readonly bootstrap: readonly string[]
  readonly protocol: SecurityProtocol
  /** Present exactly when the protocol is SASL_*. */
  readonly sasl?: { readonly mechanism: SaslMechanism; readonly username: string; readonly password: string }
  /** PEM contents (not paths); present only for SSL and SASL_SSL. No `ca`: the system's CAs. */
  readonly tls?: { readonly ca?: string; readonly cert?: string; readonly key?: string }
}

/** What the clients take: a connection, or bare servers (PLAINTEXT). */
export type KafkaTarget = readonly string[] | KafkaConnection

export function connectionOf(target: KafkaTarget): KafkaConnection {
  return isConnection(target) ? target : { bootstrap: target, protocol: 'PLAINTEXT' }
}

function isConnection(target: KafkaTarget): target is KafkaConnection {
  return !Array.isArray(target)
}

export function bootstrapOfTarget(target: KafkaTarget): readonly string[] {
  return connectionOf(target).bootstrap
}

/** The client library's connection options for a connection (servers, `tls`, `sasl`). */
export function libraryOptions(target: KafkaTarget): {
  bootstrapBrokers: string[]
  tls?: TlsOptions
  sasl?: { mechanism: SaslMechanism; username: string; password: string }
} {
  const c = connectionOf(target)
  const tls = c.protocol === 'SSL' || c.protocol === 'SASL_SSL'
  return {
    bootstrapBrokers: [...c.bootstrap],
    // Certificates are always verified, host names included: there is no switch to turn it off.
    ...(tls
      ? {
          tls: {
            rejectUnauthorized: true,
            ...(c.tls?.ca === undefined ? {} : { ca: c.tls.ca }),
            ...(c.tls?.cert === undefined ? {} : { cert: c.tls.cert }),
            ...(c.tls?.key === undefined ? {} : { key: c.tls.key }),
          },
        }
      : {}),
    ...(c.sasl === undefined ? {} : { sasl: { ...c.sasl } }),
  }
}

/** The connection in words for logs and errors: servers, protocol, mechanism and user, never the password. */
export function describeConnection(target: KafkaTarget): string {
  const c = connectionOf(target)
  const who = c.sasl === undefined ? '' : ` ${c.sasl.mechanism} as ${c.sasl.username}`
  const cert = c.tls?.cert === undefined ? '' : ' with a client certificate'
  return `${c.bootstrap.join(',')} (${c.protocol}${who}${cert})`
}

/** The broker's answers that mean "this principal may not", per resource. */
const DENIED = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
])

/** The errors in a chain (`cause`, `errors`), at most 50, so a hostile shape cannot make the walk run long. */
function chain(error: unknown): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = []
  const todo: unknown[] = [error]
  while (todo.length > 0 && out.length < 50) {
    const e = todo.shift()
    if (typeof e !== 'object' || e === null) continue
    const r = e as Record<string, unknown>
    out.push(r)
    if (Array.isArray(r.errors)) todo.push(...r.errors.slice(0, 20))
    if ('cause' in r) todo.push(r.cause)
  }
  return out
}

/**
 * When `error` says the connection's credentials or certificates are wrong, or the
 * principal lacks a permission, the one clear error naming the setting to fix (not
 * retryable: trying again sends the same credentials). Undefined for any other error.
 */
export function securityFailureOf(error: unknown, target: KafkaTarget): RtsaError | undefined {
  const c = connectionOf(target)
  const where = describeConnection(c)
  for (const e of chain(error)) {
    const code = typeof e.code === 'string' ? e.code : ''
    const apiId = typeof e.apiId === 'string' ? e.apiId : ''
    if (code === 'PLT_KFK_AUTHENTICATION' || apiId === 'SASL_AUTHENTICATION_FAILED') {
      return new RtsaError(
        'KAFKA_AUTH_FAILED',
        `Kafka ${where} refused the credentials: check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE) and KAFKA_SASL_MECHANISM`,
        { cause: error },
      )
    }
    if (apiId === 'UNSUPPORTED_SASL_MECHANISM' || apiId === 'ILLEGAL_SASL_STATE') {
      return new RtsaError(
        'KAFKA_AUTH_FAILED',
        `Kafka ${where} does not take SASL mechanism ${c.sasl?.mechanism ?? '(none)'}: check KAFKA_SASL_MECHANISM and KAFKA_SECURITY_PROTOCOL`,
        { cause: error },
      )
    }
    if (UNTRUSTED_CERTIFICATE_CODES.has(code)) {
      return new RtsaError(
        'KAFKA_AUTH_FAILED',
        `The certificate of Kafka ${where} is not trusted (${code}): set KAFKA_SSL_CA_FILE to the CA that signed it, and connect by a name the certificate holds`,
        { cause: error },
      )
    }
    if (/^ERR_SSL_.*CERTIFICATE_REQUIRED$/.test(code) || /^ERR_SSL_.*(BAD|UNKNOWN)_CERTIFICATE$/.test(code)) {
      return new RtsaError(
        'KAFKA_AUTH_FAILED',
        `Kafka ${where} refused the client certificate (${code}): check KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE`,
        { cause: error },
      )
    }
    if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
      return new RtsaError(
        'KAFKA_AUTH_FAILED',
        `Kafka ${where} does not speak TLS on that port: check KAFKA_SECURITY_PROTOCOL and KAFKA_BOOTSTRAP`,
        { cause: error },
      )
    }
    if (DENIED.has(apiId)) {
      const principal = c.sasl?.username ?? (c.tls?.cert === undefined ? 'ANONYMOUS' : 'the certificate')
      return new RtsaError(
        'KAFKA_NOT_AUTHORIZED',
        `Kafka ${where} denied ${principal} (${apiId}): grant the ACLs in README's "Deploying against your own Kafka and PostgreSQL"`,
        { cause: error },
      )
    }
  }
  return undefined
}
