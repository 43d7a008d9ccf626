/** Read model of `dead_letters` for the API: newest first, filtered, previews of the bytes. */
import type pg from 'pg'
import { readRows } from '../db-errors.ts'

export interface DeadLetterDbRow {
  id: string
  topic: string
  partition: number
  offset: string
  key: Buffer | null
  key_bytes: number | null
  value: Buffer | null
  value_bytes: number | null
  reason: string
  detail: string | null
  stream_id: string | null
  event_ts: Date | null
  created_at: Date
}

/** Bytes of a dead letter's key/value returned at most (one more tells the caller it was cut). */
export const DEAD_LETTER_PREVIEW_BYTES = 4096

/** Newest dead letters first, keyset-paginated by id (`beforeId`). */
export async function deadLetters(
  pool: pg.Pool,
  q: {
    beforeId?: string | undefined
    reason?: string | undefined
    streamId?: string | undefined
    limit: number
  },
): Promise<DeadLetterDbRow[]> {
  return readRows<DeadLetterDbRow>(
    pool,
    `select id::text as id, topic, partition, "offset"::text as "offset",
            substring(key from 1 for ${DEAD_LETTER_PREVIEW_BYTES}) as key, octet_length(key) as key_bytes,
            substring(value from 1 for ${DEAD_LETTER_PREVIEW_BYTES}) as value, octet_length(value) as value_bytes,
            reason, detail, stream_id, event_ts, created_at
       from dead_letters
      where ($1::bigint is null or id < $1) and ($2::text is null or reason = $2)
        and ($3::text is null or stream_id = $3)
      order by id desc
      limit $4`,
    [q.beforeId ?? null, q.reason ?? null, q.streamId ?? null, q.limit],
  )
}
