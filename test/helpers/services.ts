/**
 * Real services for integration tests (`*.int.test.ts`). `scripts/run-tests.ts`
 * starts one Kafka broker and one PostgreSQL server per run; each test gets its own
 * topic and its own database and removes them afterwards. Without those services a
 * test fails loudly with the reason: it never passes or skips.
 */
import type { TestContext } from 'node:test'
import { createDatabase, createTopic, deleteTopics, dropDatabase, uniqueName } from '../../testkit/fresh.ts'

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

export { uniqueName }

/** Creates a fresh topic for this test; it is deleted when the test ends. */
export async function freshTopic(t: TestContext, partitions = 1, prefix = 'test'): Promise<string> {
  const topic = uniqueName(prefix).replaceAll('_', '.')
  await createTopic(kafkaBootstrap(), topic, partitions)
  defer(t, () => deleteTopics(kafkaBootstrap(), [topic]))
  return topic
}

/** Creates a fresh, empty database for this test and returns its URL; dropped when the test ends. */
export async function freshDatabase(t: TestContext): Promise<string> {
  const name = uniqueName('rtsa_test')
  const url = await createDatabase(databaseUrl(), name)
  defer(t, () => dropDatabase(databaseUrl(), name).catch(() => {}))
  return url
}
