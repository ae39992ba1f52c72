import net from 'node:net'
import { expect } from 'vitest'
import { parseXml, type XmlElement } from '../../src/protocols/soap/xml.js'

export type Transport = 'GET' | 'POST' | 'SOAP11' | 'SOAP12'
export const TRANSPORTS: Transport[] = ['GET', 'POST', 'SOAP11', 'SOAP12']

export const TEMPURI = 'http://tempuri.org/'
const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/'
const SOAP12 = 'http://www.w3.org/2003/05/soap-envelope'

export interface AsmxAnswer {
  status: number
  contentType: string
  /** the raw body */
  text: string
  /** the `<response>` element (the whole document over GET/POST, inside `<XResult>` over SOAP) */
  response: XmlElement
  success: string | undefined
  error: string | undefined
}

/** The SOAP request body as the infoRouter documentation writes it (tns-prefixed children). */
export function soapRequest(version: '1.1' | '1.2', method: string, params: Record<string, string>): string {
  const ns = version === '1.1' ? SOAP11 : SOAP12
  const children = Object.entries(params)
    .map(([name, value]) => `<tns:${name}>${escapeText(value)}</tns:${name}>`)
    .join('')
  return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${ns}" xmlns:tns="${TEMPURI}"><soap:Body><tns:${method}>${children}</tns:${method}></soap:Body></soap:Envelope>`
}

function escapeText(value: string) {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** The `<response>` inside a SOAP answer, checking the ASMX wrapping on the way. */
export function unwrapSoapAnswer(text: string, method: string): XmlElement {
  const envelope = parseXml(text)
  const body = envelope.children.find((c) => c.name === 'Body')!
  const wrapper = body.children[0]!
  expect(wrapper.name).toBe(`${method}Response`)
  expect(wrapper.ns).toBe(TEMPURI)
  const result = wrapper.children[0]!
  expect(result.name).toBe(`${method}Result`)
  expect(result.ns).toBe(TEMPURI)
  const response = result.children[0]!
  expect(response.name).toBe('response')
  expect(response.ns).toBe('')
  return response
}

export async function asmx(
  baseUrl: string,
  transport: Transport,
  method: string,
  params: Record<string, string>,
): Promise<AsmxAnswer> {
  let response: Response
  if (transport === 'GET') {
    response = await fetch(`${baseUrl}/srv.asmx/${method}?${new URLSearchParams(params)}`)
  } else if (transport === 'POST') {
    response = await fetch(`${baseUrl}/srv.asmx/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(),
    })
  } else if (transport === 'SOAP11') {
    response = await fetch(`${baseUrl}/srv.asmx`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${TEMPURI}${method}"` },
      body: soapRequest('1.1', method, params),
    })
  } else {
    response = await fetch(`${baseUrl}/srv.asmx`, {
      method: 'POST',
      headers: { 'content-type': `application/soap+xml; charset=utf-8; action="${TEMPURI}${method}"` },
      body: soapRequest('1.2', method, params),
    })
  }
  const text = await response.text()
  const contentType = response.headers.get('content-type') ?? ''
  expect(response.status, text).toBe(200)
  let element: XmlElement
  if (transport === 'GET' || transport === 'POST') {
    expect(contentType).toBe('text/xml; charset=utf-8')
    expect(text.startsWith('<?xml version="1.0" encoding="utf-8"?><response ')).toBe(true)
    element = parseXml(text)
    expect(element.name).toBe('response')
  } else {
    expect(contentType).toBe(
      transport === 'SOAP11' ? 'text/xml; charset=utf-8' : 'application/soap+xml; charset=utf-8',
    )
    element = unwrapSoapAnswer(text, method)
    // the payload resets the default namespace inside the tempuri.org Result element
    expect(text).toMatch(new RegExp(`<${method}Result><response [^>]*xmlns=""`))
  }
  return {
    status: response.status,
    contentType,
    text,
    response: element,
    success: element.attrs.success,
    error: element.attrs.error,
  }
}

/** The `<response .../>` (or `<response ...>...</response>`) as written on the wire, without SOAP framing. */
export function responseXml(answer: AsmxAnswer): string {
  const start = answer.text.indexOf('<response ')
  const closing = answer.text.indexOf('</response>')
  if (closing >= 0) return answer.text.slice(start, closing + '</response>'.length)
  return answer.text.slice(start, answer.text.indexOf('/>', start) + 2)
}

/**
 * A raw HTTP reader of a GET (`path`: path and query) on `baseUrl` that reads nothing until resumed, as a client
 * that stops reading: its socket, and when the socket closes.
 */
export async function stalledReader(
  baseUrl: string,
  path: string,
): Promise<{ socket: net.Socket; closed: Promise<unknown> }> {
  const { port } = new URL(baseUrl)
  const socket = net.connect(Number(port), '127.0.0.1')
  socket.on('error', () => {})
  await new Promise((resolve) => socket.once('connect', resolve))
  const closed = new Promise((resolve) => socket.once('close', resolve))
  socket.pause()
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)
  return { socket, closed }
}

/** A srv.asmx ticket of `user`, signed in with AuthenticateUser over GET. */
export async function asmxTicket(
  baseUrl: string,
  user: { login: string; password: string },
): Promise<string> {
  return (await asmx(baseUrl, 'GET', 'AuthenticateUser', { UID: user.login, PWD: user.password })).response
    .attrs.ticket!
}
