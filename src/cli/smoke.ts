/**
 * `rtsa smoke`: the reference system's smoke test against a running pipeline: the
 * topic exists; end offsets grow; the processor is healthy; rows of the last 5
 * minutes appear within 150 s; an injected donation shows up in its stream's rows;
 * `/health` and `/metrics` answer as specified.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { messageOf, RtsaError } from '../errors/catalogue.ts'
import { KafkaAdmin } from '../kafka/client.ts'
import { describeConnection } from '../kafka/connection.ts'
import { type CheckResult, getJson, injectDonation, targets } from './checks.ts'
import type { Values } from './command.ts'

async function within<T>(ms: number, probe: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    try {
      const v = await probe()
      if (v !== undefined) return v
    } catch {
      // not yet: try again
    }
    await sleep(1000)
  }
  return undefined
}

/** `rtsa smoke [--rows-timeout s] [--json]`: exit 0 when every check passed, 1 otherwise. */
export async function smokeCommand(values: Values, say: (line: string) => void): Promise<number> {
  const seconds = Number(values['rows-timeout'] ?? '150')
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new RtsaError(
      'INPUT_INVALID',
      `--rows-timeout ${values['rows-timeout']} is invalid: expected seconds > 0`,
    )
  }
  const rowsTimeoutMs = seconds * 1000
  // With --json the checks are the only output (progress goes to stderr).
  const log = values.json ? (line: string) => process.stderr.write(`rtsa: ${line}\n`) : say
  const t = targets()
  const auth: Record<string, string> = t.config.apiToken
    ? { authorization: `Bearer ${t.config.apiToken}` }
    : {}
  const results: CheckResult[] = []
  const add = (name: string, ok: boolean, detail: string) => {
    results.push({ name, verdict: ok ? 'ok' : 'fail', detail })
    log(`  ${ok ? 'ok  ' : 'FAIL'} ${name.padEnd(22)} ${detail}`)
  }
  log(`rtsa smoke against ${describeConnection(t.bootstrap)}, ${t.apiUrl}`)
  const admin = new KafkaAdmin(t.bootstrap, { timeoutMs: 5000 })
  try {
    const exists = await within(30_000, async () =>
      (await admin.listTopics()).includes(t.config.kafkaTopic) ? true : undefined,
    )
    add(
      'topic exists',
      exists === true,
      exists ? t.config.kafkaTopic : `${t.config.kafkaTopic} not found within 30 s`,
    )
    const total = async () =>
      (await admin.offsets(t.config.kafkaTopic)).reduce((n, p) => n + Number(p.latest), 0)
    const first = await total()
    const grown = await within(30_000, async () => ((await total()) > first ? true : undefined))
    add(
      'end offsets grow',
      grown === true,
      grown ? `from ${first}` : `still ${first} after 30 s (is a producer running?)`,
    )
  } catch (error) {
    add('topic exists', false, `${messageOf(error)} (KAFKA_BOOTSTRAP)`)
  } finally {
    await admin.close()
  }

  if (t.processorUrl) {
    const healthy = await within(30_000, async () => {
      const h = await getJson(`${t.processorUrl}/health`)
      return h.status === 200 ? h.body : undefined
    })
    add(
      'processor healthy',
      healthy !== undefined,
      healthy ? JSON.stringify(healthy).slice(0, 120) : `${t.processorUrl}/health did not answer 200`,
    )
  }

  const rows = await within(rowsTimeoutMs, async () => {
    const r = await getJson(`${t.apiUrl}/metrics/history?minutes=5`, 3000, auth)
    const list = (r.body as { rows?: unknown[] }).rows
    return r.status === 200 && Array.isArray(list) && list.length > 0 ? list.length : undefined
  })
  add(
    'recent rows',
    rows !== undefined,
    rows ? `${rows} rows of the last 5 minutes` : `none within ${rowsTimeoutMs / 1000} s`,
  )

  try {
    const { streamId, cents } = await injectDonation(t.bootstrap, t.config.kafkaTopic)
    const seen = await within(60_000, async () => {
      const r = await getJson(`${t.apiUrl}/metrics?stream_id=${streamId}&minutes=10`, 3000, auth)
      const list = (
        (r.body as { rows?: { donation_count?: number; donations_usd?: string }[] }).rows ?? []
      ).filter((x) => (x.donation_count ?? 0) > 0)
      return list.length > 0 ? list[0] : undefined
    })
    const expected = (cents / 100).toFixed(2)
    add(
      'injected donation',
      seen !== undefined && String(seen.donations_usd) === expected,
      seen
        ? `${streamId}: ${JSON.stringify(seen.donations_usd)} (expected "${expected}")`
        : `${streamId}: not visible within 60 s`,
    )
  } catch (error) {
    add('injected donation', false, messageOf(error))
  }

  try {
    const h = await getJson(`${t.apiUrl}/health`)
    add(
      '/health',
      h.status === 200 && h.text.replace(/\s/g, '') === '{"ok":true}',
      `${h.status} ${h.text.slice(0, 80)}`,
    )
    const m = await getJson(`${t.apiUrl}/metrics`, 3000, auth)
    const body = m.body as { rows?: unknown; latest_window_start?: unknown }
    add(
      '/metrics',
      m.status === 200 && Array.isArray(body.rows) && 'latest_window_start' in body,
      `${m.status}, ${Array.isArray(body.rows) ? body.rows.length : 0} rows`,
    )
  } catch (error) {
    add('/health', false, `${t.apiUrl}: ${messageOf(error)}`)
  }
  const failed = results.filter((r) => r.verdict === 'fail').map((r) => r.name)
  log(failed.length === 0 ? `smoke passed: ${results.length} checks` : `smoke FAILED: ${failed.join(', ')}`)
  if (values.json) console.log(JSON.stringify({ passed: failed.length === 0, checks: results }, null, 2))
  return failed.length === 0 ? 0 : 1
}
