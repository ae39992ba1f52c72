import type { FastifyReply, FastifyRequest } from 'fastify'
import type { z } from 'zod'
import type { AppContext } from '../../context.js'
import type { Actor } from '../../core/types.js'

/** Who may call a route: the ADMIN_TOKEN bearer, a signed-in user (Basic or a session token), or anyone. */
export type Auth = 'admin' | 'user' | 'none'

export interface RouteContext<P, Q, B> {
  params: P
  query: Q
  body: B
  actor: Actor
  request: FastifyRequest
  reply: FastifyReply
}

/** One REST route: what the router validates and authenticates, and what the OpenAPI builder describes. */
export interface Route<P = unknown, Q = unknown, B = unknown> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  url: string
  auth: Auth
  /** the operation's name in the OpenAPI document (and in clients generated from it) */
  operationId: string
  summary: string
  tag: 'admin' | 'trash' | 'session'
  params?: z.ZodType<P>
  query?: z.ZodType<Q>
  body?: z.ZodType<B>
  status?: number
  /** what the route answers at `status` (JSON described by a schema), or an event stream */
  response: z.ZodType | 'text/event-stream'
  /** other successful answers, by status */
  otherResponses?: Record<number, z.ZodType>
  /** the body is the request's bytes as a stream (a file upload), whatever its Content-Type */
  raw?: true
  handler: (ctx: AppContext, route: RouteContext<P, Q, B>) => Promise<unknown>
}

// Each route keeps its own schema types; the table only needs the common shape.
// biome-ignore lint/suspicious/noExplicitAny: heterogeneous route table
export const route = <P, Q, B>(definition: Route<P, Q, B>): Route<any, any, any> => definition
