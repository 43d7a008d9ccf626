/**
 * Response cache of the read endpoints (`/metrics`, `/metrics/latest`, `/metrics/history`,
 * `/state`, `/streams`, `/streams/top`). Key: the route and its validated, normalized
 * query (defaults applied, keys sorted). Value: the already-serialized body (a Buffer
 * sent as is: no serialization and no UTF-8 encoding on a hit), its status and type.
 *
 * Invalidation: every `rtsa_commits` notification (and every LISTEN resync) clears the
 * whole cache: the processor NOTIFYs after each commit, so data never changes without
 * one. Entries also expire after `maxAgeMs`, which bounds staleness when the LISTEN
 * connection is down or a writer does not notify. Concurrent requests for one key share
 * one read (single-flight); a read that began before an invalidation is neither stored
 * nor shared with requests that arrive after it. An entry hit in the second half of its
 * life is re-read in the background (refresh ahead), so a busy key is not read in the
 * request path every max age.
 *
 * Time-relative queries. The handlers take `now` when they run, and filter on
 * minute-aligned columns: `window_end <= now` (latest), `window_start <= now` (top) and
 * `window_start >= now - N minutes` (N an integer; metrics, history, streams, top).
 * For an aligned value w and a minute [a, a + 1 min), `w <= now` has the same answer for
 * every `now` in [a, a + 1 min), and `w >= now - N min` (i.e. `w + N min >= now`, w + N min
 * aligned) the same answer for every `now` in (a, a + 1 min]. So within the open minute
 * (a, a + 1 min) the rows a handler selects do not depend on `now` at all, only on the
 * data. An entry is therefore stored only when its read started after `a` and finished
 * before `a + 1 min`, and it expires at `a + 1 min` at the latest (besides `maxAgeMs`):
 * every request it serves would have selected exactly the same rows uncached. What does
 * move with the clock are the echoed times (`server_time_utc`, `since`, and the
 * `minutes` that `/metrics/history?from=` derives from now): those are the ones of the
 * read that filled the entry, at most `maxAgeMs` old.
 *
 * Bounded: at most `maxEntries` entries and `maxBytes` of bodies; past either the least
 * recently used entries go (a hit makes an entry the most recent), and expired entries are
 * swept at least once per max age, so random queries on an idle pipeline cannot grow it.
 * A body larger than `maxBytes` alone is served but not kept.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'

const MINUTE = 60_000

export interface CachedResponse {
  readonly status: number
  readonly contentType: string
  readonly body: Buffer
}

export interface CacheCounters {
  hit(route: string): void
  miss(route: string): void
  /** Entries dropped to stay within the bounds (not expiry or invalidation). */
  evict?(): void
}

export interface CacheOptions {
  /** Max age of an entry (ms); 0 disables the cache. */
  readonly maxAgeMs: number
  readonly maxEntries?: number
  readonly maxBytes?: number
}

interface Entry {
  readonly response: CachedResponse
  readonly expiresAt: number
  /** From here on a hit also starts a background re-read (refresh ahead). */
  readonly refreshAt: number
}

/** `route?k1=v1&k2=v2` over the validated query, keys sorted, so equal queries share a key. */
export function cacheKey(route: string, query: unknown): string {
  const q = (typeof query === 'object' && query !== null ? query : {}) as Record<string, unknown>
  const parts = Object.keys(q)
    .filter((k) => q[k] !== undefined)
    .sort()
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(JSON.stringify(q[k]))}`)
  return `${route}?${parts.join('&')}`
}

export class ResponseCache {
  readonly #maxAgeMs: number
  readonly #maxEntries: number
  readonly #maxBytes: number
  readonly #counters: CacheCounters | undefined
  readonly #now: () => number
  /** In use order: the first entry is the least recently used. */
  readonly #entries = new Map<string, Entry>()
  readonly #inflight = new Map<string, Promise<CachedResponse>>()
  #generation = 0
  #bytes = 0
  #sweptAt = 0

  /** `maxAgeMs` 0 disables the cache (every request reads). */
  constructor(options: CacheOptions | number, counters?: CacheCounters, now: () => number = Date.now) {
    const o = typeof options === 'number' ? { maxAgeMs: options } : options
    this.#maxAgeMs = o.maxAgeMs
    this.#maxEntries = o.maxEntries ?? 1000
    this.#maxBytes = o.maxBytes ?? 64 * 1024 * 1024
    this.#counters = counters
    this.#now = now
  }

  /** Bytes of the bodies held. */
  get bytes(): number {
    return this.#bytes
  }

  get enabled(): boolean {
    return this.#maxAgeMs > 0
  }

  get size(): number {
    return this.#entries.size
  }

  /** Forgets every entry and every read in flight (data changed). */
  clear(): void {
    this.#generation += 1
    this.#entries.clear()
    this.#bytes = 0
    this.#inflight.clear()
  }

  #delete(key: string, entry: Entry): void {
    this.#entries.delete(key)
    this.#bytes -= entry.response.body.length
  }

  /** Stores an entry as the most recent, then drops expired entries and the least recent past the bounds. */
  #store(key: string, entry: Entry, now: number): void {
    const size = entry.response.body.length
    if (size > this.#maxBytes) return
    const old = this.#entries.get(key)
    if (old !== undefined) this.#delete(key, old)
    this.#entries.set(key, entry)
    this.#bytes += size
    if (now - this.#sweptAt >= this.#maxAgeMs) {
      this.#sweptAt = now
      for (const [k, e] of this.#entries) if (now >= e.expiresAt) this.#delete(k, e)
    }
    for (const [k, e] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries && this.#bytes <= this.#maxBytes) break
      this.#delete(k, e)
      this.#counters?.evict?.()
    }
  }

  /** The entry for `key`, from memory, from a read in flight, or from `load` (then stored). */
  async get(route: string, key: string, load: () => Promise<CachedResponse>): Promise<CachedResponse> {
    const now = this.#now()
    const entry = this.#entries.get(key)
    if (entry !== undefined) {
      if (now < entry.expiresAt) {
        this.#counters?.hit(route)
        // The most recently used goes last (Map order), so eviction takes the least.
        this.#entries.delete(key)
        this.#entries.set(key, entry)
        // Refresh ahead: past half its life, an entry still in demand is re-read in the
        // background, so under steady load requests do not queue behind a read every max
        // age. The old entry serves until it expires; a failed refresh is just dropped.
        if (now >= entry.refreshAt && !this.#inflight.has(key)) {
          this.#read(route, key, load, now).catch(() => {})
        }
        return entry.response
      }
      this.#delete(key, entry)
    }
    const inflight = this.#inflight.get(key)
    if (inflight !== undefined) {
      this.#counters?.hit(route)
      return inflight
    }
    return this.#read(route, key, load, now)
  }

  /** One database read for `key`, shared while in flight, stored when still valid. */
  #read(
    route: string,
    key: string,
    load: () => Promise<CachedResponse>,
    started: number,
  ): Promise<CachedResponse> {
    this.#counters?.miss(route)
    const generation = this.#generation
    const minuteEnd = (Math.floor(started / MINUTE) + 1) * MINUTE
    const read = (async () => {
      const response = await load()
      const finished = this.#now()
      // See the header: only reads inside one open minute are valid for all of it.
      const storable = generation === this.#generation && started % MINUTE !== 0 && finished < minuteEnd
      if (storable) {
        const entry = {
          response,
          expiresAt: Math.min(started + this.#maxAgeMs, minuteEnd),
          refreshAt: started + this.#maxAgeMs / 2,
        }
        this.#store(key, entry, finished)
      }
      return response
    })()
    const forget = () => {
      if (this.#inflight.get(key) === read) this.#inflight.delete(key)
    }
    read.then(forget, forget)
    this.#inflight.set(key, read)
    return read
  }
}

/**
 * Answers a read endpoint through the cache: on a miss runs `load`, serializes its result
 * with the route's own 200 serializer (the bytes the uncached path would send) and
 * stores it. With the cache disabled it returns `load()`'s payload for Fastify to send.
 */
export async function cachedReply<T>(
  cache: ResponseCache,
  request: FastifyRequest,
  reply: FastifyReply,
  load: () => Promise<T>,
): Promise<T | FastifyReply> {
  if (!cache.enabled) return load()
  const route = request.routeOptions.url ?? request.url
  const response = await cache.get(route, cacheKey(route, request.query), async () => {
    const payload = await load()
    const serialize = reply.getSerializationFunction('200') as ((p: unknown) => string) | undefined
    const text = serialize === undefined ? JSON.stringify(payload) : serialize(payload)
    return { status: 200, contentType: 'application/json; charset=utf-8', body: Buffer.from(text) }
  })
  return reply.code(response.status).type(response.contentType).send(response.body)
}
