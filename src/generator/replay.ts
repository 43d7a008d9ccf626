/**
 * Replaying a JSON-lines file to Kafka (`rtsa produce --file`), and writing one
 * (`rtsa generate --output`). A line is either
 *
 * - an event object (the wire format): it is checked with `decodeEvent` and sent keyed
 *   by its `stream_id`; an invalid one is a bad line; or
 * - a wrapper `{"key": string | null, "value": string}` (exactly those fields): the
 *   value is sent as is under that key, unchecked, so files can carry deliberately
 *   broken records (this is what `rtsa generate --output` writes).
 *
 * Blank lines are skipped. Bad lines (not JSON, an invalid event, a malformed wrapper)
 * are reported with their line number and reason and counted; they are not sent unless
 * `sendInvalid` is set (then the line's text is sent as the value, keyed by the
 * `stream_id` when it can be read). Records are sent in file order.
 */

import { once } from 'node:events'
import { createWriteStream, type WriteStream } from 'node:fs'
import { decodeEvent } from '../events/decode.ts'
import type { DeliveryStats } from './producer.ts'
import type { RecordSink } from './run.ts'

export interface BadLine {
  readonly line: number
  readonly reason: string
  readonly detail: string
}

export interface ReplayResult {
  readonly lines: number
  readonly sent: number
  readonly bad: number
  /** The first bad lines (up to `maxReported`). */
  readonly badLines: readonly BadLine[]
}

/** A wrapper line's key and value, or undefined when the object is not a wrapper. */
function wrapperOf(o: Record<string, unknown>): { key: string | null; value: string } | 'bad' | undefined {
  const keys = Object.keys(o)
  if (!('value' in o) || keys.some((k) => k !== 'key' && k !== 'value')) return undefined
  if (typeof o.value !== 'string') return 'bad'
  const key = o.key ?? null
  if (key !== null && typeof key !== 'string') return 'bad'
  return { key, value: o.value }
}

/** Sends the records of `lines` (JSON lines, see the module doc) to `sink` in order. */
export async function replayLines(
  lines: AsyncIterable<string> | Iterable<string>,
  sink: Pick<RecordSink, 'add' | 'flush'>,
  options: {
    sendInvalid?: boolean
    maxReported?: number
    onBadLine?: (bad: BadLine) => void
    /** Called after each line with the lines read and records sent so far (cheap; throttle in it). */
    onProgress?: (lines: number, sent: number) => void
  } = {},
): Promise<ReplayResult> {
  const maxReported = options.maxReported ?? 100
  const badLines: BadLine[] = []
  let n = 0
  let sent = 0
  let bad = 0
  const fail = (b: BadLine) => {
    bad++
    if (badLines.length < maxReported) badLines.push(b)
    options.onBadLine?.(b)
  }
  for await (const raw of lines) {
    n++
    options.onProgress?.(n, sent)
    const text = raw.trim()
    if (text === '') continue
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      fail({ line: n, reason: 'not_json', detail: 'line is not valid JSON' })
      if (options.sendInvalid) {
        await sink.add(null, text)
        sent++
      }
      continue
    }
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      const wrapper = wrapperOf(parsed as Record<string, unknown>)
      if (wrapper === 'bad') {
        fail({
          line: n,
          reason: 'bad_wrapper',
          detail: '{key, value} line needs a string value and a string or null key',
        })
        continue
      }
      if (wrapper !== undefined) {
        await sink.add(wrapper.key, wrapper.value)
        sent++
        continue
      }
    }
    const result = decodeEvent(Buffer.from(text, 'utf8'))
    if (result.ok) {
      await sink.add(result.event.streamId, text)
      sent++
      continue
    }
    fail({ line: n, reason: result.reason, detail: result.detail })
    if (options.sendInvalid) {
      await sink.add(result.streamId ?? null, text)
      sent++
    }
  }
  await sink.flush()
  return { lines: n, sent, bad, badLines }
}

/** A {@link RecordSink} that writes `{key, value}` JSON lines to a file or stream. */
export class JsonLinesSink implements RecordSink {
  readonly #out: WriteStream | NodeJS.WritableStream
  readonly #close: boolean
  #buffer: string[] = []
  #count = 0
  #bytes = 0

  /** `path` "-" means stdout. */
  constructor(path: string) {
    this.#close = path !== '-'
    this.#out = path === '-' ? process.stdout : createWriteStream(path, { encoding: 'utf8' })
  }

  async add(key: string | Buffer | null, value: string | Buffer): Promise<void> {
    const k = Buffer.isBuffer(key) ? key.toString('utf8') : key
    const v = Buffer.isBuffer(value) ? value.toString('utf8') : value
    const line = `${JSON.stringify({ key: k, value: v })}\n`
    this.#buffer.push(line)
    this.#count++
    this.#bytes += line.length
    if (this.#buffer.length >= 1000) await this.sendBatch()
  }

  async sendBatch(): Promise<void> {
    if (this.#buffer.length === 0) return
    const chunk = this.#buffer.join('')
    this.#buffer = []
    if (!this.#out.write(chunk)) await once(this.#out, 'drain')
  }

  async flush(): Promise<void> {
    await this.sendBatch()
  }

  /** Flushes and closes the file (not stdout). */
  async close(): Promise<void> {
    await this.flush()
    if (this.#close) {
      const out = this.#out as WriteStream
      await new Promise<void>((resolve, reject) =>
        out.end((error?: Error | null) => (error ? reject(error) : resolve())),
      )
    }
  }

  get stats(): DeliveryStats {
    return { queued: this.#count, acked: this.#count, failed: 0, bytes: this.#bytes, errors: [] }
  }
}
