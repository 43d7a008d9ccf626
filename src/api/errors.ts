/**
 * Error and not-found handling: every failure is a small JSON body `{error, message,
 * code}` with the right status. Validation errors name the parameter; a database
 * outage is 503; nothing ever returns a stack trace.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { isRtsaError } from '../errors/catalogue.ts'
import type { Api } from './context.ts'
import type { ErrorBody } from './schemas.ts'

function body(error: string, message: string, code: string): ErrorBody {
  return { error, message, code }
}

/** Installs the error handler and the JSON 404 on `app`. */
export function installErrorHandling(app: Api): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error.validation) {
      // Fastify's message already names the parameter: "querystring/minutes must be <= 1440".
      return reply.status(400).send(body('bad_request', error.message, 'INPUT_INVALID'))
    }
    if (isRtsaError(error, 'POSTGRES_UNREACHABLE')) {
      request.log.warn({ reason: error.details.reason }, 'database unavailable')
      return reply.status(503).send(body('service_unavailable', error.message, error.code))
    }
    if (isRtsaError(error, 'INPUT_INVALID')) {
      return reply.status(400).send(body('bad_request', error.message, error.code))
    }
    if (isRtsaError(error, 'NOT_FOUND')) {
      return reply.status(404).send(body('not_found', error.message, error.code))
    }
    const status = typeof error.statusCode === 'number' ? error.statusCode : 500
    if (status >= 400 && status < 500) {
      // Fastify's own client errors (bad JSON, media type, body too large): safe to echo.
      return reply.status(status).send(body('bad_request', error.message, 'INPUT_INVALID'))
    }
    request.log.error({ err: error }, 'request failed')
    const code = isRtsaError(error) ? error.code : 'INTERNAL'
    return reply.status(500).send(body('internal_error', 'internal error; see the server log', code))
  })

  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    return reply
      .status(404)
      .send(body('not_found', `no route ${request.method} ${request.url.split('?')[0]}`, 'NOT_FOUND'))
  })
}
