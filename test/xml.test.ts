import { describe, expect, it } from 'vitest'
import { buildEnvelope, SOAP11_NS, SOAP12_NS, unwrapEnvelope } from '../src/protocols/soap/envelope.js'
import { child, escapeXml, isNil, MAX_XML_DEPTH, parseXml, XmlError } from '../src/protocols/soap/xml.js'

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
