/**
 * The page of one stream and the dashboard's history card in a real headless Chromium,
 * over three days of traffic through the real engine and commit code: the range picker
 * chooses the resolution, the figures are the exact rows, periods and dead letters show.
 * Screenshots go to test-artifacts/ (git-ignored).
 */
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { buildApp } from '../../src/api/app.ts'
import { testDecode } from '../engine/helpers.ts'
import { oracle } from '../engine/oracle.ts'
import { defer } from '../helpers/services.ts'
import { launchChromium, waitForText } from './browser.ts'
import { setupDatabase, testClock } from './fixtures.ts'
import { CFG, END, H, loadTraffic } from './traffic.ts'

test('stream page: range picker picks the resolution; exact peaks, periods, counters and dead letters', async (t) => {
  const { pool } = await setupDatabase(t)
  const input = await loadTraffic(pool)
  const clock = testClock(END)
  const app = await buildApp({
    pool,
    clock: clock.now,
    config: {},
    live: { coalesceMs: 200, pipelineMs: 1000 },
  })
  defer(t, () => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const browser = await launchChromium()
  defer(t, () => browser.close())
  const page = await browser.newPage({ viewport: { width: 1440, height: 1100 } })
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  const nf = new Intl.NumberFormat('en-US')

  // From the dashboard's top-streams table to the stream's page.
  await page.goto(base)
  await page.waitForSelector('#top tbody a[href="/streams/s1"]')
  await waitForText(page, '#history-note', 'per minute, exact')
  await page.click('#history-range button[data-range="7d"]')
  await waitForText(page, '#history-note', 'per hour, exact')
  await page.waitForSelector('#chart-history .uplot')
  assert.match((await page.textContent('#history-sums')) ?? '', /^Over the range: [\d,]+ events/)
  await page.click('#top tbody a[href="/streams/s1"]')
  await page.waitForURL(`${base}/streams/s1`)
  assert.equal(await page.textContent('#stream-name'), 's1')

  // 7 days: hourly rows; the peak is the largest hourly peak, as the oracle computes it.
  await page.click('#range button[data-range="7d"]')
  await waitForText(page, '#res-note', 'per hour')
  assert.equal(await page.getAttribute('#range button[data-range="7d"]', 'aria-pressed'), 'true')
  assert.match(page.url(), /range=7d$/)
  const hours = oracle({ ...CFG, windowMs: H }, 0, input, testDecode).rows.filter((r) => r.streamId === 's1')
  const peak = Math.max(...hours.map((r) => r.peakViewers))
  const unique = Math.max(...hours.map((r) => r.uniqueViewers))
  await waitForText(page, '#k-peak', nf.format(peak))
  assert.equal(await page.textContent('#k-unique'), nf.format(unique))
  await page.waitForSelector('#chart-sviewers .uplot')
  await page.waitForSelector('#chart-schat .uplot')
  await page.waitForSelector('#chart-smoney .uplot')
  // Three days of 06:00-23:00: six periods, the last one still open.
  await page.waitForFunction(`document.querySelectorAll('#periods li').length === 6`)
  assert.match((await page.textContent('#periods li:last-child')) ?? '', /^offline · .* – now$/)
  assert.equal(await page.textContent('#status'), 'offline')
  assert.equal(await page.textContent('#c-late'), '1')
  assert.equal(await page.textContent('#dead tbody tr:first-child td.reason'), 'late')
  mkdirSync('test-artifacts', { recursive: true })
  await page.screenshot({ path: 'test-artifacts/stream-page.png', fullPage: true })

  // 30 days: daily rows; 1 h: minutes. The URL keeps the range across a reload.
  await page.click('#range button[data-range="30d"]')
  await waitForText(page, '#res-note', 'per day')
  await page.reload()
  await waitForText(page, '#res-note', 'per day')
  assert.equal(await page.getAttribute('#range button[data-range="30d"]', 'aria-pressed'), 'true')
  await page.click('#range button[data-range="1h"]')
  await waitForText(page, '#res-note', 'per minute')
  await page.setViewportSize({ width: 390, height: 844 })
  await page.waitForTimeout(300)
  await page.screenshot({ path: 'test-artifacts/stream-page-phone.png', fullPage: true })

  // A stream nobody has seen: a clear page, not an error.
  await page.goto(`${base}/streams/${encodeURIComponent('no such/stream')}`)
  await waitForText(page, '#status', 'not seen')
  assert.equal(await page.textContent('#stream-name'), 'no such/stream')
  assert.deepEqual(errors, [])
})
