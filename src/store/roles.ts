/**
 * The least-privilege roles of a PostgreSQL that rtsa sets up itself (the local server):
 * a writer that owns the database and its schema but is no superuser (the processor,
 * migrations), and a reader that can only read (the API: a bug there can never write).
 * Idempotent: run on every start, it also converts a database an earlier rtsa made as
 * the superuser.
 */
import pg from 'pg'

export interface RoleLogins {
  readonly writer: { readonly user: string; readonly password: string }
  readonly reader: { readonly user: string; readonly password: string }
}

const id = (name: string) => pg.escapeIdentifier(name)
const literal = (value: string) => pg.escapeLiteral(value)

/** Creates or updates both roles and the database (owned by the writer). `admin` is a superuser on any database. */
export async function ensureRoles(admin: pg.Client, database: string, roles: RoleLogins): Promise<void> {
  for (const l of [roles.writer, roles.reader]) {
    const exists = await admin.query('select 1 from pg_roles where rolname = $1', [l.user])
    if (exists.rowCount === 0) await admin.query(`create role ${id(l.user)}`)
    // Passwords cannot be bind parameters in ALTER ROLE; the literal is escaped.
    await admin.query(
      `alter role ${id(l.user)} with login nosuperuser nocreatedb nocreaterole noreplication nobypassrls password ${literal(l.password)}`,
    )
  }
  const db = await admin.query('select 1 from pg_database where datname = $1', [database])
  if (db.rowCount === 0) await admin.query(`create database ${id(database)} owner ${id(roles.writer.user)}`)
  else await admin.query(`alter database ${id(database)} owner to ${id(roles.writer.user)}`)
  await admin.query(`revoke all on database ${id(database)} from public`)
  await admin.query(`grant connect, temporary on database ${id(database)} to ${id(roles.reader.user)}`)
}

/**
 * Inside the database (as a superuser): the writer owns the public schema and every table
 * in it (tables an earlier rtsa created as the superuser included); the reader may read
 * them, and every table the writer creates later.
 */
export async function grantSchema(adminOnDb: pg.Client, roles: RoleLogins): Promise<void> {
  const w = id(roles.writer.user)
  const r = id(roles.reader.user)
  await adminOnDb.query(`alter schema public owner to ${w}`)
  await adminOnDb.query('revoke create on schema public from public')
  const owned = await adminOnDb.query<{ name: string }>(
    `select format('%I.%I', schemaname, tablename) as name from pg_tables
      where schemaname = 'public' and tableowner <> $1`,
    [roles.writer.user],
  )
  for (const t of owned.rows) await adminOnDb.query(`alter table ${t.name} owner to ${w}`)
  await adminOnDb.query(`grant usage on schema public to ${r}`)
  await adminOnDb.query(`grant select on all tables in schema public to ${r}`)
  await adminOnDb.query(
    `alter default privileges for role ${w} in schema public grant select on tables to ${r}`,
  )
}
