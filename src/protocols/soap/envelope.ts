import { strict as w } from './writer.js'
import { type XmlElement, XmlError } from './xml.js'

export const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/'
export const SOAP12_NS = 'http://www.w3.org/2003/05/soap-envelope'

export type SoapVersion = '1.1' | '1.2'

export interface SoapRequest {
  version: SoapVersion
  header: XmlElement | undefined
  /** the first element inside Body: the operation */
  operation: XmlElement
}

export class SoapError extends Error {
  constructor(
    readonly kind: 'not-envelope' | 'no-body' | 'version-mismatch',
    message: string,
  ) {
    super(message)
    this.name = 'SoapError'
  }
}

export function soapVersionOf(root: XmlElement): SoapVersion | null {
  if (root.name !== 'Envelope') return null
  if (root.ns === SOAP11_NS) return '1.1'
  if (root.ns === SOAP12_NS) return '1.2'
  return null
}

/** The SOAP version a Content-Type announces (text/xml: 1.1, application/soap+xml: 1.2). */
export function soapVersionOfContentType(contentType: string | undefined): SoapVersion | null {
  const given = contentType ?? ''
  const semicolon = given.indexOf(';')
  // as clients write it (`text/xml; charset=utf-8`): answered without trimming and lowering a copy
  const written = semicolon < 0 ? given : given.slice(0, semicolon)
  if (written === 'text/xml') return '1.1'
  if (written === 'application/soap+xml') return '1.2'
  const type = written.trim().toLowerCase()
  if (type === 'application/soap+xml') return '1.2'
  if (type === 'text/xml') return '1.1'
  return null
}

/** Unwraps an Envelope: Header (optional) and the Body's first element. */
export function unwrapEnvelope(root: XmlElement): SoapRequest {
  const version = soapVersionOf(root)
  if (!version) throw new SoapError('not-envelope', 'Not a SOAP envelope')
  const ns = version === '1.1' ? SOAP11_NS : SOAP12_NS
  const header = root.children.find((c) => c.name === 'Header' && c.ns === ns)
  const body = root.children.find((c) => c.name === 'Body' && c.ns === ns)
  if (!body) throw new SoapError('no-body', 'SOAP envelope has no Body')
  const operation = body.children[0]
  if (!operation) throw new SoapError('no-body', 'SOAP Body is empty')
  return { version, header, operation }
}

export { XmlError }

export interface EnvelopeOptions {
  version: SoapVersion
  /** the envelope prefix the real product uses (soapenv, soap, soap12, SOAP-ENV, env) */
  prefix: string
  body: string
  header?: string
  /** extra namespace declarations on the Envelope, e.g. { xsi: XSI_NS } */
  namespaces?: Record<string, string>
  /** the XML declaration the real product writes (default `<?xml version="1.0" encoding="utf-8"?>`) */
  declaration?: string
}

export const DEFAULT_XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'

export function buildEnvelope(options: EnvelopeOptions): string {
  const [head, tail] = envelopeParts(options)
  return `${head}${options.body}${tail}`
}

/** The envelope around a body, split in two, for answers whose body is streamed between them. */
export function envelopeParts(options: Omit<EnvelopeOptions, 'body'>): [string, string] {
  const ns = options.version === '1.1' ? SOAP11_NS : SOAP12_NS
  const p = options.prefix
  const [envelope, body] = [`${p}:Envelope`, `${p}:Body`]
  const start = w.open(envelope, { xmlns: { [p]: ns, ...options.namespaces } })
  const header = options.header ? w.element(`${p}:Header`, options.header) : ''
  return [
    `${options.declaration ?? DEFAULT_XML_DECLARATION}${start}>${header}${w.open(body)}>`,
    `${w.close(body)}${w.close(envelope)}`,
  ]
}

export function contentTypeFor(version: SoapVersion): string {
  return version === '1.1' ? 'text/xml; charset=utf-8' : 'application/soap+xml; charset=utf-8'
}
