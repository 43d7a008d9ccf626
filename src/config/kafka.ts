/**
 * The Kafka connection of a service, from its settings: servers (KAFKA_BOOTSTRAP, else
 * the local broker) and security (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_*),
 * with the files they name read once at startup. Every combination that cannot work is
 * one CONFIG_INVALID naming each variable, before any connection is tried.
 */
import type { KafkaConnection, SaslMechanism, SecurityProtocol } from '../kafka/connection.ts'
import { readSettingFile } from './files.ts'
import { failOnProblems } from './settings.ts'

export interface KafkaSecurityConfig {
  readonly kafkaBootstrap: string[] | undefined
  readonly kafkaSecurityProtocol: SecurityProtocol
  readonly kafkaSaslMechanism: SaslMechanism | undefined
  readonly kafkaSaslUsername: string | undefined
  readonly kafkaSaslPassword: string | undefined
  readonly kafkaSaslPasswordFile: string | undefined
  readonly kafkaSslCaFile: string | undefined
  readonly kafkaSslCertFile: string | undefined
  readonly kafkaSslKeyFile: string | undefined
}

/** Settings given that the protocol ignores: one problem naming them (a typo'd protocol, usually). */
function unusedBy(
  problems: string[],
  settings: ReadonlyArray<readonly [string, unknown]>,
  why: string,
): void {
  const set = settings.filter(([, v]) => v !== undefined).map(([n]) => n)
  if (set.length > 0) problems.push(`${set.join(', ')} set but ${why}`)
}

function pemProblem(setting: string, text: string, kind: 'CERTIFICATE' | 'PRIVATE KEY'): string | undefined {
  const ok = kind === 'CERTIFICATE' ? /-----BEGIN CERTIFICATE-----/ : /-----BEGIN [A-Z ]*PRIVATE KEY-----/
  return ok.test(text)
    ? undefined
    : `${setting} does not hold a PEM ${kind.toLowerCase()} ("-----BEGIN ${kind}-----")`
}

/**
 * The connection every Kafka client of the service uses. `localBootstrap` is where
 * rtsa's own broker listens, used when KAFKA_BOOTSTRAP is unset.
 */
export function kafkaConnectionOf(
  c: KafkaSecurityConfig,
  localBootstrap: readonly string[],
): KafkaConnection {
  const problems: string[] = []
  const protocol = c.kafkaSecurityProtocol
  const sasl = protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL'
  const tls = protocol === 'SSL' || protocol === 'SASL_SSL'
  const bootstrap = c.kafkaBootstrap ?? localBootstrap
  if (protocol !== 'PLAINTEXT' && c.kafkaBootstrap === undefined) {
    problems.push(`KAFKA_SECURITY_PROTOCOL=${protocol} needs KAFKA_BOOTSTRAP (the local broker is PLAINTEXT)`)
  }
  let password = c.kafkaSaslPassword
  if (c.kafkaSaslPassword !== undefined && c.kafkaSaslPasswordFile !== undefined) {
    problems.push('set KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both')
  } else if (c.kafkaSaslPasswordFile !== undefined) {
    // A mounted secret usually ends with a newline that is not part of the password.
    password = readSettingFile('KAFKA_SASL_PASSWORD_FILE', c.kafkaSaslPasswordFile, problems)?.replace(
      /\r?\n$/,
      '',
    )
  }
  if (sasl) {
    if (c.kafkaSaslMechanism === undefined)
      problems.push(`KAFKA_SECURITY_PROTOCOL=${protocol} needs KAFKA_SASL_MECHANISM`)
    if (c.kafkaSaslUsername === undefined)
      problems.push(`KAFKA_SECURITY_PROTOCOL=${protocol} needs KAFKA_SASL_USERNAME`)
    if (password === undefined && c.kafkaSaslPasswordFile === undefined)
      problems.push(
        `KAFKA_SECURITY_PROTOCOL=${protocol} needs KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE`,
      )
  } else {
    unusedBy(
      problems,
      [
        ['KAFKA_SASL_MECHANISM', c.kafkaSaslMechanism],
        ['KAFKA_SASL_USERNAME', c.kafkaSaslUsername],
        ['KAFKA_SASL_PASSWORD', c.kafkaSaslPassword],
        ['KAFKA_SASL_PASSWORD_FILE', c.kafkaSaslPasswordFile],
      ],
      `KAFKA_SECURITY_PROTOCOL=${protocol} does not use SASL (SASL_SSL or SASL_PLAINTEXT does)`,
    )
  }
  let ca: string | undefined
  let cert: string | undefined
  let key: string | undefined
  if (tls) {
    if (c.kafkaSslCaFile !== undefined) {
      ca = readSettingFile('KAFKA_SSL_CA_FILE', c.kafkaSslCaFile, problems)
      const p = ca === undefined ? undefined : pemProblem('KAFKA_SSL_CA_FILE', ca, 'CERTIFICATE')
      if (p !== undefined) problems.push(p)
    }
    if ((c.kafkaSslCertFile === undefined) !== (c.kafkaSslKeyFile === undefined)) {
      problems.push('KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together (mutual TLS needs both)')
    } else if (c.kafkaSslCertFile !== undefined && c.kafkaSslKeyFile !== undefined) {
      cert = readSettingFile('KAFKA_SSL_CERT_FILE', c.kafkaSslCertFile, problems)
      key = readSettingFile('KAFKA_SSL_KEY_FILE', c.kafkaSslKeyFile, problems)
      const pc = cert === undefined ? undefined : pemProblem('KAFKA_SSL_CERT_FILE', cert, 'CERTIFICATE')
      const pk = key === undefined ? undefined : pemProblem('KAFKA_SSL_KEY_FILE', key, 'PRIVATE KEY')
      if (pc !== undefined) problems.push(pc)
      if (pk !== undefined) problems.push(pk)
    }
  } else {
    unusedBy(
      problems,
      [
        ['KAFKA_SSL_CA_FILE', c.kafkaSslCaFile],
        ['KAFKA_SSL_CERT_FILE', c.kafkaSslCertFile],
        ['KAFKA_SSL_KEY_FILE', c.kafkaSslKeyFile],
      ],
      `KAFKA_SECURITY_PROTOCOL=${protocol} does not use TLS (SSL or SASL_SSL does)`,
    )
  }
  failOnProblems(problems)
  return {
    bootstrap,
    protocol,
    ...(sasl
      ? { sasl: { mechanism: c.kafkaSaslMechanism!, username: c.kafkaSaslUsername!, password: password! } }
      : {}),
    ...(tls
      ? {
          tls: {
            ...(ca === undefined ? {} : { ca }),
            ...(cert === undefined ? {} : { cert }),
            ...(key === undefined ? {} : { key }),
          },
        }
      : {}),
  }
}

/** The topic policy of the settings (KAFKA_PARTITIONS, KAFKA_REPLICATION_FACTOR, KAFKA_CREATE_TOPICS). */
export function topicPolicyOf(c: {
  kafkaPartitions: number
  kafkaReplicationFactor: number | undefined
  kafkaCreateTopics: boolean
}): { partitions: number; replicationFactor?: number; create: boolean } {
  return {
    partitions: c.kafkaPartitions,
    ...(c.kafkaReplicationFactor === undefined ? {} : { replicationFactor: c.kafkaReplicationFactor }),
    create: c.kafkaCreateTopics,
  }
}

/** The connection of a service that may use the local broker (`rtsa up`'s, on KAFKA_PORT). */
export function kafkaOf(c: KafkaSecurityConfig & { readonly kafkaPort: number }): KafkaConnection {
  return kafkaConnectionOf(c, [`127.0.0.1:${c.kafkaPort}`])
}
