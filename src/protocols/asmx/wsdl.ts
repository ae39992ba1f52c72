import {
  dotnet as w,
  type ElementOptions,
  escapeXml,
  type Markup,
  type XmlAttributes,
  XSD_NS,
  XSI_NS,
} from '../soap/writer.js'
import type { AsmxMethod } from './methods.js'
import { TEMPURI } from './render.js'

export const SERVICE_NAME = 'srv'
const WSDL_NS = 'http://schemas.xmlsoap.org/wsdl/'
const XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'

/**
 * The WSDL ASP.NET generates for an XmlNode-returning service: document/literal wrapped types (every
 * parameter an optional string, every result `mixed` with `s:any`), and Soap, Soap12, HttpGet and HttpPost
 * bindings.
 */
export function buildWsdl(methods: AsmxMethod[], location: string): string {
  const s = SERVICE_NAME
  const optional: XmlAttributes = [
    ['minOccurs', '0'],
    ['maxOccurs', '1'],
  ]
  const named = (name: string, more: XmlAttributes = []): ElementOptions => ({
    attrs: [['name', name], ...more],
  })
  const wrapper = (name: string, fields: Markup[], mixed = false) =>
    w.element(
      's:element',
      w.element(
        's:complexType',
        w.element('s:sequence', fields, { endTag: true }),
        mixed ? { attrs: [['mixed', 'true']] } : undefined,
      ),
      named(name),
    )
  const types = methods.map(
    (m) =>
      wrapper(
        m.name,
        m.params.map((p) =>
          w.element('s:element', '', { attrs: [...optional, ['name', p], ['type', 's:string']] }),
        ),
      ) +
      w.element(
        's:element',
        w.element(
          's:complexType',
          w.element(
            's:sequence',
            w.element(
              's:element',
              w.element('s:complexType', w.element('s:sequence', w.element('s:any')), {
                attrs: [['mixed', 'true']],
              }),
              { attrs: [...optional, ['name', `${m.name}Result`]] },
            ),
          ),
        ),
        named(`${m.name}Response`),
      ),
  )
  const message = (name: string, parts: Markup[]) =>
    w.element('wsdl:message', parts, { ...named(name), endTag: true })
  const part = (name: string, more: XmlAttributes = []) => w.element('wsdl:part', '', named(name, more))
  const messages = methods.map((m) => {
    const httpParts = m.params.map((p) => part(p, [['type', 's:string']]))
    return [
      message(`${m.name}SoapIn`, [part('parameters', [['element', `tns:${m.name}`]])]),
      message(`${m.name}SoapOut`, [part('parameters', [['element', `tns:${m.name}Response`]])]),
      message(`${m.name}HttpGetIn`, httpParts),
      message(`${m.name}HttpGetOut`, [part('Body')]),
      message(`${m.name}HttpPostIn`, httpParts),
      message(`${m.name}HttpPostOut`, [part('Body')]),
    ].join('')
  })
  const portType = (suffix: string, inOut: [string, string]) =>
    w.element(
      'wsdl:portType',
      methods.map((m) =>
        w.element(
          'wsdl:operation',
          [
            w.element('wsdl:documentation', w.style.escape(m.summary), {
              xmlns: { wsdl: WSDL_NS },
              endTag: true,
            }),
            w.element('wsdl:input', '', { attrs: [['message', `tns:${m.name}${inOut[0]}`]] }),
            w.element('wsdl:output', '', { attrs: [['message', `tns:${m.name}${inOut[1]}`]] }),
          ],
          named(m.name),
        ),
      ),
      { ...named(`${s}${suffix}`), endTag: true },
    )
  const soapBinding = (name: string, prefix: 'soap' | 'soap12') =>
    w.element(
      'wsdl:binding',
      [
        w.element(`${prefix}:binding`, '', {
          attrs: [['transport', 'http://schemas.xmlsoap.org/soap/http']],
        }),
        ...methods.map((m) =>
          w.element(
            'wsdl:operation',
            [
              w.element(`${prefix}:operation`, '', {
                attrs: [
                  ['soapAction', `${TEMPURI}${m.name}`],
                  ['style', 'document'],
                ],
              }),
              w.element('wsdl:input', w.element(`${prefix}:body`, '', { attrs: [['use', 'literal']] })),
              w.element('wsdl:output', w.element(`${prefix}:body`, '', { attrs: [['use', 'literal']] })),
            ],
            named(m.name),
          ),
        ),
      ],
      named(name, [['type', `tns:${s}Soap`]]),
    )
  const httpBinding = (verb: 'GET' | 'POST') => {
    const name = `${s}Http${verb === 'GET' ? 'Get' : 'Post'}`
    const input =
      verb === 'GET'
        ? w.element('http:urlEncoded')
        : w.element('mime:content', '', { attrs: [['type', 'application/x-www-form-urlencoded']] })
    return w.element(
      'wsdl:binding',
      [
        w.element('http:binding', '', { attrs: [['verb', verb]] }),
        ...methods.map((m) =>
          w.element(
            'wsdl:operation',
            [
              w.element('http:operation', '', { attrs: [['location', `/${m.name}`]] }),
              w.element('wsdl:input', input),
              w.element(
                'wsdl:output',
                w.element('mime:content', '', {
                  attrs: [
                    ['part', 'Body'],
                    ['type', 'text/xml'],
                  ],
                }),
              ),
            ],
            named(m.name),
          ),
        ),
      ],
      named(name, [['type', `tns:${name}`]]),
    )
  }
  const port = (name: string, address: string) =>
    w.element('wsdl:port', w.element(address, '', { attrs: [['location', location]] }), {
      attrs: [
        ['name', `${s}${name}`],
        ['binding', `tns:${s}${name}`],
      ],
    })
  return [
    XML_DECLARATION,
    `${w.open('wsdl:definitions', {
      attrs: [
        ['xmlns:tm', 'http://microsoft.com/wsdl/mime/textMatching/'],
        ['xmlns:soapenc', 'http://schemas.xmlsoap.org/soap/encoding/'],
        ['xmlns:mime', 'http://schemas.xmlsoap.org/wsdl/mime/'],
        ['xmlns:tns', TEMPURI],
        ['xmlns:soap', 'http://schemas.xmlsoap.org/wsdl/soap/'],
        ['xmlns:s', XSD_NS],
        ['xmlns:soap12', 'http://schemas.xmlsoap.org/wsdl/soap12/'],
        ['xmlns:http', 'http://schemas.xmlsoap.org/wsdl/http/'],
        ['targetNamespace', TEMPURI],
        ['xmlns:wsdl', WSDL_NS],
      ],
    })}>`,
    w.element(
      'wsdl:types',
      w.element('s:schema', types, {
        attrs: [
          ['elementFormDefault', 'qualified'],
          ['targetNamespace', TEMPURI],
        ],
        endTag: true,
      }),
    ),
    messages.join(''),
    portType('Soap', ['SoapIn', 'SoapOut']),
    portType('HttpGet', ['HttpGetIn', 'HttpGetOut']),
    portType('HttpPost', ['HttpPostIn', 'HttpPostOut']),
    soapBinding(`${s}Soap`, 'soap'),
    soapBinding(`${s}Soap12`, 'soap12'),
    httpBinding('GET'),
    httpBinding('POST'),
    `${w.open('wsdl:service', named(s))}>`,
    port('Soap', 'soap:address'),
    port('Soap12', 'soap12:address'),
    port('HttpGet', 'http:address'),
    port('HttpPost', 'http:address'),
    w.close('wsdl:service'),
    w.close('wsdl:definitions'),
  ].join('\n')
}

/** The discovery document (`?disco`). */
export function buildDisco(location: string): string {
  const soap = (q: string, binding: string) =>
    w.element('soap', '', {
      attrs: [
        ['address', location],
        [`xmlns:${q}`, TEMPURI],
        ['binding', `${q}:${SERVICE_NAME}${binding}`],
        ['xmlns', 'http://schemas.xmlsoap.org/disco/soap/'],
      ],
    })
  const discovery = w.element(
    'discovery',
    [
      w.element('contractRef', '', {
        attrs: [
          ['ref', `${location}?wsdl`],
          ['docRef', location],
          ['xmlns', 'http://schemas.xmlsoap.org/disco/scl/'],
        ],
      }),
      soap('q1', 'Soap'),
      soap('q2', 'Soap12'),
    ],
    {
      attrs: [
        ['xmlns:xsd', XSD_NS],
        ['xmlns:xsi', XSI_NS],
        ['xmlns', 'http://schemas.xmlsoap.org/disco/'],
      ],
    },
  )
  return `${XML_DECLARATION}\n${discovery}`
}

const page = (title: string, body: string) =>
  `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${escapeXml(title)}</title><style>body{font-family:Verdana,sans-serif;font-size:.8em;margin:2em}h1{font-size:1.6em}h2{font-size:1.2em}pre{background:#eee;padding:.6em;white-space:pre-wrap}code{background:#eee}</style></head><body><h1>${escapeXml(title)}</h1>${body}</body></html>\n`

/** `GET /srv.asmx`: the operations, as the ASMX documentation page lists them. */
export function helpPage(methods: AsmxMethod[]): string {
  const list = [...methods]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((m) => `<li><a href="srv.asmx?op=${m.name}">${m.name}</a><br>${escapeXml(m.summary)}</li>`)
    .join('')
  return page(
    `${SERVICE_NAME} Web Service`,
    `<p>The following operations are supported. For a formal definition, please review the <a href="srv.asmx?WSDL">Service Description</a>.</p><ul>${list}</ul>`,
  )
}

/** `GET /srv.asmx?op=Method`: sample requests for the four protocols. */
export function operationPage(method: AsmxMethod): string {
  const m = method.name
  const soapParams = method.params.map((p) => `      <${p}>string</${p}>`).join('\n')
  const query = method.params.map((p) => `${p}=string`).join('&')
  // the two SOAP samples differ in their headers, the envelope's prefix and its namespace
  const soapSample = (headers: string, prefix: string, ns: string) => `POST /srv.asmx HTTP/1.1
${headers}

<?xml version="1.0" encoding="utf-8"?>
<${prefix}:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:${prefix}="${ns}">
  <${prefix}:Body>
    <${m} xmlns="${TEMPURI}">
${soapParams}
    </${m}>
  </${prefix}:Body>
</${prefix}:Envelope>`
  const soap11 = soapSample(
    `Content-Type: text/xml; charset=utf-8\nSOAPAction: "${TEMPURI}${m}"`,
    'soap',
    'http://schemas.xmlsoap.org/soap/envelope/',
  )
  const soap12 = soapSample(
    'Content-Type: application/soap+xml; charset=utf-8',
    'soap12',
    'http://www.w3.org/2003/05/soap-envelope',
  )
  const get = `GET /srv.asmx/${m}?${query} HTTP/1.1`
  const post = `POST /srv.asmx/${m} HTTP/1.1
Content-Type: application/x-www-form-urlencoded

${query}`
  const answer = `HTTP/1.1 200 OK
Content-Type: text/xml; charset=utf-8

<?xml version="1.0" encoding="utf-8"?>
<response success="true" error="" />`
  const section = (title: string, text: string) => `<h2>${title}</h2><pre>${escapeXml(text)}</pre>`
  return page(
    `${SERVICE_NAME} Web Service: ${m}`,
    `<p>${escapeXml(method.summary)}</p><p><a href="srv.asmx">Click here</a> for a complete list of operations.</p>` +
      section('SOAP 1.1', soap11) +
      section('SOAP 1.2', soap12) +
      section('HTTP GET', get) +
      section('HTTP POST', post) +
      section('Response (HTTP GET and POST)', answer),
  )
}
