import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseXml, type XmlElement } from '../src/protocols/soap/xml.js'
import { logOn } from './helpers/enterprise.js'
import { databaseFingerprint, filler, postStream, type RawReply, rssMiB } from './helpers/hardening.js'
import { authHeader, COMMON_NS, ns, SOAP11, SOAP12 } from './helpers/ips.js'
import { basicAuth, createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

/**
 * One table of hostile inputs sent to every door. Each must be answered in the door's own error format within
 * a bounded time, the process stays up with bounded memory, and the database is left exactly as it was.
 */

const ANSWER_WITHIN_MS = 20_000
const TEMPURI = 'http://tempuri.org/'
const IPS_NS = ns('2008-01-15')
const IPS_FAULTS = ['authenticationFault', 'authorizationFault', 'ipsApiFault']

let server: TestServer
let a: Fixture
let asmxTicket: string
let enterpriseTicket: string
/** trashed items of tenant a: the lowest ids, so a lenient number parser ("1' OR …" → 1) would hit them */
const trashedIds: number[] = []

beforeAll(async () => {
  server = await startTestServer()
  a = await createFixture(server.ctx, 'ha')
  // a second tenant, so that a query leaking across tenants would have rows to leak
  await createFixture(server.ctx, 'hb')
  for (let n = 0; n < 6; n++) {
    const { item } = await server.ctx.admin.createItem(a.tenantId, {
      kind: 'file',
      name: `doc-${n}.txt`,
      brandId: a.brandId,
      ownerId: a.users.admin!.id,
    })
    trashedIds.push(item.id)
  }
  await server.ctx.trash.trash(a.users.admin!.actor, trashedIds)
  await server.ctx.admin.createItem(a.tenantId, { kind: 'folder', name: 'Active', brandId: a.brandId })
  const auth = await fetch(
    `${server.baseUrl}/srv.asmx/AuthenticateUser?UID=${a.users.admin!.login}&PWD=${a.users.admin!.password}`,
  )
  asmxTicket = /ticket="([^"]+)"/.exec(await auth.text())![1]!
  enterpriseTicket = await logOn(server, a.users.admin!)
})

afterAll(async () => {
  await server?.close()
})

// ---------------------------------------------------------------- hostile values for ids, handles and paths

const HOSTILE_VALUES = [
  "1' OR '1'='1",
  '1; DROP TABLE items; --',
  '1) OR (1=1',
  "'; UPDATE items SET state='active'; --",
  '..\\..\\..\\Windows\\win.ini',
  '../../../etc/passwd',
  '\\..\\..\\',
  '-1',
  '0',
  '2147483648',
  '9223372036854775808',
  '99999999999999999999999999',
  '1e308',
  '1.5',
  '0x1',
  'NaN',
  '%00',
]

const xmlText = (value: string) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

// ---------------------------------------------------------------- the doors

interface Reply {
  status: number
  contentType: string
  text: string
}

interface XmlDoor {
  name: string
  url: string
  contentType: string
  extraHeaders?: Record<string, string>
  soap: '1.1' | '1.2' | null
  /** a complete, well-formed request around an operation element */
  request(operation: string): string
  /** a mutating operation on the given raw values (ids, handles or paths as the door writes them) */
  mutations(value: string): string[]
  /** the same operation element, named wrongly or in a wrong namespace */
  unknownOperation: string
  operationInWrongNamespace: string | null
  /** the reply is the door's error format; a SOAP door answers in the version the request's Content-Type names */
  expectError(reply: Reply, requestContentType: string): void
}

const versionOfType = (contentType: string) => (/soap\+xml/.test(contentType) ? '1.2' : '1.1')

function parsed(reply: Reply): XmlElement {
  try {
    return parseXml(reply.text)
  } catch (error) {
    throw new Error(`reply is not XML (${(error as Error).message}): ${reply.text.slice(0, 300)}`)
  }
}

function soapBody(root: XmlElement, version: '1.1' | '1.2'): XmlElement {
  expect(root.name).toBe('Envelope')
  expect(root.ns).toBe(version === '1.1' ? SOAP11 : SOAP12)
  const body = root.children.find((c) => c.name === 'Body')!
  return body.children[0]!
}

/** An IPS fault: HTTP 500 and a SOAP fault (or bare fault document) holding one of the three fault elements. */
function expectIpsFault(form: '1.1' | '1.2' | 'pox', reply: Reply) {
  expect(reply.status, reply.text).toBe(500)
  expect(reply.contentType).toBe(
    form === '1.2' ? 'application/soap+xml;charset=UTF-8' : 'text/xml;charset=UTF-8',
  )
  const root = parsed(reply)
  let detail: XmlElement
  if (form === 'pox') detail = root
  else {
    const fault = soapBody(root, form)
    expect(fault.name).toBe('Fault')
    const holder = fault.children.find((c) => c.name === (form === '1.1' ? 'detail' : 'Detail'))!
    detail = holder.children[0]!
  }
  expect(IPS_FAULTS).toContain(detail.name)
  expect(detail.ns).toBe(COMMON_NS)
  expect(detail.children.find((c) => c.name === 'code')?.text).toMatch(/^[123]\d{4}$/)
}

/** An IPS batch answered with every item an error, nothing done. */
function expectIpsRefusal(form: '1.1' | '1.2' | 'pox', reply: Reply) {
  if (reply.status !== 200) return expectIpsFault(form, reply)
  const root = parsed(reply)
  const result = form === 'pox' ? root : soapBody(root, form)
  const count = (name: string) => result.children.find((c) => c.name === name)?.text
  expect(result.name, reply.text).toMatch(/Return$/)
  expect(count('successCount'), reply.text).toBe('0')
  expect(count('warningCount')).toBe('0')
  expect(Number(count('errorCount'))).toBeGreaterThan(0)
}

function ipsDoor(form: '1.1' | '1.2' | 'pox'): XmlDoor {
  const header = authHeader(a.users.admin!)
  const wrap = (operation: string) =>
    form === 'pox'
      ? `<Request>${header}${operation}</Request>`
      : form === '1.1'
        ? `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="${SOAP11}"><soapenv:Header>${header}</soapenv:Header><soapenv:Body>${operation}</soapenv:Body></soapenv:Envelope>`
        : `<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="${SOAP12}"><env:Header>${header}</env:Header><env:Body>${operation}</env:Body></env:Envelope>`
  const batch = (op: string, company: string, handles: string[]) =>
    `<${op}Param xmlns="${IPS_NS}"><companyHandle>${xmlText(company)}</companyHandle><assetHandleArray>` +
    handles.map((h) => `<items>${xmlText(h)}</items>`).join('') +
    `</assetHandleArray></${op}Param>`
  const company = `c|${a.tenantId}`
  return {
    name: form === 'pox' ? 'IPS plain XML' : `IPS SOAP ${form}`,
    url: form === 'pox' ? '/scene7/api/IpsApiService' : '/scene7/services/IpsApiService',
    contentType: form === '1.2' ? 'application/soap+xml; charset=UTF-8' : 'text/xml; charset=UTF-8',
    soap: form === 'pox' ? null : form,
    request: wrap,
    mutations: (value) => [
      batch('restoreAssetsFromTrash', company, [value, `a|${value}`]),
      batch('emptyAssetsFromTrash', company, [`a|${value}`]),
      batch('deleteAssets', company, [`a|${value}`]),
      batch('restoreAssetsFromTrash', value, [`a|${trashedIds[0]}`]),
      batch('emptyAssetsFromTrash', `c|${value}`, [`a|${trashedIds[0]}`]),
    ],
    unknownOperation: `<frobnicateAssetsParam xmlns="${IPS_NS}"><companyHandle>${company}</companyHandle></frobnicateAssetsParam>`,
    operationInWrongNamespace: batch('restoreAssetsFromTrash', company, [`a|${trashedIds[0]}`]).replace(
      IPS_NS,
      'http://example.com/not-ips',
    ),
    expectError: (reply, type) => expectIpsRefusal(form === 'pox' ? 'pox' : versionOfType(type), reply),
  }
}

function asmxSoapDoor(version: '1.1' | '1.2'): XmlDoor {
  const envNs = version === '1.1' ? SOAP11 : SOAP12
  const call = (method: string, params: Record<string, string>) =>
    `<tns:${method}>${Object.entries(params)
      .map(([k, v]) => `<tns:${k}>${xmlText(v)}</tns:${k}>`)
      .join('')}</tns:${method}>`
  return {
    name: `srv.asmx SOAP ${version}`,
    url: '/srv.asmx',
    contentType: version === '1.1' ? 'text/xml; charset=utf-8' : 'application/soap+xml; charset=utf-8',
    soap: version,
    request: (operation) =>
      `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${envNs}" xmlns:tns="${TEMPURI}"><soap:Body>${operation}</soap:Body></soap:Envelope>`,
    mutations: (value) => [
      call('RestoreRecycleBinItem', {
        AuthenticationTicket: asmxTicket,
        ItemHandler: value,
        RestorePath: '',
      }),
      call('RestoreRecycleBinItem', {
        AuthenticationTicket: asmxTicket,
        ItemHandler: `D${value}`,
        RestorePath: value,
      }),
      call('PurgeRecycleBinItem', { AuthenticationTicket: asmxTicket, ItemHandler: `D${value}` }),
      call('PurgeRecycleBinItem', { AuthenticationTicket: asmxTicket, ItemHandler: `F${value}` }),
      call('DeleteDocument', { authenticationTicket: asmxTicket, Path: value }),
      call('DeleteFolder', { authenticationTicket: asmxTicket, Path: `\\Active\\${value}` }),
      call('PurgeRecycleBinItem', { AuthenticationTicket: value, ItemHandler: `D${trashedIds[0]}` }),
    ],
    unknownOperation: call('FrobnicateRecycleBin', { AuthenticationTicket: asmxTicket }),
    operationInWrongNamespace: `<PurgeRecycleBinItem xmlns="http://example.com/not-tempuri"><AuthenticationTicket>${asmxTicket}</AuthenticationTicket><ItemHandler>D${trashedIds[0]}</ItemHandler></PurgeRecycleBinItem>`,
    expectError: (reply, type) => {
      const version = versionOfType(type)
      if (reply.status === 200) {
        // a method that ran and refused: <response success="false" error="…"> inside the Result element
        expect(reply.contentType).toBe(
          version === '1.1' ? 'text/xml; charset=utf-8' : 'application/soap+xml; charset=utf-8',
        )
        const result = soapBody(parsed(reply), version)
        const response = result.children[0]!.children[0]!
        expect(response.name).toBe('response')
        expect(response.attrs.success, reply.text).toBe('false')
        expect(response.attrs.error).not.toBe('')
        return
      }
      expect(reply.status, reply.text).toBe(500)
      expect(reply.contentType).toBe(
        version === '1.1' ? 'text/xml; charset=utf-8' : 'application/soap+xml; charset=utf-8',
      )
      const fault = soapBody(parsed(reply), version)
      expect(fault.name).toBe('Fault')
      if (version === '1.1') {
        expect(fault.children.map((c) => c.name).slice(0, 2)).toEqual(['faultcode', 'faultstring'])
      } else expect(fault.children.map((c) => c.name).slice(0, 2)).toEqual(['Code', 'Reason'])
    },
  }
}

function enterpriseDoor(): XmlDoor {
  const ids = (values: string[]) =>
    `<IDs>${values.map((v) => `<String>${xmlText(v)}</String>`).join('')}</IDs>`
  return {
    name: 'Enterprise',
    url: '/Enterprise/index.php',
    contentType: 'text/xml; charset=utf-8',
    soap: '1.1',
    request: (operation) =>
      '<?xml version="1.0" encoding="UTF-8"?>' +
      `<SOAP-ENV:Envelope xmlns:SOAP-ENV="${SOAP11}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:ns1="urn:SmartConnection">` +
      `<SOAP-ENV:Body>${operation}</SOAP-ENV:Body></SOAP-ENV:Envelope>`,
    mutations: (value) => [
      `<ns1:RestoreObjects><Ticket>${enterpriseTicket}</Ticket>${ids([value])}</ns1:RestoreObjects>`,
      `<ns1:DeleteObjects><Ticket>${enterpriseTicket}</Ticket>${ids([value])}<Permanent>true</Permanent><Params xsi:nil="true"/><Areas><AreaType>Trash</AreaType></Areas></ns1:DeleteObjects>`,
      `<ns1:DeleteObjects><Ticket>${enterpriseTicket}</Ticket>${ids([value])}<Permanent>false</Permanent><Params xsi:nil="true"/><Areas><AreaType>Workflow</AreaType></Areas></ns1:DeleteObjects>`,
      `<ns1:RestoreObjects><Ticket>${xmlText(value)}</Ticket>${ids([String(trashedIds[0])])}</ns1:RestoreObjects>`,
    ],
    unknownOperation: `<ns1:FrobnicateObjects><Ticket>${enterpriseTicket}</Ticket></ns1:FrobnicateObjects>`,
    // Enterprise dispatches on the Body element's local name whatever its namespace, as the real server does
    operationInWrongNamespace: null,
    expectError: (reply) => {
      expect(reply.status, reply.text).toBe(200)
      expect(reply.contentType).toBe('text/xml; charset=utf-8')
      const body = soapBody(parsed(reply), '1.1')
      if (body.name === 'Fault') {
        expect(body.children.map((c) => c.name)).toEqual(['faultcode', 'faultstring', 'faultactor', 'detail'])
        return
      }
      // v8 batch replies: no handled IDs, every object in an ErrorReport
      expect(body.name, reply.text).toMatch(/^(Delete|Restore)ObjectsResponse$/)
      const handled = body.children.find((c) => c.name === 'IDs')
      expect(handled?.children ?? [], reply.text).toEqual([])
      expect(body.children.find((c) => c.name === 'Reports')?.children.length).toBeGreaterThan(0)
    },
  }
}

const XML_DOORS = (): XmlDoor[] => [
  ipsDoor('1.1'),
  ipsDoor('1.2'),
  ipsDoor('pox'),
  asmxSoapDoor('1.1'),
  asmxSoapDoor('1.2'),
  enterpriseDoor(),
]

// ---------------------------------------------------------------- sending

async function send(url: string, headers: Record<string, string>, body: string | Buffer, method = 'POST') {
  const started = performance.now()
  const response = await fetch(`${server.baseUrl}${url}`, {
    method,
    headers,
    body: method === 'GET' ? undefined : typeof body === 'string' ? body : new Uint8Array(body),
    signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
  })
  const reply: Reply = {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    text: await response.text(),
  }
  expect(performance.now() - started).toBeLessThan(ANSWER_WITHIN_MS)
  return reply
}

function headersOf(door: XmlDoor, contentType = door.contentType): Record<string, string> {
  return { 'content-type': contentType, ...(door.extraHeaders ?? {}) }
}

const HUNDRED_MB = 100 * 1024 * 1024

async function streamed(url: string, contentType: string, prefix: string, suffix: string): Promise<RawReply> {
  return postStream(
    `${server.baseUrl}${url}`,
    { 'content-type': contentType, 'transfer-encoding': 'chunked' },
    () => filler(prefix, HUNDRED_MB, suffix),
    ANSWER_WITHIN_MS * 3,
  )
}

// ---------------------------------------------------------------- body-level cases for the XML doors

const BILLION_LAUGHS =
  '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
  Array.from(
    { length: 9 },
    (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`,
  ).join('') +
  ']>'

interface BodyCase {
  name: string
  body(door: XmlDoor): string | Buffer
  contentType?(door: XmlDoor): string
  /** doors the case does not apply to */
  only?(door: XmlDoor): boolean
}

const restoreFirst = (door: XmlDoor) => door.mutations(String(trashedIds[0]))[0]!

const BODY_CASES: BodyCase[] = [
  { name: 'empty body', body: () => '' },
  {
    name: 'malformed XML (unclosed elements)',
    body: (door) => door.request(restoreFirst(door)).slice(0, -25),
  },
  {
    name: 'malformed XML (mismatched tags)',
    body: (door) => door.request(restoreFirst(door)).replace(/<\/[^>]+>$/, '</Wrong>'),
  },
  { name: 'not XML at all', body: () => 'DROP TABLE items; -- {"ids":[1]}' },
  {
    name: 'DOCTYPE with an internal entity',
    body: (door) =>
      `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY id "${trashedIds[0]}">]>${door
        .request(restoreFirst(door))
        .replace(/^<\?xml[^>]*\?>/, '')
        .replace(`>${trashedIds[0]}<`, '>&id;<')}`,
  },
  {
    name: 'DOCTYPE with an external entity',
    body: (door) =>
      `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY ext SYSTEM "file:///etc/passwd">]>${door
        .request(door.mutations('&ext;')[0]!.replace('&amp;ext;', '&ext;'))
        .replace(/^<\?xml[^>]*\?>/, '')}`,
  },
  {
    name: 'DOCTYPE with an external DTD',
    body: (door) =>
      `<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd">${door
        .request(restoreFirst(door))
        .replace(/^<\?xml[^>]*\?>/, '')}`,
  },
  {
    name: 'billion laughs',
    body: (door) =>
      `${BILLION_LAUGHS}${door.request(door.mutations('&lol9;')[0]!.replace('&amp;lol9;', '&lol9;')).replace(/^<\?xml[^>]*\?>/, '')}`,
  },
  {
    name: '10,000-deep nesting',
    body: (door) => door.request(`${'<n>'.repeat(10_000)}x${'</n>'.repeat(10_000)}`),
  },
  {
    name: 'envelope in a wrong namespace',
    only: (door) => door.soap !== null,
    body: (door) =>
      door
        .request(restoreFirst(door))
        .replaceAll(door.soap === '1.1' ? SOAP11 : SOAP12, 'http://example.com/envelope'),
  },
  {
    name: 'envelope without a namespace',
    only: (door) => door.soap !== null,
    body: (door) =>
      door
        .request(restoreFirst(door))
        .replace(/ xmlns:(soapenv|env|soap|SOAP-ENV)="[^"]*"/, '')
        .replace(/<(\/?)(soapenv|env|soap|SOAP-ENV):/g, '<$1'),
  },
  {
    name: 'operation in a wrong namespace',
    only: (door) => door.operationInWrongNamespace !== null,
    body: (door) => door.request(door.operationInWrongNamespace!),
  },
  { name: 'unknown operation', body: (door) => door.request(door.unknownOperation) },
  {
    name: 'SOAP 1.2 envelope sent as text/xml',
    only: (door) => door.soap !== null,
    contentType: () => 'text/xml; charset=utf-8',
    body: (door) => door.request(restoreFirst(door)).replaceAll(SOAP11, SOAP12),
  },
  {
    name: 'SOAP 1.1 envelope sent as application/soap+xml',
    only: (door) => door.soap !== null && door.name !== 'Enterprise',
    contentType: () => 'application/soap+xml; charset=utf-8',
    body: (door) => door.request(restoreFirst(door)).replaceAll(SOAP12, SOAP11),
  },
  {
    name: 'invalid UTF-8',
    body: (door) => {
      const [head, tail] = door.request(restoreFirst(door)).split(`>${trashedIds[0]}<`) as [string, string]
      return Buffer.concat([
        Buffer.from(`${head}>`),
        Buffer.from([0xc3, 0x28, 0xff, 0xfe]),
        Buffer.from(`<${tail}`),
      ])
    },
  },
  {
    name: 'overlong UTF-8 encoding of "<"',
    body: (door) => {
      const [head, tail] = door.request(restoreFirst(door)).split(`>${trashedIds[0]}<`) as [string, string]
      return Buffer.concat([Buffer.from(`${head}>`), Buffer.from([0xc0, 0xbc]), Buffer.from(`<${tail}`)])
    },
  },
  {
    name: '10 MB body',
    body: (door) =>
      door.request(restoreFirst(door)).replace('</', `<!--${'x'.repeat(10 * 1024 * 1024)}--></`),
  },
]

describe('hostile input: every XML door answers in its own format and changes nothing', () => {
  for (const doorName of [
    'IPS SOAP 1.1',
    'IPS SOAP 1.2',
    'IPS plain XML',
    'srv.asmx SOAP 1.1',
    'srv.asmx SOAP 1.2',
    'Enterprise',
  ]) {
    it(`${doorName}: malformed, DOCTYPE, entities, deep, namespaces, versions, encoding, size`, async () => {
      const door = XML_DOORS().find((d) => d.name === doorName)!
      const before = await databaseFingerprint(server.database.db)
      for (const hostile of BODY_CASES) {
        if (hostile.only && !hostile.only(door)) continue
        const reply = await send(door.url, headersOf(door, hostile.contentType?.(door)), hostile.body(door))
        try {
          door.expectError(reply, hostile.contentType?.(door) ?? door.contentType)
        } catch (error) {
          throw new Error(`${door.name} / ${hostile.name}: ${(error as Error).message}`)
        }
      }
      expect(await databaseFingerprint(server.database.db)).toEqual(before)
    })

    it(`${doorName}: SQL metacharacters, path traversal, negative and huge numbers in ids, handles and paths`, async () => {
      const door = XML_DOORS().find((d) => d.name === doorName)!
      const before = await databaseFingerprint(server.database.db)
      for (const value of HOSTILE_VALUES) {
        for (const operation of door.mutations(value)) {
          const reply = await send(door.url, headersOf(door), door.request(operation))
          try {
            door.expectError(reply, door.contentType)
          } catch (error) {
            throw new Error(
              `${door.name} / ${JSON.stringify(value)} in ${operation}: ${(error as Error).message}`,
            )
          }
        }
      }
      expect(await databaseFingerprint(server.database.db)).toEqual(before)
    })
  }
})

// ---------------------------------------------------------------- srv.asmx GET and POST bindings

function expectAsmxHttpError(reply: Reply) {
  if (reply.status === 200) {
    expect(reply.contentType).toBe('text/xml; charset=utf-8')
    const response = parsed(reply)
    expect(response.name).toBe('response')
    expect(response.attrs.success, reply.text).toBe('false')
    expect(response.attrs.error).not.toBe('')
    return
  }
  // protocol errors of the HTTP bindings: HTTP 500 with the bare message, as ASP.NET writes them
  expect(reply.status, reply.text).toBe(500)
  expect(reply.contentType).toBe('text/plain; charset=utf-8')
  expect(reply.text).not.toBe('')
  expect(reply.text).not.toMatch(/^\s*</)
}

describe('hostile input: srv.asmx GET and POST', () => {
  const form = { 'content-type': 'application/x-www-form-urlencoded' }

  it('hostile parameters over GET and POST are refused in the response format', async () => {
    const before = await databaseFingerprint(server.database.db)
    for (const value of HOSTILE_VALUES) {
      const calls: [string, Record<string, string>][] = [
        ['RestoreRecycleBinItem', { AuthenticationTicket: asmxTicket, ItemHandler: value, RestorePath: '' }],
        [
          'RestoreRecycleBinItem',
          { AuthenticationTicket: asmxTicket, ItemHandler: `D${value}`, RestorePath: value },
        ],
        ['PurgeRecycleBinItem', { AuthenticationTicket: asmxTicket, ItemHandler: `F${value}` }],
        ['PurgeRecycleBinItem', { AuthenticationTicket: asmxTicket, ItemHandler: `D${value}` }],
        ['DeleteDocument', { authenticationTicket: asmxTicket, Path: value }],
        ['DeleteFolder', { authenticationTicket: asmxTicket, Path: `\\Active\\${value}` }],
        ['EmptyRecycleBin', { AuthenticationTicket: value }],
      ]
      for (const [method, params] of calls) {
        const query = new URLSearchParams(params).toString()
        for (const reply of [
          await send(`/srv.asmx/${method}?${query}`, {}, '', 'GET'),
          await send(`/srv.asmx/${method}`, form, query),
        ]) {
          try {
            expectAsmxHttpError(reply)
          } catch (error) {
            throw new Error(`${method} ${JSON.stringify(params)}: ${(error as Error).message}`)
          }
        }
      }
    }
    expect(await databaseFingerprint(server.database.db)).toEqual(before)
  })

  it('unknown methods, invalid UTF-8, XML bodies, missing parameters and a 10 MB form are refused', async () => {
    const before = await databaseFingerprint(server.database.db)
    const handler = `D${trashedIds[0]}`
    const replies: [string, Reply][] = [
      ['unknown method GET', await send('/srv.asmx/FrobnicateRecycleBin?x=1', {}, '', 'GET')],
      ['unknown method POST', await send('/srv.asmx/FrobnicateRecycleBin', form, 'x=1')],
      [
        'invalid UTF-8 in the query',
        await send(
          `/srv.asmx/PurgeRecycleBinItem?AuthenticationTicket=${asmxTicket}&ItemHandler=D%C3%28%FF`,
          {},
          '',
          'GET',
        ),
      ],
      [
        'invalid UTF-8 in the form',
        await send(
          '/srv.asmx/PurgeRecycleBinItem',
          form,
          Buffer.from(`AuthenticationTicket=${asmxTicket}&ItemHandler=D\xff\xfe`, 'latin1'),
        ),
      ],
      [
        'missing parameter',
        await send('/srv.asmx/PurgeRecycleBinItem', form, `AuthenticationTicket=${asmxTicket}`),
      ],
      [
        'an XML body with a DOCTYPE',
        await send(
          '/srv.asmx/PurgeRecycleBinItem',
          { 'content-type': 'text/xml' },
          `${BILLION_LAUGHS}<x>&lol9;</x>`,
        ),
      ],
      [
        'a JSON body',
        await send(
          '/srv.asmx/PurgeRecycleBinItem',
          { 'content-type': 'application/json' },
          '{"ItemHandler":"D1"',
        ),
      ],
      [
        '10 MB form',
        await send(
          '/srv.asmx/PurgeRecycleBinItem',
          form,
          `AuthenticationTicket=${asmxTicket}&ItemHandler=${handler}&pad=${'x'.repeat(10 * 1024 * 1024)}`,
        ),
      ],
    ]
    for (const [name, reply] of replies) {
      try {
        expectAsmxHttpError(reply)
      } catch (error) {
        throw new Error(`${name}: ${(error as Error).message}`)
      }
    }
    expect(await databaseFingerprint(server.database.db)).toEqual(before)
  })
})

// ---------------------------------------------------------------- REST

function expectProblem(reply: Reply, statuses: number[] = [400, 401, 403, 404, 405, 409, 413, 415, 422]) {
  expect(statuses, `${reply.status} ${reply.text}`).toContain(reply.status)
  expect(reply.contentType).toMatch(/^application\/problem\+json/)
  const body = JSON.parse(reply.text)
  expect(body).toMatchObject({ type: 'about:blank', status: reply.status })
  expect(typeof body.title).toBe('string')
}

describe('hostile input: REST', () => {
  const editor = () => ({ authorization: basicAuth(a.users.admin!), 'content-type': 'application/json' })

  it('hostile ids and paths are refused with problem documents; searches with them match nothing', async () => {
    const before = await databaseFingerprint(server.database.db)
    for (const value of HOSTILE_VALUES) {
      const segment = encodeURIComponent(value)
      const replies: [string, Reply][] = [
        ['restore ids', await send('/api/v1/trash/restore', editor(), JSON.stringify({ ids: [value] }))],
        [
          'restore numeric ids',
          await send(
            '/api/v1/trash/restore',
            editor(),
            `{"ids":[${Number.isFinite(Number(value)) && value.trim() === value ? value : JSON.stringify(value)}]}`,
          ),
        ],
        ['purge ids', await send('/api/v1/trash/purge', editor(), JSON.stringify({ ids: [value] }))],
        ['trash ids', await send('/api/v1/items/trash', editor(), JSON.stringify({ ids: [value] }))],
        ['restore one', await send(`/api/v1/trash/${segment}/restore`, editor(), '{}')],
        ['purge one', await send(`/api/v1/trash/${segment}`, editor(), '', 'DELETE')],
        ['trash one', await send(`/api/v1/items/${segment}/trash`, editor(), '{}')],
      ]
      for (const [name, reply] of replies) {
        // an id the schema accepts but no item has is a per-item 404 inside a 200 batch; anything else a problem
        if (reply.status === 200) {
          const batch = JSON.parse(reply.text)
          expect(
            batch.results.every((r: { status: string }) => r.status === 'error'),
            `${name} ${value}: ${reply.text}`,
          ).toBe(true)
          continue
        }
        try {
          expectProblem(reply)
        } catch (error) {
          throw new Error(`${name} ${JSON.stringify(value)}: ${(error as Error).message}`)
        }
      }
      const search = await send(
        `/api/v1/trash?name=${segment}`,
        { authorization: basicAuth(a.users.admin!) },
        '',
        'GET',
      )
      // a name search matches names containing the text, literally: never more
      if (search.status === 200) {
        for (const entry of JSON.parse(search.text).items)
          expect(entry.name.toLowerCase()).toContain(value.toLowerCase())
      } else expectProblem(search)
    }
    for (const query of [
      'limit=-1',
      'limit=99999999999999999999',
      'cursor=%27%3B--',
      'from=..%5C..%5C',
      'brandId=-1',
    ]) {
      expectProblem(
        await send(`/api/v1/trash?${query}`, { authorization: basicAuth(a.users.admin!) }, '', 'GET'),
      )
    }
    expect(await databaseFingerprint(server.database.db)).toEqual(before)
  })

  it('malformed, deep, XML, invalid UTF-8 and 10 MB bodies are refused with problem documents', async () => {
    const before = await databaseFingerprint(server.database.db)
    const url = '/api/v1/trash/restore'
    const replies: [string, Reply][] = [
      ['malformed JSON', await send(url, editor(), '{"ids":[1,')],
      ['deep JSON', await send(url, editor(), `{"ids":${'['.repeat(10_000)}1${']'.repeat(10_000)}}`)],
      [
        'XML body',
        await send(
          url,
          { ...editor(), 'content-type': 'application/xml' },
          `${BILLION_LAUGHS}<ids>&lol9;</ids>`,
        ),
      ],
      [
        'invalid UTF-8',
        await send(
          url,
          editor(),
          Buffer.from([0x7b, 0x22, 0x69, 0x64, 0x73, 0x22, 0x3a, 0x5b, 0xc3, 0x28, 0x5d, 0x7d]),
        ),
      ],
      ['prototype pollution', await send(url, editor(), '{"__proto__":{"admin":true},"ids":[1]}')],
      ['10 MB body', await send(url, editor(), `{"ids":[${`${trashedIds[0]},`.repeat(5 * 1024 * 1024)}1]}`)],
    ]
    for (const [name, reply] of replies) {
      try {
        expectProblem(reply)
      } catch (error) {
        throw new Error(`${name}: ${(error as Error).message}`)
      }
    }
    expect(await databaseFingerprint(server.database.db)).toEqual(before)
  })
})

// ---------------------------------------------------------------- 100 MB streamed to every door

describe('hostile input: a 100 MB body streamed to every door', () => {
  it('each door answers in its own format without cutting the sender off, memory stays bounded, the process stays up', async () => {
    const before = await databaseFingerprint(server.database.db)
    const rssBefore = rssMiB()
    for (const door of XML_DOORS()) {
      const request = door.request(restoreFirst(door))
      const cut = request.indexOf('</')
      const reply = await streamed(
        door.url,
        door.contentType,
        `${request.slice(0, cut)}<!--`,
        `-->${request.slice(cut)}`,
      )
      try {
        door.expectError(reply, door.contentType)
      } catch (error) {
        throw new Error(`${door.name}: ${(error as Error).message}`)
      }
      expect(reply.cutOff, door.name).toBe(false)
    }
    const asmxPost = await streamed(
      '/srv.asmx/PurgeRecycleBinItem',
      'application/x-www-form-urlencoded',
      `AuthenticationTicket=${asmxTicket}&ItemHandler=D${trashedIds[0]}&pad=`,
      '',
    )
    expectAsmxHttpError(asmxPost)
    expect(asmxPost.cutOff).toBe(false)
    const rest = await streamed('/api/v1/trash/restore', 'application/json', '{"ids":[1],"pad":"', '"}')
    expectProblem(rest, [401, 413])
    expect(rest.cutOff).toBe(false)
    const health = await fetch(`${server.baseUrl}/healthz`)
    expect(health.status).toBe(200)
    // 800 MB went towards the server; what it kept is bounded by the 8 MiB body limit
    expect(rssMiB() - rssBefore).toBeLessThan(200)
    expect(await databaseFingerprint(server.database.db)).toEqual(before)
  })
})
