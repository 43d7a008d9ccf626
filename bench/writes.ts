/**
 * writes: what PostgreSQL writes per 1,000 events, with provisional rows written with
 * every batch (PROVISIONAL_INTERVAL=0, the baseline: what rtsa did before) and at most once
 * a second per partition (the default). One processor (`rtsa process`, product batching)
 * follows the generator in live mode at a fixed rate over many streams; for each run, a
 * fresh database and topic; the two settings alternate. Rows written are
 * pg_stat_user_tables' inserts + updates + deletes of the run's database, WAL bytes
 * pg_stat_wal's (the server is the benchmark's own; nothing else writes meanwhile).
 * Also: the stored size per row of each metrics table, for the storage of a platform.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type pg from 'pg'
import { type BenchContext, type Benchmark, opt } from './lib/context.ts'
import { startLiveGenerator } from './lib/generator-child.ts'
import { benchProcessorEnv, endOffsets, startProcessor, stopChild, waitCommitted } from './lib/processors.ts'
import { type Figure, figure } from './lib/report.ts'
import { deleteTopic, freshDb, freshTopic } from './lib/servers.ts'
import { fmt } from './lib/stats.ts'

interface Written {
  readonly rows: number
  readonly minuteRows: number
  readonly stateRows: number
  readonly snapshotRows: number
  readonly walBytes: number
}

async function written(pool: pg.Pool): Promise<Written> {
  const tables = await pool.query<{ relname: string; n: string }>(
    'select relname, (n_tup_ins + n_tup_upd + n_tup_del)::bigint as n from pg_stat_user_tables',
  )
  const sum = (f: (name: string) => boolean) =>
    tables.rows.filter((r) => f(r.relname)).reduce((n, r) => n + Number(r.n), 0)
  const wal = await pool.query<{ b: string }>('select wal_bytes::bigint as b from pg_stat_wal')
  return {
    rows: sum(() => true),
    minuteRows: sum((n) => n.startsWith('stream_metrics_minute')),
    stateRows: sum((n) => n === 'stream_state'),
    snapshotRows: sum((n) => n === 'engine_snapshots'),
    walBytes: Number(wal.rows[0]!.b),
  }
}

/** Bytes per row of a table, its partitions included (heap, indexes, TOAST). */
async function bytesPerRow(pool: pg.Pool, table: string): Promise<number> {
  // A table that is not partitioned has no partition tree: its own size then.
  const r = await pool.query<{ bytes: string; n: string }>(
    `select coalesce((select sum(pg_total_relation_size(relid)) from pg_partition_tree($1::regclass)
                       where isleaf), pg_total_relation_size($1::regclass))::bigint as bytes,
            (select count(*) from ${table})::bigint as n`,
    [table],
  )
  const n = Number(r.rows[0]!.n)
  return n === 0 ? 0 : Number(r.rows[0]!.bytes) / n
}

interface Run {
  readonly events: number
  readonly delta: Written
  readonly minuteBytes: number
  readonly rollupBytes: number
}

async function oneRun(
  ctx: BenchContext,
  o: { interval: string; rate: number; streams: number; users: number; seconds: number; seed: string },
): Promise<Run> {
  const servers = await ctx.servers()
  const topic = await freshTopic(servers, 'writes')
  const db = await freshDb(servers, 'writes')
  try {
    const env = benchProcessorEnv({
      bootstrap: servers.bootstrap,
      databaseUrl: db.url,
      topic,
      group: `writes-${Date.now().toString(36)}`,
      extra: { PROVISIONAL_INTERVAL: o.interval, RETENTION_INTERVAL: '1 day' },
    })
    await sleep(500)
    const before = await written(db.pool)
    const proc = startProcessor(env, `writes-${o.interval}`)
    try {
      const gen = startLiveGenerator({
        bootstrap: servers.bootstrap,
        topic,
        rate: o.rate,
        streams: o.streams,
        users: o.users,
        durationS: o.seconds,
        seed: o.seed,
      })
      await new Promise<void>((done) => gen.child.once('exit', () => done()))
      const ends = await endOffsets(servers.bootstrap, topic)
      await waitCommitted(db.pool, topic, ends, { timeoutMs: 300_000, children: [proc] })
      // A clean stop writes what the interval held back: both settings end with the same tables.
      await stopChild(proc)
      // Statistics reach the views within a second of a transaction's end.
      await sleep(1500)
      const after = await written(db.pool)
      const events = [...ends.values()].reduce((n, e) => n + Number(e), 0)
      const rollupRows = Number(
        (await db.pool.query<{ n: string }>('select count(*)::bigint as n from stream_metrics_rollup'))
          .rows[0]!.n,
      )
      const delta: Written = {
        rows: after.rows - before.rows,
        minuteRows: after.minuteRows - before.minuteRows,
        stateRows: after.stateRows - before.stateRows,
        snapshotRows: after.snapshotRows - before.snapshotRows,
        walBytes: after.walBytes - before.walBytes,
      }
      ctx.log(
        `  PROVISIONAL_INTERVAL=${o.interval}: ${fmt(events)} events, ${fmt(delta.rows)} rows written, ` +
          `${fmt(delta.walBytes / 1024 / 1024, 1)} MiB of WAL; ${fmt(rollupRows)} hourly and daily rows stored`,
      )
      return {
        events,
        delta,
        minuteBytes: await bytesPerRow(db.pool, 'stream_metrics_minute'),
        rollupBytes: await bytesPerRow(db.pool, 'stream_metrics_rollup'),
      }
    } finally {
      await stopChild(proc)
    }
  } finally {
    await db.drop()
    await deleteTopic(servers, topic)
  }
}

export const writes: Benchmark = {
  name: 'writes',
  describe: 'PostgreSQL rows and WAL bytes per 1,000 events, PROVISIONAL_INTERVAL 1 s vs 0, 20k streams',
  async run(ctx) {
    const rate = opt(ctx, 'rate', 10_000, 20_000)
    const streams = opt(ctx, 'streams', 20_000, 100_000)
    const users = opt(ctx, 'users', 200_000, 1_000_000)
    const seconds = opt(ctx, 'seconds', 40, 120)
    const base: Run[] = []
    const throttled: Run[] = []
    for (let i = 0; i < ctx.runs; i++) {
      const seed = `writes-${i}`
      base.push(await oneRun(ctx, { interval: '0ms', rate, streams, users, seconds, seed }))
      throttled.push(await oneRun(ctx, { interval: '1s', rate, streams, users, seconds, seed }))
    }
    const per1k = (runs: Run[], f: (w: Written) => number) => runs.map((r) => (f(r.delta) * 1000) / r.events)
    const pair = (name: string, unit: string, f: (w: Written) => number): Figure =>
      figure(`${name}, PROVISIONAL_INTERVAL 1 s`, unit, per1k(throttled, f), {
        baseline: { name: `${name}, PROVISIONAL_INTERVAL 0 (every batch)`, runs: per1k(base, f) },
      })
    const minuteBytes = throttled.map((r) => r.minuteBytes)
    const rollupBytes = throttled.map((r) => r.rollupBytes)
    const perDay = (b: number, rows: number) => (b * rows) / 1024 ** 3
    const minute = figure('stored bytes per stream_metrics_minute row', 'bytes', minuteBytes)
    const rollup = figure('stored bytes per stream_metrics_rollup row', 'bytes', rollupBytes)
    return {
      settings: { rate, streams, users, seconds, runs: ctx.runs },
      figures: [
        pair('rows written per 1,000 events', 'rows', (w) => w.rows),
        pair('window rows written per 1,000 events', 'rows', (w) => w.minuteRows),
        pair('state rows written per 1,000 events', 'rows', (w) => w.stateRows),
        pair('snapshot rows written per 1,000 events', 'rows', (w) => w.snapshotRows),
        pair('WAL bytes per 1,000 events', 'bytes', (w) => w.walBytes),
        minute,
        rollup,
      ],
      notes: [
        `Storage of a 100k-stream platform with every stream live all day, at the measured row sizes: ` +
          `${fmt(perDay(minute.value, 100_000 * 1440), 1)} GiB a day of minute rows ` +
          `(${fmt(perDay(minute.value, 100_000 * 1440 * 30), 0)} GiB under METRICS_RETENTION 30 days), ` +
          `${fmt(perDay(rollup.value, 100_000 * 25), 2)} GiB a day of hourly and daily rows ` +
          `(${fmt(perDay(rollup.value, 100_000 * 25 * 400), 0)} GiB under ROLLUP_RETENTION 400 days).`,
      ],
    }
  },
}
