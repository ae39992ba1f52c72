import type { FastifyRequest } from 'fastify'
import type { AppContext } from '../context.js'

/**
 * The context a door serves one request with: sign-ins and ticket checks count their failures against the
 * request's remote address too; the actors they answer carry that address and the client's User-Agent.
 */
export function contextFor(ctx: AppContext, request: FastifyRequest): AppContext {
  const userAgent = request.headers['user-agent']
  return {
    ...ctx,
    auth: ctx.auth.from(request.ip, typeof userAgent === 'string' ? userAgent.slice(0, 200) : null),
  }
}
