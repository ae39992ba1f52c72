import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseXml } from '../src/protocols/soap/xml.js'
import { envelope, fault, logOn, postEnterprise } from './helpers/enterprise.js'
import {
  ADMIN_TOKEN,
  basicAuth,
  createFixture,
  type Fixture,
  startTestServer,
  type TestServer,
} from './helpers/server.js'

/**
 * Sessions as trusted systems keep them: tickets stored hashed, bound to the door that issued them, ended by a
 * password reset or a disabled flag, with an absolute lifetime besides the sliding one, expired rows deleted.
 */
let server: TestServer
let f: Fixture
const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }

beforeAll(async () => {
  // sessions are changed behind the server's back here, as another instance would: no credential cache, so that
  // each change shows at once (test/auth-cache.test.ts has it with the cache)
  server = await startTestServer({ SESSION_MAX_AGE: '3600', AUTH_CACHE_SECONDS: '0' })
  f = await createFixture(server.ctx, 'se')
})

afterAll(async () => {
  await server?.close()
})

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex')

let userCount = 0
async function newUser() {
  const user = { login: `se-user-${++userCount}`, password: `se-password-${userCount}` }
  const id = await server.ctx.admin.createUser(f.tenantId, user)
  await server.ctx.admin.setAccess(f.tenantId, f.brandId, id, { view: true, delete: true, purge: false })
  return { ...user, id }
}

async function restToken(user: { login: string; password: string }) {
  const response = await fetch(`${server.baseUrl}/api/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login: user.login, password: user.password }),
  })
  expect(response.status).toBe(201)
  return ((await response.json()) as { token: string }).token
}

async function asmxTicket(user: { login: string; password: string }) {
  const query = new URLSearchParams({ UID: user.login, PWD: user.password })
  const text = await (await fetch(`${server.baseUrl}/srv.asmx/AuthenticateUser?${query}`)).text()
  return parseXml(text).attrs.ticket!
}

/** Whether each door still takes its ticket, asked the way its clients ask. */
const works = {
  rest: async (token: string) =>
    (await fetch(`${server.baseUrl}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).status ===
    200,
  asmx: async (ticket: string) => {
    const text = await (
      await fetch(`${server.baseUrl}/srv.asmx/GetRecycleBinContent?AuthenticationTicket=${ticket}`)
    ).text()
    const attrs = parseXml(text).attrs
    if (attrs.success !== 'true') expect(attrs.error).toBe('[901] Session expired or Invalid ticket.')
    return attrs.success === 'true'
  },
  enterprise: async (ticket: string) => {
    const reply = await postEnterprise(
      server,
      envelope(
        `<ns1:QueryObjects><Ticket>${ticket}</Ticket><Params xsi:nil="true"/><FirstEntry>1</FirstEntry><MaxEntries>1</MaxEntries><Hierarchical>false</Hierarchical><Order xsi:nil="true"/><MinimalProps xsi:nil="true"/><RequestProps xsi:nil="true"/><Areas><AreaType>Trash</AreaType></Areas></ns1:QueryObjects>`,
      ),
    )
    if (reply.text.includes('<SOAP-ENV:Fault>')) {
      expect(fault(reply.text)).toMatchObject({ detail: 'SCEntError_InvalidTicket' })
      return false
    }
    return true
  },
  fileindex: async (ticket: string) => {
    const response = await fetch(
      `${server.baseUrl}/Enterprise/fileindex.php?objectid=987654321&rendition=native&ticket=${ticket}`,
    )
    // a valid ticket reaches the object lookup (404 for this id); a refused one is 403
    return response.status !== 403
  },
}

async function sessionsOf(userId: number) {
  const result = await server.database.db.query(
    'select count(*)::int as n from sessions where user_id = $1',
    [userId],
  )
  return result.rows[0].n as number
}

async function openAll(user: { login: string; password: string }) {
  return {
    rest: await restToken(user),
    asmx: await asmxTicket(user),
    enterprise: await logOn(server, user),
  }
}

async function expectWorking(tickets: Awaited<ReturnType<typeof openAll>>, expected: boolean) {
  expect(await works.rest(tickets.rest)).toBe(expected)
  expect(await works.asmx(tickets.asmx)).toBe(expected)
  expect(await works.enterprise(tickets.enterprise)).toBe(expected)
}

describe('tickets', () => {
  it('are stored as their sha256, never as themselves', async () => {
    const user = await newUser()
    const tickets = await openAll(user)
    const rows = await server.database.db.query('select * from sessions where user_id = $1 order by door', [
      user.id,
    ])
    expect(rows.rows.map((row) => row.ticket_hash).sort()).toEqual(Object.values(tickets).map(sha256).sort())
    const dump = JSON.stringify(rows.rows)
    for (const ticket of Object.values(tickets)) expect(dump).not.toContain(ticket)
  })

  it('work only at the door that issued them (Enterprise tickets also at fileindex.php)', async () => {
    const user = await newUser()
    const tickets = await openAll(user)
    expect(await works.rest(tickets.rest)).toBe(true)
    expect(await works.asmx(tickets.asmx)).toBe(true)
    expect(await works.enterprise(tickets.enterprise)).toBe(true)
    expect(await works.fileindex(tickets.enterprise)).toBe(true)

    expect(await works.asmx(tickets.rest)).toBe(false)
    expect(await works.enterprise(tickets.rest)).toBe(false)
    expect(await works.fileindex(tickets.rest)).toBe(false)
    expect(await works.rest(tickets.asmx)).toBe(false)
    expect(await works.enterprise(tickets.asmx)).toBe(false)
    expect(await works.fileindex(tickets.asmx)).toBe(false)
    expect(await works.rest(tickets.enterprise)).toBe(false)
    expect(await works.asmx(tickets.enterprise)).toBe(false)
    // a door's sign-out ends its own sessions only
    const logOff = envelope(`<ns1:LogOff><Ticket>${tickets.rest}</Ticket></ns1:LogOff>`)
    await postEnterprise(server, logOff)
    expect(await works.rest(tickets.rest)).toBe(true)
  })
})

describe('ending sessions', () => {
  it("an administrator's password reset ends every session of the user, at every door", async () => {
    const user = await newUser()
    const other = await newUser()
    const tickets = await openAll(user)
    const others = await openAll(other)
    await expectWorking(tickets, true)
    const reset = await fetch(`${server.baseUrl}/api/v1/tenants/${f.tenantId}/users/${user.id}/password`, {
      method: 'PUT',
      headers: admin,
      body: JSON.stringify({ password: 'a-new-password-1' }),
    })
    expect(reset.status).toBe(200)
    expect(await sessionsOf(user.id)).toBe(0)
    await expectWorking(tickets, false)
    await expectWorking(others, true)
  })

  it('a disabled user cannot sign in anywhere and its sessions end; enabled again, it signs in', async () => {
    const user = await newUser()
    const tickets = await openAll(user)
    const disable = await fetch(`${server.baseUrl}/api/v1/tenants/${f.tenantId}/users/${user.id}`, {
      method: 'PATCH',
      headers: admin,
      body: JSON.stringify({ disabled: true }),
    })
    expect(disable.status).toBe(200)
    expect(await sessionsOf(user.id)).toBe(0)
    await expectWorking(tickets, false)

    expect(
      (await fetch(`${server.baseUrl}/api/v1/me`, { headers: { authorization: basicAuth(user) } })).status,
    ).toBe(401)
    const asmx = await fetch(
      `${server.baseUrl}/srv.asmx/AuthenticateUser?${new URLSearchParams({ UID: user.login, PWD: user.password })}`,
    )
    expect(parseXml(await asmx.text()).attrs.error).toBe('[900] Authentication failed')
    const logOnXml = (password: string) =>
      envelope(
        `<ns1:LogOn><User>${user.login}</User><Password>${password}</Password><Ticket/><ClientName>t</ClientName><ClientAppName>t</ClientAppName></ns1:LogOn>`,
      )
    // Enterprise names a deactivated account to whoever knows its password, and only to them
    expect(fault((await postEnterprise(server, logOnXml(user.password))).text).faultstring).toBe(
      'The account for this user has been deactivated. (S1051)',
    )
    expect(fault((await postEnterprise(server, logOnXml('wrong-password'))).text).faultstring).toBe(
      'The user name or password is incorrect. (S1053)',
    )
    const listed = await (
      await fetch(`${server.baseUrl}/api/v1/tenants/${f.tenantId}/users`, { headers: admin })
    ).json()
    expect(listed.users.find((u: { id: number }) => u.id === user.id)).toMatchObject({ disabled: true })

    await fetch(`${server.baseUrl}/api/v1/tenants/${f.tenantId}/users/${user.id}`, {
      method: 'PATCH',
      headers: admin,
      body: JSON.stringify({ disabled: false }),
    })
    await server.database.db.query('delete from login_failures')
    expect(await works.rest(await restToken(user))).toBe(true)
  })

  it('DELETE /api/v1/tenants/:t/users/:u/sessions ends them all (administrators only)', async () => {
    const user = await newUser()
    const tickets = await openAll(user)
    const url = `${server.baseUrl}/api/v1/tenants/${f.tenantId}/users/${user.id}/sessions`
    const asUser = await fetch(url, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${tickets.rest}` },
    })
    expect(asUser.status).toBe(401)
    await expectWorking(tickets, true)
    const ended = await fetch(url, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    expect(ended.status).toBe(200)
    expect(await ended.json()).toEqual({ ended: 3 })
    await expectWorking(tickets, false)
    const missing = await fetch(`${server.baseUrl}/api/v1/tenants/${f.tenantId}/users/987654/sessions`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    })
    expect(missing.status).toBe(404)
  })
})

describe('lifetimes', () => {
  it('a session ends SESSION_MAX_AGE after it opened, however often it is used', async () => {
    const user = await newUser()
    const tickets = await openAll(user)
    const rows = await server.database.db.query(
      `select extract(epoch from ends_at - created_at)::int as max_age,
              expires_at <= ends_at as within from sessions where user_id = $1`,
      [user.id],
    )
    for (const row of rows.rows) expect(row).toEqual({ max_age: 3600, within: true })
    // near its end, use slides the expiry only up to the end
    await server.database.db.query(
      "update sessions set ends_at = now() + interval '30 seconds' where user_id = $1",
      [user.id],
    )
    await expectWorking(tickets, true)
    const slid = await server.database.db.query(
      'select bool_and(expires_at <= ends_at) as capped from sessions where user_id = $1',
      [user.id],
    )
    expect(slid.rows[0].capped).toBe(true)
    // past its end it is over, although used a moment ago (its sliding expiry is still ahead)
    await server.database.db.query(
      "update sessions set ends_at = now() - interval '1 second', expires_at = now() + interval '10 minutes' where user_id = $1",
      [user.id],
    )
    await expectWorking(tickets, false)
  })

  it('expired session rows are deleted', async () => {
    const user = await newUser()
    await openAll(user)
    await server.database.db.query(
      "update sessions set expires_at = now() - interval '1 second' where user_id = $1",
      [user.id],
    )
    expect(await sessionsOf(user.id)).toBe(3)
    // the next sign-in anywhere sweeps them
    await restToken(f.users.editor!)
    expect(await sessionsOf(user.id)).toBe(0)
  })
})
