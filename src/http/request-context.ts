import type { FastifyRequest } from 'fastify'
import type { AppContext } from '../context.js'

/**
 * The context a door serves one request with: sign-ins and ticket checks count their failures against the
 * request's remote address too.
 */
export function contextFor(ctx: AppContext, request: FastifyRequest): AppContext {
  return { ...ctx, auth: ctx.auth.from(request.ip) }
}
