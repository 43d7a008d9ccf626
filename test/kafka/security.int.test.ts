/**
 * rtsa against a Kafka secured like a managed cluster (testkit/secure-kafka.ts: SASL_SSL
 * with SCRAM-SHA-512 and PLAIN, SSL with client certificates, ACLs that give the pipeline's
 * user no CreateTopics). The generator, the processor and the API work through it with
 * KAFKA_CREATE_TOPICS=false; a wrong password, a wrong CA, a missing topic and a missing
 * permission each end the command at once with one error naming what to fix.
 */
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { test } from 'node:test'
import { KafkaAdmin, readTopic } from '../../src/kafka/client.ts'
import { freePort } from '../../testkit/fault-rig.ts'
import { createDatabase, dropDatabase, uniqueName } from '../../testkit/fresh.ts'
import { spawnRtsa } from '../../testkit/processes.ts'
import { startSecureKafka } from '../../testkit/secure-kafka.ts'
import { databaseUrl, defer } from '../helpers/services.ts'
import { waitFor } from '../processor/fixtures.ts'

const PREFIX = 'secure.'
const TOPIC = `${PREFIX}events`

/** `rtsa <args>` as a child with exactly these settings (nothing inherited that names Kafka or PostgreSQL). */
const rtsa = spawnRtsa

async function exitOf(child: ChildProcess & { output: () => string }, timeoutMs = 60_000) {
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  try {
    const [code] = (await once(child, 'exit')) as [number | null]
    return { code, output: child.output() }
  } finally {
    clearTimeout(timer)
  }
}

test('a pipeline through SASL_SSL and mutual TLS with ACLs and KAFKA_CREATE_TOPICS=false', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'rtsa-secure-'))
  defer(t, () => rmSync(home, { recursive: true, force: true }))
  const port = Number(process.env.RTSA_TEST_SECURE_KAFKA_PORT ?? 19592)
  const kafka = await startSecureKafka({
    home,
    libsHome: resolve(process.env.RTSA_HOME ?? '.rtsa'),
    port,
    topicPrefix: PREFIX,
  })
  defer(t, () => kafka.stop())
  // The platform team provisions the topics; rtsa's user may not create any.
  const operator = new KafkaAdmin(kafka.operatorBootstrap)
  defer(t, () => operator.close())
  await operator.ensureTopic(TOPIC, { partitions: 3 })
  await operator.ensureTopic(`${TOPIC}.dlq`, { partitions: 3 })

  const passwordFile = join(home, 'kafka-password')
  writeFileSync(passwordFile, `${kafka.password}\n`, { mode: 0o600 })
  const scram = {
    KAFKA_BOOTSTRAP: kafka.saslBootstrap.join(','),
    KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
    KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
    KAFKA_SASL_USERNAME: kafka.user,
    KAFKA_SASL_PASSWORD_FILE: passwordFile,
    KAFKA_SSL_CA_FILE: kafka.certs.caFile,
    KAFKA_TOPIC: TOPIC,
    KAFKA_DLQ_TOPIC: `${TOPIC}.dlq`,
    KAFKA_CREATE_TOPICS: 'false',
  }
  const dbName = uniqueName('rtsa_secure')
  const db = await createDatabase(databaseUrl(), dbName)
  defer(t, () => dropDatabase(databaseUrl(), dbName))

  await t.test('the generator sends through SASL_SSL (SCRAM-SHA-512), password from a file', async () => {
    const r = await exitOf(
      rtsa(
        ['generate', '--count', '300', '--rate', '3000', '--stream-ids', 'sec_a,sec_b', '--seed', 's'],
        scram,
      ),
    )
    assert.equal(r.code, 0, r.output)
    assert.doesNotMatch(r.output, new RegExp(kafka.password), 'the password is never printed')
  })

  await t.test('the generator sends through mutual TLS (SSL with a client certificate)', async () => {
    const r = await exitOf(
      rtsa(['generate', '--count', '50', '--rate', '1000', '--stream-ids', 'sec_c', '--seed', 'm'], {
        KAFKA_BOOTSTRAP: kafka.mtlsBootstrap.join(','),
        KAFKA_SECURITY_PROTOCOL: 'SSL',
        KAFKA_SSL_CA_FILE: kafka.certs.caFile,
        KAFKA_SSL_CERT_FILE: kafka.certs.clientCertFile,
        KAFKA_SSL_KEY_FILE: kafka.certs.clientKeyFile,
        KAFKA_TOPIC: TOPIC,
        KAFKA_CREATE_TOPICS: 'false',
      }),
    )
    assert.equal(r.code, 0, r.output)
  })

  await t.test('SASL PLAIN over TLS reads what was sent', async () => {
    const records = await readTopic(
      {
        bootstrap: kafka.saslBootstrap,
        protocol: 'SASL_SSL',
        sasl: { mechanism: 'PLAIN', username: kafka.user, password: kafka.password },
        tls: { ca: await import('node:fs').then((fs) => fs.readFileSync(kafka.certs.caFile, 'utf8')) },
      },
      TOPIC,
    )
    assert.equal(records.length, 350)
  })

  await t.test('the processor commits everything through SASL_SSL and the API serves it', async (t) => {
    const processor = rtsa(['process'], {
      ...scram,
      DATABASE_URL: db,
      KAFKA_GROUP: 'rtsa-secure-test',
      METRICS_PORT: '0',
      KAFKA_SESSION_TIMEOUT: '3s',
      BATCH_MAX_WAIT: '50ms',
      LOG_LEVEL: 'info',
    })
    defer(t, async () => {
      processor.kill('SIGTERM')
      await once(processor, 'exit')
    })
    const ends = await operator.offsets(TOPIC)
    const pg = (await import('pg')).default
    const client = new pg.Client({ connectionString: db })
    await client.connect()
    defer(t, () => client.end())
    await waitFor(
      'the processor to commit up to the end offsets',
      async () => {
        if (processor.exitCode !== null) throw new Error(`the processor exited:\n${processor.output()}`)
        const r = await client
          .query<{ partition: number; next_offset: string | null }>(
            'select partition, next_offset::text from partition_checkpoints where topic = $1',
            [TOPIC],
          )
          .catch(() => ({ rows: [] }))
        // A partition without records has no committed offset (NULL): it counts as 0.
        const committed = (p: number) => r.rows.find((x) => x.partition === p)?.next_offset ?? '0'
        return ends.every((e) => committed(e.partition) === e.latest.toString())
      },
      60_000,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n--- processor:\n${processor.output()}`)
    })
    const apiPort = await freePort()
    const api = rtsa(['serve'], { DATABASE_URL: db, PORT: String(apiPort), HOST: '127.0.0.1' })
    defer(t, async () => {
      api.kill('SIGTERM')
      await once(api, 'exit')
    })
    let body: { rows?: Array<{ stream_id: string }> } = {}
    await waitFor(`the API to serve the rows\n${api.output()}`, async () => {
      const res = await fetch(`http://127.0.0.1:${apiPort}/metrics/history?minutes=30`).catch(() => undefined)
      if (res?.status !== 200) return false
      body = (await res.json()) as typeof body
      return true
    })
    const streams = new Set((body.rows ?? []).map((r) => r.stream_id))
    for (const s of ['sec_a', 'sec_b', 'sec_c'])
      assert.ok(streams.has(s), `${s} in ${[...streams].join(',')}`)
  })

  await t.test('a wrong password ends the command at once, naming the settings', async () => {
    const wrong = join(home, 'wrong-password')
    writeFileSync(wrong, 'not-the-password\n')
    const r = await exitOf(
      rtsa(['process'], { ...scram, KAFKA_SASL_PASSWORD_FILE: wrong, DATABASE_URL: db }),
      30_000,
    )
    assert.equal(r.code, 1, r.output)
    assert.match(r.output, /KAFKA_AUTH_FAILED: .*KAFKA_SASL_PASSWORD/)
    assert.doesNotMatch(r.output, /not-the-password/)
  })

  await t.test(
    'an untrusted broker certificate ends the command at once, naming KAFKA_SSL_CA_FILE',
    async () => {
      const r = await exitOf(
        rtsa(['generate', '--count', '1'], { ...scram, KAFKA_SSL_CA_FILE: kafka.certs.otherCaFile }),
        30_000,
      )
      assert.equal(r.code, 1, r.output)
      assert.match(r.output, /KAFKA_AUTH_FAILED: .*not trusted.*KAFKA_SSL_CA_FILE/)
    },
  )

  await t.test('KAFKA_CREATE_TOPICS=false and a missing topic: an error naming the topic', async () => {
    const r = await exitOf(
      rtsa(['generate', '--count', '1'], { ...scram, KAFKA_TOPIC: `${PREFIX}missing` }),
      30_000,
    )
    assert.equal(r.code, 1, r.output)
    assert.match(
      r.output,
      /KAFKA_TOPIC_MISSING: Topic secure\.missing does not exist.*KAFKA_CREATE_TOPICS=false/,
    )
  })

  await t.test(
    'creating a topic without the permission: an error naming the ACL, no retry storm',
    async () => {
      const r = await exitOf(
        rtsa(['generate', '--count', '1'], {
          ...scram,
          KAFKA_TOPIC: `${PREFIX}new`,
          KAFKA_CREATE_TOPICS: 'true',
        }),
        30_000,
      )
      assert.equal(r.code, 1, r.output)
      assert.match(r.output, /KAFKA_NOT_AUTHORIZED: .*denied app \(TOPIC_AUTHORIZATION_FAILED\)/)
    },
  )
})
