import { expect } from 'vitest'
import type { TestServer } from './server.js'

/** An Envelope the way Enterprise clients write one (xsi and ns1 declared on it). */
export function envelope(body: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"' +
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:ns1="urn:SmartConnection">' +
    `<SOAP-ENV:Body>${body}</SOAP-ENV:Body></SOAP-ENV:Envelope>`
  )
}

export async function postEnterprise(
  server: TestServer,
  xml: string,
  path = '/Enterprise/index.php',
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${server.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8', ...headers },
    body: xml,
  })
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() }
}

/** The content of the response wrapper `<ns1:XResponse>…</ns1:XResponse>`. */
export function responseBody(text: string, operation: string): string {
  const match = new RegExp(`<ns1:${operation}Response>(.*)</ns1:${operation}Response>`, 's').exec(text)
  if (!match) throw new Error(`no ${operation}Response in ${text}`)
  return match[1]!
}

export function fault(text: string) {
  const match =
    /<SOAP-ENV:Fault><faultcode>(.*?)<\/faultcode><faultstring>(.*?)<\/faultstring><faultactor\/>(?:<detail>(.*?)<\/detail>|<detail\/>)<\/SOAP-ENV:Fault>/s.exec(
      text,
    )
  if (!match) throw new Error(`no fault in ${text}`)
  return { faultcode: match[1]!, faultstring: match[2]!, detail: match[3] ?? '' }
}

/** Whitespace between tags removed: how the seed's indented examples compare with the wire. */
export const compact = (xml: string) => xml.replace(/>\s+</g, '><').trim()

export async function logOn(server: TestServer, user: { login: string; password: string }): Promise<string> {
  const reply = await postEnterprise(
    server,
    envelope(
      `<ns1:LogOn><User>${user.login}</User><Password>${user.password}</Password><Ticket/><Server>Enterprise Server</Server>` +
        '<ClientName>test</ClientName><Domain/><ClientAppName>Content Station</ClientAppName>' +
        '<ClientAppVersion>v10.0 build 1</ClientAppVersion><ClientAppSerial/><ClientAppProductKey/></ns1:LogOn>',
    ),
  )
  const ticket = /<Ticket>([0-9a-f]{40})<\/Ticket>/.exec(reply.text)?.[1]
  expect(ticket, reply.text).toBeDefined()
  return ticket!
}

export const ids = (values: (number | string)[]) =>
  `<IDs>${values.map((value) => `<String>${value}</String>`).join('')}</IDs>`

export function deleteObjects(
  ticket: string,
  options: { ids?: (number | string)[] | null; permanent: boolean; params?: string; areas?: string[] | null },
) {
  const areas =
    options.areas === undefined
      ? ''
      : options.areas === null
        ? '<Areas xsi:nil="true"/>'
        : `<Areas>${options.areas.map((area) => `<AreaType>${area}</AreaType>`).join('')}</Areas>`
  return envelope(
    `<ns1:DeleteObjects><Ticket>${ticket}</Ticket>${options.ids === null || options.ids === undefined ? '<IDs xsi:nil="true"/>' : ids(options.ids)}` +
      `<Permanent>${options.permanent}</Permanent>${options.params ?? '<Params xsi:nil="true"/>'}${areas}</ns1:DeleteObjects>`,
  )
}

/** `<ID>` values of the handled objects in a DeleteObjects/RestoreObjects reply. */
export function handledIds(text: string, operation: string): string[] {
  const body = responseBody(text, operation)
  const idsPart = /^<IDs(?:\/>|>(.*?)<\/IDs>)/s.exec(body)
  if (!idsPart) throw new Error(`no IDs in ${body}`)
  return [...(idsPart[1] ?? '').matchAll(/<String>(.*?)<\/String>/g)].map((m) => m[1]!)
}

/** Per reported object: its id and error code. */
export function reports(text: string, operation: string): { id: string; code: string; level: string }[] {
  const body = responseBody(text, operation)
  return [
    ...body.matchAll(
      /<ErrorReport><BelongsTo><Type>Object<\/Type><ID>(.*?)<\/ID>.*?<ErrorCode(?:\/>|>(.*?)<\/ErrorCode>)<MessageLevel>(.*?)<\/MessageLevel>/gs,
    ),
  ].map((m) => ({ id: m[1]!, code: m[2] ?? '', level: m[3]! }))
}
