/** Which client errors mean "fix a setting" (not retryable), and which setting each names. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type KafkaConnection, securityFailureOf } from '../../src/kafka/connection.ts'

const conn: KafkaConnection = {
  bootstrap: ['k:9093'],
  protocol: 'SASL_SSL',
  sasl: { mechanism: 'SCRAM-SHA-512', username: 'app', password: 'hidden' },
  tls: {},
}
const wrapped = (inner: object) =>
  Object.assign(new Error('outer'), { errors: [Object.assign(new Error('mid'), { cause: inner })] })

test('a SASL failure names the credentials settings, never the password', () => {
  const e = securityFailureOf(
    wrapped({ code: 'PLT_KFK_AUTHENTICATION', message: 'SASL authentication failed.' }),
    conn,
  )
  assert.equal(e?.code, 'KAFKA_AUTH_FAILED')
  assert.equal(e?.retryable, false)
  assert.match(e!.message, /KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/)
  assert.doesNotMatch(e!.message, /hidden/)
})

test('an untrusted certificate names KAFKA_SSL_CA_FILE; a refused client certificate names the cert files', () => {
  assert.match(securityFailureOf({ code: 'SELF_SIGNED_CERT_IN_CHAIN' }, conn)!.message, /KAFKA_SSL_CA_FILE/)
  assert.match(securityFailureOf({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, conn)!.message, /not trusted/)
  assert.match(
    securityFailureOf({ code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' }, conn)!.message,
    /KAFKA_SSL_CERT_FILE/,
  )
})

test('a denied operation is KAFKA_NOT_AUTHORIZED naming the principal', () => {
  const e = securityFailureOf(wrapped({ apiId: 'GROUP_AUTHORIZATION_FAILED' }), conn)
  assert.equal(e?.code, 'KAFKA_NOT_AUTHORIZED')
  assert.match(e!.message, /denied app \(GROUP_AUTHORIZATION_FAILED\)/)
})

test('other failures are not security failures, and a hostile error shape ends the walk', () => {
  assert.equal(securityFailureOf(new Error('ECONNREFUSED'), conn), undefined)
  assert.equal(securityFailureOf(null, conn), undefined)
  const loop: { cause?: unknown } = {}
  loop.cause = loop
  assert.equal(securityFailureOf(loop, conn), undefined)
  const wide = { errors: Array.from({ length: 10_000 }, () => ({ code: 'X' })) }
  assert.equal(securityFailureOf(wide, conn), undefined)
})
