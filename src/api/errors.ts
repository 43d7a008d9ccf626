/**
 * Error and not-found handling: every failure is a small JSON body `{error, message,
 * code}` with the status the error catalogue gives its code. Validation errors name the
 * parameter; a database outage is 503; a server error (500) says no more than its code,
 * and nothing ever returns a stack trace.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { type ErrorCode, HTTP_ERRORS, isRtsaError, statusOf } from '../errors/catalogue.ts'
import type { Api } from './context.ts'
import type { ErrorBody } from './schemas.ts'

function body(code: ErrorCode, message: string): ErrorBody {
  return { error: HTTP_ERRORS[statusOf(code)], message, code }
}

/** Seconds a client should wait before retrying a 503 of this code. */
const RETRY_AFTER: Partial<Record<ErrorCode, number>> = {
  POSTGRES_BUSY: 1,
  POSTGRES_UNREACHABLE: 5,
  CAPACITY_EXCEEDED: 10,
}

/** Installs the error handler and the JSON 404 on `app`; `onBusy` counts POSTGRES_BUSY answers. */
export function installErrorHandling(app: Api, onBusy: () => void = () => {}): void {
  // The paths served to GET (routes registered after this), to tell 405 from 404.
  const readable = new Set<string>()
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    if (methods.includes('GET')) readable.add(route.url)
  })
  // Before the body is read: a method with a body (POST, QUERY) would otherwise be refused
  // for its content type (400) before the router could say the method is wrong.
  app.addHook('onRequest', async (request, reply) => {
    if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') return
    const path = request.url.split('?')[0] ?? ''
    if (!readable.has(path)) return
    return reply
      .status(405)
      .header('allow', 'GET, HEAD')
      .send(body('METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path}; use GET`))
  })
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error.validation) {
      // Fastify's message already names the parameter: "querystring/minutes must be <= 1440".
      return reply.status(400).send(body('INPUT_INVALID', error.message))
    }
    if (isRtsaError(error)) {
      const status = statusOf(error.code)
      if (status === 503) {
        request.log.warn({ code: error.code, reason: error.details.reason }, 'service unavailable')
        if (error.code === 'POSTGRES_BUSY') onBusy()
        reply.header('retry-after', String(RETRY_AFTER[error.code] ?? 5))
      }
      if (status !== 500) return reply.status(status).send(body(error.code, error.message))
    } else {
      const status = typeof error.statusCode === 'number' ? error.statusCode : 500
      if (status >= 400 && status < 500) {
        // Fastify's own client errors (bad JSON, media type, body too large): safe to echo.
        return reply.status(status).send({ ...body('INPUT_INVALID', error.message), error: 'bad_request' })
      }
    }
    request.log.error({ err: error }, 'request failed')
    const code = isRtsaError(error) ? error.code : 'INTERNAL'
    return reply.status(500).send(body(code, 'internal error; see the server log'))
  })

  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    return reply
      .status(404)
      .send(body('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`))
  })
}
