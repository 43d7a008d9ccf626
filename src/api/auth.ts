/**
 * Token auth: when API_TOKEN or API_TOKENS is set, every request except `/health` and
 * `/ready` (for orchestrators' probes) and the dashboard's static assets (which hold no
 * data; the page asks for the token and sends it with its data requests) needs a token.
 * Several tokens are accepted at once, so one can be rotated without downtime.
 *
 * The token comes as `Authorization: Bearer <token>` (scripts, Prometheus' `authorization`,
 * Swagger UI's Authorize button), or as the password of HTTP Basic auth (any user name):
 * a browser opening /docs gets a Basic challenge, asks for it once and sends it with every
 * later request, so Swagger UI loads its document and can try requests.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { Api } from './context.ts'

const PUBLIC_ROUTES = new Set([
  '/health',
  '/ready',
  '/',
  '/app.js',
  '/live.js',
  '/charts.js',
  '/history.js',
  '/stream.js',
  '/streams/:id',
  '/streams/:id/',
  '/style.css',
  '/vendor/uplot/:file',
])

/** Where a browser navigates by itself (no script to add a header): answer with a Basic challenge. */
const BROWSER_PAGES = /^\/(docs|openapi\.json)(\/|$|\?)/

function digest(s: string): Buffer {
  // Hash both sides so the comparison is constant-time whatever the lengths.
  return createHash('sha256').update(s).digest()
}

/** The token a request presents (Bearer, or Basic's password), if any. */
export function presentedToken(header: string | undefined): string | undefined {
  if (header === undefined || header.length > 8192) return undefined
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header)
  if (bearer) return bearer[1]
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header)
  if (!basic) return undefined
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon < 0 ? undefined : decoded.slice(colon + 1)
}

/** The tokens of the settings: API_TOKEN and each of API_TOKENS. */
export function tokensOf(c: {
  apiToken?: string | undefined
  apiTokens?: readonly string[] | undefined
}): string[] {
  return [...(c.apiToken === undefined || c.apiToken === '' ? [] : [c.apiToken]), ...(c.apiTokens ?? [])]
}

/** Installs the token check on `app` (a no-op without tokens). */
export function installAuth(app: Api, tokens: readonly string[]): void {
  if (tokens.length === 0) return
  const expected = tokens.map(digest)
  const accepts = (token: string) => {
    const d = digest(token)
    // Compare with every token (no early exit), so timing tells nothing about which matched.
    let ok = false
    for (const e of expected) ok = timingSafeEqual(d, e) || ok
    return ok
  }
  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url
    if (route !== undefined && PUBLIC_ROUTES.has(route)) return
    if (request.method === 'OPTIONS') return // CORS preflight carries no credentials
    const token = presentedToken(request.headers.authorization)
    if (token !== undefined && accepts(token)) return
    const challenge = BROWSER_PAGES.test(request.url) ? 'Basic realm="rtsa API", charset="UTF-8"' : 'Bearer'
    return reply
      .status(401)
      .header('www-authenticate', challenge)
      .send({ error: 'unauthorized', message: 'missing or wrong API token', code: 'UNAUTHORIZED' })
  })
}
