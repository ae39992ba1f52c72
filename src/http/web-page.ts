import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { DoorContext } from '../context.js'
import { problem, sendProblem } from '../protocols/rest/problem.js'

/** The built Trash Can page (`npm run build`, run by `npm start` and the tests when web/ changed). */
export const WEB_ROOT = fileURLToPath(new URL('../../dist/web/', import.meta.url))

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
}

/** Everything the page loads comes from this server; the page talks only to this server. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

function secured(reply: FastifyReply) {
  return reply
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
}

/** Endpoints the page lights up when the server has them (other parts of trashd add them). */
const OPTIONAL_ENDPOINTS = {
  events: '/api/v1/events',
  cleanupRuns: '/api/v1/trash/cleanup/runs',
  cleanupPlan: '/api/v1/trash/cleanup/plan',
} as const

/** Serves the Trash Can page at / and /trash, its hashed assets under /assets/, and what it may use. */
export async function webPage(app: FastifyInstance, { ctx }: { ctx: DoorContext }) {
  const root = WEB_ROOT

  const sendPage = async (_request: unknown, reply: FastifyReply) => {
    let html: Buffer
    try {
      html = await readFile(path.join(root, 'index.html'))
    } catch {
      ctx.logger.warn('the web page is not built: run npm run build')
      return sendProblem(reply, problem(503, 'The web page is not built: run npm run build'))
    }
    return secured(reply)
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('x-frame-options', 'DENY')
      .send(html)
  }
  app.get('/', sendPage)
  app.get('/trash', sendPage)

  app.get<{ Params: { file: string } }>('/assets/:file', async (request, reply) => {
    const { file } = request.params
    const type = TYPES[path.extname(file)]
    if (!/^[\w.-]+$/.test(file) || file.startsWith('.') || !type) {
      return sendProblem(reply, problem(404, 'No such asset'))
    }
    let body: Buffer
    try {
      body = await readFile(path.join(root, 'assets', file))
    } catch {
      return sendProblem(reply, problem(404, 'No such asset'))
    }
    // file names carry a content hash: a changed file gets a new name
    return secured(reply).type(type).header('cache-control', 'public, max-age=31536000, immutable').send(body)
  })

  app.get('/web/features.json', async (_request, reply) => {
    const available = (url: string) => app.hasRoute({ method: 'GET', url })
    return reply.header('cache-control', 'no-cache').send({
      events: available(OPTIONAL_ENDPOINTS.events),
      cleanupRuns: available(OPTIONAL_ENDPOINTS.cleanupRuns),
      cleanupPlan: available(OPTIONAL_ENDPOINTS.cleanupPlan),
    })
  })
}
