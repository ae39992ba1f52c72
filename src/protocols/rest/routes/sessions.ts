import { CoreError, ErrorCodes } from '../../../core/errors.js'
import { bearer, tooManyFailures } from '../credentials.js'
import { route, type Route } from '../route.js'
import * as r from '../responses.js'
import * as s from '../schemas.js'
import { me } from '../serialize.js'

/** Sign in for a session token, sign out, who am I. */
export const sessionRoutes: Route[] = [
  route({
    method: 'POST',
    url: '/sessions',
    operationId: 'signIn',
    response: r.session,
    auth: 'none',
    tag: 'session',
    summary: 'Sign in with a login and password; answers a bearer token for the user endpoints',
    body: s.loginBody,
    status: 201,
    handler: async (ctx, { body, reply }) => {
      const signedIn = await ctx.auth.signIn(body.login, body.password, 'rest')
      if (!signedIn.ok) {
        if (signedIn.reason === 'locked') return tooManyFailures(reply, signedIn.retryAfter)
        throw new CoreError(ErrorCodes.AUTHENTICATION_FAILED)
      }
      const session = await ctx.auth.openSession(signedIn.actor, 'token')
      return { token: session.ticket, expiresAt: session.expiresAt, user: me(signedIn.actor) }
    },
  }),
  route({
    method: 'DELETE',
    url: '/sessions',
    operationId: 'signOut',
    response: r.ok,
    auth: 'user',
    tag: 'session',
    summary: 'Sign out (ends the bearer token session)',
    handler: async (ctx, { request }) => {
      const token = bearer(request)
      if (token) await ctx.auth.closeSession(token, 'rest')
      return { ok: true }
    },
  }),
  route({
    method: 'GET',
    url: '/me',
    operationId: 'getMe',
    response: r.me,
    auth: 'user',
    tag: 'session',
    summary: 'The signed-in user',
    handler: async (_ctx, { actor }) => me(actor),
  }),
]
