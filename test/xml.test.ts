import { describe, expect, it } from 'vitest'
import { buildEnvelope, SOAP11_NS, SOAP12_NS, unwrapEnvelope } from '../src/protocols/soap/envelope.js'
import {
  child,
  escapeXml,
  isNil,
  MAX_XML_ATTRIBUTES,
  MAX_XML_DEPTH,
  MAX_XML_ELEMENTS,
  parseXml,
  XmlError,
} from '../src/protocols/soap/xml.js'

const kindOf = (input: string | Buffer) => {
  try {
    parseXml(input)
    return 'parsed'
  } catch (error) {
    expect(error).toBeInstanceOf(XmlError)
    return (error as XmlError).kind
  }
}

describe('parseXml refuses hostile input', () => {
  it.each([
    ['a DOCTYPE', '<!DOCTYPE Root><Root/>', 'doctype'],
    ['an external entity', '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>', 'doctype'],
    [
      'billion laughs',
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><lolz>&lol2;</lolz>',
      'doctype',
    ],
    ['unclosed tags', '<a><b></a>', 'malformed'],
    ['two roots', '<a/><b/>', 'malformed'],
    ['text only', 'hello', 'malformed'],
    ['an empty body', '   ', 'empty'],
    ['an undeclared prefix', '<x:a/>', 'malformed'],
  ])('%s', (_name, input, kind) => {
    expect(kindOf(input)).toBe(kind)
  })

  it('refuses nesting deeper than the limit, in linear time', () => {
    const deep = (n: number) => `${'<a>'.repeat(n)}${'</a>'.repeat(n)}`
    expect(kindOf(deep(MAX_XML_DEPTH))).toBe('parsed')
    expect(kindOf(deep(MAX_XML_DEPTH + 1))).toBe('too-deep')
    expect(kindOf(deep(10_000))).toBe('too-deep')
  })

  it('refuses invalid UTF-8', () => {
    expect(kindOf(Buffer.from([0x3c, 0x61, 0x3e, 0xff, 0xfe, 0x3c, 0x2f, 0x61, 0x3e]))).toBe('encoding')
  })

  it('keeps values as text (no number coercion) and decodes the predefined entities', () => {
    const root = parseXml('<r><n>007</n><t>a &amp; b &lt;c&gt;</t></r>')
    expect(child(root, 'n')?.text).toBe('007')
    expect(child(root, 't')?.text).toBe('a & b <c>')
  })

  it('resolves namespaces through prefixes and defaults', () => {
    const root = parseXml(
      '<e:Envelope xmlns:e="urn:e" xmlns:x="http://www.w3.org/2001/XMLSchema-instance"><Body xmlns="urn:d"><v x:nil="true"/></Body></e:Envelope>',
    )
    expect(root).toMatchObject({ name: 'Envelope', ns: 'urn:e' })
    const body = child(root, 'Body')!
    expect(body.ns).toBe('urn:d')
    expect(isNil(child(body, 'v'))).toBe(true)
  })
})

describe('parseXml: one strict pass', () => {
  it.each([
    ['junk after the root', '<a/>junk'],
    ['text before the root', 'x<a/>'],
    ['CDATA outside the root', '<![CDATA[x]]><a/>'],
    ['a bare ampersand', '<a>a & b</a>'],
    ['an undefined entity', '<a>&nbsp;</a>'],
    ['an unterminated reference', '<a>&lt</a>'],
    ['a reference to a character XML cannot carry', '<a>&#0;</a>'],
    ['a reference to a surrogate', '<a>&#xD800;</a>'],
    ['a reference beyond Unicode', '<a>&#1114112;</a>'],
    ["'<' in an attribute value", '<a b="<"/>'],
    ['a repeated attribute', '<a b="1" b="2"/>'],
    [
      'a repeated attribute among many',
      `<a ${Array.from({ length: 20 }, (_, i) => `a${i}="1"`).join(' ')} a19="2"/>`,
    ],
    ['an unquoted attribute', '<a b=1/>'],
    ['an attribute without a value', '<a b/>'],
    ['attributes without space between them', '<a b="1"c="2"/>'],
    ['a mismatched end tag', '<a></b>'],
    ['an end tag of another case', '<A></a>'],
    ['an end tag that only starts like the open one', '<a></ab>'],
    ['an end tag without an open element', '</a>'],
    ['an unclosed element', '<a>'],
    ['an unclosed start tag', '<a b="1"'],
    ['space after <', '< a/>'],
    ['a name starting with a digit', '<1a/>'],
    ['an empty prefix', '<:a/>'],
    ['two colons in a name', '<a:b:c xmlns:a="urn:a"/>'],
    ['an undeclared prefix on a child', '<a><x:b/></a>'],
    ['a prefix declared on a sibling only', '<a><b xmlns:x="urn:x"/><x:c/></a>'],
    ['-- inside a comment', '<a><!-- x -- y --></a>'],
    ['an unclosed comment', '<a><!-- x </a>'],
    ['an unclosed CDATA section', '<a><![CDATA[x</a>'],
    ['an unknown <! construct', '<a><!FOO></a>'],
    ['an XML declaration after the start', ' <?xml version="1.0"?><a/>'],
    ['a second XML declaration', '<?xml version="1.0"?><?xml version="1.0"?><a/>'],
    ['a malformed XML declaration', '<?xml version=1.0?><a/>'],
    ['a processing instruction without a target', '<a><? x?></a>'],
    ['an unclosed processing instruction', '<a><?pi x</a>'],
  ])('refuses %s as malformed', (_name, input) => {
    let error: unknown
    try {
      parseXml(input)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(XmlError)
    expect((error as XmlError).kind).toBe('malformed')
    expect((error as XmlError).message).toMatch(/^Invalid XML/)
  })

  it('refuses a DOCTYPE wherever it appears, in any case', () => {
    expect(kindOf('<a><!-- <!doctype a> --></a>')).toBe('doctype')
    expect(kindOf('<a><![CDATA[<!ENTITY x "y">]]></a>')).toBe('doctype')
  })

  it('refuses depth before building: a deep, malformed document is refused for its depth', () => {
    expect(kindOf(`${'<a>'.repeat(100)}</b>`)).toBe('too-deep')
    expect(kindOf(`<a></b>${'<a>'.repeat(100)}`)).toBe('too-deep')
    // an empty element at the limit opens no level below it
    expect(kindOf(`${'<a>'.repeat(MAX_XML_DEPTH)}<b/>${'</a>'.repeat(MAX_XML_DEPTH)}`)).toBe('parsed')
  })

  it('strips a byte order mark and accepts a declaration, comments and PIs around the root', () => {
    const root = parseXml(
      "\ufeff<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n<!-- c --><?pi data?>\n<r/>\n<!-- after --><?pi?>\n",
    )
    expect(root).toMatchObject({ name: 'r', children: [], text: '' })
    expect(parseXml(Buffer.from('\ufeff<r/>')).name).toBe('r')
  })

  it('builds the tree: text of the element itself, children in order, CDATA raw, comments and PIs dropped', () => {
    const root = parseXml('<a> x <b>y</b><!-- c --><?p q?>z<![CDATA[<raw> &amp;]]><c/></a>')
    expect(root.text).toBe(' x z<raw> &amp;')
    expect(root.children.map((c) => [c.name, c.text])).toEqual([
      ['b', 'y'],
      ['c', ''],
    ])
  })

  it('resolves the predefined entities and character references, in text and attributes', () => {
    const root = parseXml('<a v="&quot;&apos;&#65;&#x1F600;&lt;">&amp;&gt;&#x42;&#67;&#x1f600;</a>')
    expect(root.attrs.v).toBe(`"'A\u{1F600}<`)
    expect(root.text).toBe('&>BC\u{1F600}')
  })

  it('reads line ends as \\n', () => {
    expect(parseXml('<a>x\r\ny\rz</a>').text).toBe('x\ny\nz')
    expect(parseXml('<a\r\nb="1\r\n2"\r\n/>').attrs.b).toBe('1\n2')
  })

  it('accepts space inside tags, single quotes and non-ASCII names', () => {
    const root = parseXml("<é\n b = 'v' ></é \n>")
    expect(root).toMatchObject({ name: 'é', attrs: { b: 'v' } })
  })

  it('resolves namespaces per element: declarations scope to their element and its descendants', () => {
    const root = parseXml(
      '<p:a xmlns:p="urn:p" xmlns="urn:d"><b xmlns:p="urn:q"><p:c/></b><p:d/><e xmlns=""/><f/></p:a>',
    )
    expect(root).toMatchObject({ name: 'a', ns: 'urn:p', qname: 'p:a', attrs: {} })
    const [b, d, e, f] = root.children
    expect(b).toMatchObject({ name: 'b', ns: 'urn:d' })
    expect(b!.children[0]).toMatchObject({ name: 'c', ns: 'urn:q', qname: 'p:c' })
    expect(d).toMatchObject({ name: 'd', ns: 'urn:p' })
    expect(e).toMatchObject({ name: 'e', ns: '' })
    expect(f).toMatchObject({ name: 'f', ns: 'urn:d' })
  })

  it('keys attributes by local name, and namespaced ones by {ns}local as well', () => {
    const root = parseXml(
      '<a xmlns:x="urn:x" xml:lang="en" x:k="1" plain="2" y:u="3" xmlns:z="urn:z"><b x:k="4"/></a>',
    )
    expect(root.attrs).toEqual({ lang: 'en', k: '1', plain: '2', u: '3' })
    // an undeclared attribute prefix reads as no namespace rather than being refused
    expect(root.nsAttrs).toEqual({
      '{http://www.w3.org/XML/1998/namespace}lang': 'en',
      '{urn:x}k': '1',
      '{}u': '3',
    })
    expect(root.children[0]!.nsAttrs).toEqual({ '{urn:x}k': '4' })
  })
})

describe('parseXml: what XML 1.0 forbids, and bounded documents', () => {
  it.each([
    ['NUL in text', '<a>x\u0000y</a>'],
    ['NUL in an attribute value', '<a b="\u0000"/>'],
    ['a C0 control', '<a>\u0001</a>'],
    ['a C0 control in a comment', '<a><!-- \u001b --></a>'],
    ['U+FFFE', '<a>\ufffe</a>'],
    ['U+FFFF in a CDATA section', '<a><![CDATA[\uffff]]></a>'],
    ['a lone high surrogate', '<a>\ud800</a>'],
    ['a lone low surrogate', '<a b="\udc00"/>'],
    ["']]>' in character data", '<a>x]]>y</a>'],
  ])('refuses %s as malformed', (_name, input) => {
    expect(kindOf(input)).toBe('malformed')
  })

  it("accepts what XML 1.0 allows around them: a pair of surrogates, ']]>' in an attribute, '>' in text", () => {
    const root = parseXml('<a b="]]>">\u{1F600} > \ud7ff\ue000\ufffd</a>')
    expect(root.text).toBe('\u{1F600} > \ud7ff\ue000\ufffd')
    expect(root.attrs.b).toBe(']]>')
  })

  it('refuses more elements in a document, or attributes on an element, than the limits', () => {
    const elements = (n: number) => `<r>${'<i/>'.repeat(n - 1)}</r>`
    expect(kindOf(elements(MAX_XML_ELEMENTS))).toBe('parsed')
    expect(kindOf(elements(MAX_XML_ELEMENTS + 1))).toBe('too-large')
    const attributes = (n: number) => `<r ${Array.from({ length: n }, (_, i) => `a${i}="1"`).join(' ')}/>`
    expect(kindOf(attributes(MAX_XML_ATTRIBUTES))).toBe('parsed')
    expect(kindOf(attributes(MAX_XML_ATTRIBUTES + 1))).toBe('too-large')
  })
})

/** Milliseconds for the fastest of three runs of `parse`, so that one pause of a loaded machine does not count. */
function fastest(input: string): number {
  let best = Number.POSITIVE_INFINITY
  for (let run = 0; run < 3; run++) {
    const started = performance.now()
    kindOf(input)
    best = Math.min(best, performance.now() - started)
  }
  return best
}

/** A well-formed document of about `size` characters: the cost any input of that size is held to. */
const wellFormed = (size: number) =>
  `<r>${'<item id="1">text &amp; more</item>'.repeat(Math.ceil(size / 36))}</r>`

const fill = (unit: string, size: number) => unit.repeat(Math.ceil(size / unit.length))

describe('parseXml: linear in its input, valid or not', () => {
  const MiB = 1024 * 1024
  // shapes that made a search or a regex rescan the rest of the input once per tag, attribute or value
  it.each([
    ['<a<a<a…', fill('<a', MiB)],
    ['</a</a…', fill('</a', MiB)],
    ['<a></a</a…', `<a>${fill('</a', MiB)}`],
    ['<a x<a x…', fill('<a x', MiB)],
    ['<a b="1"/>… then a stray &', `<r>${fill('<a b="1"/>', MiB / 2)}&</r>`],
    ['text… then a stray &', `<r>${fill('<a>t</a>', MiB / 2)}&</r>`],
    ['<!--<!--<!--…', fill('<!--', MiB)],
    ['<?p<?p…', fill('<?p', MiB)],
    ['<![CDATA[<![CDATA[…', `<r>${fill('<![CDATA[', MiB)}`],
    ['&&&…', `<r>${fill('&', MiB)}</r>`],
    ['&#&#…;', `<r>${fill('&#', MiB)};</r>`],
    ['unclosed attribute values', `<r a="${fill('<b c="', MiB)}`],
    ['a deep prefix then junk', `${'<a>'.repeat(MAX_XML_DEPTH)}${fill('<a', MiB)}`],
    ['1 MiB of spaces in a declaration', `<?xml version="1.0"${' '.repeat(MiB)}x?><a/>`],
  ])('%s: 1 MiB refused within a few times the parse of a well-formed MiB', (name, input) => {
    const baseline = fastest(wellFormed(MiB))
    const attack = fastest(input)
    // generous (10 times, plus 50 ms): the shapes above took seconds to hours before
    expect(attack, `${name}: ${attack.toFixed(1)} ms against ${baseline.toFixed(1)} ms`).toBeLessThan(
      10 * baseline + 50,
    )
  })

  it('random documents of XML fragments up to 1 MiB parse or are refused, in time proportional to their size', () => {
    const tokens = [
      '<',
      '</',
      '>',
      '/>',
      'a',
      'b:c',
      ' ',
      '="',
      '"',
      "'",
      '=',
      '&',
      ';',
      '&amp;',
      '&#65;',
      '<!--',
      '-->',
      '<![CDATA[',
      ']]>',
      '<?',
      '?>',
      'xmlns:b="urn:b"',
      '\n',
      'é',
    ]
    let seed = 21
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed / 2147483648
    }
    const baselinePerChar = fastest(wellFormed(MiB)) / MiB
    let chars = 0
    let ms = 0
    for (let n = 0; n < 40; n++) {
      const size = n % 10 === 9 ? MiB : 1 + Math.floor(random() * 64 * 1024)
      const parts: string[] = ['<r>']
      for (let length = 0; length < size; ) {
        const token = tokens[Math.floor(random() * tokens.length)]!
        parts.push(token)
        length += token.length
      }
      const input = parts.join('')
      const started = performance.now()
      expect(['parsed', 'malformed', 'too-deep', 'too-large', 'doctype']).toContain(kindOf(input))
      ms += performance.now() - started
      chars += input.length
    }
    expect(ms, `${chars} characters in ${ms.toFixed(1)} ms`).toBeLessThan(10 * baselinePerChar * chars + 200)
  })
})

describe('SOAP envelopes', () => {
  it('unwraps 1.1 and 1.2 and finds the operation', () => {
    const v11 = unwrapEnvelope(
      parseXml(`<s:Envelope xmlns:s="${SOAP11_NS}"><s:Body><op xmlns="urn:x"/></s:Body></s:Envelope>`),
    )
    expect(v11).toMatchObject({ version: '1.1', operation: { name: 'op', ns: 'urn:x' } })
    const v12 = unwrapEnvelope(
      parseXml(`<s:Envelope xmlns:s="${SOAP12_NS}"><s:Header/><s:Body><op/></s:Body></s:Envelope>`),
    )
    expect(v12.version).toBe('1.2')
    expect(v12.header).toBeDefined()
  })

  it('refuses an envelope of an unknown namespace or without a body', () => {
    expect(() => unwrapEnvelope(parseXml('<s:Envelope xmlns:s="urn:wrong"><s:Body/></s:Envelope>'))).toThrow(
      /Not a SOAP/,
    )
    expect(() => unwrapEnvelope(parseXml(`<s:Envelope xmlns:s="${SOAP11_NS}"/>`))).toThrow(/no Body/)
    expect(() =>
      unwrapEnvelope(parseXml(`<s:Envelope xmlns:s="${SOAP11_NS}"><s:Body/></s:Envelope>`)),
    ).toThrow(/empty/)
  })

  it('builds an envelope that parses back', () => {
    const xml = buildEnvelope({ version: '1.2', prefix: 'env', body: `<r>${escapeXml('<&>"\u0001')}</r>` })
    const parsed = unwrapEnvelope(parseXml(xml))
    expect(parsed.operation.text).toBe('<&>"')
  })
})
