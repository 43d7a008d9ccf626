/**
 * The dashboard: `/` (index.html), a page per stream (`/streams/<id>`, stream.html), their
 * ES modules (`/app.js`, `/live.js`, `/charts.js`, `/history.js`, `/stream.js`) and
 * `/style.css` from src/api/public, and
 * uPlot from node_modules/uplot/dist under `/vendor/uplot/` (no CDN: works offline).
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import { RtsaError } from '../../errors/catalogue.ts'
import type { Api } from '../context.ts'

const PUBLIC = join(dirname(fileURLToPath(import.meta.url)), '..', 'public')
const UPLOT = dirname(createRequire(import.meta.url).resolve('uplot/package.json'))

// Fixed lists: nothing from the URL ever becomes part of a file path.
const OWN: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/live.js': { file: 'live.js', type: 'text/javascript; charset=utf-8' },
  '/charts.js': { file: 'charts.js', type: 'text/javascript; charset=utf-8' },
  '/history.js': { file: 'history.js', type: 'text/javascript; charset=utf-8' },
  '/stream.js': { file: 'stream.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
}
// A Map, not an object: a name such as `constructor` or `__proto__` must find nothing.
const VENDOR = new Map<string, string>([
  ['uPlot.iife.min.js', 'text/javascript; charset=utf-8'],
  ['uPlot.min.css', 'text/css; charset=utf-8'],
])

/** Registers the dashboard's files. */
export function dashboardRoutes(app: Api): void {
  for (const [url, { file, type }] of Object.entries(OWN)) {
    app.get(url, { schema: { hide: true } }, async (_request, reply) => {
      const body = await readFile(join(PUBLIC, file))
      return reply.type(type).header('cache-control', 'no-cache').send(body)
    })
  }
  // The page of one stream: the same file for every id (the page reads the id from its URL).
  // `/streams/top` and `/streams/periods` are API routes: a stream of either name has its
  // page at `/streams/<name>/` instead.
  const streamPage = async (_request: unknown, reply: FastifyReply) => {
    const body = await readFile(join(PUBLIC, 'stream.html'))
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(body)
  }
  app.get(
    '/streams/:id',
    { schema: { hide: true, params: Type.Object({ id: Type.String({ maxLength: 1000 }) }) } },
    streamPage,
  )
  app.get(
    '/streams/:id/',
    { schema: { hide: true, params: Type.Object({ id: Type.String({ maxLength: 1000 }) }) } },
    streamPage,
  )
  app.get(
    '/vendor/uplot/:file',
    { schema: { hide: true, params: Type.Object({ file: Type.String() }) } },
    async (request, reply) => {
      const type = VENDOR.get(request.params.file)
      if (type === undefined) throw new RtsaError('NOT_FOUND', `no file ${request.params.file.slice(0, 100)}`)
      const body = await readFile(join(UPLOT, 'dist', request.params.file))
      return reply.type(type).header('cache-control', 'public, max-age=86400').send(body)
    },
  )
}
