import type { FastifyInstance } from 'fastify'
import type { DoorContext } from '../../context.js'
import type { Actor } from '../../core/types.js'
import { publicBase } from '../kit/public-url.js'
import { contextFor } from '../kit/request-context.js'
import { refuseUnstorable } from '../kit/text.js'
import { basic, bearer, forgeryRefusal, sameSecret, tooManyFailures, unauthorized } from './credentials.js'
import { endEventStreams } from './events.js'
import { beforeActing, keepAnswer } from './idempotency.js'
import { openApiDocument } from './openapi.js'
import { problem, sendProblem } from './problem.js'
import { replyMismatch } from './reply-check.js'
import type { Route } from './route.js'
import { adminRoutes } from './routes/admin.js'
import { cleanupRoutes } from './routes/cleanup.js'
import { eventRoutes } from './routes/events.js'
import { adminItemRoutes, itemRoutes } from './routes/items.js'
import { operationRoutes } from './routes/operations.js'
import { sessionRoutes } from './routes/sessions.js'
import { trashRoutes } from './routes/trash.js'

/** Every route of the REST door, in the order the OpenAPI document lists them. */
export const routes: Route[] = [
  ...adminRoutes,
  ...adminItemRoutes,
  ...cleanupRoutes,
  ...sessionRoutes,
  ...trashRoutes,
  ...operationRoutes,
  ...eventRoutes,
  ...itemRoutes,
]

/**
 * The router: every route under /api/v1 goes through the same steps (cross-site refusal, authentication, params,
 * query and body checked by the route's schemas) before its handler; uploads in a scope of their own that hands
 * the body over as a stream; the OpenAPI document built from the same table. Under NODE_ENV=test every JSON
 * answer is checked against the schema the document gives for its status, and a mismatch answers 500 naming it.
 */
export async function restDoor(app: FastifyInstance, { ctx: appCtx }: { ctx: DoorContext }) {
  const checkReplies = process.env.NODE_ENV === 'test'
  // event streams never finish on their own: end them so that closing the server does not wait for them
  app.addHook('preClose', async () => endEventStreams(appCtx))
  await app.register(
    async (api) => {
      /** the route behind each fastify route (`METHOD url`), for the answer check */
      const definitions = new Map<string, Route>()
      if (checkReplies) {
        api.addHook('onSend', async (request, reply, payload) => {
          const definition = definitions.get(`${request.routeOptions.method} ${request.routeOptions.url}`)
          if (!definition) return payload
          const mismatch = replyMismatch(
            definition,
            reply.statusCode,
            String(reply.getHeader('content-type') ?? ''),
            payload,
          )
          if (!mismatch) return payload
          request.log.error({ mismatch }, 'answer unlike its OpenAPI description')
          reply.code(500).type('application/problem+json')
          return JSON.stringify(problem(500, mismatch))
        })
      }
      api.addHook('onSend', keepAnswer)
      const register = (scope: FastifyInstance, definition: Route) => {
        definitions.set(`${definition.method} ${scope.prefix}${definition.url}`, definition)
        return scope.route({
          method: definition.method,
          url: definition.url,
          handler: async (request, reply) => {
            const forged = forgeryRefusal(request, appCtx.config)
            if (forged) return sendProblem(reply, problem(403, forged))
            const ctx = contextFor(appCtx, request)
            const credentials = basic(request)
            // text the database cannot store is refused before anything reaches it (sign-in included)
            refuseUnstorable({
              params: request.params,
              query: request.query,
              body: definition.raw ? undefined : request.body,
              credentials,
            })
            let actor: Actor | null = null
            if (definition.auth === 'admin') {
              const token = bearer(request)
              if (!token || !sameSecret(token, ctx.adminToken)) {
                return sendProblem(
                  reply,
                  problem(401, 'Admin endpoints need Authorization: Bearer <ADMIN_TOKEN>'),
                )
              }
            } else if (definition.auth === 'user') {
              const token = bearer(request)
              const checked = credentials
                ? await ctx.auth.signIn(credentials.login, credentials.password, 'rest')
                : token
                  ? await ctx.auth.checkTicket(token, 'rest', { cached: true })
                  : null
              if (checked?.ok) actor = checked.actor
              else if (checked?.reason === 'locked') return tooManyFailures(reply, checked.retryAfter)
              else
                return unauthorized(
                  request,
                  reply,
                  'Valid HTTP Basic credentials or a session token are required',
                )
            }
            const params = definition.params ? definition.params.parse(request.params) : {}
            const query = definition.query ? definition.query.parse(request.query) : {}
            if (definition.body && Buffer.isBuffer(request.body)) {
              return sendProblem(reply, problem(415, 'Send the body as application/json'))
            }
            const body = definition.body ? definition.body.parse(request.body ?? undefined) : undefined
            if (definition.idempotent && actor) {
              if (await beforeActing(ctx, actor, request, reply)) return reply
            }
            const result = await definition.handler(ctx, {
              params,
              query,
              body,
              actor: actor as Actor,
              request,
              reply,
            })
            if (reply.sent || result === reply) return reply
            return reply.code(definition.status ?? 200).send(result)
          },
        })
      }
      for (const definition of routes) if (!definition.raw) register(api, definition)
      // uploads get the body as the request stream (never buffered), whatever its type
      await api.register(async (uploads) => {
        uploads.removeAllContentTypeParsers()
        uploads.addContentTypeParser('*', (_request, payload, done) => done(null, payload))
        for (const definition of routes) if (definition.raw) register(uploads, definition)
      })
      api.get('/openapi.json', async (request) => openApiDocument(routes, publicBase(request, appCtx.config)))
    },
    { prefix: '/api/v1' },
  )
}
