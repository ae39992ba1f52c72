import { escapeXml } from '../soap/writer.js'
import type { AsmxMethod } from './methods.js'
import { TEMPURI } from './render.js'

export const SERVICE_NAME = 'srv'

/**
 * The WSDL ASP.NET generates for an XmlNode-returning service: document/literal wrapped types (every
 * parameter an optional string, every result `mixed` with `s:any`), and Soap, Soap12, HttpGet and HttpPost
 * bindings.
 */
export function buildWsdl(methods: AsmxMethod[], location: string): string {
  const s = SERVICE_NAME
  const types = methods
    .map(
      (m) =>
        `<s:element name="${m.name}"><s:complexType><s:sequence>${m.params
          .map((p) => `<s:element minOccurs="0" maxOccurs="1" name="${p}" type="s:string" />`)
          .join('')}</s:sequence></s:complexType></s:element>` +
        `<s:element name="${m.name}Response"><s:complexType><s:sequence><s:element minOccurs="0" maxOccurs="1" name="${m.name}Result"><s:complexType mixed="true"><s:sequence><s:any /></s:sequence></s:complexType></s:element></s:sequence></s:complexType></s:element>`,
    )
    .join('')
  const messages = methods
    .map((m) => {
      const httpParts = m.params.map((p) => `<wsdl:part name="${p}" type="s:string" />`).join('')
      return [
        `<wsdl:message name="${m.name}SoapIn"><wsdl:part name="parameters" element="tns:${m.name}" /></wsdl:message>`,
        `<wsdl:message name="${m.name}SoapOut"><wsdl:part name="parameters" element="tns:${m.name}Response" /></wsdl:message>`,
        `<wsdl:message name="${m.name}HttpGetIn">${httpParts}</wsdl:message>`,
        `<wsdl:message name="${m.name}HttpGetOut"><wsdl:part name="Body" /></wsdl:message>`,
        `<wsdl:message name="${m.name}HttpPostIn">${httpParts}</wsdl:message>`,
        `<wsdl:message name="${m.name}HttpPostOut"><wsdl:part name="Body" /></wsdl:message>`,
      ].join('')
    })
    .join('')
  const portType = (suffix: string, inOut: [string, string]) =>
    `<wsdl:portType name="${s}${suffix}">${methods
      .map(
        (m) =>
          `<wsdl:operation name="${m.name}"><wsdl:documentation xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/">${escapeXml(m.summary)}</wsdl:documentation><wsdl:input message="tns:${m.name}${inOut[0]}" /><wsdl:output message="tns:${m.name}${inOut[1]}" /></wsdl:operation>`,
      )
      .join('')}</wsdl:portType>`
  const soapBinding = (name: string, prefix: 'soap' | 'soap12') =>
    `<wsdl:binding name="${name}" type="tns:${s}Soap"><${prefix}:binding transport="http://schemas.xmlsoap.org/soap/http" />${methods
      .map(
        (m) =>
          `<wsdl:operation name="${m.name}"><${prefix}:operation soapAction="${TEMPURI}${m.name}" style="document" /><wsdl:input><${prefix}:body use="literal" /></wsdl:input><wsdl:output><${prefix}:body use="literal" /></wsdl:output></wsdl:operation>`,
      )
      .join('')}</wsdl:binding>`
  const httpBinding = (verb: 'GET' | 'POST') =>
    `<wsdl:binding name="${s}Http${verb === 'GET' ? 'Get' : 'Post'}" type="tns:${s}Http${verb === 'GET' ? 'Get' : 'Post'}"><http:binding verb="${verb}" />${methods
      .map(
        (m) =>
          `<wsdl:operation name="${m.name}"><http:operation location="/${m.name}" /><wsdl:input>${
            verb === 'GET'
              ? '<http:urlEncoded />'
              : '<mime:content type="application/x-www-form-urlencoded" />'
          }</wsdl:input><wsdl:output><mime:content part="Body" type="text/xml" /></wsdl:output></wsdl:operation>`,
      )
      .join('')}</wsdl:binding>`
  const address = escapeXml(location)
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<wsdl:definitions xmlns:tm="http://microsoft.com/wsdl/mime/textMatching/" xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:mime="http://schemas.xmlsoap.org/wsdl/mime/" xmlns:tns="http://tempuri.org/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:s="http://www.w3.org/2001/XMLSchema" xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/" xmlns:http="http://schemas.xmlsoap.org/wsdl/http/" targetNamespace="http://tempuri.org/" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/">',
    `<wsdl:types><s:schema elementFormDefault="qualified" targetNamespace="${TEMPURI}">${types}</s:schema></wsdl:types>`,
    messages,
    portType('Soap', ['SoapIn', 'SoapOut']),
    portType('HttpGet', ['HttpGetIn', 'HttpGetOut']),
    portType('HttpPost', ['HttpPostIn', 'HttpPostOut']),
    soapBinding(`${s}Soap`, 'soap'),
    soapBinding(`${s}Soap12`, 'soap12'),
    httpBinding('GET'),
    httpBinding('POST'),
    `<wsdl:service name="${s}">`,
    `<wsdl:port name="${s}Soap" binding="tns:${s}Soap"><soap:address location="${address}" /></wsdl:port>`,
    `<wsdl:port name="${s}Soap12" binding="tns:${s}Soap12"><soap12:address location="${address}" /></wsdl:port>`,
    `<wsdl:port name="${s}HttpGet" binding="tns:${s}HttpGet"><http:address location="${address}" /></wsdl:port>`,
    `<wsdl:port name="${s}HttpPost" binding="tns:${s}HttpPost"><http:address location="${address}" /></wsdl:port>`,
    '</wsdl:service>',
    '</wsdl:definitions>',
  ].join('\n')
}

/** The discovery document (`?disco`). */
export function buildDisco(location: string): string {
  const address = escapeXml(location)
  return `<?xml version="1.0" encoding="utf-8"?>\n<discovery xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.xmlsoap.org/disco/"><contractRef ref="${address}?wsdl" docRef="${address}" xmlns="http://schemas.xmlsoap.org/disco/scl/" /><soap address="${address}" xmlns:q1="http://tempuri.org/" binding="q1:${SERVICE_NAME}Soap" xmlns="http://schemas.xmlsoap.org/disco/soap/" /><soap address="${address}" xmlns:q2="http://tempuri.org/" binding="q2:${SERVICE_NAME}Soap12" xmlns="http://schemas.xmlsoap.org/disco/soap/" /></discovery>`
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
