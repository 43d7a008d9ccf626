/** The PostgreSQL connection settings: one URL from DATABASE_URL, PG* or the local server; bad values named, passwords never echoed. */
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadConfig } from '../../src/config/define.ts'
import { commonSettings, pgConnectionOf, postgresSettings } from '../../src/config/settings.ts'

const dir = mkdtempSync(join(tmpdir(), 'rtsa-pg-config-'))
const ca = join(dir, 'ca.pem')
writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n')
const urlOf = (env: Record<string, string>, role?: 'writer' | 'reader') =>
  pgConnectionOf(loadConfig({ ...commonSettings, ...postgresSettings }, { RTSA_HOME: dir, ...env }), role)
    .connectionString!

test('DATABASE_URL as given; PGSSL* fill in what it does not say', () => {
  assert.equal(urlOf({ DATABASE_URL: 'postgres://u:p@db:5432/x' }), 'postgres://u:p@db:5432/x')
  const u = new URL(
    urlOf({ DATABASE_URL: 'postgres://u:p@db/x?sslmode=require', PGSSLMODE: 'disable', PGSSLROOTCERT: ca }),
  )
  assert.equal(u.searchParams.get('sslmode'), 'require', 'the URL wins')
  assert.equal(u.searchParams.get('sslrootcert'), ca)
})

test('the PG* form: user and password encoded, TLS settings as URL parameters', () => {
  const u = new URL(
    urlOf({ PGHOST: 'db', PGUSER: 'r@t', PGPASSWORD: 'p:/@w', PGSSLMODE: 'verify-full', PGSSLROOTCERT: ca }),
  )
  assert.equal(decodeURIComponent(u.username), 'r@t')
  assert.equal(decodeURIComponent(u.password), 'p:/@w')
  assert.equal(u.searchParams.get('sslmode'), 'verify-full')
})

test('hostile values: not a URL, another scheme, a CA file that is not there; the password is never echoed', () => {
  assert.throws(
    () => urlOf({ DATABASE_URL: 'not a url with secret-pw' }),
    (e: Error) => {
      assert.match(e.message, /DATABASE_URL is not a URL/)
      assert.doesNotMatch(e.message, /secret-pw/)
      return true
    },
  )
  assert.throws(
    () => urlOf({ DATABASE_URL: 'mysql://u:secret-pw@db/x' }),
    /must start with postgres:\/\/ \(not mysql:\/\/\)/,
  )
  assert.throws(
    () => urlOf({ DATABASE_URL: `postgres://u:p@db/x?sslrootcert=${join(dir, 'nope')}` }),
    /DATABASE_URL's sslrootcert=.*cannot be read/,
  )
  assert.throws(() => urlOf({ PGHOST: 'db' }), /PGHOST needs PGUSER/)
  assert.throws(() => urlOf({ PGSSLMODE: 'sometimes' }), /PGSSLMODE="sometimes" is invalid/)
})

test('the local server without its credentials file: a clear error naming what to do', () => {
  assert.throws(() => urlOf({}), /The local PostgreSQL of RTSA_HOME=.* is not set up .*rtsa up.*DATABASE_URL/)
})
