import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../../config.js'
import type { DoorContext } from '../../context.js'
import { CoreError } from '../../core/errors.js'
import type { Actor } from '../../core/types.js'
import { isUnavailable, logUnavailable } from '../kit/errors.js'
import { publicBase } from '../kit/public-url.js'
import { contextFor } from '../kit/request-context.js'
import { noteOperation } from '../kit/request-notes.js'
import { unstorableError, unstorablePath } from '../kit/text.js'
import {
  buildEnvelope,
  SoapError,
  type SoapVersion,
  soapVersionOfContentType,
  unwrapEnvelope,
} from '../soap/envelope.js'
import { parseXml, type XmlElement, XmlError } from '../soap/xml.js'
import { bareFaultXml, faults, IPS_XML_DECLARATION, IpsFault, soapFaultXml } from './faults.js'
import { companyOfRequest, runOperation } from './operations.js'
import { renderReturn } from './render.js'
import { clientOf, credentialsOf, faultStatusOf, gzipWanted, resolveCall } from './request.js'
import { versionByKey, wsdlFileName } from './versions.js'
import { SERVICE_PATH, withServiceUrl } from './wsdl.js'

export const POX_PATH = '/scene7/api/IpsApiService'
export const WSDL_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../wsdl')

type Form = 'soap' | 'pox'

const CONTENT_TYPE = {
  '1.1': 'text/xml;charset=UTF-8',
  '1.2': 'application/soap+xml;charset=UTF-8',
  pox: 'text/xml;charset=UTF-8',
} as const

interface Unwrapped {
  soapVersion: SoapVersion | null
  headers: XmlElement[]
  param: XmlElement
}

/** SOAP: the envelope's Header children and the Body's first element. Plain XML: `<Request>` holds both. */
function unwrap(form: Form, body: unknown, transportVersion: SoapVersion | null): Unwrapped {
  // XML arrives as bytes; a client that labels it text/plain (the default of some HTTP libraries) as a string
  if (!Buffer.isBuffer(body) && typeof body !== 'string') {
    throw faults.invalidXml('The request body is not an XML document')
  }
  let root: XmlElement
  try {
    root = parseXml(body)
  } catch (error) {
    if (error instanceof XmlError) throw faults.invalidXml(error.message)
    throw error
  }
  if (form === 'soap') {
    try {
      const request = unwrapEnvelope(root)
      // Axis2 refuses an envelope whose version contradicts the Content-Type (untyped bodies are read as sent)
      if (transportVersion && request.version !== transportVersion) {
        throw faults.invalidXml('Transport level information does not match with SOAP Message namespace URI')
      }
      return {
        soapVersion: request.version,
        headers: request.header?.children ?? [],
        param: request.operation,
      }
    } catch (error) {
      if (error instanceof SoapError) throw faults.invalidXml(error.message)
      throw error
    }
  }
  if (root.name !== 'Request') return { soapVersion: null, headers: [], param: root }
  const headers = root.children.filter((c) => c.name === 'authHeader')
  const param = root.children.find((c) => c.name !== 'authHeader')
  if (!param) throw faults.missingParameter('The Request element holds no operation parameter element')
  return { soapVersion: null, headers, param }
}

/**
 * The actor with its client named: `{ ...actor, client }` (the same keys, in the same order) made by copying and
 * setting, since a spread followed by a new key took 2-3 us per request on Node.js 20.
 */
function withClient(actor: Actor, client: string): Actor {
  const named = Object.assign({}, actor)
  named.client = client
  return named
}

const gzipAsync = promisify(gzip)

interface Answer {
  form: Form
  soapVersion: SoapVersion
  status: number
  gzip: boolean
}

/**
 * Not async: most answers are not gzipped, and a promise returned from the handler's async function would cost
 * it two more turns of the microtask queue.
 */
function send(reply: FastifyReply, answer: Answer, xml: string): FastifyReply | Promise<FastifyReply> {
  reply
    .code(answer.status)
    .header('content-type', answer.form === 'pox' ? CONTENT_TYPE.pox : CONTENT_TYPE[answer.soapVersion])
  if (!answer.gzip) return reply.send(xml)
  return sendGzipped(reply, xml)
}

async function sendGzipped(reply: FastifyReply, xml: string) {
  return reply
    .header('content-encoding', 'gzip')
    .header('vary', 'accept-encoding')
    .send(await gzipAsync(xml))
}

function sendFault(reply: FastifyReply, answer: Answer, fault: IpsFault) {
  const xml = answer.form === 'pox' ? bareFaultXml(fault) : soapFaultXml(fault, answer.soapVersion)
  return send(reply, answer, xml)
}

async function handle(appCtx: DoorContext, form: Form, request: FastifyRequest, reply: FastifyReply) {
  const ctx = contextFor(appCtx, request)
  const transportVersion = soapVersionOfContentType(request.headers['content-type'])
  const answer: Answer = {
    form,
    soapVersion: transportVersion ?? '1.1',
    status: 500,
    gzip: false,
  }
  try {
    const unwrapped = unwrap(form, request.body, transportVersion)
    answer.soapVersion = unwrapped.soapVersion ?? answer.soapVersion
    answer.status = faultStatusOf(unwrapped.headers)
    answer.gzip = gzipWanted(unwrapped.headers, request.headers['accept-encoding'])
    const call = resolveCall(unwrapped.param)
    noteOperation(request, call.op.name)
    const credentials = credentialsOf(unwrapped.headers, request.headers.authorization)
    if (!credentials) throw faults.noCredentials()
    // (what the XML carries was refused by the parser; HTTP Basic credentials were not)
    const unstorable = unstorablePath(credentials)
    if (unstorable !== null) throw faults.invalidParameter(unstorableError(unstorable).message)
    // IPS users sign in with their e-mail address (or their login); an address used in several companies signs
    // in to the one the request names
    const signedIn = await ctx.auth.signIn(credentials.user, credentials.password, 'ips', {
      email: true,
      tenantId: companyOfRequest(call),
    })
    if (!signedIn.ok) {
      throw signedIn.reason === 'locked'
        ? faults.signInLocked(signedIn.retryAfter)
        : faults.invalidCredentials()
    }
    // the operation log names the client as the authHeader does, else by its User-Agent
    const client = clientOf(unwrapped.headers)
    const actors = client ? signedIn.actors.map((actor) => withClient(actor, client)) : signedIn.actors
    const outcome = await runOperation(ctx, actors, call)
    const result = renderReturn(call.op, call.version, outcome.value, outcome.filter)
    const xml =
      form === 'pox'
        ? `${IPS_XML_DECLARATION}${result}`
        : buildEnvelope({
            version: answer.soapVersion,
            prefix: 'soapenv',
            body: result,
            declaration: IPS_XML_DECLARATION,
          })
    // a literal of the same keys: a spread copy cost microseconds per request on Node.js 20
    return send(reply, { form, soapVersion: answer.soapVersion, status: 200, gzip: answer.gzip }, xml)
  } catch (error) {
    if (error instanceof IpsFault) {
      request.log.info({ ipsFault: error.code }, 'IPS fault')
      return sendFault(reply, answer, error)
    }
    if (error instanceof CoreError) {
      if (isUnavailable(error)) logUnavailable(request.log, error)
      else request.log.info({ code: error.code }, 'IPS operation refused by the core')
      return sendFault(reply, answer, faults.exception(error.message))
    }
    request.log.error({ err: error }, 'IPS operation failed')
    return sendFault(reply, answer, faults.exception())
  }
}

const wsdlCache = new Map<string, string>()

async function loadWsdl(file: string): Promise<string> {
  let text = wsdlCache.get(file)
  if (text === undefined) {
    text = await readFile(path.join(WSDL_DIR, file), 'utf8')
    wsdlCache.set(file, text)
  }
  return text
}

/**
 * `?serviceUrl=` rewrites the address: a URL with a path is used as it is, a bare origin gets the service
 * path appended. Default: the address the request came to.
 */
function serviceUrlOf(request: FastifyRequest, config: Config): string | null {
  const given = (request.query as Record<string, unknown>).serviceUrl
  if (typeof given !== 'string' || given === '') return `${publicBase(request, config)}${SERVICE_PATH}`
  let url: URL
  try {
    url = new URL(given)
  } catch {
    return null
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null
  return url.pathname === '/' && !given.endsWith('/') ? `${url.origin}${SERVICE_PATH}` : url.toString()
}

async function serveWsdl(
  config: Config,
  request: FastifyRequest<{ Params: { file: string } }>,
  reply: FastifyReply,
) {
  const match = /^IpsApi(?:-([\w-]+))?\.wsdl$/.exec(request.params.file)
  const version = match ? versionByKey(match[1] ?? '') : undefined
  if (!version) {
    return reply.code(404).type('text/plain; charset=utf-8').send(`No such WSDL: ${request.params.file}\n`)
  }
  const serviceUrl = serviceUrlOf(request, config)
  if (!serviceUrl) {
    return reply.code(400).type('text/plain; charset=utf-8').send('serviceUrl must be an http or https URL\n')
  }
  const wsdl = await loadWsdl(wsdlFileName(version))
  return reply.type('text/xml;charset=UTF-8').send(withServiceUrl(wsdl, serviceUrl))
}

/** The Scene7 IPS door: SOAP 1.1/1.2 and plain-XML endpoints, and the WSDL of every supported version. */
export async function ipsDoor(app: FastifyInstance, { ctx }: { ctx: DoorContext }) {
  // Bodies refused before a handler runs (too large, unreadable) still get an IPS fault.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const form: Form = request.url.startsWith(POX_PATH) ? 'pox' : 'soap'
    const version = soapVersionOfContentType(request.headers['content-type']) ?? '1.1'
    request.log.info({ err: error }, 'IPS request refused')
    const fault =
      error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? faults.invalidXml('The request body is too large')
        : faults.invalidXml('The request body could not be read')
    return sendFault(reply, { form, soapVersion: version, status: 500, gzip: false }, fault)
  })
  app.post(SERVICE_PATH, (request, reply) => handle(ctx, 'soap', request, reply))
  app.post(POX_PATH, (request, reply) => handle(ctx, 'pox', request, reply))
  const wsdlRoute = (request: FastifyRequest<{ Params: { file: string } }>, reply: FastifyReply) =>
    serveWsdl(ctx.config, request, reply)
  app.get('/scene7/webservice/:file', wsdlRoute)
  // some .NET scripts fetch the WSDL without /webservice/
  app.get('/scene7/:file', wsdlRoute)
}
