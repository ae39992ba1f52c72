import { buildEnvelope, type SoapVersion } from './envelope.js'
import { type Markup, writer, type XmlStyle } from './writer.js'

/** Who is to blame, in SOAP 1.1's words; SOAP 1.2 says Sender and Receiver. */
export type SoapFaultCode = 'Client' | 'Server' | 'VersionMismatch'

const SOAP12_CODES: Record<SoapFaultCode, string> = {
  Client: 'Sender',
  Server: 'Receiver',
  VersionMismatch: 'VersionMismatch',
}

export interface SoapFault {
  code: SoapFaultCode
  /** faultstring (1.1) / Reason/Text (1.2): text, escaped by the style */
  reason: string
  /** the content of detail (1.1) / Detail (1.2), as markup; '' writes the empty element */
  detail?: Markup
  /** or as text, escaped by the style: '' writes the empty element */
  detailText?: string
}

/** How a product writes its faults, besides the envelope's own choices. */
export interface FaultStyle {
  version: SoapVersion
  /** the envelope prefix, which also qualifies the fault code values */
  prefix: string
  xml: XmlStyle
  /** xml:lang of the SOAP 1.2 Reason/Text */
  lang?: string
  /** an empty faultactor element after faultstring (PHP's SoapServer writes one) */
  faultactor?: boolean
  /** extra namespace declarations on the Envelope */
  namespaces?: Record<string, string>
  /** the XML declaration (default `<?xml version="1.0" encoding="utf-8"?>`) */
  declaration?: string
}

/** The `Fault` element of a SOAP 1.1 or 1.2 body. */
export function faultElement(fault: SoapFault, style: FaultStyle): Markup {
  const w = writer(style.xml)
  const p = style.prefix
  const detail = fault.detail ?? ''
  // code and reason are written open and closed even when empty, as the products do
  const full = (name: string, inner: Markup, start = `<${name}`) => `${start}>${inner}</${name}>`
  const reason = style.xml.escape(fault.reason)
  const detailElement = (name: string) =>
    fault.detailText === undefined
      ? w.element(name, detail)
      : fault.detailText === ''
        ? w.element(name)
        : full(name, style.xml.escape(fault.detailText))
  if (style.version === '1.1') {
    return w.element(`${p}:Fault`, [
      full('faultcode', `${p}:${fault.code}`),
      full('faultstring', reason),
      style.faultactor ? w.element('faultactor') : '',
      detailElement('detail'),
    ])
  }
  return w.element(`${p}:Fault`, [
    w.element(`${p}:Code`, full(`${p}:Value`, `${p}:${SOAP12_CODES[fault.code]}`)),
    w.element(
      `${p}:Reason`,
      full(`${p}:Text`, reason, w.open(`${p}:Text`, { attrs: [['xml:lang', style.lang ?? 'en']] })),
    ),
    detailElement(`${p}:Detail`),
  ])
}

/** A whole SOAP fault document: the envelope around `faultElement`. */
export function soapFault(fault: SoapFault, style: FaultStyle): string {
  return buildEnvelope({
    version: style.version,
    prefix: style.prefix,
    body: faultElement(fault, style),
    ...(style.namespaces ? { namespaces: style.namespaces } : {}),
    ...(style.declaration ? { declaration: style.declaration } : {}),
  })
}
