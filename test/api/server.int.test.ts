import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { test } from 'node:test'
import { startApi } from '../../src/api/server.ts'
import { freshDatabase } from '../helpers/services.ts'

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

test('startApi: listens on HOST:PORT from the environment, serves, stops gracefully', async (t) => {
  // An empty database: the API creates the schema itself when it starts first.
  const url = await freshDatabase(t)
  const port = await freePort()
  const api = await startApi({
    DATABASE_URL: url,
    PORT: String(port),
    LOG_LEVEL: 'silent',
    API_TOKEN: 'tok-for-the-server-test',
  })
  t.after(() => api.stop())
  assert.equal(api.url, `http://127.0.0.1:${port}`)
  const health = await fetch(`${api.url}/health`)
  assert.equal(health.status, 200)
  assert.deepEqual(await health.json(), { ok: true })
  assert.equal((await fetch(`${api.url}/state`)).status, 401)
  const state = await fetch(`${api.url}/state`, {
    headers: { authorization: 'Bearer tok-for-the-server-test' },
  })
  assert.equal(state.status, 200)
  assert.deepEqual(((await state.json()) as { rows: unknown[] }).rows, [])
  const page = await fetch(`${api.url}/`)
  assert.match(await page.text(), /<title>rtsa/)
  const uplot = await fetch(`${api.url}/vendor/uplot/uPlot.iife.min.js`)
  assert.equal(uplot.status, 200)
  await api.stop()
  await assert.rejects(fetch(`${api.url}/health`))
})

test('startApi: a bad setting fails at startup naming the variable', async () => {
  await assert.rejects(startApi({ PORT: '99999', LOG_LEVEL: 'silent' }), /PORT="99999" is invalid/)
})
