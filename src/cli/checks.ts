/** Small helpers shared by `rtsa doctor` and `rtsa smoke`: the services' addresses and a check report. */
import { randomUUID } from 'node:crypto'
import { loadConfig } from '../config/define.ts'
import { kafkaOf } from '../config/kafka.ts'
import { pgConnectionOf, pgUrlOf } from '../config/settings.ts'
import { encodeEvent } from '../events/decode.ts'
import { formatTimestampMicros } from '../events/timestamp.ts'
import { KafkaProducer } from '../kafka/client.ts'
import type { KafkaTarget } from '../kafka/connection.ts'
import { upSettings } from './up.ts'

export type Verdict = 'ok' | 'warn' | 'fail'

export interface CheckResult {
  readonly name: string
  readonly verdict: Verdict
  readonly detail: string
}

/** Where the running pipeline is, from the same settings `rtsa up` uses. */
export function targets(env: NodeJS.ProcessEnv = process.env) {
  const c = loadConfig(upSettings, env)
  const apiHost = c.host === '0.0.0.0' ? '127.0.0.1' : c.host
  return {
    config: c,
    bootstrap: kafkaOf(c),
    /** The read-only URL; throws when the local server was never set up (doctor reports it). */
    databaseUrl: () => pgUrlOf(pgConnectionOf(c, 'reader')),
    apiUrl: env.RTSA_API_URL ?? `http://${apiHost}:${c.port}`,
    processorUrl: c.metricsPort === 0 ? undefined : `http://${c.metricsHost}:${c.metricsPort}`,
  }
}

/** GETs a URL with a timeout; resolves to status and parsed JSON (or text). */
export async function getJson(
  url: string,
  timeoutMs = 3000,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers })
  const text = await res.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body, text }
}

/** Prints one line per check and a summary; returns the exit code (1 if any check failed). */
export function report(title: string, results: readonly CheckResult[], log: (line: string) => void): number {
  const mark: Record<Verdict, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' }
  log(title)
  for (const r of results) log(`  ${mark[r.verdict]} ${r.name.padEnd(22)} ${r.detail}`)
  const failed = results.filter((r) => r.verdict === 'fail')
  const warned = results.filter((r) => r.verdict === 'warn')
  if (failed.length === 0) {
    log(`healthy: ${results.length} checks, ${warned.length} warnings`)
    return 0
  }
  log(`${failed.length} finding(s): ${failed.map((f) => f.name).join(', ')}`)
  return 1
}

/** Produces one donation (with a join before it) to a fresh stream; returns the stream and the amount. */
export async function injectDonation(bootstrap: KafkaTarget, topic: string) {
  const streamId = `smoke_${randomUUID().slice(0, 8)}`
  const now = Date.now()
  const producer = new KafkaProducer(bootstrap, { clientId: 'rtsa-smoke' })
  const event = (type: 'viewer_join' | 'donation', ts: number) =>
    encodeEvent({
      event_id: randomUUID(),
      ts: formatTimestampMicros(ts * 1000),
      event_type: type,
      stream_id: streamId,
      user_id: 'smoke_user',
      ...(type === 'donation' ? { amount_usd: 12.34 } : {}),
    })
  try {
    await producer.send([
      { topic, key: Buffer.from(streamId), value: event('viewer_join', now) },
      { topic, key: Buffer.from(streamId), value: event('donation', now + 1) },
    ])
  } finally {
    await producer.close()
  }
  return { streamId, cents: 1234 }
}
