import { timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../../config.js'
import { problem, sendProblem } from './problem.js'

export function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization
  return header?.startsWith('Bearer ') ? header.slice(7).trim() : null
}

export function basic(request: FastifyRequest): { login: string; password: string } | null {
  const header = request.headers.authorization
  if (!header?.startsWith('Basic ')) return null
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon < 0 ? null : { login: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

export function sameSecret(given: string, expected: string) {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * Signs of a browser: fetch metadata, an Origin, a page navigation, or the page's bearer token. A browser is
 * never challenged for Basic credentials: it would remember them and send them with every later request,
 * cross-site form posts included.
 */
function fromBrowser(request: FastifyRequest) {
  const { headers } = request
  return (
    headers['sec-fetch-mode'] !== undefined ||
    headers.origin !== undefined ||
    (headers.accept ?? '').includes('text/html') ||
    bearer(request) !== null
  )
}

export const unauthorized = (request: FastifyRequest, reply: FastifyReply, detail: string) =>
  sendProblem(
    reply.header('www-authenticate', fromBrowser(request) ? 'Bearer realm="trashd"' : 'Basic realm="trashd"'),
    problem(401, detail),
  )

export const tooManyFailures = (reply: FastifyReply, retryAfter = 1) =>
  sendProblem(
    reply.header('retry-after', String(retryAfter)),
    problem(429, `Too many failed sign-ins: try again in ${retryAfter} s`),
  )

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/**
 * Cross-site request forgery: a state-changing request must come from this origin (when the browser names
 * one) and carry what a plain HTML form cannot send: a JSON body, an X-Requested-With header, or a bearer
 * token (which browsers never add on their own).
 */
export function forgeryRefusal(request: FastifyRequest, config: Config): string | null {
  if (!STATE_CHANGING.has(request.method)) return null
  const origin = request.headers.origin
  if (origin !== undefined) {
    let host: string | null = null
    try {
      host = new URL(origin).host
    } catch {
      // "null" (sandboxed or privacy-sensitive contexts) and garbage are not this origin
    }
    // this origin: the Host the request names (behind a trusted proxy, the host it forwards) or PUBLIC_URL's
    const own = [request.host, config.PUBLIC_URL ? new URL(config.PUBLIC_URL).host : null]
    if (host === null || !own.some((candidate) => candidate?.toLowerCase() === host.toLowerCase())) {
      return `Cross-site request refused (Origin ${origin})`
    }
  }
  if (request.headers['sec-fetch-site'] === 'cross-site') return 'Cross-site request refused'
  const type = request.headers['content-type'] ?? ''
  if (/^application\/([\w.-]+\+)?json\s*(;|$)/i.test(type)) return null
  if (request.headers['x-requested-with'] !== undefined || bearer(request) !== null) return null
  return 'A state-changing request needs a JSON body (Content-Type: application/json) or an X-Requested-With header'
}
