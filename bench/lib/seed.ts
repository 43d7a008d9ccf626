/**
 * A realistic amount of data for the API benchmark, inserted with SQL through the
 * store's pool: `streams` streams x `hours` of minute windows ending at the current
 * minute (the newest 10 minutes provisional), their stream_state rows and 6
 * partition checkpoints, then ANALYZE.
 */
import type pg from 'pg'

export async function seedTables(pool: pg.Pool, streams: number, hours: number): Promise<number> {
  await pool.query(
    `insert into stream_metrics_minute (window_start, window_end, stream_id, active_viewers, peak_viewers,
       unique_viewers, viewer_joins, viewer_leaves, chat_messages, unique_chatters, donations_usd,
       donations_cents, donation_count, events, is_final, partition)
     select ws, ws + interval '1 minute', 'stream_' || (1000 + s), v, v + (s % 7), v + 20, 5 + s % 11, 4 + s % 9,
            (s * 7 + extract(minute from ws)::int) % 300, 10 + s % 40, ((s * 13) % 5000) / 100.0, (s * 13) % 5000,
            s % 5, 200 + v * 3, ws < now() - interval '11 minutes', s % 6
       from generate_series(1, $1::int) s,
            generate_series(date_trunc('minute', now()) - make_interval(hours => $2::int),
                            date_trunc('minute', now()) - interval '1 minute', interval '1 minute') ws,
            lateral (select (100 + (s * 37) % 2000 + extract(minute from ws)::int)::int as v) x`,
    [streams, hours],
  )
  await pool.query(
    `insert into stream_state (stream_id, active_viewers, live, last_event_ts, accepted_count, partition, watermark)
     select 'stream_' || (1000 + s), 100 + (s * 37) % 2000, s % 10 <> 0, now(), 100000 + s, s % 6, now() - interval '10 minutes'
       from generate_series(1, $1::int) s`,
    [streams],
  )
  await pool.query(
    `insert into partition_checkpoints (topic, partition, next_offset, epoch, owner, watermark, end_offset)
     select 'stream.events', p, 1000000, 1, 'bench', now() - interval '10 minutes', 1000000
       from generate_series(0, 5) p`,
  )
  await pool.query('analyze')
  const r = await pool.query<{ n: number }>('select count(*)::int as n from stream_metrics_minute')
  return r.rows[0]!.n
}
