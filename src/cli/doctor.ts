/**
 * `rtsa doctor`: a read-only diagnosis of a running pipeline, one line per check,
 * exit 0 when healthy and 1 when anything failed (warnings do not fail it).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { messageOf } from '../errors/catalogue.ts'
import { KafkaAdmin, type TopicPartitionOffsets } from '../kafka/client.ts'
import { describeConnection } from '../kafka/connection.ts'
import { PG_TYPES } from '../store/pool.ts'
import { pipelineStatus } from '../store/status.ts'
import { type CheckResult, getJson, report, targets } from './checks.ts'
import type { Values } from './command.ts'

const totalOf = (offsets: readonly TopicPartitionOffsets[]) =>
  offsets.reduce((n, p) => n + Number(p.latest), 0)

/** `rtsa doctor [--json]`: exit 0 healthy (warnings allowed), 1 with findings. */
export async function doctorCommand(values: Values, log: (line: string) => void): Promise<number> {
  const t = targets()
  const results: CheckResult[] = []
  const add = (name: string, verdict: CheckResult['verdict'], detail: string) =>
    results.push({ name, verdict, detail })

  // Database
  let client: pg.Client | undefined
  let db = false
  try {
    const url = t.databaseUrl()
    client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000, types: PG_TYPES })
    await client.connect()
    await client.query('select 1')
    db = true
    add('database reachable', 'ok', url.replace(/:[^:@/]*@/, ':***@'))
  } catch (error) {
    add('database reachable', 'fail', `${messageOf(error)} (DATABASE_URL / PG*)`)
  }

  // Broker, topic, arriving records
  const admin = new KafkaAdmin(t.bootstrap, { timeoutMs: 3000 })
  let ends: TopicPartitionOffsets[] | undefined
  let arriving = false
  try {
    const topics = await admin.listTopics()
    add('broker reachable', 'ok', describeConnection(t.bootstrap))
    if (!topics.includes(t.config.kafkaTopic)) add('topic', 'fail', `${t.config.kafkaTopic} does not exist`)
    else {
      ends = await admin.offsets(t.config.kafkaTopic)
      add('topic', 'ok', `${t.config.kafkaTopic}: ${ends.length} partitions, ${totalOf(ends)} records`)
      await sleep(3000)
      const later = await admin.offsets(t.config.kafkaTopic)
      const grown = totalOf(later) - totalOf(ends)
      arriving = grown > 0
      add(
        'records arriving',
        arriving ? 'ok' : 'warn',
        arriving ? `${(grown / 3).toFixed(0)} records/s` : 'none in 3 s (is a producer running?)',
      )
      ends = later
    }
  } catch (error) {
    add(
      'broker reachable',
      'fail',
      `${describeConnection(t.bootstrap)}: ${messageOf(error)} (KAFKA_BOOTSTRAP)`,
    )
  } finally {
    await admin.close()
  }

  // Processor
  if (t.processorUrl) {
    try {
      const h = await getJson(`${t.processorUrl}/health`)
      const body = h.body as { ok?: boolean; status?: string; partitions?: number[] }
      add(
        'processor alive',
        h.status === 200 && body.ok ? 'ok' : 'fail',
        `${body.status ?? h.status}, partitions ${JSON.stringify(body.partitions ?? [])}`,
      )
    } catch (error) {
      add(
        'processor alive',
        'fail',
        `${t.processorUrl}/health: ${messageOf(error)} (is rtsa process running?)`,
      )
    }
  }
  if (db) {
    try {
      const s = await pipelineStatus(pgPool(client!), t.config.kafkaTopic)
      // The lag is the topic's end offsets (read from the broker just now) against the
      // committed offsets: records nobody committed count, whatever the processor reported.
      const lag = ends === undefined ? s.lag : await uncommitted(client!, t.config.kafkaTopic, ends)
      const stale = s.lastCommitAgeSeconds !== null && s.lastCommitAgeSeconds > 30
      const behind = (lag ?? 0) > 0
      if (s.partitions === 0)
        add('processor committing', arriving ? 'fail' : 'warn', 'no partition was ever committed')
      else if (stale && behind)
        add(
          'processor committing',
          'fail',
          `last commit ${s.lastCommitAgeSeconds?.toFixed(0)} s ago with ${lag} records waiting`,
        )
      else
        add(
          'processor committing',
          'ok',
          `last commit ${s.lastCommitAgeSeconds?.toFixed(1)} s ago, ${s.owned}/${s.partitions} partitions owned`,
        )
      if (ends !== undefined && s.partitions > 0 && s.owned < ends.length)
        add(
          'partitions owned',
          'fail',
          `${ends.length - s.owned} of ${ends.length} partitions have no processor`,
        )
      // A recent commit means nothing if the processor has just died: it must answer too.
      const alive = results.find((r) => r.name === 'processor alive')?.verdict !== 'fail'
      const committing = alive && s.lastCommitAgeSeconds !== null && s.lastCommitAgeSeconds <= 30
      add(
        'consumer lag',
        lag === null ? 'warn' : lag === 0 ? 'ok' : committing && lag <= 100_000 ? 'warn' : 'fail',
        lag === null
          ? 'unknown (the topic could not be read)'
          : lag === 0
            ? '0 records: everything in the topic is committed'
            : `${lag} records not committed${committing ? ' (the processor is committing)' : alive ? ' and no recent commit' : ' and the processor is down'}`,
      )
      add(
        'recent rows',
        s.recentRows > 0 ? 'ok' : arriving ? 'fail' : 'warn',
        `${s.recentRows} window rows in the last 5 minutes`,
      )
    } catch (error) {
      add('processor committing', 'fail', `reading checkpoints failed: ${messageOf(error)}`)
    }
  }
  await client?.end().catch(() => {})

  // API
  try {
    const h = await getJson(`${t.apiUrl}/health`)
    const ok = h.status === 200 && h.text.replace(/\s/g, '') === '{"ok":true}'
    add('API health', ok ? 'ok' : 'fail', `${t.apiUrl}/health -> ${h.status} ${h.text.slice(0, 100)}`)
  } catch (error) {
    add('API health', 'fail', `${t.apiUrl}/health: ${messageOf(error)} (is rtsa serve running?)`)
  }
  if (values.json) {
    const failed = results.some((r) => r.verdict === 'fail')
    console.log(JSON.stringify({ healthy: !failed, checks: results }, null, 2))
    return failed ? 1 : 0
  }
  return report('rtsa doctor', results, log)
}

/** Records in the topic past the committed offsets (a partition never committed counts from its earliest offset). */
async function uncommitted(
  client: pg.Client,
  topic: string,
  ends: readonly TopicPartitionOffsets[],
): Promise<number> {
  const { rows } = await client.query<{ partition: number; next_offset: string | null }>(
    'select partition, next_offset::text from partition_checkpoints where topic = $1',
    [topic],
  )
  const committed = new Map(
    rows.map((r) => [r.partition, r.next_offset === null ? undefined : BigInt(r.next_offset)]),
  )
  let lag = 0n
  for (const e of ends) {
    const from = committed.get(e.partition) ?? e.earliest
    if (e.latest > from) lag += e.latest - from
  }
  return Number(lag)
}

/** `pipelineStatus` takes a pool; a connected client answers the same `query` calls. */
function pgPool(client: pg.Client): pg.Pool {
  return client as unknown as pg.Pool
}
