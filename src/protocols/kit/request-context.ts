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

/** What a request's context holds of its own: the rest it reads from the door's context. */
interface RequestScope {
  auth: DoorContext['auth']
  note: (code: ErrorCode) => void
}

const SCOPE = Symbol('request scope')

type RequestContext = DoorContext & { [SCOPE]: RequestScope }

/**
 * The prototype of the contexts contextFor makes for one door context: that context, whose services are read
 * as they are when used, with the request's own `auth` and the counted services (wrapped when used, with the
 * request's note) in front of it. Made once per door context, so that a request makes one object, not a copy of
 * the context and a wrapper of every counted service.
 */
const prototypes = new WeakMap<DoorContext, DoorContext>()

function prototypeOf(ctx: DoorContext): DoorContext {
  let prototype = prototypes.get(ctx)
  if (prototype) return prototype
  const properties: PropertyDescriptorMap = {
    auth: {
      get(this: RequestContext) {
        return this[SCOPE].auth
      },
      enumerable: true,
    },
  }
  for (const name of COUNTED) {
    properties[name] = {
      get(this: RequestContext) {
        return counting(ctx[name], this[SCOPE].note)
      },
      enumerable: true,
    }
  }
  prototype = Object.create(ctx, properties) as DoorContext
  prototypes.set(ctx, prototype)
  return prototype
}

/**
 * The context a door serves one request with: sign-ins and ticket checks count their failures against the
 * request's remote address too; the actors they answer carry that address and the client's User-Agent; the core
 * errors the request runs into are counted for the metrics, by door.
 */
export function contextFor(ctx: DoorContext, request: FastifyRequest): DoorContext {
  const userAgent = request.headers['user-agent']
  const context = Object.create(prototypeOf(ctx)) as RequestContext
  context[SCOPE] = {
    auth: ctx.auth.from(request.ip, typeof userAgent === 'string' ? userAgent.slice(0, 200) : null),
    note: (code: ErrorCode) => noteCoreError(request, code),
  }
  return context
}
