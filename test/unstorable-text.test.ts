import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StatementEvent } from '../src/db/database.js'
import { isStorableText, refuseUnstorable, unstorablePath } from '../src/protocols/kit/text.js'
import { envelope as enterpriseEnvelope, fault as enterpriseFault, logOn } from './helpers/enterprise.js'
import { authHeader as ipsAuth, ns as ipsNs, SOAP11 } from './helpers/ips.js'
import { basicAuth, createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

/**
 * Text PostgreSQL cannot store as sent (a NUL character; an unpaired surrogate, which would be stored as U+FFFD)
 * is refused at every door as the door's own client error, and never reaches the database: each request below
 * runs while every statement sent on the pool is watched, and none may carry the value.
 */

let server: TestServer
let f: Fixture

beforeAll(async () => {
  server = await startTestServer()
  f = await createFixture(server.ctx, 'unstorable')
})

afterAll(async () => {
  await server?.close()
})

const NUL = 'a\u0000b'
const LONE = 'a\ud800b'

/** JSON writes NUL as \u0000 and a lone surrogate as \ud800: how a statement's parameters are searched. */
const carriesUnstorable = (statement: StatementEvent) =>
  /\\u0000|\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])|\\ud[c-f][0-9a-f]{2}/i.test(
    JSON.stringify([statement.text, statement.values]),
  )

/** The reply of `send`, and the statements sent meanwhile that carried text that cannot be stored. */
async function watched(send: () => Promise<Response>) {
  const carried: string[] = []
  const stop = server.ctx.db.watchStatements!((statement) => {
    if (carriesUnstorable(statement)) carried.push(statement.text.slice(0, 200))
  })
  try {
    const response = await send()
    return {
      status: response.status,
      type: response.headers.get('content-type') ?? '',
      text: await response.text(),
      carried,
    }
  } finally {
    stop()
  }
}

const get =
  (path: string, headers: Record<string, string> = {}) =>
  () =>
    fetch(`${server.baseUrl}${path}`, { headers })
const post =
  (path: string, contentType: string, body: string, headers: Record<string, string> = {}) =>
  () =>
    fetch(`${server.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': contentType, ...headers },
      body,
    })
const basicOf = (login: string, password: string) =>
  `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`

describe('the door kit: text that cannot be stored', () => {
  it('finds NUL and unpaired surrogates in strings, keys, arrays and objects; paired surrogates are text', () => {
    expect(isStorableText('plain é 😀')).toBe(true)
    expect(isStorableText(NUL)).toBe(false)
    expect(isStorableText(LONE)).toBe(false)
    expect(isStorableText('a\udc00')).toBe(false)
    expect(unstorablePath({ a: ['x', { b: 1, c: null }], d: true })).toBeNull()
    expect(unstorablePath({ a: ['x', { b: NUL }] })).toBe('a.1.b')
    expect(unstorablePath({ [NUL]: 'x' })).toBe(NUL)
    expect(unstorablePath(LONE)).toBe('')
    // deeper than any door's value: refused rather than walked (and never a stack overflow)
    let deep: unknown = 'x'
    for (let n = 0; n < 100_000; n++) deep = [deep]
    expect(unstorablePath(deep)).not.toBeNull()
    expect(() => refuseUnstorable({ query: { name: NUL } })).toThrow(/query\.name holds a character/)
  })
})

describe('REST: 422 INVALID_INPUT, nothing sent to the database', () => {
  const cases: [string, () => Promise<Response>][] = [
    [
      'a sign-in with NUL in the login (unauthenticated)',
      post(
        '/api/v1/sessions',
        'application/json',
        JSON.stringify({ login: NUL, password: 'some-password-1' }),
      ),
    ],
    [
      'a sign-in with an unpaired surrogate in the login',
      post(
        '/api/v1/sessions',
        'application/json',
        JSON.stringify({ login: LONE, password: 'some-password-1' }),
      ),
    ],
    [
      'HTTP Basic credentials with NUL in the login',
      () => get('/api/v1/trash', { authorization: basicOf(NUL, 'some-password-1') })(),
    ],
    [
      'a name filter with NUL',
      () => get('/api/v1/trash?name=a%00b', { authorization: basicAuth(f.users.editor!) })(),
    ],
    [
      'a body value with NUL',
      () =>
        post(
          '/api/v1/operations/undo/preview',
          'application/json',
          JSON.stringify({ actorLogin: NUL, from: '2026-01-01T00:00:00.000Z' }),
          {
            authorization: basicAuth(f.users.editor!),
          },
        )(),
    ],
  ]
  for (const [name, send] of cases) {
    it(name, async () => {
      const reply = await watched(send)
      expect(reply.carried, reply.text).toEqual([])
      expect(reply.status, reply.text).toBe(422)
      expect(reply.type).toMatch(/^application\/problem\+json/)
      expect(JSON.parse(reply.text)).toMatchObject({ code: 'INVALID_INPUT' })
      expect(JSON.parse(reply.text).detail).toMatch(/holds a character that cannot be stored/)
    })
  }
})

describe("srv.asmx: the method's failure, nothing sent to the database", () => {
  let ticket = ''
  beforeAll(async () => {
    const editor = f.users.editor!
    const reply = await fetch(
      `${server.baseUrl}/srv.asmx/AuthenticateUser?UID=${editor.login}&PWD=${encodeURIComponent(editor.password)}`,
    )
    ticket = /ticket="([^"]+)"/.exec(await reply.text())![1]!
  })
  const failure = (text: string) => {
    expect(text).toMatch(/<response success="false" error="[^"]*holds a character that cannot be stored/)
    expect(text).not.toMatch(/SystemError/)
  }
  it('AuthenticateUser with NUL in the UID (GET)', async () => {
    const reply = await watched(get('/srv.asmx/AuthenticateUser?UID=a%00b&PWD=x'))
    expect(reply.carried).toEqual([])
    failure(reply.text)
  })
  it('DeleteDocument with NUL in the Path (GET) and an unpaired surrogate (%uD800, as .NET writes it)', async () => {
    for (const path of ['%5Ca%00b', '%5Ca%uD800b']) {
      const reply = await watched(() =>
        get(`/srv.asmx/DeleteDocument?authenticationTicket=${ticket}&Path=${path}`)(),
      )
      expect(reply.carried).toEqual([])
      failure(reply.text)
    }
  })
  it('DeleteDocument with NUL in the Path (form POST)', async () => {
    const reply = await watched(() =>
      post(
        '/srv.asmx/DeleteDocument',
        'application/x-www-form-urlencoded',
        `authenticationTicket=${ticket}&Path=%5Ca%00b`,
      )(),
    )
    expect(reply.carried).toEqual([])
    failure(reply.text)
  })
  it('SOAP: NUL written as a character reference is refused by the XML parser (a Client fault)', async () => {
    const reply = await watched(
      post(
        '/srv.asmx',
        'text/xml; charset=utf-8',
        `<soap:Envelope xmlns:soap="${SOAP11}"><soap:Body><AuthenticateUser xmlns="http://tempuri.org/"><UID>a&#0;b</UID><PWD>x</PWD></AuthenticateUser></soap:Body></soap:Envelope>`,
        { soapaction: '"http://tempuri.org/AuthenticateUser"' },
      ),
    )
    expect(reply.carried).toEqual([])
    expect(reply.status).toBe(500)
    expect(reply.text).toMatch(/<faultcode>soap:Client<\/faultcode>/)
    expect(reply.text).toMatch(/Server was unable to read request/)
  })
})

describe('Enterprise: an argument fault, nothing sent to the database', () => {
  it('LogOn with NUL in the User (a character reference): a Client fault from the parser', async () => {
    const reply = await watched(
      post(
        '/Enterprise/index.php',
        'text/xml; charset=utf-8',
        enterpriseEnvelope(
          '<ns1:LogOn><User>a&#0;b</User><Password>x</Password><Ticket/><Server>Enterprise Server</Server><ClientName>t</ClientName><Domain/><ClientAppName>t</ClientAppName><ClientAppVersion>1</ClientAppVersion><ClientAppSerial/><ClientAppProductKey/></ns1:LogOn>',
        ),
      ),
    )
    expect(reply.carried).toEqual([])
    expect(enterpriseFault(reply.text).faultcode).toBe('SOAP-ENV:Client')
  })
  it('fileindex.php with NUL in the ticket or the version: 400 with the argument message', async () => {
    const ticket = await logOn(server, f.users.editor!)
    for (const query of [`ticket=a%00b&objectid=1`, `ticket=${ticket}&objectid=1&version=1%00`]) {
      const reply = await watched(get(`/Enterprise/fileindex.php?${query}`))
      expect(reply.carried).toEqual([])
      expect(reply.status, reply.text).toBe(400)
      expect(reply.text).toMatch(/\(S1000\)/)
    }
  })
})

describe('IPS: an ipsApiFault, nothing sent to the database', () => {
  const body = `<soapenv:Body><getCompanyInfoParam xmlns="${ipsNs('2014-04-03')}"><companyName>x</companyName></getCompanyInfoParam></soapenv:Body>`
  it('HTTP Basic credentials with NUL in the user: fault 30001', async () => {
    const reply = await watched(
      post(
        '/scene7/services/IpsApiService',
        'text/xml; charset=UTF-8',
        `<soapenv:Envelope xmlns:soapenv="${SOAP11}"><soapenv:Header/>${body}</soapenv:Envelope>`,
        { authorization: basicOf(NUL, 'some-password-1') },
      ),
    )
    expect(reply.carried).toEqual([])
    expect(reply.status).toBe(500)
    expect(reply.text).toMatch(/<tns:ipsApiFault[^>]*><tns:code>30001<\/tns:code>/)
    expect(reply.text).toMatch(/holds a character that cannot be stored/)
  })
  it('NUL in the authHeader (a character reference): the parser refuses the XML', async () => {
    const reply = await watched(
      post(
        '/scene7/services/IpsApiService',
        'text/xml; charset=UTF-8',
        `<soapenv:Envelope xmlns:soapenv="${SOAP11}"><soapenv:Header>${ipsAuth({ login: 'a&#0;b', password: 'x' })}</soapenv:Header>${body}</soapenv:Envelope>`,
      ),
    )
    expect(reply.carried).toEqual([])
    expect(reply.text).toMatch(/ipsApiFault/)
  })
})
