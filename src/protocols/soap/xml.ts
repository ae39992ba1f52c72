import { XMLParser, XMLValidator } from 'fast-xml-parser'

/** A namespace-resolved element: what every door reads requests from. */
export interface XmlElement {
  /** local name, without prefix */
  name: string
  /** namespace URI ('' when none) */
  ns: string
  /** the name as written, with its prefix */
  qname: string
  /** attributes by local name (namespace declarations excluded) */
  attrs: Record<string, string>
  /** attributes by `{ns}local` for namespaced ones, e.g. `{http://www.w3.org/2001/XMLSchema-instance}nil` */
  nsAttrs: Record<string, string>
  children: XmlElement[]
  /** concatenated text content of this element (not of its children) */
  text: string
}

export type XmlErrorKind = 'malformed' | 'doctype' | 'too-deep' | 'encoding' | 'empty'

export class XmlError extends Error {
  constructor(
    readonly kind: XmlErrorKind,
    message: string,
  ) {
    super(message)
    this.name = 'XmlError'
  }
}

export const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance'
export const MAX_XML_DEPTH = 64

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  processEntities: true,
  htmlEntities: false,
  maxNestedTags: MAX_XML_DEPTH + 1,
  commentPropName: '#comment',
})

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Decodes a request body strictly: invalid UTF-8 is an error, not a replacement character. */
export function decodeBody(body: Buffer | string): string {
  if (typeof body === 'string') return body
  try {
    return utf8.decode(body)
  } catch {
    throw new XmlError('encoding', 'Request body is not valid UTF-8')
  }
}

/**
 * Parses untrusted XML: no DOCTYPE (so no entity expansion, internal or external), bounded depth, well-formed
 * only, and namespaces resolved. Throws XmlError.
 */
export function parseXml(input: Buffer | string): XmlElement {
  let text = decodeBody(input)
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  if (text.trim() === '') throw new XmlError('empty', 'Request body is empty')
  if (/<!DOCTYPE/i.test(text) || /<!ENTITY/i.test(text)) {
    throw new XmlError('doctype', 'DOCTYPE declarations are not allowed')
  }
  checkDepth(text)
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false })
  if (valid !== true) {
    throw new XmlError('malformed', `Invalid XML: ${valid.err.msg} (line ${valid.err.line})`)
  }
  let ordered: unknown[]
  try {
    ordered = parser.parse(text) as unknown[]
  } catch (error) {
    throw new XmlError('malformed', `Invalid XML: ${(error as Error).message}`)
  }
  const roots = ordered.filter((node) => elementNameOf(node) !== null)
  if (roots.length !== 1) throw new XmlError('malformed', 'Invalid XML: expected exactly one root element')
  return toElement(
    roots[0] as Record<string, unknown>,
    new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]),
  )
}

/** A linear scan that refuses deep nesting before any tree is built. */
function checkDepth(text: string) {
  let depth = 0
  const tag = /<(\/?)([^\s>/!?][^\s>/]*)[^>]*?(\/?)>/g
  for (let match = tag.exec(text); match; match = tag.exec(text)) {
    if (match[1]) depth--
    else if (!match[3]) {
      depth++
      if (depth > MAX_XML_DEPTH) throw new XmlError('too-deep', `XML nesting deeper than ${MAX_XML_DEPTH}`)
    }
  }
}

function elementNameOf(node: unknown): string | null {
  if (!node || typeof node !== 'object') return null
  const key = Object.keys(node).find((k) => k !== ':@' && k !== '#text' && k !== '#comment')
  return key ?? null
}

function toElement(node: Record<string, unknown>, scope: Map<string, string>): XmlElement {
  const qname = elementNameOf(node)!
  const rawAttrs = (node[':@'] ?? {}) as Record<string, string>
  const local = new Map(scope)
  for (const [key, value] of Object.entries(rawAttrs)) {
    if (key === 'xmlns') local.set('', value)
    else if (key.startsWith('xmlns:')) local.set(key.slice(6), value)
  }
  const [prefix, name] = splitName(qname)
  const ns = local.get(prefix) ?? ''
  if (prefix !== '' && !local.has(prefix))
    throw new XmlError('malformed', `Undeclared namespace prefix ${prefix}`)
  const attrs: Record<string, string> = {}
  const nsAttrs: Record<string, string> = {}
  for (const [key, value] of Object.entries(rawAttrs)) {
    if (key === 'xmlns' || key.startsWith('xmlns:')) continue
    const [attrPrefix, attrName] = splitName(key)
    attrs[attrName] = value
    if (attrPrefix) nsAttrs[`{${local.get(attrPrefix) ?? ''}}${attrName}`] = value
  }
  const children: XmlElement[] = []
  let text = ''
  for (const child of (node[qname] ?? []) as Record<string, unknown>[]) {
    if ('#text' in child) text += String(child['#text'])
    else if (elementNameOf(child) && !('#comment' in child)) children.push(toElement(child, local))
  }
  return { name, ns, qname, attrs, nsAttrs, children, text }
}

function splitName(qname: string): [string, string] {
  const colon = qname.indexOf(':')
  return colon < 0 ? ['', qname] : [qname.slice(0, colon), qname.slice(colon + 1)]
}

/** First child with this local name (any namespace unless one is given). */
export function child(element: XmlElement | undefined, name: string, ns?: string): XmlElement | undefined {
  return element?.children.find((c) => c.name === name && (ns === undefined || c.ns === ns))
}

/** Case-insensitive child lookup (infoRouter parameter names). */
export function childIgnoreCase(element: XmlElement | undefined, name: string): XmlElement | undefined {
  const lower = name.toLowerCase()
  return element?.children.find((c) => c.name.toLowerCase() === lower)
}

export function childText(element: XmlElement | undefined, name: string, ns?: string): string | undefined {
  const found = child(element, name, ns)
  return found ? found.text : undefined
}

/** Whether an element carries xsi:nil="true". */
export function isNil(element: XmlElement | undefined): boolean {
  const nil = element?.nsAttrs[`{${XSI_NS}}nil`]
  return nil === 'true' || nil === '1'
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
}

/** Escapes text and attribute values; drops characters XML 1.0 cannot carry. */
export function escapeXml(value: string | number | boolean): string {
  return String(value)
    .replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/[&<>"']/g, (c) => ESCAPES[c]!)
}

/** Escapes element text the way most servers write it: only &, < and > (quotes stay as they are). */
export function escapeText(value: string | number | boolean): string {
  return String(value)
    .replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/[&<>]/g, (c) => ESCAPES[c]!)
}

/** `<name>escaped</name>`, or `<name/>` for an empty string. */
export function el(name: string, value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return ''
  const text = escapeXml(value)
  return text === '' ? `<${name}/>` : `<${name}>${text}</${name}>`
}
