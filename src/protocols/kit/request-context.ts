import type { FastifyRequest } from 'fastify'
import type { DoorContext } from '../../context.js'
import { CoreError, type ErrorCode } from '../../core/errors.js'
import { noteCoreError } from './request-notes.js'

/** The services a door calls whose refusals (thrown CoreErrors, batch items in error) the metrics count. */
const COUNTED = ['trash', 'operations', 'admin', 'objects', 'cleanup'] as const

/** Error codes of the items of a batch answer (`results` with `status: 'error'`). */
function batchErrors(value: unknown, note: (code: ErrorCode) => void) {
  const results = (value as { results?: unknown } | null)?.results
  if (!Array.isArray(results)) return
  for (const result of results as { status?: unknown; code?: unknown }[]) {
    if (result?.status === 'error' && typeof result.code === 'string') note(result.code as ErrorCode)
  }
}

/** The service, with every method's CoreError (thrown or per batch item) noted for the metrics. */
function counting<T extends object>(service: T, note: (code: ErrorCode) => void): T {
  const onError = (error: unknown) => {
    if (error instanceof CoreError) note(error.code)
    throw error
  }
  return new Proxy(service, {
    get(target, property) {
      const value = Reflect.get(target, property, target)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        let result: unknown
        try {
          result = value.apply(target, args)
        } catch (error) {
          onError(error)
        }
        if (result instanceof Promise) {
          return result.then((answer: unknown) => {
            batchErrors(answer, note)
            return answer
          }, onError)
        }
        return result
      }
    },
  })
}

/**
 * The context a door serves one request with: sign-ins and ticket checks count their failures against the
 * request's remote address too; the actors they answer carry that address and the client's User-Agent; the core
 * errors the request runs into are counted for the metrics, by door.
 */
export function contextFor(ctx: DoorContext, request: FastifyRequest): DoorContext {
  const userAgent = request.headers['user-agent']
  const note = (code: ErrorCode) => noteCoreError(request, code)
  const counted = Object.fromEntries(COUNTED.map((name) => [name, counting(ctx[name], note)])) as Pick<
    DoorContext,
    (typeof COUNTED)[number]
  >
  return {
    ...ctx,
    ...counted,
    auth: ctx.auth.from(request.ip, typeof userAgent === 'string' ? userAgent.slice(0, 200) : null),
  }
}
