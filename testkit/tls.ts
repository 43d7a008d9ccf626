/**
 * Certificates for tests of TLS (Kafka's SSL and SASL_SSL listeners, PostgreSQL's ssl=on),
 * made with openssl in a folder of the test: a CA, a server certificate for 127.0.0.1 and
 * localhost signed by it (also as a PKCS12 keystore for the broker), a client certificate
 * for mutual TLS, and a second CA that signed nothing (the "wrong CA").
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { run } from '../src/infra/exec.ts'

export interface TestCertificates {
  readonly dir: string
  readonly caFile: string
  readonly otherCaFile: string
  readonly serverCertFile: string
  readonly serverKeyFile: string
  /** PKCS12 keystore of the server certificate and key, password `keystorePassword`. */
  readonly serverKeystore: string
  readonly keystorePassword: string
  /** Client certificate (CN=`clientName`) and key, for mutual TLS. */
  readonly clientCertFile: string
  readonly clientKeyFile: string
  readonly clientName: string
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

async function selfSigned(dir: string, name: string): Promise<void> {
  await run('openssl', [
    'req',
    '-x509',
    ...EC,
    '-keyout',
    join(dir, `${name}.key`),
    '-out',
    join(dir, `${name}.pem`),
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
  ])
}

async function signed(dir: string, name: string, subject: string, extensions: string): Promise<void> {
  const ext = join(dir, `${name}.ext`)
  writeFileSync(ext, `${extensions}\n`)
  await run('openssl', [
    'req',
    ...EC,
    '-keyout',
    join(dir, `${name}.key`),
    '-out',
    join(dir, `${name}.csr`),
    '-subj',
    subject,
  ])
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    join(dir, `${name}.csr`),
    '-CA',
    join(dir, 'ca.pem'),
    '-CAkey',
    join(dir, 'ca.key'),
    '-CAcreateserial',
    '-out',
    join(dir, `${name}.pem`),
    '-days',
    '2',
    '-extfile',
    ext,
  ])
}

/** Makes a fresh set of certificates in `dir`. */
export async function makeCertificates(dir: string, clientName = 'app'): Promise<TestCertificates> {
  mkdirSync(dir, { recursive: true })
  await selfSigned(dir, 'ca')
  await selfSigned(dir, 'other-ca')
  await signed(
    dir,
    'server',
    '/CN=localhost',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth',
  )
  await signed(dir, 'client', `/CN=${clientName}`, 'extendedKeyUsage=clientAuth')
  const keystorePassword = 'test-keystore-secret'
  await run('openssl', [
    'pkcs12',
    '-export',
    '-in',
    join(dir, 'server.pem'),
    '-inkey',
    join(dir, 'server.key'),
    '-certfile',
    join(dir, 'ca.pem'),
    '-name',
    'server',
    '-out',
    join(dir, 'server.p12'),
    '-passout',
    `pass:${keystorePassword}`,
  ])
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    otherCaFile: join(dir, 'other-ca.pem'),
    serverCertFile: join(dir, 'server.pem'),
    serverKeyFile: join(dir, 'server.key'),
    serverKeystore: join(dir, 'server.p12'),
    keystorePassword,
    clientCertFile: join(dir, 'client.pem'),
    clientKeyFile: join(dir, 'client.key'),
    clientName,
  }
}
