/**
 * Bearer-token auth: when API_TOKEN is set, every request except `/health` (for
 * liveness probes) and the dashboard's static assets (which hold no data; the page
 * asks for the token and sends it with its data requests) needs
 * `Authorization: Bearer <token>`.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { Api } from './context.ts'

const PUBLIC_ROUTES = new Set([
  '/health',
  '/',
  '/app.js',
  '/live.js',
  '/charts.js',
  '/style.css',
  '/vendor/uplot/:file',
])

function digest(s: string): Buffer {
  // Hash both sides so the comparison is constant-time whatever the lengths.
  return createHash('sha256').update(s).digest()
}

/** Installs the token check on `app` (a no-op without a token). */
export function installAuth(app: Api, token: string | undefined): void {
  if (token === undefined || token === '') return
  const expected = digest(token)
  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url
    if (route !== undefined && PUBLIC_ROUTES.has(route)) return
    if (request.method === 'OPTIONS') return // CORS preflight carries no credentials
    const header = request.headers.authorization ?? ''
    const match = /^Bearer\s+(.+)$/i.exec(header)
    if (match && timingSafeEqual(digest(match[1]!.trim()), expected)) return
    return reply
      .status(401)
      .header('www-authenticate', 'Bearer')
      .send({ error: 'unauthorized', message: 'missing or wrong bearer token', code: 'UNAUTHORIZED' })
  })
}
