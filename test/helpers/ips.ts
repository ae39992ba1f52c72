import { parseXml, type XmlElement } from '../../src/protocols/soap/xml.js'

export const COMMON_NS = 'http://www.scene7.com/IpsApi/xsd'
export const ns = (version: string) => `${COMMON_NS}/${version}`
export const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/'
export const SOAP12 = 'http://www.w3.org/2003/05/soap-envelope'

export interface User {
  login: string
  password: string
}

/** `<authHeader xmlns="…">` with user and password (and optional extra children, written first). */
export function authHeader(user: User, options: { ns?: string; extra?: string } = {}) {
  return (
    `<authHeader xmlns="${options.ns ?? COMMON_NS}">${options.extra ?? ''}` +
    `<user>${user.login}</user><password>${user.password}</password>` +
    '<appName>trashd-test</appName><appVersion>1.0</appVersion></authHeader>'
  )
}

export function soap11(body: string, header = '') {
  return (
    `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="${SOAP11}">` +
    `<soapenv:Header>${header}</soapenv:Header><soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`
  )
}

export function soap12(body: string, header = '') {
  return (
    `<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="${SOAP12}">` +
    `<env:Header>${header}</env:Header><env:Body>${body}</env:Body></env:Envelope>`
  )
}

export interface WireReply {
  status: number
  contentType: string
  text: string
  root: XmlElement
}

export async function post(
  baseUrl: string,
  path: string,
  body: string,
  headers: Record<string, string> = { 'content-type': 'text/xml; charset=utf-8' },
): Promise<WireReply> {
  const response = await fetch(`${baseUrl}${path}`, { method: 'POST', headers, body })
  const text = await response.text()
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    text,
    root: parseXml(text),
  }
}

/** The Body's first element of a SOAP reply. */
export function bodyOf(root: XmlElement): XmlElement {
  const body = root.children.find((c) => c.name === 'Body')
  if (!body?.children[0]) throw new Error('reply has no Body content')
  return body.children[0]
}

/** An element tree as plain data (namespace, name, trimmed text, children) for element-for-element checks. */
export interface Shape {
  ns: string
  name: string
  text: string
  children: Shape[]
}

export function shape(element: XmlElement): Shape {
  return {
    ns: element.ns,
    name: element.name,
    text: element.children.length > 0 ? '' : element.text.trim(),
    children: element.children.map(shape),
  }
}

export function text(element: XmlElement | undefined, path: string): string | undefined {
  let current = element
  for (const name of path.split('/')) current = current?.children.find((c) => c.name === name)
  return current?.text
}

export function all(element: XmlElement | undefined, path: string): XmlElement[] {
  const names = path.split('/')
  let current: XmlElement[] = element ? [element] : []
  for (const name of names) current = current.flatMap((e) => e.children.filter((c) => c.name === name))
  return current
}

/** The fault detail element (SOAP 1.1 detail, SOAP 1.2 Detail, or a bare fault document). */
export function faultOf(root: XmlElement): { element: string; ns: string; code: string; reason: string } {
  let detail: XmlElement | undefined = root
  if (root.name === 'Envelope') {
    const fault = bodyOf(root)
    const holder = fault.children.find((c) => c.name === 'detail' || c.name === 'Detail')
    detail = holder?.children[0]
  }
  if (!detail) throw new Error('no fault detail')
  return {
    element: detail.name,
    ns: detail.ns,
    code: text(detail, 'code') ?? '',
    reason: text(detail, 'reason') ?? '',
  }
}
