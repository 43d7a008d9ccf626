/**
 * `stream_metrics_minute` is partitioned by day of `window_start` (UTC): a commit makes
 * the partitions of its windows' days (once per day and pool, cached), and retention drops
 * a whole day instead of deleting its rows. A DEFAULT partition takes rows of any day
 * without one (rows from before partitioning, direct inserts, a day whose partition
 * could not be made), so no write ever fails for want of a partition.
 */
import type pg from 'pg'

export const DAY_MS = 86_400_000
const PARENT = 'stream_metrics_minute'
const NAME = /^stream_metrics_minute_p(\d{4})(\d{2})(\d{2})$/

/** An arbitrary constant of rtsa's own: serialises partition creation between processors. */
const CREATE_LOCK = 7_245_531_002

/** Days (since the epoch, UTC) known to have a partition, or to live in the default one, per pool. */
const known = new WeakMap<pg.Pool, Set<number>>()

export function partitionNameOf(day: number): string {
  return `${PARENT}_p${new Date(day * DAY_MS).toISOString().slice(0, 10).replaceAll('-', '')}`
}

function dayOfName(name: string): number | undefined {
  const m = NAME.exec(name)
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / DAY_MS : undefined
}

/** The day partitions that exist, by day. */
export async function dayPartitions(db: pg.Pool | pg.PoolClient): Promise<Map<number, string>> {
  const { rows } = await db.query<{ name: string }>(
    `select c.relname as name from pg_inherits i
       join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent
      where p.relname = $1 and p.relnamespace = c.relnamespace`,
    [PARENT],
  )
  const out = new Map<number, string>()
  for (const r of rows) {
    const day = dayOfName(r.name)
    if (day !== undefined) out.set(day, r.name)
  }
  return out
}

/**
 * Makes the partitions of `windowStarts`' days inside the caller's transaction (a
 * savepoint each, so a day that cannot get one, because the default partition already
 * holds rows of it, leaves the transaction intact and its rows in the default partition).
 * Attaching takes a lock that commits' writes do not wait on.
 */
export async function ensureDayPartitions(
  pool: pg.Pool,
  client: pg.PoolClient,
  windowStarts: readonly number[],
): Promise<void> {
  const cache = known.get(pool) ?? new Set<number>()
  known.set(pool, cache)
  const days = [...new Set(windowStarts.map((ms) => Math.floor(ms / DAY_MS)))].filter((d) => !cache.has(d))
  if (days.length === 0) return
  await client.query('select pg_advisory_xact_lock($1)', [CREATE_LOCK])
  const existing = await dayPartitions(client)
  for (const day of days) {
    if (existing.has(day)) {
      cache.add(day)
      continue
    }
    const name = partitionNameOf(day)
    const from = new Date(day * DAY_MS).toISOString()
    const to = new Date((day + 1) * DAY_MS).toISOString()
    await client.query('savepoint rtsa_day_partition')
    try {
      await client.query(`create table "${name}" (like ${PARENT} including defaults including constraints)`)
      await client.query(
        `alter table ${PARENT} attach partition "${name}" for values from ('${from}') to ('${to}')`,
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
 * Drops the day partitions that end at or before `cutoffMs`. Each drop waits at most
 * 200 ms for its lock (an API read in progress), else it is left for the next round:
 * commits never queue behind a drop for longer. Returns the days dropped.
 */
export async function dropDaysBefore(client: pg.PoolClient, cutoffMs: number): Promise<number> {
  let dropped = 0
  for (const [day, name] of await dayPartitions(client)) {
    if ((day + 1) * DAY_MS > cutoffMs) continue
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
