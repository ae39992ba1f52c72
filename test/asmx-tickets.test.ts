import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ticketHash } from '../src/core/auth-service.js'
import { aspNetUrlDecode } from '../src/protocols/asmx/url-decode.js'
import { asmx, asmxTicket, TRANSPORTS } from './helpers/asmx.js'
import { createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

let server: TestServer
let f: Fixture

beforeAll(async () => {
  server = await startTestServer()
  f = await createFixture(server.ctx, 'tk', 'asmx')
})

afterAll(async () => {
  await server?.close()
})

async function signIn(role = 'editor'): Promise<string> {
  const user = f.users[role]!
  const answer = await asmx(server.baseUrl, 'GET', 'AuthenticateUser', {
    UID: user.login,
    PWD: user.password,
  })
  return answer.response.attrs.ticket!
}

async function expiryOf(ticket: string): Promise<Date> {
  const result = await server.ctx.db.query<{ expires_at: Date }>(
    'select expires_at from sessions where ticket_hash = $1',
    [ticketHash(ticket)],
  )
  return result.rows[0]!.expires_at
}

async function raw(path: string, init?: RequestInit) {
  const response = await fetch(`${server.baseUrl}${path}`, init)
  return { status: response.status, text: await response.text() }
}

describe('%uXXXX in query strings and form bodies (ASP.NET UrlDecode)', () => {
  it('decodes %uXXXX, UTF-8 %XX and + the way ASP.NET does', () => {
    expect(aspNetUrlDecode('Caf%u00e9%20%C3%A9+x')).toBe('Café é x')
    expect(aspNetUrlDecode('%u20AC%E2%82%AC')).toBe('€€')
    // a % that starts neither form stays as written
    expect(aspNetUrlDecode('100%+%zz%u12')).toBe('100% %zz%u12')
  })

  it('finds a non-ASCII path sent as %u00e9 over GET and POST', async () => {
    for (const transport of ['GET', 'POST'] as const) {
      const folder = (
        await server.ctx.admin.createItem(f.tenantId, { kind: 'folder', name: `Bibliothèque ${transport}` })
      ).item
      const file = (
        await server.ctx.admin.createItem(f.tenantId, {
          kind: 'file',
          name: 'Café.pdf',
          parentId: folder.id,
          content: Buffer.from('x'),
        })
      ).item
      const ticket = await signIn()
      const path = `%5CBiblioth%u00e8que%20${transport}%5CCaf%u00e9.pdf`
      const answer =
        transport === 'GET'
          ? await raw(`/srv.asmx/DeleteDocument?authenticationTicket=${ticket}&Path=${path}`)
          : await raw('/srv.asmx/DeleteDocument', {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: `authenticationTicket=${ticket}&Path=${path}`,
            })
      expect(answer.text).toContain('<response success="true" error="" />')
      const row = await server.ctx.db.query('select state from items where tenant_id = $1 and id = $2', [
        f.tenantId,
        file.id,
      ])
      expect(row.rows[0]!.state).toBe('trashed')
    }
  })
})

describe('isValidTicket', () => {
  it.each(TRANSPORTS)('answers the user of a live ticket without extending it (%s)', async (transport) => {
    const ticket = await signIn()
    const before = await expiryOf(ticket)
    await new Promise((resolve) => setTimeout(resolve, 20))
    const answer = await asmx(server.baseUrl, transport, 'isValidTicket', { AuthenticationTicket: ticket })
    expect(answer.success).toBe('true')
    expect(answer.response.attrs).toMatchObject({
      username: f.users.editor!.login,
      userid: String(f.users.editor!.id),
      isAuthenticated: 'True',
      expireOn: before.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    })
    expect(answer.response.attrs.ticket).toBeUndefined()
    expect((await expiryOf(ticket)).getTime()).toBe(before.getTime())
  })

  it('falls back to the ticket cookie, and refuses an unknown or missing ticket with [901]', async () => {
    const ticket = await signIn()
    const viaCookie = await raw('/srv.asmx/isValidTicket', {
      headers: { cookie: `lang=en; ticket=${ticket}` },
    })
    expect(viaCookie.text).toContain('success="true"')
    const none = await raw('/srv.asmx/isValidTicket')
    expect(none.text).toContain(
      '<response success="false" error="[901] Session expired or Invalid ticket." />',
    )
    const unknown = await asmx(server.baseUrl, 'POST', 'isValidTicket', {
      AuthenticationTicket: '00000000-0000-0000-0000-000000000000',
    })
    expect(unknown.error).toBe('[901] Session expired or Invalid ticket.')
  })
})

describe('RenewTicket', () => {
  it.each(
    TRANSPORTS,
  )('renews a live ticket of the same user and slides its expiry (%s)', async (transport) => {
    const user = f.users.editor!
    const ticket = await signIn()
    await server.ctx.db.query(
      "update sessions set expires_at = now() + interval '5 seconds' where ticket_hash = $1",
      [ticketHash(ticket)],
    )
    const answer = await asmx(server.baseUrl, transport, 'RenewTicket', {
      UID: user.login,
      PWD: user.password,
      Lang: '',
      OldTicket: ticket,
    })
    expect(answer.success).toBe('true')
    expect(answer.response.attrs.ticket).toBe(ticket)
    expect((await expiryOf(ticket)).getTime()).toBeGreaterThan(Date.now() + 60_000)
  })

  it('issues a new ticket for an unknown or another user’s ticket, uses the cookie, checks the format', async () => {
    const user = f.users.editor!
    const other = await signIn('viewer')
    const fresh = await asmx(server.baseUrl, 'GET', 'RenewTicket', {
      UID: user.login,
      PWD: user.password,
      Lang: '',
      OldTicket: other,
    })
    expect(fresh.response.attrs.ticket).toMatch(/^[0-9a-f-]{36}$/)
    expect(fresh.response.attrs.ticket).not.toBe(other)
    expect(fresh.response.attrs.username).toBe(user.login)

    const mine = await signIn()
    const viaCookie = await raw(`/srv.asmx/RenewTicket?UID=${user.login}&PWD=${user.password}`, {
      headers: { cookie: `ticket=${mine}` },
    })
    expect(viaCookie.text).toContain(`ticket="${mine}"`)

    const badFormat = await asmx(server.baseUrl, 'GET', 'RenewTicket', {
      UID: user.login,
      PWD: user.password,
      Lang: '',
      OldTicket: 'not-a-guid',
    })
    expect(badFormat.error).toBe('invalid ticket format')
    const badPassword = await asmx(server.baseUrl, 'GET', 'RenewTicket', {
      UID: user.login,
      PWD: 'wrong',
      Lang: '',
      OldTicket: '',
    })
    expect(badPassword.error).toBe('[900] Authentication failed')
  })
})

describe('LogOut', () => {
  it('ends the session of the ticket cookie when no ticket is given', async () => {
    const ticket = await signIn()
    const answer = await raw('/srv.asmx/LogOut', { method: 'POST', headers: { cookie: `ticket=${ticket}` } })
    expect(answer.text).toContain('<response success="true" error="" />')
    const sessions = await server.ctx.db.query('select 1 from sessions where ticket_hash = $1', [
      ticketHash(ticket),
    ])
    expect(sessions.rowCount).toBe(0)
  })
})

describe('GetUserStatistics', () => {
  it.each(TRANSPORTS)('counts the documents and folders in the user’s bin (%s)', async (transport) => {
    const user = f.users.purger!
    // a library root is an administrator's to delete: the user's folder lives one level down
    const library = await server.ctx.admin.createItem(f.tenantId, {
      kind: 'folder',
      name: `Library ${transport}`,
    })
    const folder = (
      await server.ctx.admin.createItem(f.tenantId, {
        kind: 'folder',
        name: `Stats ${transport}`,
        parentId: library.item.id,
        ownerId: user.id,
      })
    ).item
    const inner = await server.ctx.admin.createItem(f.tenantId, {
      kind: 'file',
      name: 'inner.txt',
      parentId: folder.id,
      content: Buffer.from('i'),
    })
    const files = await Promise.all(
      ['a.txt', 'b.txt'].map(
        async (name) =>
          (
            await server.ctx.admin.createItem(f.tenantId, {
              kind: 'file',
              name: `${transport}-${name}`,
              content: Buffer.from(name),
            })
          ).item.id,
      ),
    )
    // the folder is one unit: its file is not a document of the bin of its own
    await server.ctx.trash.trash(user.actor, [folder.id, ...files])
    const ticket = await asmxTicket(server.baseUrl, user)
    const answer = await asmx(server.baseUrl, transport, 'GetUserStatistics', {
      authenticationTicket: ticket,
      userName: user.login,
    })
    expect(answer.success).toBe('true')
    const statistics = answer.response.children.find((c) => c.name === 'UserStatistics')!
    const count = (name: string) => statistics.children.find((c) => c.name === name)?.text
    expect(count('RecycledDocuments')).toBe('2')
    expect(count('RecycledFolders')).toBe('1')
    await server.ctx.trash.restore(user.actor, [folder.id, ...files, inner.item.id])
  })

  it('answers other users’ counts to administrators only', async () => {
    const admin = await signIn('admin')
    const ofEditor = await asmx(server.baseUrl, 'GET', 'GetUserStatistics', {
      authenticationTicket: admin,
      userName: f.users.editor!.login,
    })
    expect(ofEditor.success).toBe('true')
    const editor = await signIn()
    const refused = await asmx(server.baseUrl, 'GET', 'GetUserStatistics', {
      authenticationTicket: editor,
      userName: f.users.admin!.login,
    })
    expect(refused.error).toBe('Only the system administrator can perform this operation')
    const unknown = await asmx(server.baseUrl, 'GET', 'GetUserStatistics', {
      authenticationTicket: admin,
      userName: 'nobody-at-all',
    })
    expect(unknown.error).toBe('User not found')
  })
})

describe('the new methods in the WSDL and on the help page', () => {
  it('lists isValidTicket, RenewTicket and GetUserStatistics with their parameters', async () => {
    const wsdl = (await raw('/srv.asmx?WSDL')).text
    for (const [method, params] of [
      ['isValidTicket', ['AuthenticationTicket']],
      ['RenewTicket', ['UID', 'PWD', 'Lang', 'OldTicket']],
      ['GetUserStatistics', ['authenticationTicket', 'userName']],
    ] as const) {
      const declared = new RegExp(
        `<s:element name="${method}"><s:complexType><s:sequence>(.*?)</s:sequence>`,
      ).exec(wsdl)?.[1]
      expect(declared, method).toBeDefined()
      expect([...declared!.matchAll(/name="(\w+)"/g)].map((m) => m[1])).toEqual(params)
      expect(wsdl).toContain(`<http:operation location="/${method}" />`)
      expect(wsdl).toContain(`soapAction="http://tempuri.org/${method}"`)
      const help = (await raw('/srv.asmx')).text
      expect(help).toContain(`<a href="srv.asmx?op=${method}">${method}</a>`)
      expect((await raw(`/srv.asmx?op=${method}`)).text).toContain(`GET /srv.asmx/${method}?`)
    }
  })
})
