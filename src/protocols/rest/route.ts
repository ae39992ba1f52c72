import type { FastifyReply, FastifyRequest } from 'fastify'
import type { z } from 'zod'
import type { DoorContext } from '../../context.js'
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

/** What a handler may return: the answer its `response` schema describes (before JSON), or the reply it sent. */
export type Answer<R> = R extends z.ZodType ? z.output<R> | FastifyReply : FastifyReply

/** One REST route: what the router validates and authenticates, and what the OpenAPI builder describes. */
export interface Route<
  P = unknown,
  Q = unknown,
  B = unknown,
  R extends z.ZodType | 'text/event-stream' = z.ZodType | 'text/event-stream',
> {
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
  response: R
  /** other successful answers, by status */
  otherResponses?: Record<number, z.ZodType>
  /** the body is the request's bytes as a stream (a file upload), whatever its Content-Type */
  raw?: true
  /** a retry naming the same Idempotency-Key gets the first answer instead of acting again */
  idempotent?: true
  handler: (ctx: DoorContext, route: RouteContext<P, Q, B>) => Promise<Answer<R>>
}

// Each route keeps its own schema types; the table only needs the common shape.
// biome-ignore lint/suspicious/noExplicitAny: heterogeneous route table
type AnyRoute = Route<any, any, any>

/** A route whose handler the compiler checks against its schemas: params, query and body in, `response` out. */
export const route = <P, Q, B, R extends z.ZodType | 'text/event-stream'>(
  definition: Route<P, Q, B, R>,
): AnyRoute => definition as AnyRoute
