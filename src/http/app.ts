import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import formbody from '@fastify/formbody'
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyReply } from 'fastify'
import { type AppContext, type DoorContext, doorContext } from '../context.js'
import { asmxDoor } from '../protocols/asmx/index.js'
import { enterpriseDoor } from '../protocols/enterprise/index.js'
import { ipsDoor } from '../protocols/ips/index.js'
import { restDoor } from '../protocols/rest/index.js'
import { problemErrorHandler } from '../protocols/rest/problem.js'
import { registerMetrics, type ServerMetrics } from './metrics.js'
import { webPage } from './web-page.js'

export const BODY_LIMIT = 8 * 1024 * 1024

/** The doors, each a fastify plugin given the shared context. */
export type Door = FastifyPluginAsync<{ ctx: DoorContext }>

const doors: Door[] = [restDoor, ipsDoor, asmxDoor, enterpriseDoor, webPage]

declare module 'fastify' {
  interface FastifyInstance {
    ctx: DoorContext
    /** the Prometheus registry GET /metrics serves */
    metrics: ServerMetrics
  }
}

/** How much of a refused request body is read and thrown away before the connection is cut. */
export const REFUSED_BODY_DRAIN_LIMIT = 128 * 1024 * 1024

/**
 * An answer sent before the request body has arrived (a body over the limit): closing the connection at once
 * would reset it while the client is still sending, and the client would lose the door's answer to
 * ECONNRESET. The rest of the body is read and discarded instead (bounded), so the answer arrives intact.
 */
function keepReadingRefusedBody(raw: IncomingMessage, reply: FastifyReply) {
  if (reply.getHeader('connection') === 'close') reply.removeHeader('connection')
  let drained = 0
  raw.on('data', (chunk: Buffer) => {
    drained += chunk.length
    if (drained > REFUSED_BODY_DRAIN_LIMIT) raw.socket.destroy()
  })
  raw.resume()
}

/** TRUST_PROXY as fastify takes it: the nearest `hops` addresses, or the listed ones; unset trusts no one. */
export function trustedProxies(
  setting: string | undefined,
): ((address: string, hop: number) => boolean) | string[] | false {
  if (!setting) return false
  if (/^\d+$/.test(setting)) {
    const hops = Number(setting)
    return (_address, hop) => hop < hops
  }
  return setting.split(',').map((address) => address.trim())
}

export async function buildApp(ctx: AppContext): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.logger,
    bodyLimit: BODY_LIMIT,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID()
    },
    requestIdHeader: false,
    // parameter names of legacy doors are case-insensitive; routes are not
    routerOptions: { caseSensitive: true, ignoreTrailingSlash: true },
    connectionTimeout: 120_000,
    requestTimeout: 120_000,
    trustProxy: trustedProxies(ctx.config.TRUST_PROXY),
  })
  const doorCtx = doorContext(ctx)
  app.decorate('ctx', doorCtx)
  // a serving instance runs bulk jobs (its own, and any instance's left behind by a crash)
  app.addHook('onReady', async () => ctx.jobs.start())
  app.addHook('onClose', async () => ctx.jobs.stop())
  app.decorate('metrics', registerMetrics(app as unknown as FastifyInstance, ctx))
  // Closing, the server ends only the keep-alive connections idle at that moment; any other would be held open
  // until its keep-alive timeout. So from then on every answer ends its connection, and an answer whose headers
  // were already sent (a download under way) has its connection swept once it is idle.
  let closing = false
  // a callback hook, not an async one: it runs for every answer, and an async hook costs each a promise and a
  // turn of the microtask queue before the answer is written
  app.addHook('onSend', (request, reply, _payload, done) => {
    reply.header('x-request-id', request.id)
    if (closing) reply.header('connection', 'close')
    if (!request.raw.complete) keepReadingRefusedBody(request.raw, reply)
    done()
  })
  app.addHook('preClose', (done) => {
    closing = true
    const sweep = setInterval(() => app.server.closeIdleConnections(), 100).unref()
    app.server.once('close', () => clearInterval(sweep))
    done()
  })

  await app.register(formbody, { bodyLimit: BODY_LIMIT })
  // XML and unknown bodies reach the doors as raw bytes: each door parses and answers errors in its own format.
  app.addContentTypeParser(
    ['text/xml', 'application/xml', 'application/soap+xml'],
    { parseAs: 'buffer' },
    (_request, body, done) => done(null, body),
  )
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))
  app.setErrorHandler(problemErrorHandler)
  app.setNotFoundHandler((request, reply) => {
    reply
      .code(404)
      .type('application/problem+json')
      .send({
        type: 'about:blank',
        title: 'Not Found',
        status: 404,
        detail: `No route for ${request.method} ${request.url.split('?')[0]}`,
      })
  })

  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_request, reply) => {
    try {
      if (!(await ctx.database.migrationsApplied()))
        return reply.code(503).send({ status: 'migrations pending' })
    } catch {
      return reply.code(503).send({ status: 'database unreachable' })
    }
    try {
      await ctx.blobs.ready?.()
    } catch {
      return reply.code(503).send({ status: 'blob store unreachable' })
    }
    return { status: 'ready' }
  })

  for (const door of doors) await app.register(door, { ctx: doorCtx })
  return app as unknown as FastifyInstance
}
