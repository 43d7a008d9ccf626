/** `/live`: Server-Sent Events fed by processor commits (see live/hub.ts). */
import { Type } from 'typebox'
import { RtsaError } from '../../errors/catalogue.ts'
import type { Api, ApiContext } from '../context.ts'
import { MAX_SNAPSHOT_MINUTES, type Snapshot } from '../live/hub.ts'
import { errorResponses, Query } from '../schemas.ts'

/** Registers `/live`. */
export function liveRoutes(app: Api, ctx: ApiContext): void {
  app.get(
    '/live',
    {
      schema: {
        operationId: 'getLiveEvents',
        summary: 'Live updates (Server-Sent Events)',
        description:
          'On connect (and on every reconnect, whatever `Last-Event-ID` says): `snapshot` with states, the ' +
          'windows and per-minute totals of the last `minutes`, and pipeline figures. Then `update` within ' +
          'about a second of each processor commit (bursts merged, at most 4 per second), `pipeline` every ' +
          '2 s, `status` on database trouble, and a heartbeat comment every 15 s.',
        tags: ['live'],
        querystring: Query({
          minutes: Type.Integer({
            minimum: 1,
            maximum: MAX_SNAPSHOT_MINUTES,
            default: 30,
            description: 'snapshot depth',
          }),
        }),
        response: {
          200: {
            description: 'an event stream',
            // One event of the stream (what an SSE client hands out), not the whole body.
            content: {
              'text/event-stream': {
                schema: Type.Object({
                  event: Type.Optional(
                    Type.Union(
                      ['snapshot', 'update', 'pipeline', 'status'].map((e) => Type.Literal(e)),
                      {
                        description: 'the event type',
                      },
                    ),
                  ),
                  data: Type.String({ description: 'the event as JSON' }),
                  id: Type.Optional(Type.String({ description: 'a sequence number' })),
                  retry: Type.Optional(Type.Integer({ description: 'reconnect after this many ms' })),
                }),
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      if (!ctx.hub.admit()) {
        ctx.telemetry.liveRefused.inc()
        throw new RtsaError(
          'CAPACITY_EXCEEDED',
          `this API serves at most ${ctx.hub.maxClients} /live connections (API_LIVE_MAX_CLIENTS); retry later`,
        )
      }
      // Read first: if the database is down the client gets a plain 503, not a dead stream.
      let snapshot: Snapshot
      try {
        snapshot = await ctx.hub.sharedSnapshot(request.query.minutes)
      } catch (error) {
        ctx.hub.release()
        throw error
      }
      const headers: Record<string, string | string[]> = {}
      for (const [name, value] of Object.entries(reply.getHeaders())) {
        if (value !== undefined) headers[name] = typeof value === 'number' ? String(value) : value // CORS headers set by hooks
      }
      Object.assign(headers, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no', // no proxy buffering (nginx)
      })
      // Hijacked replies skip onResponse: count the connection here.
      ctx.telemetry.requests.inc({ method: 'GET', path: '/live', status: '200' })
      reply.hijack()
      reply.raw.writeHead(200, headers)
      reply.raw.socket?.setNoDelay(true)
      ctx.hub.attach(reply.raw, snapshot)
    },
  )
}
