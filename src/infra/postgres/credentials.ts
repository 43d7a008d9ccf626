/**
 * The passwords of the local PostgreSQL server's three roles, generated on first start
 * and kept in RTSA_HOME (folder 0700, file 0600): no default password, nothing another
 * local user can read.
 *
 *   admin   superuser, only for setting the server up (roles, database)
 *   writer  owns the database and its schema; the processor and migrations (not a superuser)
 *   reader  may only read; the API, `rtsa status` and `rtsa doctor`
 */
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { RtsaError } from '../../errors/catalogue.ts'

export type LocalRole = 'admin' | 'writer' | 'reader'

export interface Login {
  readonly user: string
  readonly password: string
}

export type LocalCredentials = Readonly<Record<LocalRole, Login>>

export const WRITER_ROLE = 'rtsa_writer'
export const READER_ROLE = 'rtsa_reader'

/** Where a home keeps the local server's passwords. */
export function credentialsFileOf(home: string): string {
  return join(home, 'secrets', 'postgres.json')
}

const secret = () => randomBytes(24).toString('base64url')

function parse(file: string, text: string): LocalCredentials {
  const bad = () =>
    new RtsaError(
      'CONFIG_INVALID',
      `${file} is not a credentials file of rtsa: remove it and the local PostgreSQL (rtsa down --reset)`,
    )
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    throw bad()
  }
  const login = (v: unknown): Login => {
    const o = v as { user?: unknown; password?: unknown } | null
    if (typeof o?.user !== 'string' || typeof o.password !== 'string' || o.password === '') throw bad()
    return { user: o.user, password: o.password }
  }
  const d = data as Record<string, unknown>
  return { admin: login(d.admin), writer: login(d.writer), reader: login(d.reader) }
}

/** The stored credentials, or undefined when this home has none yet. */
export function loadLocalCredentials(file: string): LocalCredentials | undefined {
  if (!existsSync(file)) return undefined
  const st = statSync(file)
  if (!st.isFile() || st.size > 64 * 1024) return parse(file, '')
  // A copy restored with looser permissions is tightened rather than refused.
  if ((st.mode & 0o077) !== 0) chmodSync(file, 0o600)
  return parse(file, readFileSync(file, 'utf8'))
}

/**
 * The stored credentials, made on first use: `adminUser` names the superuser (a server
 * set up by an earlier rtsa has `rt`). Written with mode 0600 in a 0700 folder.
 */
export function ensureLocalCredentials(file: string, adminUser = 'rtsa_admin'): LocalCredentials {
  const existing = loadLocalCredentials(file)
  if (existing !== undefined) return existing
  const creds: LocalCredentials = {
    admin: { user: adminUser, password: secret() },
    writer: { user: WRITER_ROLE, password: secret() },
    reader: { user: READER_ROLE, password: secret() },
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  chmodSync(dirname(file), 0o700)
  writeFileSync(file, `${JSON.stringify(creds, null, 2)}\n`, { mode: 0o600, flag: 'wx' })
  return creds
}

/** The URL of one role on the local server. */
export function localUrlOf(creds: LocalCredentials, role: LocalRole, port: number, database: string): string {
  const l = creds[role]
  return `postgres://${encodeURIComponent(l.user)}:${encodeURIComponent(l.password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`
}
