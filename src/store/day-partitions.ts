/**
 * Tables partitioned by day (UTC): `stream_metrics_minute` by `window_start`, `dead_letters`
 * by `created_at`. A commit makes the partitions of the days it writes (once per day, table
 * and pool, cached), and retention drops a whole day instead of deleting its rows. A
 * DEFAULT partition takes rows of any day without one (rows from before partitioning,
 * direct inserts, a day whose partition could not be made), so no write ever fails for
 * want of a partition.
 */
import type pg from 'pg'

export const DAY_MS = 86_400_000

/** The tables partitioned by day (a fixed list: nothing from outside becomes a table name). */
export const DAY_PARTITIONED = ['stream_metrics_minute', 'dead_letters'] as const
export type DayPartitioned = (typeof DAY_PARTITIONED)[number]

/** An arbitrary constant of rtsa's own: serialises partition creation between processors. */
const CREATE_LOCK = 7_245_531_002

/** Days (since the epoch, UTC) known to have a partition, or to live in the default one, per pool and table. */
const known = new WeakMap<pg.Pool, Map<DayPartitioned, Set<number>>>()

export function partitionNameOf(day: number, parent: DayPartitioned = 'stream_metrics_minute'): string {
  return `${parent}_p${new Date(day * DAY_MS).toISOString().slice(0, 10).replaceAll('-', '')}`
}

function dayOfName(name: string, parent: DayPartitioned): number | undefined {
  const m = /^(.*)_p(\d{4})(\d{2})(\d{2})$/.exec(name)
  return m && m[1] === parent ? Date.UTC(Number(m[2]), Number(m[3]) - 1, Number(m[4])) / DAY_MS : undefined
}

/** The day partitions of `parent` that exist, by day. */
export async function dayPartitions(
  db: pg.Pool | pg.PoolClient,
  parent: DayPartitioned = 'stream_metrics_minute',
): Promise<Map<number, string>> {
  const { rows } = await db.query<{ name: string }>(
    `select c.relname as name from pg_inherits i
       join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent
      where p.relname = $1 and p.relnamespace = c.relnamespace`,
    [parent],
  )
  const out = new Map<number, string>()
  for (const r of rows) {
    const day = dayOfName(r.name, parent)
    if (day !== undefined) out.set(day, r.name)
  }
  return out
}

/**
 * Makes the partitions of `parent` for the days of `times` (epoch ms) inside the caller's
 * transaction (a savepoint each, so a day that cannot get one, because the default
 * partition already holds rows of it, leaves the transaction intact and its rows in the
 * default partition). Attaching takes a lock that commits' writes do not wait on.
 */
export async function ensureDayPartitions(
  pool: pg.Pool,
  client: pg.PoolClient,
  times: readonly number[],
  parent: DayPartitioned = 'stream_metrics_minute',
): Promise<void> {
  const byTable = known.get(pool) ?? new Map<DayPartitioned, Set<number>>()
  known.set(pool, byTable)
  const cache = byTable.get(parent) ?? new Set<number>()
  byTable.set(parent, cache)
  const days = [...new Set(times.map((ms) => Math.floor(ms / DAY_MS)))].filter((d) => !cache.has(d))
  if (days.length === 0) return
  await client.query('select pg_advisory_xact_lock($1)', [CREATE_LOCK])
  const existing = await dayPartitions(client, parent)
  for (const day of days) {
    if (existing.has(day)) {
      cache.add(day)
      continue
    }
    const name = partitionNameOf(day, parent)
    const from = new Date(day * DAY_MS).toISOString()
    const to = new Date((day + 1) * DAY_MS).toISOString()
    await client.query('savepoint rtsa_day_partition')
    try {
      await client.query(`create table "${name}" (like ${parent} including defaults including constraints)`)
      await client.query(
        `alter table ${parent} attach partition "${name}" for values from ('${from}') to ('${to}')`,
      )
      await client.query('release savepoint rtsa_day_partition')
    } catch {
      // The default partition holds rows of this day: they stay there (still read, still expired).
      await client.query('rollback to savepoint rtsa_day_partition')
    }
    cache.add(day)
  }
}

/**
 * Drops the day partitions of `parent` that end at or before `cutoffMs` and that
 * `droppable` allows (default: all). Each drop waits at most 200 ms for its lock (an API
 * read in progress), else it is left for the next round: commits never queue behind a
 * drop for longer. Returns the days dropped.
 */
export async function dropDaysBefore(
  client: pg.PoolClient,
  cutoffMs: number,
  parent: DayPartitioned = 'stream_metrics_minute',
  droppable: (partition: string) => Promise<boolean> = async () => true,
): Promise<number> {
  let dropped = 0
  for (const [day, name] of await dayPartitions(client, parent)) {
    if ((day + 1) * DAY_MS > cutoffMs) continue
    if (!(await droppable(name))) continue
    try {
      await client.query('begin')
      await client.query("set local lock_timeout = '200ms'")
      await client.query(`drop table "${name}"`)
      await client.query('commit')
      dropped++
    } catch {
      await client.query('rollback').catch(() => {})
    }
  }
  return dropped
}
