import { XSI_NS } from './writer.js'

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

export type XmlErrorKind = 'malformed' | 'doctype' | 'too-deep' | 'too-large' | 'encoding' | 'empty'

export class XmlError extends Error {
  constructor(
    readonly kind: XmlErrorKind,
    message: string,
  ) {
    super(message)
    this.name = 'XmlError'
  }
}

export { XSI_NS }
export const MAX_XML_DEPTH = 64
/** Elements in one document: a 10,000-id batch takes at most four per id (Enterprise query parameters). */
export const MAX_XML_ELEMENTS = 100_000
/** Attributes (namespace declarations included) on one element. */
export const MAX_XML_ATTRIBUTES = 256

const XML_NS = 'http://www.w3.org/XML/1998/namespace'

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

/** A character XML 1.0 does not allow anywhere: C0 controls but tab and line ends, U+FFFE/U+FFFF, lone surrogates. */
const NOT_XML_CHAR = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u
/** NOT_XML_CHAR, or any surrogate (half of an allowed astral character, or a lone one): code units, no `u`. */
const MAYBE_NOT_XML_CHAR = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD]/

/**
 * Parses untrusted XML in time linear in its size, valid or not: no DOCTYPE (so no entity expansion, internal
 * or external), bounded depth, element and attribute counts, only characters XML 1.0 allows, well-formed only,
 * and namespaces resolved. Throws XmlError.
 */
export function parseXml(input: Buffer | string): XmlElement {
  let text = decodeBody(input)
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  if (text.trim() === '') throw new XmlError('empty', 'Request body is empty')
  // anywhere, even in a comment or CDATA section, as before: a body that carries one is refused as such
  if (text.includes('<!') && (/<!DOCTYPE/i.test(text) || /<!ENTITY/i.test(text))) {
    throw new XmlError('doctype', 'DOCTYPE declarations are not allowed')
  }
  try {
    // the exact search (astral characters are allowed, lone surrogates are not) only when a quicker one over
    // UTF-16 code units finds something outside the Basic Multilingual Plane's allowed characters
    const bad = MAYBE_NOT_XML_CHAR.test(text) ? text.search(NOT_XML_CHAR) : -1
    if (bad >= 0) {
      const code = text.codePointAt(bad)!
      throw new XmlError(
        'malformed',
        `Invalid XML: character U+${code.toString(16).toUpperCase().padStart(4, '0')} is not allowed (line ${lineAt(text, bad)})`,
      )
    }
    return new Parser(text.includes('\r') ? normaliseLineEnds(text) : text).document()
  } catch (error) {
    // a document both malformed and too deep is refused for its depth, as when depth was checked first
    if (error instanceof XmlError && error.kind === 'malformed') checkDepth(text)
    throw error
  }
}

const utf8Encoder = new TextEncoder()

/**
 * `\r\n` and lone `\r` as `\n`, over the whole document before parsing, as XML 1.0 (2.11) has it. A loop over
 * the UTF-8 bytes (a CR byte is never part of a longer sequence): a regex replace per value took 200 ns per
 * character of a body of line ends, 2 s for 8 MiB.
 */
function normaliseLineEnds(text: string): string {
  const bytes = utf8Encoder.encode(text)
  let length = 0
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!
    if (byte === 0x0d) {
      bytes[length++] = 0x0a
      if (bytes[i + 1] === 0x0a) i++
    } else bytes[length++] = byte
  }
  return utf8.decode(bytes.subarray(0, length))
}

/** The string of UTF-16 code units[0..length), converted a bounded piece at a time (no argument list of millions). */
function fromUnits(units: Uint16Array, length: number): string {
  const pieces: string[] = []
  for (let i = 0; i < length; i += 8192) {
    pieces.push(
      String.fromCharCode.apply(null, units.subarray(i, Math.min(length, i + 8192)) as unknown as number[]),
    )
  }
  return pieces.join('')
}

/** A name or reference as an error message shows it: the input is the client's, up to the body limit. */
function shown(name: string): string {
  if (name.length <= 64) return name
  // not between the two halves of a surrogate pair: the message goes into XML replies
  const end = name.charCodeAt(63) >= 0xd800 && name.charCodeAt(63) <= 0xdbff ? 63 : 64
  return `${name.slice(0, end)}…`
}

function lineAt(text: string, pos: number): number {
  let line = 1
  for (let i = text.indexOf('\n'); i >= 0 && i < pos; i = text.indexOf('\n', i + 1)) line++
  return line
}

/**
 * A depth count of a document the parser refused, for the error path only: each `<name ...>` up to its `>`
 * outside quoted values, closing and empty tags told apart, comments, CDATA sections and PIs skipped. One forward
 * pass (no regex that could backtrack over `<a<a<a…`).
 */
function checkDepth(text: string) {
  let depth = 0
  for (let lt = text.indexOf('<'); lt >= 0; ) {
    const skipTo = text.startsWith('<!--', lt)
      ? '-->'
      : text.startsWith('<![CDATA[', lt)
        ? ']]>'
        : text.charCodeAt(lt + 1) === 0x3f /* ? */
          ? '?>'
          : null
    if (skipTo) {
      const end = text.indexOf(skipTo, lt + 2)
      if (end < 0) return
      lt = text.indexOf('<', end + skipTo.length)
      continue
    }
    let at = lt + 1
    const closing = text.charCodeAt(at) === 0x2f /* / */
    if (closing) at++
    const first = text.charCodeAt(at)
    // no name here (`<!`, `< `, `<>`, `<//`): not a tag, look from the next character
    if (Number.isNaN(first) || isSpace(first) || first === 0x3e || first === 0x2f || first === 0x21) {
      lt = text.indexOf('<', lt + 1)
      continue
    }
    // the tag's end: the first '>' outside a quoted value
    let gt = at
    for (;;) {
      const c = text.charCodeAt(gt)
      if (Number.isNaN(c)) return
      if (c === 0x3e) break
      if (c === 0x22 || c === 0x27) {
        gt = text.indexOf(c === 0x22 ? '"' : "'", gt + 1)
        if (gt < 0) return
      }
      gt++
    }
    if (closing) depth--
    else if (text.charCodeAt(gt - 1) !== 0x2f) {
      depth++
      if (depth > MAX_XML_DEPTH) throw new XmlError('too-deep', `XML nesting deeper than ${MAX_XML_DEPTH}`)
    }
    lt = text.indexOf('<', gt + 1)
  }
}

/** Prefix → namespace declarations of one element; elements that declare none share their parent's. */
interface Scope {
  prefixes: Map<string, string>
  parent: Scope | null
}

function lookup(scope: Scope | null, prefix: string): string | undefined {
  for (let s = scope; s; s = s.parent) {
    const uri = s.prefixes.get(prefix)
    if (uri !== undefined) return uri
  }
  return undefined
}

const ROOT_SCOPE: Scope = { prefixes: new Map([['xml', XML_NS]]), parent: null }

const NAME_START =
  /^[:A-Z_a-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\uD800-\uDB7F]/
const NAME_CHAR =
  /^[-.0-9:A-Z_a-z\u00B7\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u037D\u037F-\u1FFF\u200C-\u200D\u203F-\u2040\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\uD800-\uDB7F\uDC00-\uDFFF]$/

/** ASCII name characters by code: 1 may start a name, 2 may only continue one. */
const ASCII_NAME = new Uint8Array(128)
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c)
  if (/[:A-Z_a-z]/.test(ch)) ASCII_NAME[c] = 1
  else if (/[-.0-9]/.test(ch)) ASCII_NAME[c] = 2
}

const XML_DECLARATION =
  /^<\?xml\s+version\s*=\s*(["'])1\.[0-9]+\1(?:\s+encoding\s*=\s*(["'])[A-Za-z][\w.-]*\2)?(?:\s+standalone\s*=\s*(["'])(?:yes|no)\3)?\s*\?>$/

/** A name as namespaces allow it: no colon, or one between a non-empty prefix and local part. */
function isQName(name: string, colon: number): boolean {
  return colon < 0 || (colon > 0 && colon < name.length - 1 && name.indexOf(':', colon + 1) < 0)
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d
}

function isXmlChar(code: number): boolean {
  return (
    code === 0x09 ||
    code === 0x0a ||
    code === 0x0d ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  )
}

interface Open {
  element: XmlElement
  scope: Scope
  /** pieces of text added so far */
  pieces: number
  /** the text as code units, once it came in many pieces */
  units: Uint16Array | null
  length: number
}

/** Pieces of text of one element past which they are copied into one array rather than joined as strings. */
const TEXT_PIECES = 64

/**
 * Adds text to an open element. Text in many pieces (text between CDATA sections, comments, PIs) is copied
 * into one array: a string grown by a million pieces costs ever more per piece to keep.
 */
function addText(open: Open, piece: string) {
  if (!open.units) {
    if (++open.pieces < TEXT_PIECES) {
      open.element.text += piece
      return
    }
    const held = open.element.text
    open.units = new Uint16Array(Math.max(4096, 2 * (held.length + piece.length)))
    for (let i = 0; i < held.length; i++) open.units[i] = held.charCodeAt(i)
    open.length = held.length
    open.element.text = ''
  }
  if (open.length + piece.length > open.units.length) {
    const grown = new Uint16Array(2 * (open.length + piece.length))
    grown.set(open.units.subarray(0, open.length))
    open.units = grown
  }
  const units = open.units
  let length = open.length
  for (let i = 0; i < piece.length; i++) units[length++] = piece.charCodeAt(i)
  open.length = length
}

/** The element's whole text, once it is closed. */
function closeText(open: Open) {
  if (open.units) open.element.text = fromUnits(open.units, open.length)
}

/**
 * One strict pass over the text, building the tree as it goes: depth is bounded while descending, so a deep
 * document is refused before it is built, and nothing outside XML 1.0 with namespaces is accepted (no DTD,
 * only the predefined entities and character references).
 */
class Parser {
  private pos = 0

  constructor(private readonly text: string) {}

  private elements = 0

  private fail(message: string): never {
    throw new XmlError('malformed', `Invalid XML: ${message} (line ${lineAt(this.text, this.pos)})`)
  }

  document(): XmlElement {
    const text = this.text
    let root: XmlElement | null = null
    const stack: Open[] = []
    let scope = ROOT_SCOPE
    let nextCdataClose = text.indexOf(']]>')
    while (this.pos < text.length) {
      const lt = text.indexOf('<', this.pos)
      const end = lt < 0 ? text.length : lt
      if (end > this.pos) {
        if (stack.length > 0) {
          // the next ']]>' of the document, searched again only once passed: linear in all, no copy per text run
          if (nextCdataClose >= 0 && nextCdataClose < this.pos) nextCdataClose = text.indexOf(']]>', this.pos)
          if (nextCdataClose >= 0 && nextCdataClose + 3 <= end) {
            this.pos = nextCdataClose
            this.fail("']]>' in character data")
          }
          addText(stack[stack.length - 1]!, this.chars(this.pos, end))
        } else {
          for (let i = this.pos; i < end; i++) {
            if (!isSpace(text.charCodeAt(i))) {
              this.pos = i
              this.fail('text outside the root element')
            }
          }
        }
        this.pos = end
        if (lt < 0) break
      }
      const next = text.charCodeAt(lt + 1)
      if (next === 0x2f /* / */) {
        const open = stack.pop()
        if (!open) this.fail('closing tag without an open element')
        this.endTag(open.element.qname)
        closeText(open)
        scope = stack.length > 0 ? stack[stack.length - 1]!.scope : ROOT_SCOPE
      } else if (next === 0x3f /* ? */) {
        this.skipPi()
      } else if (next === 0x21 /* ! */) {
        if (text.startsWith('<!--', lt)) this.skipComment()
        else if (text.startsWith('<![CDATA[', lt)) {
          if (stack.length === 0) this.fail('CDATA section outside the root element')
          const close = text.indexOf(']]>', lt + 9)
          if (close < 0) this.fail('unclosed CDATA section')
          addText(stack[stack.length - 1]!, this.plain(lt + 9, close))
          this.pos = close + 3
        } else this.fail("unexpected '<!'")
      } else {
        if (stack.length === 0 && root) this.fail('expected exactly one root element')
        if (++this.elements > MAX_XML_ELEMENTS) {
          throw new XmlError('too-large', `XML document has more than ${MAX_XML_ELEMENTS} elements`)
        }
        const element = this.startTag(scope)
        const empty = this.tagWasEmpty
        const elementScope = this.tagScope
        // an empty element at the limit adds no level below it (as the old depth scan counted)
        if (!empty && stack.length >= MAX_XML_DEPTH) {
          throw new XmlError('too-deep', `XML nesting deeper than ${MAX_XML_DEPTH}`)
        }
        if (stack.length > 0) stack[stack.length - 1]!.element.children.push(element)
        else root = element
        if (!empty) {
          stack.push({ element, scope: elementScope, pieces: 0, units: null, length: 0 })
          scope = elementScope
        }
      }
    }
    if (stack.length > 0) this.fail(`unclosed tag '${shown(stack[stack.length - 1]!.element.qname)}'`)
    if (!root) this.fail('no root element')
    return root
  }

  private skipPi() {
    const text = this.text
    const close = text.indexOf('?>', this.pos + 2)
    if (close < 0) this.fail('unclosed processing instruction')
    const targetEnd = this.name(this.pos + 2)
    if (targetEnd !== close && !isSpace(text.charCodeAt(targetEnd))) {
      this.pos = targetEnd
      this.fail('malformed processing instruction')
    }
    if (text.slice(this.pos + 2, targetEnd).toLowerCase() === 'xml') {
      if (this.pos !== 0) this.fail('XML declaration allowed only at the start of the document')
      if (!XML_DECLARATION.test(text.slice(0, close + 2))) this.fail('malformed XML declaration')
    }
    this.pos = close + 2
  }

  private skipComment() {
    const close = this.text.indexOf('--', this.pos + 4)
    if (close < 0 || this.text.charCodeAt(close + 2) !== 0x3e) this.fail('malformed comment')
    this.pos = close + 3
  }

  /** The end of the name starting at `at`; fails when there is none. */
  private name(at: number): number {
    const text = this.text
    let i = at
    const first = text.charCodeAt(i)
    if (Number.isNaN(first) || (first < 128 ? ASCII_NAME[first] !== 1 : !NAME_START.test(text[i]!))) {
      this.pos = i
      this.fail('invalid name')
    }
    for (i++; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (c < 128 ? ASCII_NAME[c] === 0 : !NAME_CHAR.test(text[i]!)) break
    }
    return i
  }

  private skipSpace(at: number): number {
    while (isSpace(this.text.charCodeAt(at))) at++
    return at
  }

  /** Of the start tag read last: whether it was empty (`<a/>`), and the namespace scope its element opens. */
  private tagWasEmpty = false
  private tagScope: Scope = ROOT_SCOPE

  private startTag(parentScope: Scope): XmlElement {
    const text = this.text
    const nameEnd = this.name(this.pos + 1)
    const qname = text.slice(this.pos + 1, nameEnd)
    let raw: [string, string][] | null = null
    // linear search while there are few attributes; a set once there are many (no quadratic time)
    let names: Set<string> | null = null
    let declared: Map<string, string> | null = null
    let i = nameEnd
    let empty = false
    let nextLt = nameEnd
    for (;;) {
      const afterSpace = this.skipSpace(i)
      const c = text.charCodeAt(afterSpace)
      if (c === 0x3e /* > */) {
        i = afterSpace + 1
        break
      }
      if (c === 0x2f /* / */ && text.charCodeAt(afterSpace + 1) === 0x3e) {
        i = afterSpace + 2
        empty = true
        break
      }
      if (afterSpace === i) {
        this.pos = i
        this.fail(
          Number.isNaN(c)
            ? `unclosed tag '${shown(qname)}'`
            : `unexpected character in tag '${shown(qname)}'`,
        )
      }
      const attrEnd = this.name(afterSpace)
      const attrName = text.slice(afterSpace, attrEnd)
      if (!isQName(attrName, attrName.indexOf(':'))) {
        this.pos = afterSpace
        this.fail(`invalid attribute name '${shown(attrName)}'`)
      }
      let at = this.skipSpace(attrEnd)
      if (text.charCodeAt(at) !== 0x3d /* = */) {
        this.pos = at
        this.fail(`attribute '${shown(attrName)}' has no value`)
      }
      at = this.skipSpace(at + 1)
      const quote = text.charCodeAt(at)
      if (quote !== 0x22 && quote !== 0x27) {
        this.pos = at
        this.fail(`attribute '${shown(attrName)}' is not quoted`)
      }
      const close = text.indexOf(quote === 0x22 ? '"' : "'", at + 1)
      if (close < 0) {
        this.pos = at
        this.fail(`unclosed value of attribute '${shown(attrName)}'`)
      }
      // the tag's next '<', searched again only once passed: one search per tag however many attributes it has
      if (nextLt >= 0 && nextLt <= at) nextLt = text.indexOf('<', at + 1)
      if (nextLt >= 0 && nextLt < close) {
        this.pos = nextLt
        this.fail(`'<' in the value of attribute '${shown(attrName)}'`)
      }
      const value = this.chars(at + 1, close)
      raw ??= []
      if (raw.length >= MAX_XML_ATTRIBUTES) {
        throw new XmlError(
          'too-large',
          `XML element '${shown(qname)}' has more than ${MAX_XML_ATTRIBUTES} attributes`,
        )
      }
      if (names === null && raw.length >= 8) names = new Set(raw.map(([key]) => key))
      if (names ? names.has(attrName) : raw.some(([key]) => key === attrName)) {
        this.pos = afterSpace
        this.fail(`attribute '${shown(attrName)}' is repeated`)
      }
      names?.add(attrName)
      raw.push([attrName, value])
      if (attrName === 'xmlns' || attrName.startsWith('xmlns:')) {
        declared ??= new Map()
        declared.set(attrName.length === 5 ? '' : attrName.slice(6), value)
      }
      i = close + 1
    }
    const scope = declared ? { prefixes: declared, parent: parentScope } : parentScope
    const colon = qname.indexOf(':')
    if (!isQName(qname, colon)) this.fail(`invalid element name '${shown(qname)}'`)
    const prefix = colon < 0 ? '' : qname.slice(0, colon)
    const ns = lookup(scope, prefix)
    if (prefix !== '' && ns === undefined) this.fail(`undeclared namespace prefix ${shown(prefix)}`)
    const attrs: Record<string, string> = {}
    const nsAttrs: Record<string, string> = {}
    if (raw) {
      for (const [key, value] of raw) {
        if (key === 'xmlns' || key.startsWith('xmlns:')) continue
        const attrColon = key.indexOf(':')
        if (attrColon < 0) {
          attrs[key] = value
          continue
        }
        const local = key.slice(attrColon + 1)
        attrs[local] = value
        // an undeclared attribute prefix is read as no namespace (as it always was), not refused
        nsAttrs[`{${lookup(scope, key.slice(0, attrColon)) ?? ''}}${local}`] = value
      }
    }
    this.pos = i
    const element: XmlElement = {
      name: colon < 0 ? qname : qname.slice(colon + 1),
      ns: ns ?? '',
      qname,
      attrs,
      nsAttrs,
      children: [],
      text: '',
    }
    this.tagWasEmpty = empty
    this.tagScope = scope
    return element
  }

  private endTag(qname: string) {
    const text = this.text
    const start = this.pos + 2
    const end = start + qname.length
    // compared a code unit at a time: startsWith at an offset cost more than the rest of the closing tag
    let same = end <= text.length
    for (let k = 0; same && k < qname.length; k++) same = text.charCodeAt(start + k) === qname.charCodeAt(k)
    if (!same || this.nameContinues(end)) {
      this.fail(`expected closing tag '${shown(qname)}'`)
    }
    const close = this.skipSpace(end)
    if (text.charCodeAt(close) !== 0x3e) {
      this.pos = close
      this.fail(`malformed closing tag '${shown(qname)}'`)
    }
    this.pos = close + 1
  }

  private nameContinues(at: number): boolean {
    const c = this.text.charCodeAt(at)
    if (Number.isNaN(c)) return false
    return c < 128 ? ASCII_NAME[c] !== 0 : NAME_CHAR.test(this.text[at]!)
  }

  /** Character data from..to, references resolved. */
  private chars(from: number, to: number): string {
    // searched within from..to only: a search to the document's next '&' would rescan its rest for each value
    const slice = this.text.slice(from, to)
    let amp = slice.indexOf('&')
    if (amp < 0) return slice
    // a long value full of references is built in one array: a string grown by two pieces per reference held
    // millions of pieces for a body of `&amp;`, costing ever more per character as it grew
    const units = slice.length > 256 ? new Uint16Array(slice.length) : null
    let length = 0
    let out = ''
    let at = 0
    while (amp >= 0) {
      const semi = slice.indexOf(';', amp + 1)
      if (semi < 0) {
        this.pos = from + amp
        this.fail("'&' is not a reference")
      }
      const value = this.reference(from + amp, from + semi)
      if (units) {
        for (let i = at; i < amp; i++) units[length++] = slice.charCodeAt(i)
        for (let i = 0; i < value.length; i++) units[length++] = value.charCodeAt(i)
      } else out += slice.slice(at, amp) + value
      at = semi + 1
      amp = slice.indexOf('&', at)
    }
    if (!units) return out + slice.slice(at)
    for (let i = at; i < slice.length; i++) units[length++] = slice.charCodeAt(i)
    return fromUnits(units, length)
  }

  private reference(amp: number, semi: number): string {
    const ref = this.text.slice(amp + 1, semi)
    if (ref.charCodeAt(0) === 0x23 /* # */) {
      const hex = ref.charCodeAt(1) === 0x78 /* x */
      const digits = ref.slice(hex ? 2 : 1)
      const valid = hex ? /^0*[0-9a-fA-F]{1,6}$/.test(digits) : /^0*[0-9]{1,7}$/.test(digits)
      const code = valid ? Number.parseInt(digits, hex ? 16 : 10) : -1
      if (!isXmlChar(code)) {
        this.pos = amp
        this.fail(`invalid character reference '&${shown(ref)};'`)
      }
      return String.fromCodePoint(code)
    }
    const value = PREDEFINED[ref]
    if (value === undefined || !Object.hasOwn(PREDEFINED, ref)) {
      this.pos = amp
      this.fail(`undefined entity '&${shown(ref)};'`)
    }
    return value
  }

  /** Text without references (line ends were normalised before parsing). */
  private plain(from: number, to: number): string {
    return this.text.slice(from, to)
  }
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

/** One constant key: a key built per call is hashed again by every lookup. */
const XSI_NIL = `{${XSI_NS}}nil`

/** Whether an element carries xsi:nil="true". */
export function isNil(element: XmlElement | undefined): boolean {
  const nil = element?.nsAttrs[XSI_NIL]
  return nil === 'true' || nil === '1'
}

/** Escaping belongs to the writer; re-exported for readers of this module. */
export { escapeText, escapeXml } from './writer.js'
