import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config.js'
import { parseXml, type XmlElement } from '../src/protocols/soap/xml.js'
import { envelope } from './helpers/enterprise.js'
import { createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

/**
 * The absolute URLs the server writes (WSDL addresses, Enterprise ServerInfo URL and FileUrl) use the address
 * clients reach it at: PUBLIC_URL, or what a proxy TRUST_PROXY names forwards, never what any client's headers
 * claim, and always escaped.
 */

interface Answer {
  status: number
  text: string
}

/** A request with headers fetch would not send as given (Host). */
function request(
  server: TestServer,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Answer> {
  const { port } = new URL(server.baseUrl)
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: Number(port), path, method: body === undefined ? 'GET' : 'POST', headers },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          text += chunk
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

function find(element: XmlElement, name: string): XmlElement[] {
  const found: XmlElement[] = []
  const walk = (e: XmlElement) => {
    if (e.name === name) found.push(e)
    e.children.forEach(walk)
  }
  walk(element)
  return found
}

/** Every address location of the three doors' WSDLs, each parsed (a WSDL that is not well-formed fails). */
async function wsdlAddresses(server: TestServer, headers: Record<string, string>) {
  const locations = async (path: string) => {
    const answer = await request(server, path, headers)
    expect(answer.status, answer.text).toBe(200)
    return [...new Set(find(parseXml(answer.text), 'address').map((a) => a.attrs.location))]
  }
  return {
    ips: await locations('/scene7/webservice/IpsApi.wsdl'),
    asmx: await locations('/srv.asmx?wsdl'),
    enterprise: await locations('/Enterprise/index.php?wsdl'),
  }
}

const FORWARDED = {
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'trash.example.com',
  'x-forwarded-prefix': '/trashd',
  'x-forwarded-for': '203.0.113.9',
}

async function logOnServerUrl(server: TestServer, user: { login: string; password: string }, headers = {}) {
  const answer = await request(
    server,
    '/Enterprise/index.php',
    { 'content-type': 'text/xml; charset=utf-8', ...headers },
    envelope(
      `<ns1:LogOn><User>${user.login}</User><Password>${user.password}</Password><Ticket/><Server>Enterprise Server</Server>` +
        '<ClientName>test</ClientName><Domain/><ClientAppName>test</ClientAppName><ClientAppVersion>1</ClientAppVersion>' +
        '<ClientAppSerial/><ClientAppProductKey/><RequestInfo><String>ServerInfo</String></RequestInfo></ns1:LogOn>',
    ),
  )
  const info = find(parseXml(answer.text), 'ServerInfo')[0]
  expect(info, answer.text).toBeDefined()
  return info!.children.find((c) => c.name === 'URL')?.text
}

async function addressFailures(server: TestServer, address: string) {
  const rows = await server.database.db.query<{ n: number }>(
    'select count(*)::int as n from login_failures where key = $1',
    [`address:${address}`],
  )
  return rows.rows[0]!.n
}

describe('without TRUST_PROXY or PUBLIC_URL', () => {
  let server: TestServer
  let f: Fixture
  beforeAll(async () => {
    server = await startTestServer()
    f = await createFixture(server.ctx, 'direct', 'enterprise')
  })
  afterAll(async () => {
    await server?.close()
  })

  it('uses the Host of the request and ignores forwarded headers from any client', async () => {
    const { port } = new URL(server.baseUrl)
    const addresses = await wsdlAddresses(server, { host: `direct.example:${port}`, ...FORWARDED })
    expect(addresses).toEqual({
      ips: [`http://direct.example:${port}/scene7/services/IpsApiService`],
      asmx: [`http://direct.example:${port}/srv.asmx`],
      enterprise: [`http://direct.example:${port}/Enterprise/index.php`],
    })
    expect(await logOnServerUrl(server, f.users.editor!, FORWARDED)).toBe(
      `http://127.0.0.1:${port}/Enterprise/index.php`,
    )
  })

  it('a Host that is not a host name cannot break the WSDLs: the address the request came to is used', async () => {
    const { port } = new URL(server.baseUrl)
    const addresses = await wsdlAddresses(server, { host: 'evil.example"><x&y' })
    expect(addresses).toEqual({
      ips: [`http://127.0.0.1:${port}/scene7/services/IpsApiService`],
      asmx: [`http://127.0.0.1:${port}/srv.asmx`],
      enterprise: [`http://127.0.0.1:${port}/Enterprise/index.php`],
    })
  })

  it('counts failed sign-ins against the peer, not an X-Forwarded-For it sends', async () => {
    await request(server, '/api/v1/trash', {
      authorization: `Basic ${Buffer.from('nobody:wrong-password-123').toString('base64')}`,
      'x-forwarded-for': '203.0.113.9',
    })
    expect(await addressFailures(server, '203.0.113.9')).toBe(0)
    expect(await addressFailures(server, '127.0.0.1')).toBe(1)
  })
})

describe('TRUST_PROXY=127.0.0.1', () => {
  let server: TestServer
  let f: Fixture
  beforeAll(async () => {
    server = await startTestServer({ TRUST_PROXY: '127.0.0.1' })
    f = await createFixture(server.ctx, 'proxied', 'enterprise')
  })
  afterAll(async () => {
    await server?.close()
  })

  it('writes the scheme, host and prefix the proxy forwards (X-Forwarded-* and Forwarded)', async () => {
    expect(await wsdlAddresses(server, FORWARDED)).toEqual({
      ips: ['https://trash.example.com/trashd/scene7/services/IpsApiService'],
      asmx: ['https://trash.example.com/trashd/srv.asmx'],
      enterprise: ['https://trash.example.com/trashd/Enterprise/index.php'],
    })
    expect(await logOnServerUrl(server, f.users.editor!, FORWARDED)).toBe(
      'https://trash.example.com/trashd/Enterprise/index.php',
    )
    const rfc7239 = await wsdlAddresses(server, {
      forwarded: 'for=203.0.113.9;proto=https;host="rfc.example:8443"',
    })
    expect(rfc7239.asmx).toEqual(['https://rfc.example:8443/srv.asmx'])
  })

  it('ignores forwarded values that would not be a plain host or path', async () => {
    const { port } = new URL(server.baseUrl)
    const addresses = await wsdlAddresses(server, {
      'x-forwarded-host': 'evil.example"><x',
      'x-forwarded-prefix': '/a"><b',
      'x-forwarded-proto': 'javascript',
    })
    expect(addresses.asmx).toEqual([`http://127.0.0.1:${port}/srv.asmx`])
  })

  it('counts failed sign-ins against the client address the proxy forwards', async () => {
    await request(server, '/api/v1/trash', {
      authorization: `Basic ${Buffer.from('nobody:wrong-password-123').toString('base64')}`,
      'x-forwarded-for': '203.0.113.9',
    })
    expect(await addressFailures(server, '203.0.113.9')).toBe(1)
    expect(await addressFailures(server, '127.0.0.1')).toBe(0)
  })
})

describe('TRUST_PROXY naming another address', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ TRUST_PROXY: '10.0.0.0/8, 192.0.2.1' })
  })
  afterAll(async () => {
    await server?.close()
  })

  it('ignores forwarded headers from a peer it does not name', async () => {
    const { port } = new URL(server.baseUrl)
    expect((await wsdlAddresses(server, FORWARDED)).asmx).toEqual([`http://127.0.0.1:${port}/srv.asmx`])
  })
})

describe('PUBLIC_URL', () => {
  let server: TestServer
  let f: Fixture
  beforeAll(async () => {
    server = await startTestServer({ PUBLIC_URL: 'https://public.example/base/', TRUST_PROXY: '127.0.0.1' })
    f = await createFixture(server.ctx, 'public', 'enterprise')
  })
  afterAll(async () => {
    await server?.close()
  })

  it('is every absolute URL, whatever the request says', async () => {
    expect(await wsdlAddresses(server, FORWARDED)).toEqual({
      ips: ['https://public.example/base/scene7/services/IpsApiService'],
      asmx: ['https://public.example/base/srv.asmx'],
      enterprise: ['https://public.example/base/Enterprise/index.php'],
    })
    expect(await logOnServerUrl(server, f.users.editor!)).toBe(
      'https://public.example/base/Enterprise/index.php',
    )
  })

  it("accepts a browser request whose Origin is PUBLIC_URL's", async () => {
    const answer = await request(
      server,
      '/api/v1/sessions',
      { 'content-type': 'application/json', origin: 'https://public.example' },
      JSON.stringify({ login: f.users.editor!.login, password: f.users.editor!.password }),
    )
    expect(answer.status, answer.text).toBeLessThan(300)
    const other = await request(
      server,
      '/api/v1/sessions',
      { 'content-type': 'application/json', origin: 'https://elsewhere.example' },
      JSON.stringify({ login: f.users.editor!.login, password: f.users.editor!.password }),
    )
    expect(other.status).toBe(403)
  })
})

describe('configuration', () => {
  it.each([
    ['TRUST_PROXY', 'sometimes'],
    ['TRUST_PROXY', '10.0.0.0/99'],
    ['PUBLIC_URL', 'ftp://files.example'],
    ['PUBLIC_URL', 'https://x.example/?q=1'],
  ])('refuses %s=%s at start, naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(name))
  })
})
