/**
 * The whole pipeline under the dashboard: `rtsa generate` (30 simulated minutes, then
 * live traffic) -> Kafka -> a processor -> PostgreSQL -> this API -> Chromium. Checks
 * that the page follows real commits and saves test-artifacts/dashboard-pipeline.png.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { test } from 'node:test'
import { buildApp } from '../../src/api/app.ts'
import { defer, freshTopic, kafkaBootstrap } from '../helpers/services.ts'
import { freshStore, processorEnv, startInProcess, waitCaughtUp, waitFor } from '../processor/fixtures.ts'
import { launchChromium } from './browser.ts'

const ROOT = resolve(import.meta.dirname, '../..')

/** Runs `rtsa generate` with `env`; resolves with its exit code (the caller may abort it). */
function generate(env: Record<string, string>, signal?: AbortSignal): Promise<number> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [resolve(ROOT, 'src/cli/main.ts'), 'generate'], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
      signal,
    })
    let err = ''
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString()
    })
    child.on('error', (e) => (signal?.aborted ? done(0) : fail(e)))
    child.on('exit', (code) => (code === 0 || signal?.aborted ? done(code ?? 0) : fail(new Error(err))))
  })
}

test('the dashboard follows a running pipeline', { timeout: 240_000 }, async (t) => {
  const bootstrap = kafkaBootstrap()
  const topic = await freshTopic(t, 3, 'e2e')
  const { url, pool } = await freshStore(t)
  const common = {
    KAFKA_BOOTSTRAP: bootstrap.join(','),
    KAFKA_TOPIC: topic,
    STREAM_COUNT: '8',
    USER_COUNT: '3000',
    FAULT_DUPLICATE_RATE: '0.01',
    FAULT_LATE_RATE: '0.003',
    FAULT_MALFORMED_RATE: '0.003',
    FAULT_DISORDER_RATE: '0.05',
    LOG_LEVEL: 'warn',
  }
  // History first: 30 minutes of event time, as fast as possible.
  await generate({ ...common, SIMULATE_FROM: '30 minutes', EVENTS_PER_SEC: '60', SEED: 'e2e-history' })

  const processor = startInProcess(
    processorEnv({ bootstrap, databaseUrl: url, topic, group: `${topic}.g` }),
    pool,
  )
  defer(t, () => processor.stop())
  const app = await buildApp({ pool, config: {} })
  defer(t, () => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  // All of the history, so that the counts below move only with the live traffic.
  await waitCaughtUp(pool, bootstrap, topic)
  await waitFor('the history is processed', async () => {
    const r = await app.inject('/state')
    return r.statusCode === 200 && r.json().rows.length === 8
  })

  // Then live traffic while the page watches.
  const live = new AbortController()
  defer(t, () => live.abort())
  const liveRun = generate(
    { ...common, EVENTS_PER_SEC: '150', DURATION: '90s', SEED: 'e2e-live' },
    live.signal,
  )
  liveRun.catch(() => {})

  const browser = await launchChromium()
  defer(t, () => browser.close())
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } })
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(base)
  await page.waitForSelector('#chart-viewers .uplot', { timeout: 20_000 })
  const accepted = async () => Number(((await page.textContent('#p-acc')) ?? '0').replaceAll(',', ''))
  const first = await accepted()
  // The page's numbers move with the commits, without a reload.
  await waitFor('the page shows new commits', async () => (await accepted()) > first + 300, 30_000)
  await waitFor(
    'events/s is measured',
    async () => /^[0-9]/.test((await page.textContent('#p-eps')) ?? ''),
    20_000,
  )
  assert.equal(await page.textContent('#conn'), 'live')
  const rows = await page.$$eval('#top tbody tr', (trs) => trs.length)
  assert.equal(rows, 8)

  // What the page says agrees with the API.
  const state = (await app.inject('/state')).json() as { rows: Array<{ accepted_count: number }> }
  const apiAccepted = state.rows.reduce((s, r) => s + r.accepted_count, 0)
  assert.ok(Math.abs(apiAccepted - (await accepted())) < 2000, `${apiAccepted} vs ${await accepted()}`)

  mkdirSync('test-artifacts', { recursive: true })
  await page.screenshot({ path: 'test-artifacts/dashboard-pipeline.png', fullPage: true })
  assert.deepEqual(errors, [])
})
