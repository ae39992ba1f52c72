import type { FastifyRequest } from 'fastify'
import type { DoorContext } from '../../context.js'
import { CoreError, type ErrorCode } from '../../core/errors.js'
import { noteCoreError } from './request-notes.js'

/** The services a door calls whose refusals (thrown CoreErrors, batch items in error) the metrics count. */
const COUNTED = ['trash', 'operations', 'admin', 'objects', 'cleanup'] as const

/** Error codes of the items of a batch answer (`results` with `status: 'error'`). */
function batchErrors(value: unknown, request: FastifyRequest) {
  const results = (value as { results?: unknown } | null)?.results
  if (!Array.isArray(results)) return
  for (const result of results as { status?: unknown; code?: unknown }[]) {
    if (result?.status === 'error' && typeof result.code === 'string')
      noteCoreError(request, result.code as ErrorCode)
  }
}

/** A counted service as one request sees it: the request whose notes its calls' refusals go to. */
interface Counted {
  [REQUEST]: FastifyRequest
}

const REQUEST = Symbol('request')

/** A refusal noted for the request, then passed on. */
function noted(request: FastifyRequest, error: unknown): never {
  if (error instanceof CoreError) noteCoreError(request, error.code)
  throw error
}

async function settled(request: FastifyRequest, result: Promise<unknown>) {
  let answer: unknown
  try {
    answer = await result
  } catch (error) {
    noted(request, error)
  }
  batchErrors(answer, request)
  return answer
}

/** The method `name` of the service, called on it with a counted view's request noting its refusals. */
function countedMethod(service: object, name: string | symbol) {
  return function (this: Counted, ...args: unknown[]) {
    // looked up at each call: a method replaced on the service later (a spy) is the one called
    const method = Reflect.get(service, name, service) as (...args: unknown[]) => unknown
    const request = (this as Counted | undefined)?.[REQUEST]
    // (called apart from its view, it has no request to note for)
    if (request === undefined) return method.apply(service, args)
    let result: unknown
    try {
      result = method.apply(service, args)
    } catch (error) {
      noted(request, error)
    }
    return result instanceof Promise ? settled(request, result) : result
  }
}

/**
 * For each service, the prototype of its counted views: every method of the service (its own and its classes')
 * calls the service's and notes the refusals for the view's request; anything else is read from the service.
 * Made once per service, so that a request makes one small object per service it uses, no wrapper per call.
 */
const countedPrototypes = new WeakMap<object, object>()

function countedPrototypeOf(service: object): object {
  let prototype = countedPrototypes.get(service)
  if (prototype) return prototype
  const methods: PropertyDescriptorMap = {}
  for (
    let from: object | null = service;
    from && from !== Object.prototype;
    from = Object.getPrototypeOf(from)
  ) {
    for (const name of Reflect.ownKeys(from)) {
      if (name === 'constructor' || name in methods) continue
      const descriptor = Reflect.getOwnPropertyDescriptor(from, name)
      if (descriptor && typeof descriptor.value === 'function')
        methods[name as string] = { value: countedMethod(service, name), writable: true, configurable: true }
    }
  }
  prototype = Object.create(service, methods) as object
  countedPrototypes.set(service, prototype)
  return prototype
}

/** The service, with every method's CoreError (thrown or per batch item) noted for the request's metrics. */
function counting<T extends object>(service: T, request: FastifyRequest): T {
  const view = Object.create(countedPrototypeOf(service)) as Counted
  view[REQUEST] = request
  return view as unknown as T
}

/** What a request's context holds of its own: the rest it reads from the door's context. */
interface RequestScope {
  auth: DoorContext['auth']
  request: FastifyRequest
}

const SCOPE = Symbol('request scope')

type RequestContext = DoorContext & { [SCOPE]: RequestScope }

/**
 * The prototype of the contexts contextFor makes for one door context: that context, whose services are read
 * as they are when used, with the request's own `auth` and the counted services (a view made when used, for the
 * request) in front of it. Made once per door context, so that a request makes one object, not a copy of
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
        return counting(ctx[name], this[SCOPE].request)
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
    request,
  }
  return context
}
