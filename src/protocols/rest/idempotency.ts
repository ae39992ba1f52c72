import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { DoorContext } from '../../context.js'
import type { Actor } from '../../core/types.js'
import { problem, sendProblem } from './problem.js'

/**
 * The Idempotency-Key request header (draft-ietf-httpapi-idempotency-key-header) on the routes that change the
 * trash: a client that retries after a timeout or a cut connection names the same key, and gets the first
 * request's answer instead of a second operation.
 */

/** a request that acts under a key, until its answer is sent */
const acting = new WeakMap<FastifyRequest, { ctx: DoorContext; actor: Actor; key: string }>()

/** The key a request names: a bare token or a quoted string (structured-field form), visible ASCII, 1-255. */
export function idempotencyKeyOf(request: FastifyRequest): string | null | { invalid: true } {
  const header = request.headers['idempotency-key']
  if (header === undefined) return null
  const raw = Array.isArray(header) ? header.join(',') : header
  const key = /^"(.*)"$/.exec(raw)?.[1] ?? raw
  return /^[\x21-\x7e]{1,255}$/.test(key) ? key : { invalid: true }
}

/** What a request asks: method, path with query, and body; the same key with another request is refused. */
function fingerprintOf(request: FastifyRequest): string {
  return createHash('sha256')
    .update(`${request.method} ${request.url}\n${JSON.stringify(request.body ?? null)}`)
    .digest('base64url')
}

/**
 * Before a handler that changes the trash: whether it has answered already (the first answer again, or a
 * refusal); false when the handler should act (no key, or the key is the request's own now). A boolean, not the
 * reply: a reply is thenable, and an async function returning it would wait for the answer to be sent.
 */
export async function beforeActing(
  ctx: DoorContext,
  actor: Actor,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<boolean> {
  const key = idempotencyKeyOf(request)
  if (key === null) return false
  if (typeof key !== 'string') {
    sendProblem(
      reply,
      problem(422, 'Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID, for example)'),
    )
    return true
  }
  const outcome = await ctx.operations.claimKey(actor, key, fingerprintOf(request))
  switch (outcome.kind) {
    case 'act':
      acting.set(request, { ctx, actor, key })
      return false
    case 'replay':
      reply
        .code(outcome.answer.status)
        .type(outcome.answer.contentType)
        .header('idempotent-replayed', 'true')
        .send(outcome.answer.body)
      return true
    case 'other-request':
      sendProblem(
        reply,
        problem(422, 'This Idempotency-Key was used for another request; use a new key for a new request'),
      )
      return true
    case 'in-progress':
      sendProblem(
        reply,
        problem(409, 'A request with this Idempotency-Key is still being answered; retry when it is done'),
      )
      return true
  }
}

/** onSend: the answer of a request that acted under a key is kept for its retries. */
export async function keepAnswer(request: FastifyRequest, reply: FastifyReply, payload: unknown) {
  const holder = acting.get(request)
  if (!holder) return payload
  acting.delete(request)
  await holder.ctx.operations.settleKey(holder.actor, holder.key, {
    status: reply.statusCode,
    contentType: String(reply.getHeader('content-type') ?? 'application/json; charset=utf-8'),
    body: typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : '',
  })
  return payload
}
