/** The Kafka connection settings: each combination that cannot work is refused at startup, naming the variables. */
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadConfig } from '../../src/config/define.ts'
import { kafkaOf } from '../../src/config/kafka.ts'
import { kafkaSettings, localKafkaSettings } from '../../src/config/settings.ts'
import { describeConnection, libraryOptions } from '../../src/kafka/connection.ts'

const dir = mkdtempSync(join(tmpdir(), 'rtsa-kafka-config-'))
const PEM_CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
const PEM_KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n'
const file = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}
const ca = file('ca.pem', PEM_CERT)
const cert = file('client.pem', PEM_CERT)
const key = file('client.key', PEM_KEY)
const pw = file('password', 'from-a-file\n')

const load = (env: Record<string, string>) =>
  kafkaOf(loadConfig({ ...kafkaSettings, ...localKafkaSettings }, env))
const problemsOf = (env: Record<string, string>): string => {
  try {
    load(env)
  } catch (error) {
    assert.equal((error as { code?: string }).code, 'CONFIG_INVALID')
    return (error as Error).message
  }
  assert.fail('expected CONFIG_INVALID')
}
const SASL = {
  KAFKA_BOOTSTRAP: 'kafka.example:9093',
  KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
  KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
  KAFKA_SASL_USERNAME: 'app',
  KAFKA_SASL_PASSWORD: 's3cret',
}

test('defaults: PLAINTEXT to the local broker on KAFKA_PORT', () => {
  const c = load({ KAFKA_PORT: '19999' })
  assert.deepEqual(c, { bootstrap: ['127.0.0.1:19999'], protocol: 'PLAINTEXT' })
  assert.deepEqual(libraryOptions(c), { bootstrapBrokers: ['127.0.0.1:19999'] })
})

test('SASL_SSL: mechanism, user and password go to the client; TLS verifies with the CA file', () => {
  const c = load({ ...SASL, KAFKA_SECURITY_PROTOCOL: 'sasl_ssl', KAFKA_SSL_CA_FILE: ca })
  const o = libraryOptions(c)
  assert.deepEqual(o.sasl, { mechanism: 'SCRAM-SHA-512', username: 'app', password: 's3cret' })
  assert.equal(o.tls?.rejectUnauthorized, true)
  assert.equal(o.tls?.ca, PEM_CERT)
  assert.doesNotMatch(describeConnection(c), /s3cret/)
  assert.match(describeConnection(c), /SASL_SSL SCRAM-SHA-512 as app/)
})

test("the password file's trailing newline is not part of the password; password and file together are refused", () => {
  const { KAFKA_SASL_PASSWORD: _, ...rest } = SASL
  assert.equal(load({ ...rest, KAFKA_SASL_PASSWORD_FILE: pw }).sasl?.password, 'from-a-file')
  assert.match(
    problemsOf({ ...SASL, KAFKA_SASL_PASSWORD_FILE: pw }),
    /KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both/,
  )
  assert.match(
    problemsOf({ ...rest, KAFKA_SASL_PASSWORD_FILE: join(dir, 'nope') }),
    /KAFKA_SASL_PASSWORD_FILE=.*cannot be read/,
  )
})

test('mutual TLS: certificate and key together, PEM checked', () => {
  const c = load({
    KAFKA_BOOTSTRAP: 'k:9094',
    KAFKA_SECURITY_PROTOCOL: 'SSL',
    KAFKA_SSL_CERT_FILE: cert,
    KAFKA_SSL_KEY_FILE: key,
  })
  assert.equal(libraryOptions(c).tls?.key, PEM_KEY)
  assert.equal(libraryOptions(c).sasl, undefined)
  assert.match(
    problemsOf({ KAFKA_BOOTSTRAP: 'k:9094', KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CERT_FILE: cert }),
    /KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together/,
  )
  assert.match(
    problemsOf({ KAFKA_BOOTSTRAP: 'k:9094', KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CA_FILE: key }),
    /KAFKA_SSL_CA_FILE does not hold a PEM certificate/,
  )
})

test('settings that cannot work are refused, every problem named at once', () => {
  const m = problemsOf({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' })
  for (const name of [
    'KAFKA_BOOTSTRAP',
    'KAFKA_SASL_MECHANISM',
    'KAFKA_SASL_USERNAME',
    'KAFKA_SASL_PASSWORD',
  ])
    assert.match(m, new RegExp(name))
  assert.match(
    problemsOf({ KAFKA_BOOTSTRAP: 'k:1', KAFKA_SASL_USERNAME: 'app', KAFKA_SSL_CA_FILE: ca }),
    /KAFKA_SASL_USERNAME set but KAFKA_SECURITY_PROTOCOL=PLAINTEXT does not use SASL.*KAFKA_SSL_CA_FILE set but .* does not use TLS/,
  )
  assert.throws(() => load({ KAFKA_SECURITY_PROTOCOL: 'TLS' }), /KAFKA_SECURITY_PROTOCOL="TLS" is invalid/)
  assert.throws(
    () => load({ ...SASL, KAFKA_SASL_MECHANISM: 'GSSAPI' }),
    /KAFKA_SASL_MECHANISM="GSSAPI" is invalid/,
  )
  assert.throws(() => load({ KAFKA_REPLICATION_FACTOR: '0' }), /KAFKA_REPLICATION_FACTOR="0" is invalid/)
  assert.throws(() => load({ KAFKA_CREATE_TOPICS: 'maybe' }), /KAFKA_CREATE_TOPICS="maybe" is invalid/)
})

test('a setting file that is huge, a folder or empty is refused naming the setting', () => {
  const big = file('big.pem', `${PEM_CERT}${'x'.repeat(1024 * 1024 + 1)}`)
  const empty = file('empty.pem', '  \n')
  const base = { KAFKA_BOOTSTRAP: 'k:9094', KAFKA_SECURITY_PROTOCOL: 'SSL' }
  assert.match(
    problemsOf({ ...base, KAFKA_SSL_CA_FILE: big }),
    /KAFKA_SSL_CA_FILE=.* bytes, more than a certificate or secret/,
  )
  assert.match(problemsOf({ ...base, KAFKA_SSL_CA_FILE: dir }), /KAFKA_SSL_CA_FILE=.* is not a file/)
  assert.match(problemsOf({ ...base, KAFKA_SSL_CA_FILE: empty }), /KAFKA_SSL_CA_FILE=.* is empty/)
})
