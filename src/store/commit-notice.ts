/**
 * The commit notification: what a processor's commit tells the API's `/live` (through
 * PostgreSQL NOTIFY, inside the commit's transaction, so it is sent exactly when the
 * commit is visible). One definition for both sides: the channel, the payload, its
 * encoder and its parser.
 */

/** The NOTIFY channel of processor commits. */
export const COMMIT_CHANNEL = 'rtsa_commits'

/** NOTIFY payloads must stay under 8000 bytes; the stream list is halved until it fits this. */
const MAX_STREAMS_JSON = 6000

/** One processor commit: the streams it changed (null: unknown or truncated, assume all). */
export interface CommitNotice {
  readonly topic: string | null
  readonly partition: number | null
  readonly streams: readonly string[] | null
  readonly committedAt: string | null
}

/** What a commit reports. */
export interface CommitFacts {
  readonly topic: string
  readonly partition: number
  readonly nextOffset: bigint
  /** Epoch ms, or null before the partition's first accepted record. */
  readonly watermark: number | null
  /** The streams whose rows changed (deduplicated here). */
  readonly streams: Iterable<string>
  readonly committedAt: Date
}

/** The payload of a commit's NOTIFY: at most a few KB, the stream list cut (and marked) when too long. */
export function encodeCommitNotice(c: CommitFacts): string {
  let kept = [...new Set(c.streams)]
  let truncated = false
  while (JSON.stringify(kept).length > MAX_STREAMS_JSON) {
    kept = kept.slice(0, Math.floor(kept.length / 2))
    truncated = true
  }
  return JSON.stringify({
    topic: c.topic,
    partition: c.partition,
    nextOffset: c.nextOffset.toString(),
    watermark: c.watermark === null ? null : new Date(c.watermark).toISOString(),
    streams: kept,
    ...(truncated ? { streamsTruncated: true } : {}),
    committedAt: c.committedAt.toISOString(),
  })
}

/** Parses a payload; anything unreadable becomes "some streams changed" (streams null). */
export function parseCommitNotice(payload: string | undefined): CommitNotice {
  let raw: unknown
  try {
    raw = JSON.parse(payload ?? '')
  } catch {
    raw = null
  }
  const o = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>
  const streams =
    Array.isArray(o.streams) && o.streams.every((s) => typeof s === 'string') && o.streamsTruncated !== true
      ? (o.streams as string[])
      : null
  return {
    topic: typeof o.topic === 'string' ? o.topic : null,
    partition: typeof o.partition === 'number' ? o.partition : null,
    streams,
    committedAt: typeof o.committedAt === 'string' ? o.committedAt : null,
  }
}
