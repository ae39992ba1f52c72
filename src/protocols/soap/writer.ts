import { setImmediate as nextTurn } from 'node:timers/promises'

/**
 * The one XML writer of the doors: elements, nil, arrays, attributes, namespace declarations, escaping and
 * streamed chunks. A door describes a reply (a reply object, or elements built here) and this module writes the
 * bytes; the doors differ only in the few choices real products made differently, which a `XmlStyle` names.
 */

/** XML already written (markup), as opposed to text that still has to be escaped. */
export type Markup = string

/** A simple value as an element or attribute carries it. */
export type XmlValue = string | number | boolean

/** Attributes in the order they are written; null and undefined are written as empty values. */
export type XmlAttributes = [string, XmlValue | null | undefined][]

export const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance'
export const XSD_NS = 'http://www.w3.org/2001/XMLSchema'

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
}

/** Any character escapeXml changes: markup, quotes, and what XML 1.0 cannot carry (surrogates take the slow path). */
const NEEDS_ESCAPE = /[^\x09\x0A\x0D\x20\x21\x23-\x25\x28-\x3B\x3D\x3F-\uD7FF\uE000-\uFFFD]/
/** A character XML 1.0 cannot carry: dropped from what is written. */
const NOT_XML_CHARS = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu

/** Escapes text and attribute values (all five markup characters); drops characters XML 1.0 cannot carry. */
export function escapeXml(value: XmlValue): string {
  const text = String(value)
  // most values need nothing: returned as they are, without two regex replaces
  if (!NEEDS_ESCAPE.test(text)) return text
  return text.replace(NOT_XML_CHARS, '').replace(/[&<>"']/g, (c) => ESCAPES[c]!)
}

/** Any character escapeText changes: &, <, > and what XML 1.0 cannot carry (surrogates take the slow path). */
const TEXT_NEEDS_ESCAPE = /[^\x09\x0A\x0D\x20-\x25\x27-\x3B\x3D\x3F-\uD7FF\uE000-\uFFFD]/

/** Escapes element text the way most servers write it: only &, < and > (quotes stay as they are). */
export function escapeText(value: XmlValue): string {
  const text = String(value)
  // most values need nothing: returned as they are, without two regex replaces
  if (!TEXT_NEEDS_ESCAPE.test(text)) return text
  return text.replace(NOT_XML_CHARS, '').replace(/[&<>]/g, (c) => ESCAPES[c]!)
}

/**
 * What real products write differently: which characters of text they escape (.NET and most Java servers all
 * five, PHP's and Axis2's serialisers only &, < and >) and how an empty element is closed (`<a/>` or `<a />`).
 */
export interface XmlStyle {
  escape: (value: XmlValue) => string
  empty: '/>' | ' />'
}

/** Escapes everything, `<a/>`: Enterprise's element values, the WSDLs. */
export const STRICT: XmlStyle = { escape: escapeXml, empty: '/>' }
/** Quotes left as they are, `<a/>`: Axis2 (IPS) and PHP (Enterprise faults). */
export const TEXT: XmlStyle = { escape: escapeText, empty: '/>' }
/** Escapes everything, `<a />`: ASP.NET (srv.asmx). */
export const DOTNET: XmlStyle = { escape: escapeXml, empty: ' />' }

/** ` a="1" b="x"`: attribute values always escaped in full (a quote inside a value would end it). */
export function attributes(pairs: XmlAttributes): string {
  let out = ''
  for (const [name, value] of pairs) out += ` ${name}="${escapeXml(value ?? '')}"`
  return out
}

/** ` xmlns="…"` / ` xmlns:p="…"` for each prefix ('' is the default namespace). */
export function namespaces(declarations: Record<string, string>): string {
  let out = ''
  for (const [prefix, uri] of Object.entries(declarations)) {
    out += prefix === '' ? ` xmlns="${uri}"` : ` xmlns:${prefix}="${uri}"`
  }
  return out
}

export interface ElementOptions {
  attrs?: XmlAttributes
  /** namespace declarations written after the attributes */
  xmlns?: Record<string, string>
  /** overrides the style's closing of an empty element */
  empty?: XmlStyle['empty']
  /** an empty element written with an end tag all the same (`<a></a>`) */
  endTag?: boolean
}

/** The writing functions of one style. */
export interface XmlWriter {
  readonly style: XmlStyle
  /** `<name>escaped</name>`, `<name/>` for an empty string, nothing for null or undefined. */
  text(name: string, value: XmlValue | null | undefined): Markup
  /** `<name>…children…</name>`, `<name/>` when there are none: complex elements and arrays alike. */
  element(name: string, children?: Markup | readonly Markup[], options?: ElementOptions): Markup
  /** `<name xsi:nil="true"/>` (the envelope declares the xsi prefix). */
  nil(name: string): Markup
  /** A simple element, nil when the value is null or undefined. */
  textOrNil(name: string, value: XmlValue | null | undefined): Markup
  /** The start tag of an element whose content is written in chunks (see `streamElement`), without its `>`. */
  open(name: string, options?: ElementOptions): Markup
  /** The end tag of an element opened with `open`. */
  close(name: string): Markup
}

function startTag(name: string, options: ElementOptions | undefined): string {
  if (!options) return `<${name}`
  return `<${name}${options.attrs ? attributes(options.attrs) : ''}${options.xmlns ? namespaces(options.xmlns) : ''}`
}

/** `</name>` */
export function endTag(name: string): Markup {
  return `</${name}>`
}

export function writer(style: XmlStyle): XmlWriter {
  const escapeValue = style.escape
  const w: XmlWriter = {
    style,
    text(name, value) {
      if (value === null || value === undefined) return ''
      const text = escapeValue(value)
      return text === '' ? `<${name}${style.empty}` : `<${name}>${text}</${name}>`
    },
    element(name, children, options) {
      const inner = children === undefined ? '' : typeof children === 'string' ? children : children.join('')
      const start = startTag(name, options)
      return inner === '' && !options?.endTag
        ? `${start}${options?.empty ?? style.empty}`
        : `${start}>${inner}${endTag(name)}`
    },
    nil: (name) => `<${name} xsi:nil="true"${style.empty}`,
    textOrNil: (name, value) => (value === null || value === undefined ? w.nil(name) : w.text(name, value)),
    open: (name, options) => startTag(name, options),
    close: endTag,
  }
  return w
}

export const strict = writer(STRICT)
export const textStyle = writer(TEXT)
export const dotnet = writer(DOTNET)

/**
 * An element whose children arrive as chunks (a listing of any size is written as it is read, never built as
 * one string). `start` is the start tag without its `>`; the first chunk has been read by the caller already (so
 * that a failure at the start can still become an ordinary answer): none or done writes the empty element.
 */
export async function* streamElement(
  name: string,
  start: Markup,
  first: IteratorResult<Markup> | null,
  rest: AsyncIterator<Markup> | null,
  empty: XmlStyle['empty'],
  around: [Markup, Markup] = ['', ''],
): AsyncGenerator<Markup> {
  const [head, tail] = around
  if (!first || first.done) {
    yield `${head}${start}${empty}${tail}`
    return
  }
  yield `${head}${start}>${first.value}`
  if (rest) {
    for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value
  }
  yield `${endTag(name)}${tail}`
}

/** Rows of a streamed listing rendered into one chunk at most (about 25 KiB of srv.asmx entries). */
export const ROWS_PER_CHUNK = 100

/**
 * A streamed listing's pages (as the database hands them over, 1,000 rows each) rendered as chunks of at most
 * `rows` entries: a chunk is rendered only when the reply asks for it (a reader that stops reading stops the
 * rendering as soon as the socket's buffers are full, with at most a chunk or two waiting in the process), and
 * the event loop gets a turn before each chunk after the first. A page rendered whole, as one string, held the
 * event loop for its 1,000 rows at a stretch (and the write and garbage collection of a 250 KiB string after it);
 * a listing whose reader takes everything rendered page after page without a turn in between.
 */
export async function* renderInChunks<T>(
  pages: AsyncIterable<readonly T[]>,
  render: (row: T) => Markup,
  rows = ROWS_PER_CHUNK,
): AsyncGenerator<Markup> {
  let first = true
  for await (const page of pages) {
    for (let start = 0; start < page.length; start += rows) {
      if (!first) await nextTurn()
      first = false
      const end = Math.min(page.length, start + rows)
      let xml = ''
      for (let i = start; i < end; i++) xml += render(page[i]!)
      yield xml
    }
  }
}
