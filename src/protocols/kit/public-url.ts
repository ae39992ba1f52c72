import { isIP } from 'node:net'
import type { FastifyRequest } from 'fastify'
import { type Config, peerTrust } from '../../config.js'

const trustOf = new WeakMap<Config, ((address: string) => boolean) | null>()

/** The TRUST_PROXY test of this configuration's direct peers (parsed once). */
function proxyTrust(config: Config): ((address: string) => boolean) | null {
  let trust = trustOf.get(config)
  if (trust === undefined) {
    const parsed = peerTrust(config.TRUST_PROXY)
    trust = parsed === 'invalid' ? null : parsed
    trustOf.set(config, trust)
  }
  return trust
}

/** host, host:port, [v6]:port: what a URL's authority may hold, nothing that could break out of it. */
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/
/** a path prefix of plain segments */
const PREFIX = /^(?:\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/

const firstValue = (header: string | string[] | undefined) =>
  (Array.isArray(header) ? header[0] : header)?.split(',')[0]?.trim() ?? ''

/** `proto` and `host` of the first element of an RFC 7239 Forwarded header (the proxy the client reached). */
function forwardedOf(header: string | string[] | undefined): { proto?: string; host?: string } {
  const found: { proto?: string; host?: string } = {}
  for (const pair of firstValue(header).split(';')) {
    const eq = pair.indexOf('=')
    if (eq < 0) continue
    const key = pair.slice(0, eq).trim().toLowerCase()
    const value = pair
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
    if (key === 'proto' || key === 'host') found[key] = value
  }
  return found
}

/**
 * The scheme, host and path prefix clients reach this server at, for the absolute URLs it writes (WSDL
 * addresses, Enterprise FileUrl and ServerInfo URL): PUBLIC_URL when set; else, from a peer TRUST_PROXY trusts,
 * its `Forwarded` or `X-Forwarded-Proto`/`-Host` and `X-Forwarded-Prefix`; else the request's own scheme and
 * Host. A Host that is not a plain host name or address is replaced by the address the request came in on.
 * No trailing slash.
 */
export function publicBase(request: FastifyRequest, config: Config): string {
  if (config.PUBLIC_URL) return config.PUBLIC_URL.replace(/\/+$/, '')
  // request.protocol and request.host already follow X-Forwarded-Proto and -Host from trusted peers
  let proto: string = request.protocol
  let host = request.host
  let prefix = ''
  const trust = proxyTrust(config)
  if (trust?.(request.socket.remoteAddress ?? '')) {
    const forwarded = forwardedOf(request.headers.forwarded)
    if (forwarded.proto) proto = forwarded.proto.toLowerCase()
    if (forwarded.host) host = forwarded.host
    const given = firstValue(request.headers['x-forwarded-prefix']).replace(/\/+$/, '')
    if (PREFIX.test(given)) prefix = given
  }
  if (proto !== 'http' && proto !== 'https')
    proto = (request.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'
  if (!HOST.test(host)) {
    const address = request.socket.localAddress ?? '127.0.0.1'
    host = `${isIP(address) === 6 ? `[${address}]` : address}:${request.socket.localPort}`
  }
  return `${proto}://${host}${prefix}`
}
