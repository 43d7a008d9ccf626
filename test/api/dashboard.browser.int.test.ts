/**
 * The dashboard in a real headless Chromium: it renders the figures of a database we
 * fill, then follows a commit (new rows + NOTIFY) without a reload. Screenshots go to
 * test-artifacts/ (git-ignored) for a human look.
 */
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import pg from 'pg'
import { buildApp } from '../../src/api/app.ts'
import { defer } from '../helpers/services.ts'
import { launchChromium, waitForText } from './browser.ts'
import {
  clearOfMinuteEdge,
  minuteStart,
  putCheckpoint,
  putState,
  putWindow,
  seedKnownRows,
  setupDatabase,
} from './fixtures.ts'

test('dashboard: renders the data, follows commits live, shows a lost connection', async (t) => {
  const now = clearOfMinuteEdge()
  const { pool, url } = await setupDatabase(t)
  await seedKnownRows(pool, now())
  // A fuller picture for the screenshot: more streams with a 30-minute history.
  for (let s = 0; s < 6; s++) {
    const stream = `stream_${1001 + s}`
    for (let ago = 29; ago >= 0; ago--) {
      const base = 400 - s * 55
      await putWindow(pool, {
        stream,
        start: minuteStart(ago),
        activeViewers: Math.round(base + 40 * Math.sin((ago + s * 3) / 4) + (29 - ago) * 2),
        peakViewers: base + 70,
        chat: 30 + ((ago * 7 + s * 13) % 40),
        cents: ((ago * 37 + s * 101) % 9) * 250,
        events: 120,
        final: ago >= 10,
        partition: s % 3,
      })
    }
    await putState(pool, {
      stream,
      activeViewers: Math.round(400 - s * 55 + 60),
      live: s !== 5,
      accepted: 3600 - s * 200,
      late: s,
      duplicate: 2 * s,
      rejected: s % 2,
      partition: s % 3,
    })
  }
  await putCheckpoint(pool, { partition: 2, next: 900, end: 905, ageMs: 500 })
  // A big donation minute: the donations axis must fit labels like "$80,000".
  await putWindow(pool, {
    stream: 'stream_1001',
    start: minuteStart(3),
    activeViewers: 400,
    cents: 8_000_000,
  })

  const app = await buildApp({ pool, clock: now, config: {}, live: { coalesceMs: 200, pipelineMs: 1000 } })
  defer(t, () => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

  const browser = await launchChromium()
  defer(t, () => browser.close())
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } })
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(base)

  // Viewers now: stream_a 20 + stream_b 30 + the six streams of state.
  const expected = 20 + 30 + [0, 1, 2, 3, 4, 5].reduce((sum, s) => sum + Math.round(400 - s * 55 + 60), 0)
  await waitForText(page, '#k-viewers', new Intl.NumberFormat('en-US').format(expected))
  await page.waitForSelector('#chart-viewers .uplot')
  await page.waitForSelector('#chart-chat .uplot')
  assert.equal(await page.textContent('#conn'), 'live')
  assert.equal(await page.textContent('#top tbody tr:first-child td.stream'), 'stream_1001')
  assert.equal(await page.textContent('#p-late'), String(2 + 0 + 1 + 2 + 3 + 4 + 5))
  assert.equal(await page.textContent('#p-lag'), '45')
  // The donations axis is as wide as its widest label (a fixed width cut "$80,000" to "‹80,000").
  await page.waitForSelector('#chart-money .u-over')
  const fit = (await page.evaluate(`(() => {
    const over = document.querySelector('#chart-money .u-over')
    const ctx = document.createElement('canvas').getContext('2d')
    ctx.font = '11px system-ui, sans-serif'
    return { left: parseFloat(over.style.left), need: ctx.measureText('$80,000').width }
  })()`)) as { left: number; need: number }
  // uPlot draws a label right-aligned after the tick (10 px) and its gap (5 px).
  assert.ok(fit.left >= fit.need + 17, `y axis ${fit.left} px for a label of ${fit.need} px`)
  // The viewers figures say which instant they describe.
  assert.match(
    (await page.getAttribute('#top tbody tr:first-child td.strong', 'title')) ?? '',
    /^as of the last event, /,
  )
  assert.match((await page.textContent('#top thead')) ?? '', /viewers at last event/)

  // A commit: stream_a jumps to 900 viewers.
  await putWindow(pool, { stream: 'stream_a', start: minuteStart(0, now()), activeViewers: 900, chat: 3 })
  await putState(pool, { stream: 'stream_a', activeViewers: 900, accepted: 400 })
  const notifier = new pg.Client({ connectionString: url })
  await notifier.connect()
  defer(t, () => notifier.end())
  await notifier.query(`select pg_notify('rtsa_commits', $1)`, [
    JSON.stringify({
      topic: 'stream.events',
      partition: 0,
      streams: ['stream_a'],
      committedAt: new Date().toISOString(),
    }),
  ])
  await waitForText(page, '#top tbody tr:first-child td.stream', 'stream_a', 5000)
  assert.equal(
    await page.textContent('#k-viewers'),
    new Intl.NumberFormat('en-US').format(expected - 20 + 900),
  )
  assert.equal(await page.textContent('#top tbody tr:first-child td.strong'), '900')

  mkdirSync('test-artifacts', { recursive: true })
  await page.waitForTimeout(300)
  await page.screenshot({ path: 'test-artifacts/dashboard.png', fullPage: true })
  await page.setViewportSize({ width: 390, height: 844 })
  await page.waitForTimeout(400)
  await page.screenshot({ path: 'test-artifacts/dashboard-phone.png', fullPage: true })

  // The API goes away: the page says so instead of showing stale numbers as live.
  await app.close()
  await page.waitForFunction(`document.getElementById('conn')?.textContent !== 'live'`, undefined, {
    timeout: 10_000,
  })
  await page.waitForSelector('#banner:not([hidden])', { timeout: 10_000 })
  assert.equal(await page.textContent('#conn'), 'disconnected')
  await page.setViewportSize({ width: 1280, height: 900 })
  await page.waitForTimeout(300)
  await page.screenshot({ path: 'test-artifacts/dashboard-disconnected.png' })
  assert.deepEqual(errors, [])
})

test('dashboard: clear empty state on an empty database', async (t) => {
  const { pool } = await setupDatabase(t)
  const app = await buildApp({ pool, config: {} })
  defer(t, () => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const browser = await launchChromium()
  defer(t, () => browser.close())
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  await page.goto(base)
  await waitForText(page, '#conn', 'live')
  assert.match((await page.textContent('#top tbody')) ?? '', /No streams yet/)
  assert.match((await page.textContent('#chart-viewers')) ?? '', /Waiting for data/)
  assert.equal(await page.textContent('#p-commit'), 'none yet')
  mkdirSync('test-artifacts', { recursive: true })
  await page.screenshot({ path: 'test-artifacts/dashboard-empty.png', fullPage: true })
})

test('dashboard: with API_TOKEN it asks for the token, then streams with it', async (t) => {
  const now = clearOfMinuteEdge()
  const { pool } = await setupDatabase(t)
  await seedKnownRows(pool, now())
  const app = await buildApp({ pool, clock: now, config: { apiToken: 'tok-123' } })
  defer(t, () => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const browser = await launchChromium()
  defer(t, () => browser.close())
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  await page.goto(base)
  await page.waitForSelector('#token-form:not([hidden])', { timeout: 10_000 })
  assert.equal(await page.textContent('#conn'), 'token needed')
  await page.fill('#token-input', 'tok-123')
  await page.click('#token-form button')
  await waitForText(page, '#conn', 'live')
  await waitForText(page, '#k-viewers', '50')
  assert.equal(await page.isHidden('#token-form'), true)
})
