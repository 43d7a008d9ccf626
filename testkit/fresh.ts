/**
 * Fresh databases and topics for one test or one benchmark run, on servers someone else
 * started (scripts/run-tests.ts for the tests, bench/lib/servers.ts for the benchmarks).
 * Shared by test/ and bench/; product code never imports it.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { KafkaAdmin } from '../src/kafka/client.ts'

/** A short unique name fragment (`prefix_<time>_<random>`). */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`
}

/** The URL of database `name` on the server of `serverUrl`. */
export function databaseUrlOf(serverUrl: string, name: string): string {
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return url.toString()
}

async function admin(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

/** Creates an empty database `name` on the server of `serverUrl`; returns its URL. */
export async function createDatabase(serverUrl: string, name: string): Promise<string> {
  await admin(serverUrl, `create database ${pg.escapeIdentifier(name)}`)
  return databaseUrlOf(serverUrl, name)
}

/** Drops database `name`, closing its connections (no error when it is gone). */
export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  await admin(serverUrl, `drop database if exists ${pg.escapeIdentifier(name)} with (force)`)
}

/** Creates a topic unless it exists. */
export async function createTopic(
  bootstrap: readonly string[],
  topic: string,
  partitions: number,
): Promise<void> {
  const a = new KafkaAdmin(bootstrap)
  try {
    await a.ensureTopic(topic, { partitions })
  } finally {
    await a.close()
  }
}

/** Deletes topics that exist (errors are ignored: cleanup must not fail a run). */
export async function deleteTopics(bootstrap: readonly string[], topics: readonly string[]): Promise<void> {
  const a = new KafkaAdmin(bootstrap)
  try {
    for (const t of topics) await a.deleteTopic(t).catch(() => {})
  } finally {
    await a.close()
  }
}
