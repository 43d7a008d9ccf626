/**
 * Real services for integration tests (`*.int.test.ts`). `scripts/run-tests.ts`
 * starts one Kafka broker and one PostgreSQL server per run; each test gets its own
 * topic and its own database and removes them afterwards. Without those services a
 * test fails loudly with the reason: it never passes or skips.
 */
import { randomBytes } from 'node:crypto'
import type { TestContext } from 'node:test'
import pg from 'pg'
import { KafkaAdmin } from '../../src/kafka/client.ts'

function required(name: string): string {
  const value = process.env[name]
  if (!value) {
    throw new Error(
      `${name} is not set: integration tests need the real Kafka and PostgreSQL that \`npm test\` (scripts/run-tests.ts) starts`,
    )
  }
  return value
}

export function kafkaBootstrap(): string[] {
  return required('RTSA_TEST_KAFKA_BOOTSTRAP').split(',')
}

export function databaseUrl(): string {
  return required('RTSA_TEST_DATABASE_URL')
}

const stacks = new WeakMap<TestContext, Array<() => unknown>>()

/**
 * Registers a cleanup for the end of test `t`. Cleanups run last-registered-first
 * (unlike plain `t.after`), so a client opened after its database closes before the
 * database is dropped. Use it instead of `t.after` for resources.
 */
export function defer(t: TestContext, cleanup: () => unknown): void {
  let stack = stacks.get(t)
  if (!stack) {
    const fresh: Array<() => unknown> = []
    stacks.set(t, fresh)
    stack = fresh
    t.after(async () => {
      for (const fn of fresh.reverse()) await fn()
    })
  }
  stack.push(cleanup)
}

/** A short unique name fragment for topics, groups and databases of one test. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`
}

/** Creates a fresh topic for this test; it is deleted when the test ends. */
export async function freshTopic(t: TestContext, partitions = 1, prefix = 'test'): Promise<string> {
  const topic = uniqueName(prefix).replaceAll('_', '.')
  const admin = new KafkaAdmin(kafkaBootstrap())
  try {
    await admin.ensureTopic(topic, partitions)
  } finally {
    await admin.close()
  }
  defer(t, async () => {
    const a = new KafkaAdmin(kafkaBootstrap())
    await a.deleteTopic(topic).catch(() => {})
    await a.close()
  })
  return topic
}

/** Creates a fresh, empty database for this test and returns its URL; dropped when the test ends. */
export async function freshDatabase(t: TestContext): Promise<string> {
  const name = uniqueName('rtsa_test')
  const base = new URL(databaseUrl())
  const admin = new pg.Client({ connectionString: base.toString() })
  await admin.connect()
  try {
    await admin.query(`create database ${pg.escapeIdentifier(name)}`)
  } finally {
    await admin.end()
  }
  defer(t, async () => {
    const a = new pg.Client({ connectionString: base.toString() })
    await a.connect()
    await a.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`).catch(() => {})
    await a.end()
  })
  const url = new URL(base)
  url.pathname = `/${name}`
  return url.toString()
}
