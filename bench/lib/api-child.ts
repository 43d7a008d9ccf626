/**
 * The HTTP API as a child process on an ephemeral port (the product's `rtsa serve`
 * wants a fixed PORT): the same pool and app as src/api/server.ts's startApi. Prints
 * `{"url": ...}` once listening; stops on SIGTERM.
 *
 *   DATABASE_URL=... npx node bench/lib/api-child.ts
 */
import pino from 'pino'
import { buildApp } from '../../src/api/app.ts'
import { loadApiConfig } from '../../src/api/config.ts'
import { createApiPool } from '../../src/api/server.ts'

const config = loadApiConfig(process.env)
const logger = pino({ level: config.logLevel, name: 'rtsa-api' })
const pool = createApiPool(config, logger)
const app = await buildApp({ pool, config, logger })
await app.listen({ port: 0, host: '127.0.0.1' })
const address = app.server.address()
const port = typeof address === 'object' && address !== null ? address.port : 0
console.log(JSON.stringify({ url: `http://127.0.0.1:${port}`, pid: process.pid }))
process.once('SIGTERM', () => {
  void app
    .close()
    .then(() => pool.end())
    .finally(() => process.exit(0))
})
