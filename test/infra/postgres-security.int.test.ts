/**
 * The local PostgreSQL is locked by default, and rtsa speaks TLS to PostgreSQL:
 * - a generated password in RTSA_HOME (0600, folder 0700), password logins only (no trust),
 *   the socket folder private; another local user can read neither the password nor the socket;
 * - the writer owns the schema and is no superuser; the reader can read and never write;
 * - with ssl=on and a generated certificate, DATABASE_URL with sslmode=verify-full and the
 *   PG* form (PGSSLMODE, PGSSLROOTCERT) work for the processor, the API and the CLI, and a
 *   wrong CA fails at once naming the setting.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { test } from 'node:test'
import pg from 'pg'
import { credentialsFileOf } from '../../src/infra/postgres/credentials.ts'
import { startLocalPostgres, stopLocalPostgres, waitForPostgres } from '../../src/infra/postgres/server.ts'
import { freePort } from '../../testkit/fault-rig.ts'
import { spawnRtsa } from '../../testkit/processes.ts'
import { makeCertificates } from '../../testkit/tls.ts'
import { defer, freshTopic, kafkaBootstrap } from '../helpers/services.ts'
import { waitFor } from '../processor/fixtures.ts'

const isRoot = process.getuid?.() === 0

const rtsa = spawnRtsa

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 })
  await c.connect()
  try {
    return (await c.query<T>(sql)).rows
  } finally {
    await c.end()
  }
}

const withCa = (url: string, ca: string) => {
  const u = new URL(url)
  u.searchParams.set('sslmode', 'verify-full')
  u.searchParams.set('sslrootcert', ca)
  return u.toString()
}

test('the local PostgreSQL: generated passwords, no trust, least-privilege roles, TLS', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'rtsa-pgsec-'))
  defer(t, () => rmSync(home, { recursive: true, force: true }))
  const certs = await makeCertificates(join(home, 'certs'))
  const port = Number(process.env.RTSA_TEST_SECURE_PG_PORT ?? 15832)
  const options = {
    home,
    ...(isRoot ? { dir: join('/var/lib/rtsa/test-pgsec', String(process.pid)) } : {}),
    port,
    database: 'realtime',
    ssl: { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile },
  }
  const server = await startLocalPostgres(options)
  defer(t, async () => {
    await stopLocalPostgres(options)
    if (isRoot)
      rmSync(join('/var/lib/rtsa/test-pgsec', String(process.pid)), { recursive: true, force: true })
  })
  const file = credentialsFileOf(home)
  const creds = JSON.parse(readFileSync(file, 'utf8')) as Record<string, { user: string; password: string }>
  const socketDir = resolve(server.dataDir, '..')

  await t.test('the passwords are generated and private; the socket folder too', () => {
    assert.equal(statSync(file).mode & 0o777, 0o600)
    assert.equal(statSync(join(home, 'secrets')).mode & 0o777, 0o700)
    assert.equal(statSync(socketDir).mode & 0o777, 0o700)
    assert.ok(creds.admin!.password.length >= 24 && creds.admin!.password !== 'rt')
    assert.notEqual(creds.writer!.password, creds.reader!.password)
    assert.doesNotMatch(server.connectionString, /:rt@/)
  })

  await t.test(
    'no login without the password: pg_hba has no trust, a wrong or no password is refused',
    async () => {
      const hba = readFileSync(join(server.dataDir, 'pg_hba.conf'), 'utf8')
        .split('\n')
        .filter((l) => /^\s*(local|host)/.test(l))
      assert.ok(hba.length > 0)
      for (const line of hba) assert.match(line, /scram-sha-256\s*$/, line)
      for (const auth of [`${creds.admin!.user}:wrong`, creds.admin!.user, 'postgres:']) {
        await assert.rejects(
          query(`postgres://${auth}@127.0.0.1:${port}/postgres`, 'select 1'),
          /password authentication failed|password/,
        )
      }
    },
  )

  await t.test(
    'another local user can read neither the password nor the socket',
    { skip: !isRoot && 'needs root to become another user' },
    () => {
      for (const [cmd, args] of [
        ['cat', [file]],
        ['ls', [socketDir]],
      ] as const) {
        const r = spawnSync('runuser', ['-u', 'nobody', '--', cmd, ...args], { encoding: 'utf8' })
        assert.notEqual(r.status, 0, `${cmd} ${args.join(' ')} as nobody: ${r.stdout}`)
        assert.match(r.stderr, /Permission denied/)
      }
    },
  )

  await t.test('the writer owns the schema and is no superuser; the reader can only read', async () => {
    const [w] = await query<{ super: boolean; owner: string }>(
      server.connectionString,
      `select rolsuper as super, (select nspowner::regrole::text from pg_namespace where nspname = 'public') as owner
         from pg_roles where rolname = current_user`,
    )
    assert.deepEqual(w, { super: false, owner: creds.writer!.user })
    await query(server.connectionString, 'create table t_writer (x int)')
    await query(server.connectionString, 'insert into t_writer values (1)')
    assert.deepEqual(await query(server.readerUrl, 'select x from t_writer'), [{ x: 1 }])
    await assert.rejects(query(server.readerUrl, 'insert into t_writer values (2)'), /permission denied/)
    await assert.rejects(query(server.readerUrl, 'create table t_reader (x int)'), /permission denied/)
    await assert.rejects(query(server.connectionString, 'create role sneaky'), /permission denied/)
    await assert.rejects(
      query(server.connectionString, "copy t_writer to program 'id'"),
      /permission denied|must be superuser|pg_execute_server_program/,
    )
  })

  await t.test('verify-full with the CA: the processor commits over TLS', async (t) => {
    const topic = await freshTopic(t, 2, 'pgtls')
    const proc = rtsa(['process'], {
      KAFKA_BOOTSTRAP: kafkaBootstrap().join(','),
      KAFKA_TOPIC: topic,
      KAFKA_DLQ_TOPIC: `${topic}.dlq`,
      KAFKA_GROUP: `rtsa-pgtls-${port}`,
      METRICS_PORT: '0',
      DATABASE_URL: withCa(server.connectionString, certs.caFile),
    })
    defer(t, async () => {
      proc.kill('SIGTERM')
      await once(proc, 'exit')
    })
    await waitFor('the processor to claim its partitions over TLS', async () => {
      if (proc.exitCode !== null) throw new Error(`the processor exited:\n${proc.output()}`)
      const rows = await query<{ ssl: boolean }>(
        server.adminUrl,
        `select s.ssl from pg_stat_ssl s join pg_stat_activity a using (pid)
          where a.application_name like 'rtsa-processor-%'`,
      )
      const claimed = await query<{ n: number }>(
        server.connectionString,
        `select count(*)::int as n from partition_checkpoints where topic = '${topic}'`,
      ).catch(() => [{ n: 0 }])
      return rows.length > 0 && rows.every((r) => r.ssl) && claimed[0]!.n === 2
    })
  })

  await t.test('the API reads over TLS (PG* settings: PGSSLMODE, PGSSLROOTCERT)', async (t) => {
    const apiPort = await freePort()
    const api = rtsa(['serve'], {
      PGHOST: '127.0.0.1',
      PGPORT: String(port),
      PGUSER: creds.reader!.user,
      PGPASSWORD: creds.reader!.password,
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: certs.caFile,
      PORT: String(apiPort),
    })
    defer(t, async () => {
      api.kill('SIGTERM')
      await once(api, 'exit')
    })
    await waitFor('the API to be ready', async () => {
      if (api.exitCode !== null) throw new Error(`the API exited:\n${api.output()}`)
      const r = await fetch(`http://127.0.0.1:${apiPort}/ready`).catch(() => undefined)
      return r?.status === 200
    })
    const rows = await query<{ ssl: boolean }>(
      server.adminUrl,
      `select s.ssl from pg_stat_ssl s join pg_stat_activity a using (pid) where a.application_name = 'rtsa-api'`,
    )
    assert.ok(rows.length > 0 && rows.every((r) => r.ssl), JSON.stringify(rows))
  })

  await t.test('the CLI (rtsa doctor) reaches the database over TLS', async () => {
    const doctor = rtsa(['doctor'], {
      DATABASE_URL: withCa(server.readerUrl, certs.caFile),
      KAFKA_BOOTSTRAP: kafkaBootstrap().join(','),
      METRICS_PORT: '0',
      RTSA_API_URL: 'http://127.0.0.1:1',
    })
    await once(doctor, 'exit')
    assert.match(doctor.output(), /ok\s+database reachable/i, doctor.output())
    assert.doesNotMatch(doctor.output(), new RegExp(creds.reader!.password))
  })

  await t.test('a wrong CA, or a CA file that is not there, fails at once naming the setting', async () => {
    await assert.rejects(
      waitForPostgres(withCa(server.connectionString, certs.otherCaFile), {
        timeoutMs: 3000,
        settingName: 'DATABASE_URL',
      }),
      /DATABASE_URL: the server's certificate is not trusted \([A-Z_]+\).*sslrootcert/,
    )
    const proc = rtsa(['process'], {
      KAFKA_BOOTSTRAP: kafkaBootstrap().join(','),
      DATABASE_URL: withCa(server.connectionString, join(home, 'missing-ca.pem')),
    })
    const [code] = await once(proc, 'exit')
    assert.equal(code, 1)
    assert.match(
      proc.output(),
      /CONFIG_INVALID: .*DATABASE_URL's sslrootcert=.*missing-ca\.pem cannot be read/,
    )
    assert.doesNotMatch(proc.output(), new RegExp(creds.writer!.password))
  })
})

test('a local server set up by an earlier rtsa (superuser rt/rt, trust logins) is locked on its next start, data kept', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'rtsa-pglegacy-'))
  defer(t, () => rmSync(home, { recursive: true, force: true }))
  const port = Number(process.env.RTSA_TEST_LEGACY_PG_PORT ?? 15833)
  const dir = isRoot ? join('/var/lib/rtsa/test-pglegacy', String(process.pid)) : undefined
  const options = { home, ...(dir === undefined ? {} : { dir }), port, database: 'realtime' }
  defer(t, async () => {
    await stopLocalPostgres(options).catch(() => {})
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })
  // Make the old layout: a superuser rt with password rt, trusted socket logins, a table of
  // the superuser's, and no credentials file.
  const first = await startLocalPostgres(options)
  await query(first.adminUrl, "create role rt superuser login password 'rt'")
  await query(
    databaseUrlOn(first.adminUrl, 'realtime'),
    'create table legacy_rows (x int); insert into legacy_rows values (42)',
  )
  await query(databaseUrlOn(first.adminUrl, 'realtime'), 'alter table legacy_rows owner to rt')
  await stopLocalPostgres(options)
  const hba = join(first.dataDir, 'pg_hba.conf')
  writeFileSync(hba, `local all all trust\n${readFileSync(hba, 'utf8')}`)
  rmSync(credentialsFileOf(home))
  // What an old rtsa would have done: rt/rt is the superuser it knows.
  const again = await startLocalPostgres(options)
  const creds = JSON.parse(readFileSync(credentialsFileOf(home), 'utf8')) as Record<
    string,
    { user: string; password: string }
  >
  assert.equal(creds.admin!.user, 'rt')
  assert.notEqual(creds.admin!.password, 'rt')
  assert.doesNotMatch(readFileSync(hba, 'utf8'), /^\s*local.*trust\s*$/m)
  await assert.rejects(
    query(`postgres://rt:rt@127.0.0.1:${port}/postgres`, 'select 1'),
    /password authentication failed/,
  )
  assert.deepEqual(await query(again.readerUrl, 'select x from legacy_rows'), [{ x: 42 }])
  await query(again.connectionString, 'insert into legacy_rows values (43)')
})

function databaseUrlOn(url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}
