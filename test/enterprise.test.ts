import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ticketHash } from '../src/core/auth-service.js'
import {
  compact,
  deleteObjects,
  envelope,
  fault,
  handledIds,
  ids,
  logOn,
  postEnterprise,
  reports,
  responseBody,
} from './helpers/enterprise.js'
import {
  ADMIN_TOKEN,
  createFixture,
  type Fixture,
  startTestServer,
  type TestServer,
} from './helpers/server.js'

let server: TestServer
let a: Fixture
let b: Fixture
/** a second brand of tenant a on which the editor may only view */
let viewOnlyBrand: number

const EXAMPLES = path.resolve(import.meta.dirname, 'fixtures/enterprise-trash-can-examples.txt')

async function item(f: Fixture, name: string, brandId: number | null = f.brandId, type = 'Article') {
  const created = await server.ctx.admin.createItem(f.tenantId, {
    kind: 'file',
    name,
    type,
    brandId,
    content: Buffer.from(`content of ${name}`),
  })
  return created.item.id
}

async function row(tenantId: number, id: number) {
  const result = await server.database.db.query(
    `select i.state, i.name, u.login as deleted_by, i.deleted_at from items i
       left join users u on u.tenant_id = i.tenant_id and u.id = i.deleted_by
      where i.tenant_id = $1 and i.id = $2`,
    [tenantId, id],
  )
  return result.rows[0] ?? null
}

async function lastAudit(tenantId: number, itemId: number) {
  const result = await server.database.db.query(
    'select action, door, actor_login from audit where tenant_id = $1 and item_id = $2 order by id desc limit 1',
    [tenantId, itemId],
  )
  return result.rows[0] ?? null
}

/** Items with the ids the seed's examples use (ids are per tenant), in the given brands. */
async function seedIds(f: Fixture, spec: Record<number, number | null>) {
  for (const [id, brandId] of Object.entries(spec)) {
    if (brandId === null) continue
    await server.database.db.query(
      `insert into items (tenant_id, id, kind, type, name, brand_id) values ($1, $2, 'file', 'Article', $3, $4)`,
      [f.tenantId, Number(id), `object ${id}`, brandId],
    )
  }
}

beforeAll(async () => {
  server = await startTestServer()
  a = await createFixture(server.ctx, 'ea', 'enterprise')
  b = await createFixture(server.ctx, 'eb', 'enterprise')
  viewOnlyBrand = await server.ctx.admin.createBrand(a.tenantId, 'ea view-only brand')
  await server.ctx.admin.setAccess(a.tenantId, viewOnlyBrand, a.users.editor!.id, {
    view: true,
    delete: false,
    purge: false,
  })
  await seedIds(a, { 51: a.brandId, 52: viewOnlyBrand, 53: a.brandId })
  // keep generated ids clear of the explicit ones
  await server.database.db.query("select setval(pg_get_serial_sequence('items', 'id'), 1000)")
})

afterAll(async () => {
  await server?.close()
})

describe('endpoint', () => {
  it('serves the WSDL with the address of the request and answers the health probe', async () => {
    const response = await fetch(`${server.baseUrl}/Enterprise/index.php?wsdl`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/xml; charset=utf-8')
    const wsdl = await response.text()
    expect(wsdl).toContain('targetNamespace="urn:SmartConnection"')
    expect(wsdl).toContain(`<soap:address location="${server.baseUrl}/Enterprise/index.php"/>`)
    const studio = await (await fetch(`${server.baseUrl}/StudioServer/index.php?wsdl`)).text()
    expect(studio).toContain(`<soap:address location="${server.baseUrl}/StudioServer/index.php"/>`)
    const probe = await fetch(`${server.baseUrl}/Enterprise/index.php?test=1`)
    expect(probe.status).toBe(200)
    expect(await probe.text()).toBe('Workflow service index page is accessible.')
    const handshake = await (await fetch(`${server.baseUrl}/Enterprise/index.php?handshake=v1`)).text()
    expect(handshake).toContain('<Technique protocol="SOAP" transfer="HTTP"/>')
    expect(handshake).toContain('<Interface name="Workflow" type="core"/>')
  })

  it('answers hostile or wrong input with SOAP faults over HTTP 200', async () => {
    const cases = [
      '<not xml',
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
      `${'<a>'.repeat(200)}${'</a>'.repeat(200)}`,
      '<plain>no envelope</plain>',
      '<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Body><LogOff/></Body></Envelope>',
    ]
    for (const body of cases) {
      const reply = await postEnterprise(server, body)
      expect(reply.status).toBe(200)
      expect(reply.type).toBe('text/xml; charset=utf-8')
      const f = fault(reply.text)
      expect(f.faultcode).toMatch(/^SOAP-ENV:(Client|VersionMismatch)$/)
      expect(reply.text).not.toMatch(/at .*\.ts/)
    }
    const unknown = await postEnterprise(
      server,
      envelope('<ns1:CreateObjects><Ticket>x</Ticket></ns1:CreateObjects>'),
    )
    expect(fault(unknown.text)).toEqual({
      faultcode: 'SOAP-ENV:Server',
      faultstring: "Procedure 'CreateObjects' not present",
      detail: '',
    })
    const tooLarge = await postEnterprise(
      server,
      envelope(`<ns1:LogOff><Ticket>${'x'.repeat(9 * 1024 * 1024)}</Ticket></ns1:LogOff>`),
    )
    expect(tooLarge.status).toBe(200)
    expect(fault(tooLarge.text).faultcode).toBe('SOAP-ENV:Client')
  })

  it('dispatches on the Body element whatever its prefix, ignoring SOAPAction', async () => {
    const reply = await postEnterprise(
      server,
      '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><x:LogOff xmlns:x="urn:SmartConnection"><Ticket>none</Ticket></x:LogOff></s:Body></s:Envelope>',
      '/StudioServer/index.php',
      { soapaction: '"urn:SmartConnection#QueryObjects"' },
    )
    expect(reply.text).toContain('<SOAP-ENV:Body><ns1:LogOffResponse/></SOAP-ENV:Body>')
  })
})

describe('LogOn / LogOff', () => {
  it('gives a 40-character ticket, the brands with the feature rights, server info and the user', async () => {
    const editor = a.users.editor!
    const reply = await postEnterprise(
      server,
      envelope(
        `<ns1:LogOn><User>${editor.login}</User><Password>${editor.password}</Password><Ticket/><Server/>` +
          '<ClientName>host</ClientName><Domain/><ClientAppName>Content Station</ClientAppName><ClientAppVersion/>' +
          '<ClientAppSerial/><ClientAppProductKey/></ns1:LogOn>',
      ),
    )
    expect(reply.status).toBe(200)
    const body = responseBody(reply.text, 'LogOn')
    const ticket = /^<Ticket>([0-9a-f]{40})<\/Ticket>/.exec(body)?.[1]
    expect(ticket).toBeDefined()
    const session = await server.database.db.query(
      'select user_id, door from sessions where ticket_hash = $1',
      [ticketHash(ticket!)],
    )
    expect(session.rows[0]).toEqual({ user_id: editor.id, door: 'enterprise' })
    // the editor's own brand: view + delete, no purge; the view-only brand: view
    expect(body).toContain(
      `<PublicationInfo><Id>${a.brandId}</Id><Name>ea brand</Name><Issues/><FeatureAccessList><FeatureAccess><Profile>View, Delete</Profile><Issue xsi:nil="true"/><Section xsi:nil="true"/><State xsi:nil="true"/></FeatureAccess></FeatureAccessList><Categories/></PublicationInfo>`,
    )
    expect(body).toContain(`<Id>${viewOnlyBrand}</Id><Name>ea view-only brand</Name>`)
    expect(body).toContain(
      '<FeatureProfile><Name>View, Delete</Name><Features><AppFeature><Name>Purge</Name><Value>No</Value></AppFeature></Features></FeatureProfile>',
    )
    expect(body).toContain('<Version>10.5.0 Build 1</Version>')
    expect(body).toContain(`<CurrentUser><UserID>${editor.login}</UserID><FullName>ea editor</FullName>`)
    expect(body.indexOf('<NamedQueries xsi:nil="true"/>')).toBeLessThan(body.indexOf('<ServerInfo>'))

    const purger = responseBody(
      (
        await postEnterprise(
          server,
          envelope(
            `<ns1:LogOn><User>${a.users.purger!.login}</User><Password>${a.users.purger!.password}</Password><RequestInfo><String>Publications</String></RequestInfo></ns1:LogOn>`,
          ),
        )
      ).text,
      'LogOn',
    )
    expect(purger).toContain('<Profile>Full Control</Profile>')
    expect(purger).toContain('<ServerInfo xsi:nil="true"/>')
    expect(purger).toContain('<FeatureProfiles xsi:nil="true"/>')
  })

  it('refuses a wrong password with S1053 and a bad ticket with S1043', async () => {
    const wrong = await postEnterprise(
      server,
      envelope(`<ns1:LogOn><User>${a.users.editor!.login}</User><Password>nope</Password></ns1:LogOn>`),
    )
    expect(wrong.status).toBe(200)
    expect(fault(wrong.text)).toEqual({
      faultcode: 'SOAP-ENV:Client',
      faultstring: 'The user name or password is incorrect. (S1053)',
      detail: '',
    })
    const bad = await postEnterprise(
      server,
      deleteObjects('0'.repeat(40), { ids: [51], permanent: false, areas: ['Workflow'] }),
    )
    expect(fault(bad.text)).toEqual({
      faultcode: 'SOAP-ENV:Client',
      faultstring:
        'The system could not be accessed because the log-on ticket has become invalid or has expired. Please log in again. (S1043)',
      detail: 'SCEntError_InvalidTicket',
    })
  })

  it('logs on again silently with a live ticket and no password; a dead ticket is S1043', async () => {
    const ticket = await logOn(server, a.users.editor!)
    const again = await postEnterprise(
      server,
      envelope(
        `<ns1:LogOn><User>${a.users.editor!.login}</User><Password/><Ticket>${ticket}</Ticket></ns1:LogOn>`,
      ),
    )
    expect(responseBody(again.text, 'LogOn')).toMatch(new RegExp(`^<Ticket>${ticket}</Ticket><Publications>`))
    const otherUser = await postEnterprise(
      server,
      envelope(
        `<ns1:LogOn><User>${a.users.viewer!.login}</User><Password/><Ticket>${ticket}</Ticket></ns1:LogOn>`,
      ),
    )
    expect(fault(otherUser.text).faultstring).toContain('(S1043)')
    const dead = await postEnterprise(
      server,
      envelope(
        `<ns1:LogOn><User>${a.users.editor!.login}</User><Password/><Ticket>${'f'.repeat(40)}</Ticket></ns1:LogOn>`,
      ),
    )
    expect(fault(dead.text)).toMatchObject({
      faultcode: 'SOAP-ENV:Client',
      detail: 'SCEntError_InvalidTicket',
    })
  })

  it('LogOff ends the session: the ticket stops working', async () => {
    const ticket = await logOn(server, a.users.viewer!)
    const reply = await postEnterprise(
      server,
      envelope(`<ns1:LogOff><Ticket>${ticket}</Ticket><SaveSettings>false</SaveSettings></ns1:LogOff>`),
    )
    expect(reply.text).toBe(
      '<?xml version="1.0" encoding="utf-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="urn:SmartConnection" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><SOAP-ENV:Body><ns1:LogOffResponse/></SOAP-ENV:Body></SOAP-ENV:Envelope>',
    )
    expect(
      (await server.database.db.query('select 1 from sessions where ticket_hash = $1', [ticketHash(ticket)]))
        .rowCount,
    ).toBe(0)
    const after = await postEnterprise(
      server,
      envelope(`<ns1:QueryObjects><Ticket>${ticket}</Ticket><Params/></ns1:QueryObjects>`),
    )
    expect(fault(after.text).faultstring).toContain('(S1043)')
  })
})

describe("seed 004's examples, sent as written", () => {
  const examples = new Map<string, string>()
  const example = (title: string) => {
    const found = examples.get(title)
    expect(found, title).toBeDefined()
    return found!
  }

  beforeAll(async () => {
    const text = await readFile(EXAMPLES, 'utf8')
    for (const part of text.split(/^## /m).slice(1)) {
      const newline = part.indexOf('\n')
      examples.set(part.slice(0, newline), part.slice(newline + 1).trim())
    }
  })

  it('v8 request: 51 and 53 deleted, 52 reported exactly as the seed shows', async () => {
    const ticket = await logOn(server, a.users.editor!)
    const request = example('v8 DeleteObjects request')
    expect(request).toContain('<Areas><Area>Workflow</Area></Areas>')
    const reply = await postEnterprise(
      server,
      envelope(request.replace('<Ticket>...</Ticket>', `<Ticket>${ticket}</Ticket>`)),
    )
    const seedResponse = example('v8 DeleteObjectsResponse')
    const expected = compact(seedResponse).replace(/^<DeleteObjectsResponse>|<\/DeleteObjectsResponse>$/g, '')
    expect(responseBody(reply.text, 'DeleteObjects')).toBe(expected)
    expect(await row(a.tenantId, 51)).toMatchObject({ state: 'trashed', deleted_by: a.users.editor!.login })
    expect(await row(a.tenantId, 52)).toMatchObject({ state: 'active', deleted_by: null })
    expect(await row(a.tenantId, 53)).toMatchObject({ state: 'trashed' })
    expect(await lastAudit(a.tenantId, 51)).toEqual({
      action: 'trash',
      door: 'enterprise',
      actor_login: a.users.editor!.login,
    })
  })

  it('v7 request: every object it can is deleted, all failures come back as one fault', async () => {
    const c = await createFixture(server.ctx, 'ec', 'enterprise')
    const locked = await server.ctx.admin.createBrand(c.tenantId, 'ec view-only brand')
    await server.ctx.admin.setAccess(c.tenantId, locked, c.users.editor!.id, {
      view: true,
      delete: false,
      purge: false,
    })
    // 53 does not exist in this tenant (it does in another one)
    await seedIds(c, { 51: c.brandId, 52: locked, 53: null })
    const ticket = await logOn(server, c.users.editor!)
    const request = example('v7 DeleteObjects request')
    expect(request).not.toContain('<Areas>')
    const reply = await postEnterprise(
      server,
      envelope(request.replace('<Ticket>...</Ticket>', `<Ticket>${ticket}</Ticket>`)),
    )
    expect(reply.status).toBe(200)
    expect(reply.text).toContain(
      '<SOAP-ENV:Fault><faultcode>SOAP-ENV:Client</faultcode><faultstring>Access denied (S1002)\nThe database record could not be found. (S1029)</faultstring><faultactor/><detail>52 (D)\n53</detail></SOAP-ENV:Fault>',
    )
    expect(await row(c.tenantId, 51)).toMatchObject({ state: 'trashed' })
    expect(await row(c.tenantId, 52)).toMatchObject({ state: 'active' })
    expect(await row(a.tenantId, 53)).toMatchObject({ state: 'trashed', deleted_by: a.users.editor!.login })

    // without failures a v7 client gets the empty response
    const more = await item(c, 'v7 fine')
    const ok = await postEnterprise(server, deleteObjects(ticket, { ids: [more], permanent: false }))
    expect(responseBody(ok.text, 'DeleteObjects')).toBe('<IDs/><Reports xsi:nil="true"/>')
    expect(await row(c.tenantId, more)).toMatchObject({ state: 'trashed' })
  })

  it('empty the Trash Can: every object the user may purge, nothing else', async () => {
    const e = await createFixture(server.ctx, 'ee', 'enterprise')
    const other = await server.ctx.admin.createBrand(e.tenantId, 'ee no-purge brand')
    await server.ctx.admin.setAccess(e.tenantId, other, e.users.purger!.id, {
      view: true,
      delete: true,
      purge: false,
    })
    const mine = [await item(e, 'one'), await item(e, 'two')]
    const notMine = await item(e, 'kept', other)
    const active = await item(e, 'still active')
    await server.ctx.trash.trash(e.users.admin!.actor, [...mine, notMine])
    const ticket = await logOn(server, e.users.purger!)
    const request = example('Empty the Trash Can')
    expect(request).toContain('<IDs xsi:nil=”true”/>')
    const reply = await postEnterprise(
      server,
      envelope(request.replace('<Ticket>...</Ticket>', `<Ticket>${ticket}</Ticket>`)),
    )
    expect(handledIds(reply.text, 'DeleteObjects').sort()).toEqual(mine.map(String).sort())
    expect(responseBody(reply.text, 'DeleteObjects')).toMatch(/<Reports\/>$/)
    for (const id of mine) expect(await row(e.tenantId, id)).toBeNull()
    expect(await row(e.tenantId, notMine)).toMatchObject({ state: 'trashed' })
    expect(await row(e.tenantId, active)).toMatchObject({ state: 'active' })
    expect(await lastAudit(e.tenantId, mine[0]!)).toMatchObject({ action: 'purge', door: 'enterprise' })
  })

  it('empty objects deleted by someone specific (Deleter = John)', async () => {
    const j = await createFixture(server.ctx, 'ej', 'enterprise')
    const johnId = await server.ctx.admin.createUser(j.tenantId, { login: 'John', password: 'john-password' })
    await server.ctx.admin.setAccess(j.tenantId, j.brandId, johnId, {
      view: true,
      delete: true,
      purge: false,
    })
    const john = (await server.ctx.auth.authenticate('John', 'john-password', 'enterprise'))!
    const byJohn = [await item(j, 'john 1'), await item(j, 'john 2')]
    const byEditor = await item(j, 'editor 1')
    await server.ctx.trash.trash(john, byJohn)
    await server.ctx.trash.trash(j.users.editor!.actor, [byEditor])
    const ticket = await logOn(server, j.users.admin!)
    const request = example('Empty objects deleted by someone specific')
    expect(request).toContain('<Property>Deleter</Property>')
    const reply = await postEnterprise(
      server,
      envelope(request.replace('<Ticket>...</Ticket>', `<Ticket>${ticket}</Ticket>`)),
    )
    expect(handledIds(reply.text, 'DeleteObjects').sort()).toEqual(byJohn.map(String).sort())
    for (const id of byJohn) expect(await row(j.tenantId, id)).toBeNull()
    expect(await row(j.tenantId, byEditor)).toMatchObject({ state: 'trashed' })
  })

  it('empty objects of a specific brand (PublicationId = 123)', async () => {
    const p = await createFixture(server.ctx, 'ep', 'enterprise')
    await server.database.db.query("insert into brands (tenant_id, id, name) values ($1, 123, 'Brand 123')", [
      p.tenantId,
    ])
    await server.database.db.query("select setval(pg_get_serial_sequence('brands', 'id'), 1000)")
    const in123 = await item(p, 'in brand 123', 123)
    const elsewhere = await item(p, 'in the fixture brand')
    const active123 = await item(p, 'active in 123', 123)
    await server.ctx.trash.trash(p.users.admin!.actor, [in123, elsewhere])
    const ticket = await logOn(server, p.users.admin!)
    const request = example('Empty objects owned by a specific brand')
    expect(request).toContain('<Value>123</Value>')
    const reply = await postEnterprise(
      server,
      envelope(request.replace('<Ticket>...</Ticket>', `<Ticket>${ticket}</Ticket>`)),
    )
    expect(handledIds(reply.text, 'DeleteObjects')).toEqual([String(in123)])
    expect(await row(p.tenantId, in123)).toBeNull()
    expect(await row(p.tenantId, elsewhere)).toMatchObject({ state: 'trashed' })
    expect(await row(p.tenantId, active123)).toMatchObject({ state: 'active' })
  })

  it('trash the current query results (Params, IDs nil, Workflow)', async () => {
    const ticket = await logOn(server, a.users.editor!)
    const hits = [await item(a, 'campaign-2024 one'), await item(a, 'campaign-2024 two')]
    const miss = await item(a, 'something else')
    const request = example('Trash the current query results')
    const params =
      '<Params><Param><Property>Name</Property><Operation>contains</Operation><Value>campaign-2024</Value><Special xsi:nil="true"/></Param></Params>'
    const reply = await postEnterprise(
      server,
      envelope(
        request
          .replace('<Ticket>...</Ticket>', `<Ticket>${ticket}</Ticket>`)
          .replace(/<Params>\.\.\.<\/Params>.*\n/, `${params}\n`),
      ),
    )
    expect(handledIds(reply.text, 'DeleteObjects').sort()).toEqual(hits.map(String).sort())
    for (const id of hits) expect(await row(a.tenantId, id)).toMatchObject({ state: 'trashed' })
    expect(await row(a.tenantId, miss)).toMatchObject({ state: 'active' })
  })
})

describe('DeleteObjects: the Permanent × Areas table', () => {
  it('Permanent 1, Workflow: deleted permanently straight from the workflow (Purge right)', async () => {
    const id = await item(a, 'purge from workflow')
    const ticket = await logOn(server, a.users.purger!)
    const reply = await postEnterprise(
      server,
      deleteObjects(ticket, { ids: [id], permanent: true, areas: ['Workflow'] }),
    )
    expect(responseBody(reply.text, 'DeleteObjects')).toBe(`<IDs><String>${id}</String></IDs><Reports/>`)
    expect(await row(a.tenantId, id)).toBeNull()
    expect(await lastAudit(a.tenantId, id)).toMatchObject({ action: 'purge' })
  })

  it('Permanent 1, Trash: deleted permanently from the Trash Can', async () => {
    const id = await item(a, 'purge from trash')
    const active = await item(a, 'not in the trash')
    await server.ctx.trash.trash(a.users.editor!.actor, [id])
    const ticket = await logOn(server, a.users.purger!)
    const reply = await postEnterprise(
      server,
      deleteObjects(ticket, { ids: [id, active], permanent: true, areas: ['Trash'] }),
    )
    expect(handledIds(reply.text, 'DeleteObjects')).toEqual([String(id)])
    expect(reports(reply.text, 'DeleteObjects')).toEqual([
      { id: String(active), code: 'S1029', level: 'Error' },
    ])
    expect(await row(a.tenantId, id)).toBeNull()
    expect(await row(a.tenantId, active)).toMatchObject({ state: 'active' })
  })

  it('Permanent 1 or 0, Workflow + Trash: refused (not supported)', async () => {
    const id = await item(a, 'both areas')
    const ticket = await logOn(server, a.users.admin!)
    for (const permanent of [true, false]) {
      const reply = await postEnterprise(
        server,
        deleteObjects(ticket, { ids: [id], permanent, areas: ['Workflow', 'Trash'] }),
      )
      expect(fault(reply.text)).toEqual({
        faultcode: 'SOAP-ENV:Server',
        faultstring: 'Missing function parameter (S1000)',
        detail: 'Can only have one of the two areas: Workflow OR Trash',
      })
    }
    expect(await row(a.tenantId, id)).toMatchObject({ state: 'active' })
  })

  it('Permanent 0, Workflow: sent to the Trash Can', async () => {
    const id = await item(a, 'to the trash can')
    const ticket = await logOn(server, a.users.editor!)
    const reply = await postEnterprise(
      server,
      deleteObjects(ticket, { ids: [id], permanent: false, areas: ['Workflow'] }),
    )
    expect(responseBody(reply.text, 'DeleteObjects')).toBe(`<IDs><String>${id}</String></IDs><Reports/>`)
    const stored = await row(a.tenantId, id)
    expect(stored).toMatchObject({ state: 'trashed', deleted_by: a.users.editor!.login })
    expect(stored.deleted_at).toBeInstanceOf(Date)
  })

  it('Permanent 0, Trash: refused (makes no sense)', async () => {
    const id = await item(a, 'trash from trash')
    const ticket = await logOn(server, a.users.admin!)
    const reply = await postEnterprise(
      server,
      deleteObjects(ticket, { ids: [id], permanent: false, areas: ['Trash'] }),
    )
    expect(fault(reply.text)).toEqual({
      faultcode: 'SOAP-ENV:Server',
      faultstring: 'Missing function parameter (S1000)',
      detail: 'Cannot have Area=Trash and Permanent=False combination',
    })
    expect(await row(a.tenantId, id)).toMatchObject({ state: 'active' })
  })

  it('IDs and Params nil without Permanent + Trash: refused', async () => {
    const ticket = await logOn(server, a.users.admin!)
    for (const request of [
      deleteObjects(ticket, { ids: null, permanent: false, areas: ['Workflow'] }),
      deleteObjects(ticket, { ids: null, permanent: true, areas: ['Workflow'] }),
      deleteObjects(ticket, { ids: null, permanent: false }),
    ]) {
      expect(fault((await postEnterprise(server, request)).text)).toEqual({
        faultcode: 'SOAP-ENV:Server',
        faultstring: 'Missing function parameter (S1000)',
        detail: 'Empty Param and Empty IDs are not allowed on Workflow area.',
      })
    }
    const active = await server.database.db.query(
      "select count(*)::int as n from items where tenant_id = $1 and state = 'active'",
      [a.tenantId],
    )
    expect(active.rows[0].n).toBeGreaterThan(0)
  })

  it('accepts Content Station style arrays (<item>, SOAP-ENC attributes) and empty <Areas/> as a v7 client', async () => {
    const id = await item(a, 'content station style')
    const ticket = await logOn(server, a.users.editor!)
    const reply = await postEnterprise(
      server,
      envelope(
        `<ns1:DeleteObjects xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/"><Ticket>${ticket}</Ticket>` +
          `<IDs SOAP-ENC:arrayType="xsd:string[1]" xsi:type="SOAP-ENC:Array"><item>${id}</item></IDs><Permanent>0</Permanent>` +
          '<Areas SOAP-ENC:arrayType="ns1:AreaType[1]" xsi:type="SOAP-ENC:Array"><item>Workflow</item></Areas></ns1:DeleteObjects>',
      ),
    )
    expect(handledIds(reply.text, 'DeleteObjects')).toEqual([String(id)])
    const second = await item(a, 'empty areas')
    const v7 = await postEnterprise(
      server,
      deleteObjects(ticket, { ids: [second], permanent: false, areas: [] }),
    )
    expect(responseBody(v7.text, 'DeleteObjects')).toBe('<IDs/><Reports xsi:nil="true"/>')
    expect(await row(a.tenantId, second)).toMatchObject({ state: 'trashed' })
  })
})

describe('DeleteObjects / RestoreObjects: rights and ids', () => {
  it('no Delete right: trash refused per object; no Purge right: permanent delete refused', async () => {
    const id = await item(a, 'rights target')
    const viewer = await logOn(server, a.users.viewer!)
    const denied = await postEnterprise(
      server,
      deleteObjects(viewer, { ids: [id], permanent: false, areas: ['Workflow'] }),
    )
    expect(handledIds(denied.text, 'DeleteObjects')).toEqual([])
    expect(reports(denied.text, 'DeleteObjects')).toEqual([
      { id: String(id), code: 'S1002', level: 'Warning' },
    ])
    expect(await row(a.tenantId, id)).toMatchObject({ state: 'active' })

    const editor = await logOn(server, a.users.editor!)
    const noPurge = await postEnterprise(
      server,
      deleteObjects(editor, { ids: [id], permanent: true, areas: ['Workflow'] }),
    )
    expect(reports(noPurge.text, 'DeleteObjects')).toEqual([
      { id: String(id), code: 'S1002', level: 'Warning' },
    ])
    expect(await row(a.tenantId, id)).toMatchObject({ state: 'active' })

    await server.ctx.trash.trash(a.users.editor!.actor, [id])
    const fromTrash = await postEnterprise(
      server,
      deleteObjects(editor, { ids: [id], permanent: true, areas: ['Trash'] }),
    )
    expect(reports(fromTrash.text, 'DeleteObjects')).toEqual([
      { id: String(id), code: 'S1002', level: 'Warning' },
    ])
    const restoreDenied = await postEnterprise(
      server,
      envelope(`<ns1:RestoreObjects><Ticket>${viewer}</Ticket>${ids([id])}</ns1:RestoreObjects>`),
    )
    expect(reports(restoreDenied.text, 'RestoreObjects')).toEqual([
      { id: String(id), code: 'S1002', level: 'Warning' },
    ])
    expect(await row(a.tenantId, id)).toMatchObject({ state: 'trashed' })
  })

  it('owners get no exception: Enterprise rights are per brand', async () => {
    const owned = (
      await server.ctx.admin.createItem(a.tenantId, {
        kind: 'file',
        name: 'owned by the viewer',
        type: 'Article',
        brandId: a.brandId,
        ownerId: a.users.viewer!.id,
      })
    ).item.id
    const viewer = await logOn(server, a.users.viewer!)
    const reply = await postEnterprise(
      server,
      deleteObjects(viewer, { ids: [owned], permanent: false, areas: ['Workflow'] }),
    )
    expect(reports(reply.text, 'DeleteObjects')).toEqual([
      { id: String(owned), code: 'S1002', level: 'Warning' },
    ])
  })

  it('a tenant administrator is not limited by access rights', async () => {
    const id = await item(a, 'admin target', viewOnlyBrand)
    const ticket = await logOn(server, a.users.admin!)
    const trash = await postEnterprise(
      server,
      deleteObjects(ticket, { ids: [id], permanent: false, areas: ['Workflow'] }),
    )
    expect(handledIds(trash.text, 'DeleteObjects')).toEqual([String(id)])
    const restore = await postEnterprise(
      server,
      envelope(`<ns1:RestoreObjects><Ticket>${ticket}</Ticket>${ids([id])}</ns1:RestoreObjects>`),
    )
    expect(responseBody(restore.text, 'RestoreObjects')).toBe(`<IDs><String>${id}</String></IDs><Reports/>`)
    const purge = await postEnterprise(
      server,
      deleteObjects(ticket, { ids: [id], permanent: true, areas: ['Workflow'] }),
    )
    expect(handledIds(purge.text, 'DeleteObjects')).toEqual([String(id)])
    expect(await row(a.tenantId, id)).toBeNull()
  })

  it("unknown ids and another tenant's ids: Record not found (S1029), nothing touched", async () => {
    const theirs = await item(b, 'belongs to tenant b')
    const mine = await item(a, 'belongs to tenant a')
    const ticket = await logOn(server, a.users.admin!)
    const reply = await postEnterprise(
      server,
      deleteObjects(ticket, {
        ids: [mine, theirs, 999999, 'abc', "1'; drop table items; --"],
        permanent: false,
        areas: ['Workflow'],
      }),
    )
    expect(handledIds(reply.text, 'DeleteObjects')).toEqual([String(mine)])
    expect(reports(reply.text, 'DeleteObjects')).toEqual([
      { id: String(theirs), code: 'S1029', level: 'Error' },
      { id: '999999', code: 'S1029', level: 'Error' },
      { id: 'abc', code: 'S1029', level: 'Error' },
      { id: '1&apos;; drop table items; --', code: 'S1029', level: 'Error' },
    ])
    expect(responseBody(reply.text, 'DeleteObjects')).toContain(
      `<ErrorReport><BelongsTo><Type>Object</Type><ID>${theirs}</ID><Name xsi:nil="true"/><Role xsi:nil="true"/></BelongsTo><Entries><ErrorReportEntry><Entities/><Message>The database record could not be found. (S1029)</Message><Details>${theirs}</Details><ErrorCode>S1029</ErrorCode><MessageLevel>Error</MessageLevel></ErrorReportEntry></Entries></ErrorReport>`,
    )
    expect(await row(b.tenantId, theirs)).toMatchObject({ state: 'active' })
    const restore = await postEnterprise(
      server,
      envelope(`<ns1:RestoreObjects><Ticket>${ticket}</Ticket>${ids([theirs])}</ns1:RestoreObjects>`),
    )
    expect(reports(restore.text, 'RestoreObjects')).toEqual([
      { id: String(theirs), code: 'S1029', level: 'Error' },
    ])
  })

  it('RestoreObjects brings the same ids back, keeps Deleted/Deletor, renames on a name collision', async () => {
    const original = await item(a, 'collide.txt', a.brandId, 'Article')
    await server.ctx.trash.trash(a.users.editor!.actor, [original])
    const before = await row(a.tenantId, original)
    const newcomer = await item(a, 'collide.txt')
    const ticket = await logOn(server, a.users.editor!)
    const reply = await postEnterprise(
      server,
      envelope(`<ns1:RestoreObjects><Ticket>${ticket}</Ticket>${ids([original])}</ns1:RestoreObjects>`),
    )
    expect(handledIds(reply.text, 'RestoreObjects')).toEqual([String(original)])
    expect(reports(reply.text, 'RestoreObjects')).toEqual([
      { id: String(original), code: '', level: 'Warning' },
    ])
    expect(reply.text).toContain(
      '<Message>The following restored items had to be renamed because the original name was occupied again: collide (restored).txt</Message>',
    )
    const after = await row(a.tenantId, original)
    expect(after).toMatchObject({
      state: 'active',
      name: 'collide (restored).txt',
      deleted_by: a.users.editor!.login,
    })
    expect(after.deleted_at).toEqual(before.deleted_at)
    expect(await row(a.tenantId, newcomer)).toMatchObject({ state: 'active', name: 'collide.txt' })
    expect(await lastAudit(a.tenantId, original)).toMatchObject({ action: 'restore', door: 'enterprise' })
  })
})

describe('racing clients', () => {
  it('a restore racing a permanent delete of the same objects: each object ends in one state, no fault', async () => {
    const objects: number[] = []
    for (let i = 0; i < 20; i++) objects.push(await item(a, `race ${i}`))
    await server.ctx.trash.trash(a.users.admin!.actor, objects)
    const [restorer, purger] = [await logOn(server, a.users.editor!), await logOn(server, a.users.purger!)]
    const [restore, purge] = await Promise.all([
      postEnterprise(
        server,
        envelope(`<ns1:RestoreObjects><Ticket>${restorer}</Ticket>${ids(objects)}</ns1:RestoreObjects>`),
      ),
      postEnterprise(server, deleteObjects(purger, { ids: objects, permanent: true, areas: ['Trash'] })),
    ])
    const restored = handledIds(restore.text, 'RestoreObjects')
    const purged = handledIds(purge.text, 'DeleteObjects')
    expect(restored.filter((id) => purged.includes(id))).toEqual([])
    for (const id of objects) {
      const stored = await row(a.tenantId, id)
      if (restored.includes(String(id))) expect(stored).toMatchObject({ state: 'active' })
      else if (purged.includes(String(id))) expect(stored).toBeNull()
      else throw new Error(`object ${id} was neither restored nor purged`)
    }
    // what one side did not handle, the other reports as gone or not in the Trash Can
    for (const report of [
      ...reports(restore.text, 'RestoreObjects'),
      ...reports(purge.text, 'DeleteObjects'),
    ]) {
      expect(report.code).toBe('S1029')
    }
  })
})

describe('QueryObjects', () => {
  let q: Fixture
  let ticket: string
  const trashed: number[] = []

  beforeAll(async () => {
    q = await createFixture(server.ctx, 'eq', 'enterprise')
    for (const name of ['delta', 'alpha', 'echo', 'charlie', 'bravo']) trashed.push(await item(q, name))
    await server.ctx.trash.trash(q.users.editor!.actor, trashed)
    // distinct deletion times: delta oldest … bravo newest
    await server.database.db.query(
      `update items set deleted_at = timestamptz '2024-03-01T10:00:00Z' + (array_position($2::bigint[], id) * interval '1 hour')
        where tenant_id = $1 and id = any($2::bigint[])`,
      [q.tenantId, trashed],
    )
    await item(q, 'active one')
    ticket = await logOn(server, q.users.editor!)
  })

  const query = (inner: string, areas = '<Areas><AreaType>Trash</AreaType></Areas>') =>
    postEnterprise(
      server,
      envelope(`<ns1:QueryObjects><Ticket>${ticket}</Ticket>${inner}${areas}</ns1:QueryObjects>`),
    )
  const names = (text: string) =>
    [
      ...responseBody(text, 'QueryObjects').matchAll(
        /<Row><String>\d+<\/String><String>[^<]*<\/String><String>([^<]*)<\/String>/g,
      ),
    ].map((m) => m[1])

  it('Trash: ID, Type, Name, Deleted, Deletor first; newest deleted first; paging 1-based', async () => {
    const reply = await query(
      '<Params/><FirstEntry>2</FirstEntry><MaxEntries>2</MaxEntries><Hierarchical>false</Hierarchical><Order xsi:nil="true"/><MinimalProps xsi:nil="true"/><RequestProps xsi:nil="true"/>',
    )
    const body = responseBody(reply.text, 'QueryObjects')
    expect(body).toMatch(
      /^<Columns><Property><Name>ID<\/Name><DisplayName>ID<\/DisplayName><Type>string<\/Type><\/Property><Property><Name>Type<\/Name><DisplayName>Type<\/DisplayName><Type>list<\/Type><\/Property><Property><Name>Name<\/Name><DisplayName>Name<\/DisplayName><Type>string<\/Type><\/Property><Property><Name>Deleted<\/Name><DisplayName>Deleted On<\/DisplayName><Type>datetime<\/Type><\/Property><Property><Name>Deletor<\/Name><DisplayName>Deleted By<\/DisplayName><Type>string<\/Type><\/Property>/,
    )
    expect(names(reply.text)).toEqual(['charlie', 'echo'])
    expect(body).toContain(
      `<Row><String>${trashed[3]}</String><String>Article</String><String>charlie</String><String>2024-03-01T14:00:00</String><String>${q.users.editor!.login}</String>`,
    )
    expect(body).toContain(
      '<ChildColumns xsi:nil="true"/><ChildRows xsi:nil="true"/><ComponentColumns xsi:nil="true"/><ComponentRows xsi:nil="true"/><FirstEntry>2</FirstEntry><ListedEntries>2</ListedEntries><TotalEntries>5</TotalEntries><UpdateID xsi:nil="true"/><Facets xsi:nil="true"/><SearchFeatures xsi:nil="true"/>',
    )
  })

  it('Order by Name ascending or descending, RequestProps choose the columns', async () => {
    const asc = await query(
      '<Params/><FirstEntry>1</FirstEntry><MaxEntries>0</MaxEntries><Order><QueryOrder><Property>Name</Property><Direction>true</Direction></QueryOrder></Order>',
    )
    expect(names(asc.text)).toEqual(['alpha', 'bravo', 'charlie', 'delta', 'echo'])
    const desc = await query(
      '<Params/><Order><QueryOrder><Property>Name</Property><Direction>false</Direction></QueryOrder></Order><RequestProps><String>ID</String><String>PublicationId</String></RequestProps>',
    )
    expect(names(desc.text)).toEqual(['echo', 'delta', 'charlie', 'bravo', 'alpha'])
    const columns = [
      ...responseBody(desc.text, 'QueryObjects').matchAll(/<Property><Name>(\w+)<\/Name>/g),
    ].map((m) => m[1])
    expect(columns).toEqual(['ID', 'Type', 'Name', 'Deleted', 'Deletor', 'PublicationId'])
  })

  it('Params: Deleted between / < / >, Deleter, PublicationId, ID', async () => {
    const between = await query(
      '<Params><QueryParam><Property>Deleted</Property><Operation>between</Operation><Value>2024-03-01T11:30:00</Value><Special xsi:nil="true"/><Value2>2024-03-01T13:30:00</Value2></QueryParam></Params>',
    )
    expect(names(between.text)).toEqual(['echo', 'alpha'])
    const before = await query(
      '<Params><QueryParam><Property>Deleted</Property><Operation>&lt;</Operation><Value>2024-03-01T12:00:00</Value></QueryParam></Params>',
    )
    expect(names(before.text)).toEqual(['delta'])
    const upTo = await query(
      '<Params><QueryParam><Property>Deleted</Property><Operation>&lt;=</Operation><Value>2024-03-01T12:00:00</Value></QueryParam></Params>',
    )
    expect(names(upTo.text)).toEqual(['alpha', 'delta'])
    const afterDay = await query(
      '<Params><QueryParam><Property>Deleted</Property><Operation>&gt;</Operation><Value>2024-03-01</Value></QueryParam></Params>',
    )
    expect(responseBody(afterDay.text, 'QueryObjects')).toContain('<Rows/>')
    expect(responseBody(afterDay.text, 'QueryObjects')).toContain(
      '<FirstEntry xsi:nil="true"/><ListedEntries xsi:nil="true"/><TotalEntries xsi:nil="true"/>',
    )
    const byDeleter = await query(
      `<Params><QueryParam><Property>Deletor</Property><Operation>=</Operation><Value>${q.users.editor!.login}</Value></QueryParam><QueryParam><Property>PublicationId</Property><Operation>=</Operation><Value>${q.brandId}</Value></QueryParam></Params>`,
    )
    expect(names(byDeleter.text)).toHaveLength(5)
    const one = await query(
      `<Params><QueryParam><Property>ID</Property><Operation>=</Operation><Value>${trashed[1]}</Value></QueryParam></Params>`,
    )
    expect(names(one.text)).toEqual(['alpha'])
    const bad = await query(
      '<Params><QueryParam><Property>Colour</Property><Operation>=</Operation><Value>red</Value></QueryParam></Params>',
    )
    expect(fault(bad.text)).toMatchObject({
      faultcode: 'SOAP-ENV:Client',
      faultstring: 'Invalid property (S1020)',
    })
  })

  it('Workflow (Areas nil): active items only; visibility by brand view, admins see all', async () => {
    const workflow = await query('<Params/>', '<Areas xsi:nil="true"/>')
    expect(names(workflow.text)).toEqual(['active one'])
    const columns = [
      ...responseBody(workflow.text, 'QueryObjects').matchAll(/<Property><Name>(\w+)<\/Name>/g),
    ].map((m) => m[1])
    expect(columns.slice(0, 3)).toEqual(['ID', 'Type', 'Name'])
    expect(columns).not.toContain('Deleted')
    const outsider = await logOn(server, q.users.outsider!)
    const none = await postEnterprise(
      server,
      envelope(
        `<ns1:QueryObjects><Ticket>${outsider}</Ticket><Params/><Areas><AreaType>Trash</AreaType></Areas></ns1:QueryObjects>`,
      ),
    )
    expect(responseBody(none.text, 'QueryObjects')).toContain('<Rows/>')
    const admin = await logOn(server, q.users.admin!)
    const all = await postEnterprise(
      server,
      envelope(
        `<ns1:QueryObjects><Ticket>${admin}</Ticket><Params/><Areas><AreaType>Trash</AreaType></Areas></ns1:QueryObjects>`,
      ),
    )
    expect(responseBody(all.text, 'QueryObjects')).toContain('<TotalEntries>5</TotalEntries>')
  })
})

describe('brands, issues and categories in use', () => {
  it('an occupied issue, category or brand cannot be deleted (trashed objects included); moving objects frees them', async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
    const brand = await server.ctx.admin.createBrand(a.tenantId, 'ea cleanup brand')
    const issue = await server.ctx.admin.createIssue(a.tenantId, brand, 'Issue 7')
    const otherIssue = await server.ctx.admin.createIssue(a.tenantId, brand, 'Issue 8')
    const category = await server.ctx.admin.createCategory(a.tenantId, brand, 'Sports')
    const id = (
      await server.ctx.admin.createItem(a.tenantId, {
        kind: 'file',
        name: 'in issue 7',
        brandId: brand,
        issueId: issue,
        categoryId: category,
      })
    ).item.id
    await server.ctx.trash.trash(a.users.admin!.actor, [id])
    const del = (url: string) =>
      fetch(`${server.baseUrl}/api/v1/tenants/${a.tenantId}${url}`, { method: 'DELETE', headers: admin })
    expect((await del(`/issues/${issue}`)).status).toBe(409)
    expect((await del(`/categories/${category}`)).status).toBe(409)
    expect((await del(`/brands/${brand}`)).status).toBe(409)
    const moved = await fetch(`${server.baseUrl}/api/v1/tenants/${a.tenantId}/items/move`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ ids: [id], issueId: otherIssue, categoryId: null }),
    })
    expect(await moved.json()).toEqual({ moved: [id] })
    expect((await del(`/issues/${issue}`)).status).toBe(200)
    expect((await del(`/categories/${category}`)).status).toBe(200)
    expect(
      (await server.database.db.query('select issue_id, state from items where id = $1', [id])).rows[0],
    ).toEqual({
      issue_id: otherIssue,
      state: 'trashed',
    })
    const empty = await server.ctx.admin.createBrand(a.tenantId, 'ea empty brand')
    expect((await del(`/brands/${empty}`)).status).toBe(200)
  })

  it("moving to another brand's issue moves the object into that brand, leaving its old category behind", async () => {
    const move = (body: Record<string, unknown>) =>
      fetch(`${server.baseUrl}/api/v1/tenants/${a.tenantId}/items/move`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    const from = await server.ctx.admin.createBrand(a.tenantId, 'ea from brand')
    const to = await server.ctx.admin.createBrand(a.tenantId, 'ea to brand')
    const fromIssue = await server.ctx.admin.createIssue(a.tenantId, from, 'From issue')
    const fromCategory = await server.ctx.admin.createCategory(a.tenantId, from, 'From section')
    const toIssue = await server.ctx.admin.createIssue(a.tenantId, to, 'To issue')
    const toCategory = await server.ctx.admin.createCategory(a.tenantId, to, 'To section')
    const id = (
      await server.ctx.admin.createItem(a.tenantId, {
        kind: 'file',
        name: 'crossing brands',
        brandId: from,
        issueId: fromIssue,
        categoryId: fromCategory,
      })
    ).item.id
    const row = async () =>
      (
        await server.database.db.query('select brand_id, issue_id, category_id from items where id = $1', [
          id,
        ])
      ).rows[0]

    const mixed = await move({ ids: [id], issueId: toIssue, categoryId: fromCategory })
    expect(mixed.status).toBe(422)
    expect(await mixed.json()).toMatchObject({
      code: 'INVALID_INPUT',
      detail: 'The issue and the category belong to different brands',
    })
    expect(await row()).toEqual({ brand_id: from, issue_id: fromIssue, category_id: fromCategory })

    expect(await (await move({ ids: [id], issueId: toIssue })).json()).toEqual({ moved: [id] })
    expect(await row()).toEqual({ brand_id: to, issue_id: toIssue, category_id: null })
    // the old brand is free again
    expect(
      (
        await fetch(`${server.baseUrl}/api/v1/tenants/${a.tenantId}/brands/${from}`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        })
      ).status,
    ).toBe(200)
    expect(await (await move({ ids: [id], categoryId: toCategory })).json()).toEqual({ moved: [id] })
    expect(await row()).toEqual({ brand_id: to, issue_id: toIssue, category_id: toCategory })
  })
})
