/**
 * The schema, created by the code itself. Migrations are append-only: never edit a
 * shipped one, add the next. They run under a PostgreSQL advisory lock, so several
 * processors and APIs starting at once apply each migration exactly once.
 */
import type pg from 'pg'
import { RtsaError } from '../errors/catalogue.ts'
import { checkout } from './pool.ts'

interface Migration {
  readonly version: number
  readonly name: string
  readonly sql: string
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'metrics, state, checkpoints, snapshots, dead letters',
    sql: `
create table if not exists stream_metrics_minute (
  window_start timestamptz not null,
  window_end timestamptz not null,
  stream_id text not null,
  active_viewers integer not null,
  peak_viewers integer not null,
  unique_viewers integer not null,
  viewer_joins integer not null,
  viewer_leaves integer not null,
  chat_messages integer not null,
  unique_chatters integer not null,
  donations_usd double precision not null,
  donations_cents bigint not null,
  donation_count integer not null,
  events integer not null,
  is_final boolean not null,
  partition integer not null,
  updated_at timestamptz not null default now(),
  primary key (window_start, stream_id)
);
create index if not exists stream_metrics_minute_stream_idx on stream_metrics_minute (stream_id, window_start desc);
create index if not exists stream_metrics_minute_start_idx on stream_metrics_minute (window_start desc);

create table if not exists stream_state (
  stream_id text primary key,
  active_viewers integer not null,
  live boolean,
  last_event_ts timestamptz,
  accepted_count bigint not null default 0,
  late_count bigint not null default 0,
  duplicate_count bigint not null default 0,
  rejected_count bigint not null default 0,
  partition integer not null,
  watermark timestamptz,
  updated_at timestamptz not null default now()
);

create table if not exists partition_checkpoints (
  topic text not null,
  partition integer not null,
  next_offset bigint not null,
  epoch bigint not null,
  owner text,
  watermark timestamptz,
  end_offset bigint,
  updated_at timestamptz not null default now(),
  primary key (topic, partition)
);

create table if not exists engine_snapshots (
  topic text not null,
  partition integer not null,
  part text not null,
  data bytea not null,
  updated_at timestamptz not null default now(),
  primary key (topic, partition, part)
);

create table if not exists dead_letters (
  id bigserial primary key,
  topic text not null,
  partition integer not null,
  "offset" bigint not null,
  key bytea,
  value bytea not null,
  reason text not null,
  detail text not null,
  stream_id text,
  event_ts timestamptz,
  created_at timestamptz not null default now(),
  unique (topic, partition, "offset")
);
create index if not exists dead_letters_created_idx on dead_letters (created_at desc);
create index if not exists dead_letters_reason_idx on dead_letters (reason, created_at desc);
`,
  },
  {
    version: 2,
    name: 'dead-letter relay progress (the dead_letters table is the outbox of the DLQ topic)',
    sql: `
create table if not exists dlq_progress (
  topic text not null,
  partition integer not null,
  last_id bigint not null default 0,
  updated_at timestamptz not null default now(),
  primary key (topic, partition)
);
create index if not exists dead_letters_relay_idx on dead_letters (topic, partition, id);
`,
  },
  {
    version: 3,
    name: 'records per partition and outcome (key_mismatch and processing_error count on no stream)',
    sql: `
create table if not exists partition_counts (
  topic text not null,
  partition integer not null,
  outcome text not null,
  records bigint not null default 0,
  updated_at timestamptz not null default now(),
  primary key (topic, partition, outcome)
);
`,
  },
  {
    version: 4,
    name: 'a partition never committed has next_offset null (it was -1)',
    sql: `
alter table partition_checkpoints alter column next_offset drop not null;
update partition_checkpoints set next_offset = null where next_offset < 0;
`,
  },
  {
    version: 5,
    name: 'stream_metrics_minute partitioned by day (retention drops a day instead of deleting rows)',
    // The rows move to the new table; grants on the old one are carried over. Rows of days
    // without a partition (raw inserts, far-dated event times) land in the default one.
    sql: `
alter table stream_metrics_minute rename to stream_metrics_minute_v4;
alter index stream_metrics_minute_pkey rename to stream_metrics_minute_v4_pkey;
alter index stream_metrics_minute_stream_idx rename to stream_metrics_minute_v4_stream_idx;
alter index stream_metrics_minute_start_idx rename to stream_metrics_minute_v4_start_idx;
create table stream_metrics_minute (like stream_metrics_minute_v4 including defaults including constraints)
  partition by range (window_start);
alter table stream_metrics_minute add primary key (window_start, stream_id);
create index stream_metrics_minute_stream_idx on stream_metrics_minute (stream_id, window_start desc);
create index stream_metrics_minute_start_idx on stream_metrics_minute (window_start desc);
create table stream_metrics_minute_default partition of stream_metrics_minute default;
do $$
declare
  d date;
  g record;
begin
  for d in select distinct (window_start at time zone 'UTC')::date from stream_metrics_minute_v4 loop
    execute format(
      'create table %I partition of stream_metrics_minute for values from (%L) to (%L)',
      'stream_metrics_minute_p' || to_char(d, 'YYYYMMDD'),
      (d::timestamp at time zone 'UTC'), ((d + 1)::timestamp at time zone 'UTC'));
  end loop;
  for g in select grantee, privilege_type from information_schema.role_table_grants
            where table_schema = current_schema() and table_name = 'stream_metrics_minute_v4'
              and grantee <> current_user loop
    execute format('grant %s on stream_metrics_minute to %s', g.privilege_type,
      case when g.grantee = 'PUBLIC' then 'public' else quote_ident(g.grantee) end);
  end loop;
end $$;
insert into stream_metrics_minute select * from stream_metrics_minute_v4;
drop table stream_metrics_minute_v4;
`,
  },
  {
    version: 6,
    name: 'stream_metrics_rollup: the longer windows of WINDOWS (1 hour, 1 day), exact',
    // The columns of stream_metrics_minute, keyed by the window length too. A few rows per
    // stream and day: expiry deletes them (ROLLUP_RETENTION) instead of dropping partitions.
    sql: `
create table if not exists stream_metrics_rollup (
  window_seconds integer not null,
  window_start timestamptz not null,
  window_end timestamptz not null,
  stream_id text not null,
  active_viewers integer not null,
  peak_viewers integer not null,
  unique_viewers integer not null,
  viewer_joins integer not null,
  viewer_leaves integer not null,
  chat_messages integer not null,
  unique_chatters integer not null,
  donations_usd double precision not null,
  donations_cents bigint not null,
  donation_count integer not null,
  events integer not null,
  is_final boolean not null,
  partition integer not null,
  updated_at timestamptz not null default now(),
  primary key (window_seconds, stream_id, window_start)
);
create index if not exists stream_metrics_rollup_start_idx on stream_metrics_rollup (window_seconds, window_start desc);
`,
  },
  {
    version: 7,
    name: 'stream_live_events: accepted stream_start / stream_stop records (live and offline periods)',
    sql: `
create table if not exists stream_live_events (
  stream_id text not null,
  ts timestamptz not null,
  event_id text not null,
  live boolean not null,
  partition integer not null,
  primary key (stream_id, ts, event_id)
);
create index if not exists stream_live_events_ts_idx on stream_live_events (ts);
`,
  },
  {
    version: 8,
    name: 'partition_checkpoints.flush_seq, held_back: rows held back by PROVISIONAL_INTERVAL',
    sql: `
alter table partition_checkpoints add column if not exists flush_seq bigint not null default 0;
alter table partition_checkpoints add column if not exists held_back boolean not null default false;
`,
  },
  {
    version: 9,
    name: 'dead_letters partitioned by day of created_at (retention drops a relayed day)',
    // As migration 5: the rows move to the new table, grants are carried over, ids go on
    // from the same sequence. A partitioned table's unique keys must hold the partition key,
    // so (topic, partition, offset) is an index: its one writer (the partition's owner,
    // fenced by epoch) checks it before inserting.
    sql: `
alter table dead_letters rename to dead_letters_v8;
alter index dead_letters_pkey rename to dead_letters_v8_pkey;
alter index dead_letters_created_idx rename to dead_letters_v8_created_idx;
alter index dead_letters_reason_idx rename to dead_letters_v8_reason_idx;
alter index dead_letters_relay_idx rename to dead_letters_v8_relay_idx;
create table dead_letters (like dead_letters_v8 including defaults including constraints)
  partition by range (created_at);
alter table dead_letters add primary key (id, created_at);
create index dead_letters_position_idx on dead_letters (topic, partition, "offset");
create index dead_letters_created_idx on dead_letters (created_at desc);
create index dead_letters_reason_idx on dead_letters (reason, created_at desc);
create index dead_letters_relay_idx on dead_letters (topic, partition, id);
create table dead_letters_default partition of dead_letters default;
do $$
declare
  d date;
  g record;
begin
  for d in select distinct (created_at at time zone 'UTC')::date from dead_letters_v8 loop
    execute format(
      'create table %I partition of dead_letters for values from (%L) to (%L)',
      'dead_letters_p' || to_char(d, 'YYYYMMDD'),
      (d::timestamp at time zone 'UTC'), ((d + 1)::timestamp at time zone 'UTC'));
  end loop;
  for g in select grantee, privilege_type from information_schema.role_table_grants
            where table_schema = current_schema() and table_name = 'dead_letters_v8'
              and grantee <> current_user loop
    execute format('grant %s on dead_letters to %s', g.privilege_type,
      case when g.grantee = 'PUBLIC' then 'public' else quote_ident(g.grantee) end);
  end loop;
end $$;
insert into dead_letters select * from dead_letters_v8;
alter sequence dead_letters_id_seq owned by dead_letters.id;
drop table dead_letters_v8;
`,
  },
]

// An arbitrary constant: the advisory lock key of rtsa's schema migrations.
const MIGRATION_LOCK = 7_245_531_001

/** Applies every migration not yet applied. Safe to call from many processes at once. */
export async function migrate(pool: pg.Pool): Promise<number[]> {
  const client = await checkout(pool)
  const applied: number[] = []
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK])
    await client.query(
      'create table if not exists schema_migrations (version integer primary key, name text not null, applied_at timestamptz not null default now())',
    )
    const done = new Set(
      (await client.query<{ version: number }>('select version from schema_migrations')).rows.map(
        (r) => r.version,
      ),
    )
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue
      try {
        await client.query('begin')
        await client.query(m.sql)
        await client.query('insert into schema_migrations (version, name) values ($1, $2)', [
          m.version,
          m.name,
        ])
        await client.query('commit')
        applied.push(m.version)
      } catch (error) {
        await client.query('rollback').catch(() => {})
        throw new RtsaError('SCHEMA_MIGRATION_FAILED', `Migration ${m.version} (${m.name}) failed`, {
          cause: error,
        })
      }
    }
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {})
    client.release()
  }
  return applied
}

/** Deletes metrics (every resolution), state, checkpoints, snapshots and dead letters (a full reset). Keeps the schema. */
export async function wipeData(pool: pg.Pool): Promise<void> {
  await pool.query(
    `truncate stream_metrics_minute, stream_metrics_rollup, stream_live_events, stream_state, partition_checkpoints,
       engine_snapshots, dead_letters, dlq_progress, partition_counts`,
  )
}
