import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { DoorContext } from '../../context.js'
import { CoreError, ErrorCodes } from '../../core/errors.js'
import { RENDITIONS, type Rendition } from '../../core/object-service.js'
import { ticketActor } from '../kit/credentials.js'
import { type ErrorMap, isUnavailable, logUnavailable } from '../kit/errors.js'
import { parseId } from '../kit/ids.js'
import { publicBase } from '../kit/public-url.js'
import { contextFor } from '../kit/request-context.js'
import { noteOperation } from '../kit/request-notes.js'
import { unstorablePath } from '../kit/text.js'
import { SoapError, unwrapEnvelope } from '../soap/envelope.js'
import { strict } from '../soap/writer.js'
import { decodeBody, parseXml, XmlError } from '../soap/xml.js'
import { OPERATIONS } from './services.js'
import { EnterpriseFault, faultEnvelope, S } from './wire.js'

export const WSDL_FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../wsdl/SCEnterprise.wsdl',
)

/** The workflow entry point under both of its names (classic Enterprise and Studio Server). */
export const ENTERPRISE_PATHS = ['/Enterprise/index.php', '/StudioServer/index.php'] as const

const XML_TYPE = 'text/xml; charset=utf-8'

/**
 * Documentation copied into a SOAP tool turns attribute quotes typographic (seed 004's own examples read
 * `xsi:nil=”true”`); inside start tags such quotes are read as plain ones so those requests work as written.
 */
export function straightenAttributeQuotes(xml: string): string {
  if (!/[“”]/.test(xml)) return xml
  return xml.replace(/<[^<>!?/][^<>]*>/g, (tag) => tag.replace(/=\s*[“”]([^“”"<>]*)[“”]/g, '="$1"'))
}

/** What the server speaks (Enterprise 8+): SOAP over HTTP, the workflow interface. */
const HANDSHAKE =
  '<?xml version="1.0" encoding="UTF-8"?>' +
  strict.element(
    'EnterpriseHandshake',
    [
      strict.element(
        'Techniques',
        strict.element('Technique', [], {
          attrs: [
            ['protocol', 'SOAP'],
            ['transfer', 'HTTP'],
          ],
        }),
      ),
      strict.element(
        'Interfaces',
        strict.element('Interface', [], {
          attrs: [
            ['name', 'Workflow'],
            ['type', 'core'],
          ],
        }),
        {
          attrs: [
            ['minVersion', 8],
            ['maxVersion', 10],
          ],
        },
      ),
    ],
    { attrs: [['version', 1]] },
  )

function endpointOf(request: FastifyRequest, ctx: DoorContext): string {
  return `${publicBase(request, ctx.config)}${request.url.split('?')[0]}`
}

function sendFault(reply: FastifyReply, fault: EnterpriseFault) {
  // Enterprise answers faults with HTTP 200
  return reply.code(200).type(XML_TYPE).send(faultEnvelope(fault))
}

/** The core refusals a request as a whole answers with a fault of their own; null: an unexpected error (S1012). */
const CORE_FAULTS: ErrorMap<((error: CoreError) => EnterpriseFault) | null> = {
  VETOED: (error) => {
    const message = /\(S\d{4}\)$/.test(error.message) ? error.message : `${error.message} (${S.PERFORM.code})`
    return new EnterpriseFault('Client', message, String(error.details?.plugin ?? ''))
  },
  SESSION_EXPIRED: () => new EnterpriseFault('Client', S.TICKET.message, 'SCEntError_InvalidTicket'),
  INVALID_INPUT: (error) => new EnterpriseFault('Client', S.ARGUMENT.message, error.message),
  NOT_FOUND: null,
  NOT_IN_TRASH: null,
  ALREADY_TRASHED: null,
  ALREADY_EMPTIED: null,
  NOT_RESTORABLE: null,
  ACCESS_DENIED: null,
  TOP_LEVEL_FOLDER: null,
  ADMIN_ONLY: null,
  ORIGINAL_LOCATION_GONE: null,
  TARGET_NOT_FOUND: null,
  STORAGE_FAILURE: null,
  LEGAL_HOLD: null,
  NAME_TAKEN: null,
  IN_USE: null,
  AUTHENTICATION_FAILED: null,
  TOO_LARGE: null,
  UNAVAILABLE: null,
  BUSY: null,
}

function toFault(error: unknown, request: FastifyRequest): EnterpriseFault {
  if (error instanceof EnterpriseFault) return error
  if (error instanceof XmlError) return new EnterpriseFault('Client', 'Bad Request', error.message)
  if (error instanceof SoapError) {
    return error.kind === 'version-mismatch'
      ? new EnterpriseFault('VersionMismatch', 'Wrong Version')
      : new EnterpriseFault('Client', 'Bad Request', error.message)
  }
  const statusCode = (error as { statusCode?: number }).statusCode
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
    // body too large, malformed JSON and other rejections before the handler ran
    return new EnterpriseFault('Client', 'Bad Request', (error as Error).message)
  }
  const fault = error instanceof CoreError ? CORE_FAULTS[error.code]?.(error) : undefined
  if (fault) return fault
  if (isUnavailable(error)) {
    logUnavailable(request.log, error)
    return new EnterpriseFault('Server', S.ERROR.message)
  }
  request.log.error({ err: error }, 'enterprise request failed')
  return new EnterpriseFault('Server', S.ERROR.message)
}

/** WoodWing Enterprise workflow door: SOAP 1.1 document/literal at /Enterprise/index.php (and ?wsdl). */
export async function enterpriseDoor(app: FastifyInstance, { ctx }: { ctx: DoorContext }) {
  const wsdl = await readFile(WSDL_FILE, 'utf8')

  for (const url of ENTERPRISE_PATHS) {
    app.get(url, async (request, reply) => {
      const query = request.query as Record<string, unknown>
      if ('wsdl' in query || 'WSDL' in query) {
        // the service's address is the one a client reached: the start tag written anew with it
        const address = strict.open('soap:address', { attrs: [['location', endpointOf(request, ctx)]] })
        return reply.type(XML_TYPE).send(wsdl.replace(/<soap:address location="[^"]*"/, () => address))
      }
      if (query.handshake === 'v1') {
        return reply.type(XML_TYPE).send(HANDSHAKE)
      }
      if ('test' in query)
        return reply.type('text/plain; charset=utf-8').send('Workflow service index page is accessible.')
      return reply
        .type('text/plain; charset=utf-8')
        .send(
          'WoodWing Enterprise compatible workflow service (Trash Can). POST SOAP 1.1 requests here; ?wsdl for the WSDL.',
        )
    })

    app.get(url.replace(/index\.php$/, 'fileindex.php'), (request, reply) =>
      sendFile(contextFor(ctx, request), request, reply),
    )

    app.post(
      url,
      { errorHandler: (error, request, reply) => sendFault(reply, toFault(error, request)) },
      async (request, reply) => {
        try {
          const raw = request.body
          if (!Buffer.isBuffer(raw) && typeof raw !== 'string') {
            throw new EnterpriseFault('Client', 'Bad Request', 'Send a SOAP 1.1 envelope as text/xml')
          }
          const text = straightenAttributeQuotes(decodeBody(raw))
          const root = parseXml(text)
          if (root.name === 'Envelope' && root.ns === 'http://www.w3.org/2003/05/soap-envelope') {
            throw new SoapError('version-mismatch', 'SOAP 1.2 is not served here')
          }
          const { operation } = unwrapEnvelope(root)
          // dispatch on the Body's first element, whatever its prefix; SOAPAction is ignored (as Enterprise does)
          const handler = OPERATIONS[operation.name]
          if (!handler) throw new EnterpriseFault('Server', `Procedure '${operation.name}' not present`)
          if (Object.hasOwn(OPERATIONS, operation.name)) noteOperation(request, operation.name)
          const body = await handler({
            ctx: contextFor(ctx, request),
            body: operation,
            endpoint: endpointOf(request, ctx),
          })
          return reply.type(XML_TYPE).send(body)
        } catch (error) {
          return sendFault(reply, toFault(error, request))
        }
      },
    )
  }
}

/** Ticket errors and denied reads answer 403, unknown objects, versions and renditions 404 (fileindex.php). */
function fileError(reply: FastifyReply, status: number, message: string) {
  return reply.code(status).type('text/plain; charset=utf-8').send(message)
}

/**
 * fileindex.php: streams a rendition of an object (of a version when asked) in the Workflow or the Trash area
 * to a holder of a valid ticket, given as `ticket` in the query or as the `ticket` cookie.
 */
async function sendFile(ctx: DoorContext, request: FastifyRequest, reply: FastifyReply) {
  const query = request.query as Record<string, string | undefined>
  const ticket = query.ticket ?? cookieTicket(request.headers.cookie)
  // text the database cannot store is a bad argument (the SOAP requests' is refused by the XML parser)
  if (unstorablePath({ query, ticket }) !== null) return fileError(reply, 400, S.ARGUMENT.message)
  const actor = ticket ? await ticketActor(ctx, 'enterprise', ticket) : null
  if (!actor) return fileError(reply, 403, S.TICKET.message)
  const id = query.objectid ?? ''
  const rendition = (query.rendition ?? 'native') as Rendition
  const area = query.areas ?? 'Workflow'
  if (parseId(id) === null || !RENDITIONS.includes(rendition) || rendition === 'none') {
    return fileError(reply, 400, S.ARGUMENT.message)
  }
  if (area !== 'Workflow' && area !== 'Trash') return fileError(reply, 400, S.ARGUMENT.message)
  try {
    const file = await ctx.objects.openRendition(actor, Number(id), area, rendition, query.version ?? null)
    if (!file) return fileError(reply, 404, S.NOT_FOUND.message)
    storedContentHeaders(reply, file.contentType, file.name)
    if (file.size !== null) reply.header('content-length', String(file.size))
    return reply.send(file.stream)
  } catch (error) {
    if (error instanceof CoreError && error.code === ErrorCodes.ACCESS_DENIED)
      return fileError(reply, 403, S.AUTHORIZATION.message)
    if (error instanceof CoreError && error.code === ErrorCodes.NOT_FOUND)
      return fileError(reply, 404, S.NOT_FOUND.message)
    request.log.error({ err: error }, 'enterprise file download failed')
    return fileError(reply, 500, S.ERROR.message)
  }
}

const encodeRfc5987 = (value: string) =>
  encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

/** Stored types a browser may show inline: raster images, which run no script (SVG can, so it is not one). */
const INLINE_TYPES = new Set([
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/avif',
  'image/bmp',
])

/**
 * Stored files are whatever their uploaders made them: a browser must never run one as a page of this origin
 * (it could read the viewer's ticket). Anything but a raster image is a download; none is sniffed into another
 * type; and what is shown runs sandboxed, without scripts or this origin.
 */
export function storedContentHeaders(reply: FastifyReply, contentType: string, name: string) {
  const type = contentType.split(';')[0]!.trim().toLowerCase()
  reply
    .type(contentType)
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', 'sandbox')
    .header('referrer-policy', 'no-referrer')
  if (!INLINE_TYPES.has(type)) {
    const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_')
    reply.header(
      'content-disposition',
      `attachment; filename="${ascii}"; filename*=UTF-8''${encodeRfc5987(name)}`,
    )
  }
  return reply
}

function cookieTicket(cookie: string | undefined): string | undefined {
  const match = cookie?.match(/(?:^|;\s*)ticket=([^;]+)/)
  if (!match) return undefined
  try {
    return decodeURIComponent(match[1]!)
  } catch {
    return undefined
  }
}
