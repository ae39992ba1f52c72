import { Readable } from 'node:stream'
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { DoorContext } from '../../context.js'
import { CoreError } from '../../core/errors.js'
import { type ErrorMap, isUnavailable, logUnavailable } from '../kit/errors.js'
import { publicBase } from '../kit/public-url.js'
import { contextFor } from '../kit/request-context.js'
import { noteOperation } from '../kit/request-notes.js'
import { refuseUnstorable } from '../kit/text.js'
import {
  contentTypeFor,
  SOAP11_NS,
  SOAP12_NS,
  type SoapVersion,
  soapVersionOf,
  soapVersionOfContentType,
  unwrapEnvelope,
} from '../soap/envelope.js'
import { isNil, parseXml, type XmlElement, XmlError } from '../soap/xml.js'
import { type Args, type AsmxMethod, MethodFailure, methodByName, methods } from './methods.js'
import { type AsmxReply, type Framing, failed, prepare, renderReply, soapFault, TEMPURI } from './render.js'
import { stallGuard } from './stall-guard.js'
import { aspNetQuery, parseAspNetForm } from './url-decode.js'
import { buildDisco, buildWsdl, helpPage, operationPage } from './wsdl.js'

const TEXT_XML = 'text/xml; charset=utf-8'

/** ASMX answers protocol errors of the GET/POST bindings as HTTP 500 with the bare message. */
function plainError(reply: FastifyReply, message: string) {
  return reply.code(500).type('text/plain; charset=utf-8').send(message)
}

function fault(
  reply: FastifyReply,
  version: SoapVersion,
  code: Parameters<typeof soapFault>[1],
  message: string,
) {
  return reply
    .code(500)
    .type(contentTypeFor(version))
    .send(soapFault(version, code, message))
}

const systemError = (requestId: string) =>
  `SystemError:An unexpected server error occurred (request id ${requestId}).`

/** A GET/POST parameter by name, case-insensitively (ASP.NET's collections ignore case); repeats are joined. */
function caseInsensitiveValue(source: Record<string, unknown>, name: string): string | undefined {
  const lower = name.toLowerCase()
  for (const [key, value] of Object.entries(source)) {
    if (key.toLowerCase() !== lower) continue
    if (Array.isArray(value)) return value.map(String).join(',')
    return value === undefined || value === null ? '' : String(value)
  }
  return undefined
}

/** A SOAP parameter: the child element of that name (in tempuri.org or unqualified); null when absent or nil. */
function soapValue(operation: XmlElement, name: string): string | null {
  const lower = name.toLowerCase()
  const element = operation.children.find(
    (c) => c.name.toLowerCase() === lower && (c.ns === TEMPURI || c.ns === ''),
  )
  if (!element || isNil(element)) return null
  return element.text
}

/** The `ticket` cookie, which infoRouter's ticket methods fall back to when no ticket parameter is given. */
export function ticketCookie(request: FastifyRequest): string | null {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0 || part.slice(0, eq).trim().toLowerCase() !== 'ticket') continue
    const value = part
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
    try {
      return decodeURIComponent(value)
    } catch {
      return value
    }
  }
  return null
}

/** The core refusals a method answers as its own failure, in the core's words; the others are a SystemError. */
const CORE_FAILURES: ErrorMap<boolean> = {
  INVALID_INPUT: true,
  NOT_FOUND: false,
  NOT_IN_TRASH: false,
  ALREADY_TRASHED: false,
  ALREADY_EMPTIED: false,
  NOT_RESTORABLE: false,
  ACCESS_DENIED: false,
  TOP_LEVEL_FOLDER: false,
  ADMIN_ONLY: false,
  ORIGINAL_LOCATION_GONE: false,
  TARGET_NOT_FOUND: false,
  STORAGE_FAILURE: false,
  LEGAL_HOLD: false,
  NAME_TAKEN: false,
  IN_USE: false,
  AUTHENTICATION_FAILED: false,
  SESSION_EXPIRED: false,
  VETOED: false,
  TOO_LARGE: false,
  UNAVAILABLE: false,
  BUSY: true,
}

async function answer(
  ctx: DoorContext,
  request: FastifyRequest,
  reply: FastifyReply,
  method: AsmxMethod,
  args: Args,
  framing: Framing,
) {
  let result: AsmxReply
  let prepared: Awaited<ReturnType<typeof prepare>>
  noteOperation(request, method.name)
  try {
    const cookie = ticketCookie(request)
    // text the database cannot store is the method's failure, before anything reaches the database
    // the parameters, then the cookie: two checks rather than `{ ...args, 'ticket cookie': cookie }`, since a spread
    // followed by a new key took 2-3 us per request on Node.js 20 (a parameter of that name is read as before)
    if (Object.hasOwn(args, 'ticket cookie')) refuseUnstorable({ ...args, 'ticket cookie': cookie })
    else {
      refuseUnstorable(args)
      refuseUnstorable({ 'ticket cookie': cookie })
    }
    result = await method.run(contextFor(ctx, request), args, { ticketCookie: cookie })
    prepared = await prepare(result)
  } catch (error) {
    if (error instanceof MethodFailure) result = failed(error.message)
    else if (error instanceof CoreError && CORE_FAILURES[error.code]) result = failed(error.message)
    else if (isUnavailable(error)) {
      logUnavailable(request.log, error, { method: method.name })
      result = failed(systemError(request.id))
    } else {
      request.log.error({ err: error, method: method.name }, 'srv.asmx method failed')
      result = failed(systemError(request.id))
    }
    prepared = { first: null, rest: null }
  }
  reply.code(200).type(framing.soap ? contentTypeFor(framing.soap.version) : TEXT_XML)
  const chunks = renderReply(result, framing, prepared.first, prepared.rest)
  if (!prepared.rest) {
    let body = ''
    for await (const chunk of chunks) body += chunk
    return reply.send(body)
  }
  // listings are written while they are read from the database
  const listing = prepared.rest
  const stream = Readable.from(
    stallGuard(chunks, ctx.config.STREAM_STALL_TIMEOUT * 1000, () => reply.raw.destroy()),
    { objectMode: false },
  )
  // The listing holds a database connection until it is closed. A reply that ends early (the client went
  // away before or while it was written) may never have started the generators that would close it.
  stream.once('close', () => {
    listing
      .return?.(undefined)
      .catch((error: unknown) =>
        request.log.error({ err: error, method: method.name }, 'srv.asmx listing did not close'),
      )
  })
  stream.on('error', (error) => {
    if (isUnavailable(error)) logUnavailable(request.log, error, { method: method.name, cut: true })
    else request.log.error({ err: error, method: method.name }, 'srv.asmx stream failed')
  })
  return reply.send(stream)
}

function unknownMethodMessage(name: string): string {
  const other = methods.find((m) => m.name.toLowerCase() === name.toLowerCase())
  if (other) {
    return `Web Service method name is not valid. Method names are case-sensitive: '${name}' was not found, but '${other.name}' was.`
  }
  return `${name} Web Service method name is not valid.`
}

function serviceLocation(request: FastifyRequest, ctx: DoorContext): string {
  return `${publicBase(request, ctx.config)}/srv.asmx`
}

/** `SOAPAction: "http://tempuri.org/X"` or the `action` parameter of a SOAP 1.2 Content-Type. */
function requestedAction(request: FastifyRequest, version: SoapVersion): string {
  let raw: string | undefined
  if (version === '1.1') {
    const header = request.headers.soapaction
    raw = Array.isArray(header) ? header[0] : header
  } else {
    raw = /(?:^|;)\s*action\s*=\s*("[^"]*"|[^;]*)/i.exec(request.headers['content-type'] ?? '')?.[1]
  }
  const value = (raw ?? '').trim().replace(/^"(.*)"$/, '$1')
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

/** Why a body could not be read, in the words of .NET's XmlReader where there are some. */
function unreadable(error: unknown): string {
  if (error instanceof XmlError) {
    if (error.kind === 'doctype') return 'For security reasons DTD is prohibited in this XML document.'
    if (error.kind === 'empty') return 'Root element is missing.'
    if (error.kind === 'too-deep') return 'The XML document is nested too deeply.'
    return error.message
  }
  return (error as Error).message
}

export const asmxDoor: FastifyPluginAsync<{ ctx: DoorContext }> = async (app, { ctx }) => {
  // form bodies decoded as ASP.NET does (%uXXXX as well as UTF-8 %XX), in this door only
  app.removeContentTypeParser('application/x-www-form-urlencoded')
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => done(null, parseAspNetForm(body as string)),
  )
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500
    const message =
      status === 413
        ? 'Maximum request length exceeded.'
        : status < 500
          ? error.message
          : 'Server was unable to process request.'
    if (status >= 500) request.log.error({ err: error }, 'srv.asmx request failed')
    const path = request.url.split('?')[0]!.replace(/\/+$/, '')
    if (request.method === 'POST' && path === '/srv.asmx') {
      const version = soapVersionOfContentType(request.headers['content-type']) ?? '1.1'
      return fault(
        reply,
        version,
        status < 500 ? 'Client' : 'Server',
        `Server was unable to read request. ---> ${message}`,
      )
    }
    return plainError(reply, message)
  })

  app.get('/srv.asmx', async (request, reply) => {
    const query = request.query as Record<string, unknown>
    const keys = Object.keys(query).map((key) => key.toLowerCase())
    if (keys.includes('wsdl'))
      return reply.type(TEXT_XML).send(buildWsdl(methods, serviceLocation(request, ctx)))
    if (keys.includes('disco')) return reply.type(TEXT_XML).send(buildDisco(serviceLocation(request, ctx)))
    const op = caseInsensitiveValue(query, 'op')
    const method = op === undefined ? undefined : methodByName.get(op)
    return reply.type('text/html; charset=utf-8').send(method ? operationPage(method) : helpPage(methods))
  })

  const httpBinding = (verb: 'GET' | 'POST') => async (request: FastifyRequest, reply: FastifyReply) => {
    const name = (request.params as { method: string }).method
    const method = methodByName.get(name)
    if (!method) return plainError(reply, unknownMethodMessage(name))
    let source: Record<string, unknown>
    if (verb === 'GET') source = aspNetQuery(request.url)
    else {
      const body = request.body
      const contentType = request.headers['content-type']
      const isForm = /^application\/x-www-form-urlencoded\b/i.test(contentType ?? '')
      if (isForm && body && typeof body === 'object' && !Buffer.isBuffer(body)) {
        source = body as Record<string, unknown>
      } else if (isForm && body === undefined) source = {}
      else if (!contentType && (body === undefined || (Buffer.isBuffer(body) && body.length === 0)))
        source = {}
      else return plainError(reply, `Request format is invalid: ${contentType ?? ''}.`)
    }
    const args: Args = {}
    for (const param of method.params) {
      const value = caseInsensitiveValue(source, param)
      if (value === undefined) {
        if (method.optional?.includes(param)) {
          args[param] = null
          continue
        }
        return plainError(reply, `Missing parameter: ${param}.`)
      }
      args[param] = value
    }
    return answer(ctx, request, reply, method, args, {})
  }
  app.get('/srv.asmx/:method', httpBinding('GET'))
  app.post('/srv.asmx/:method', httpBinding('POST'))

  app.post('/srv.asmx', async (request, reply) => {
    const contentType = request.headers['content-type']
    const version = soapVersionOfContentType(contentType)
    if (!version) return plainError(reply, `Request format is invalid: ${contentType ?? ''}.`)
    const readFault = (message: string) =>
      fault(reply, version, 'Client', `Server was unable to read request. ---> ${message}`)
    if (!Buffer.isBuffer(request.body)) return readFault('Root element is missing.')
    let root: XmlElement
    try {
      root = parseXml(request.body)
    } catch (error) {
      return readFault(unreadable(error))
    }
    if (soapVersionOf(root) !== version) {
      const expected = version === '1.1' ? SOAP11_NS : SOAP12_NS
      return fault(
        reply,
        version,
        'VersionMismatch',
        `Possible SOAP version mismatch: Envelope namespace ${root.ns} was unexpected. Expecting ${expected}.`,
      )
    }
    let operation: XmlElement
    try {
      operation = unwrapEnvelope(root).operation
    } catch (error) {
      return readFault((error as Error).message)
    }

    let method: AsmxMethod | undefined
    const action = requestedAction(request, version)
    if (action !== '') {
      method = action.startsWith(TEMPURI) ? methodByName.get(action.slice(TEMPURI.length)) : undefined
      if (!method) {
        return version === '1.1'
          ? fault(
              reply,
              version,
              'Client',
              `Server did not recognize the value of HTTP Header SOAPAction: ${action}.`,
            )
          : fault(
              reply,
              version,
              'Client',
              `Unable to handle request. The action '${action}' was not recognized.`,
            )
      }
    } else {
      // no action given: the Body's element names the method (SOAP 1.2 routing; accepted for 1.1 as well)
      method = operation.ns === TEMPURI ? methodByName.get(operation.name) : undefined
      if (!method) {
        return fault(
          reply,
          version,
          'Client',
          'Unable to handle request without a valid action parameter. Please supply a valid soap action.',
        )
      }
    }
    if (operation.name !== method.name || (operation.ns !== TEMPURI && operation.ns !== '')) {
      return readFault(`<${operation.name} xmlns='${operation.ns}'> was not expected.`)
    }
    const args: Args = {}
    for (const param of method.params) args[param] = soapValue(operation, param)
    return answer(ctx, request, reply, method, args, { soap: { version, method: method.name } })
  })
}
