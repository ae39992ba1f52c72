import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asmx } from './helpers/asmx.js'
import { all, authHeader, bodyOf, faultOf, ns, post, soap11, text, type User } from './helpers/ips.js'
import { ADMIN_TOKEN, startTestServer, type TestServer } from './helpers/server.js'

const SERVICE = '/scene7/services/IpsApiService'
const NS = ns('2014-04-03')

let server: TestServer
const acme = { tenantId: 0, carol: 0, dave: 0, admin: 0 }
const globex = { tenantId: 0, carol: 0 }
const carolAcme: User = { login: 'carol@example.com', password: 'carol-acme-password' }
const carolGlobex: User = { login: 'carol@example.com', password: 'carol-globex-password' }

beforeAll(async () => {
  server = await startTestServer()
  const admin = server.ctx.admin
  acme.tenantId = await admin.createTenant('Acme Corp')
  globex.tenantId = await admin.createTenant('Globex')
  acme.carol = await admin.createUser(acme.tenantId, {
    login: 'carol-acme',
    password: carolAcme.password,
    email: 'Carol@Example.com',
  })
  acme.dave = await admin.createUser(acme.tenantId, {
    login: 'dave',
    password: 'dave-password',
    email: 'dave@example.com',
    ipsRole: 'ImagePortalUser',
  })
  acme.admin = await admin.createUser(acme.tenantId, {
    login: 'acme-admin',
    password: 'acme-admin-password',
    email: 'admin@acme.example',
    admin: true,
    ipsRole: 'IpsCompanyAdmin',
  })
  globex.carol = await admin.createUser(globex.tenantId, {
    login: 'carol-globex',
    password: carolGlobex.password,
    email: 'carol@example.com',
  })
})

afterAll(async () => {
  await server?.close()
})

const call = (user: User, body: string, headers?: Record<string, string>) =>
  post(server.baseUrl, SERVICE, soap11(body, authHeader(user)), {
    'content-type': 'text/xml; charset=utf-8',
    ...headers,
  })

const search = (tenantId: number, inner = '') =>
  `<searchAssetsParam xmlns="${NS}"><companyHandle>c|${tenantId}</companyHandle>${inner}<trashState>Any</trashState></searchAssetsParam>`

describe('e-mail logins', () => {
  it('signs in with the e-mail address wherever IPS takes a user (authHeader, Basic, AuthUser), any case', async () => {
    const reply = await call(
      { login: 'CAROL@example.COM', password: carolAcme.password },
      search(acme.tenantId),
    )
    expect(reply.status, reply.text).toBe(200)
    const basic = await post(server.baseUrl, SERVICE, soap11(search(acme.tenantId)), {
      'content-type': 'text/xml; charset=utf-8',
      authorization: `Basic ${Buffer.from(`carol@example.com:${carolAcme.password}`).toString('base64')}`,
    })
    expect(basic.status, basic.text).toBe(200)
    const legacy = await post(
      server.baseUrl,
      SERVICE,
      soap11(
        search(acme.tenantId),
        `<AuthUser xmlns="http://www.scene7.com/IpsApi">carol@example.com</AuthUser><AuthPassword xmlns="http://www.scene7.com/IpsApi">${carolAcme.password}</AuthPassword>`,
      ),
    )
    expect(legacy.status, legacy.text).toBe(200)
    // the login still works
    const byLogin = await call({ login: 'carol-acme', password: carolAcme.password }, search(acme.tenantId))
    expect(byLogin.status).toBe(200)
  })

  it('an address used in two companies signs in to the company the request names', async () => {
    // each company's Carol has her own password: the request's company decides whose is checked
    expect((await call(carolGlobex, search(globex.tenantId))).status).toBe(200)
    expect((await call(carolAcme, search(acme.tenantId))).status).toBe(200)
    // Globex's password is the wrong one for Acme's Carol
    const wrongCompany = await call(carolGlobex, search(acme.tenantId))
    expect(wrongCompany.status).toBe(500)
    expect(faultOf(wrongCompany.root)).toMatchObject({ element: 'authenticationFault', code: '10001' })
    // Dave is no user of Globex: valid credentials, but not of that company
    const dave = { login: 'dave@example.com', password: 'dave-password' }
    expect(faultOf((await call(dave, search(globex.tenantId))).root)).toMatchObject({
      element: 'authorizationFault',
      code: '20006',
    })
    const wrongPassword = await call({ login: 'carol@example.com', password: 'nope' }, search(acme.tenantId))
    expect(faultOf(wrongPassword.root).code).toBe('10001')
  })

  it('checkLogin takes an e-mail address (or a login) of the caller’s company', async () => {
    const check = async (email: string, password: string) =>
      text(
        bodyOf(
          (
            await call(
              carolAcme,
              `<checkLoginParam xmlns="${NS}"><companyHandle>c|${acme.tenantId}</companyHandle><email>${email}</email><password>${password}</password></checkLoginParam>`,
            )
          ).root,
        ),
        'status',
      )
    expect(await check('dave@example.com', 'dave-password')).toBe('ValidLogin')
    expect(await check('dave', 'dave-password')).toBe('ValidLogin')
    expect(await check('dave@example.com', 'wrong')).toBe('InvalidLogin')
    // Globex's Carol is no user of Acme
    expect(await check('carol@example.com', carolGlobex.password)).toBe('InvalidLogin')
  })

  it('keeps e-mail addresses unique per tenant (case-insensitive), not across tenants', async () => {
    const create = (tenantId: number, email: string) =>
      fetch(`${server.baseUrl}/api/v1/tenants/${tenantId}/users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ login: `u-${tenantId}-${email}`, password: 'some-long-password', email }),
      })
    expect((await create(acme.tenantId, 'erin@example.com')).status).toBe(201)
    expect((await create(acme.tenantId, 'ERIN@example.com')).status).toBe(409)
    expect((await create(globex.tenantId, 'erin@example.com')).status).toBe(201)
  })
})

describe('getCompanyInfo and getCompanyMembership', () => {
  const info = (inner: string, version = '2014-04-03') =>
    `<getCompanyInfoParam xmlns="${ns(version)}">${inner}</getCompanyInfoParam>`

  it('getCompanyInfo(companyName) answers the company handle, name and root path', async () => {
    for (const name of ['Acme Corp', 'acme corp', 'AcmeCorp']) {
      const reply = await call(carolAcme, info(`<companyName>${name}</companyName>`))
      expect(reply.status, reply.text).toBe(200)
      expect(reply.text).toContain(
        `<getCompanyInfoReturn xmlns="${NS}"><companyInfo><companyHandle>c|${acme.tenantId}</companyHandle><name>Acme Corp</name><rootPath>AcmeCorp/</rootPath></companyInfo></getCompanyInfoReturn>`,
      )
    }
    const byHandle = await call(
      carolAcme,
      info(`<companyHandle>c|${acme.tenantId}</companyHandle>`, '2008-01-15'),
    )
    expect(text(bodyOf(byHandle.root), 'companyInfo/name')).toBe('Acme Corp')
    // Carol's address signs in to both companies: each name finds its own
    const other = await call(carolGlobex, info('<companyName>Globex</companyName>'))
    expect(text(bodyOf(other.root), 'companyInfo/companyHandle')).toBe(`c|${globex.tenantId}`)
  })

  it('does not describe a company the caller is no member of', async () => {
    const dave = { login: 'dave@example.com', password: 'dave-password' }
    const byName = await call(dave, info('<companyName>Globex</companyName>'))
    expect(faultOf(byName.root)).toMatchObject({ element: 'ipsApiFault', code: '30001' })
    const unknown = await call(dave, info('<companyName>No Such Company</companyName>'))
    expect(faultOf(unknown.root).reason).toBe(
      faultOf(byName.root).reason.replace('Globex', 'No Such Company'),
    )
    const byHandle = await call(dave, info(`<companyHandle>c|${globex.tenantId}</companyHandle>`))
    expect(faultOf(byHandle.root)).toMatchObject({ element: 'authorizationFault', code: '20006' })
    const neither = await call(dave, info(''))
    expect(faultOf(neither.root).code).toBe('30002')
  })

  it('getCompanyMembership lists the signed-in user’s companies with their roles', async () => {
    const reply = await call(carolAcme, `<getCompanyMembershipParam xmlns="${NS}"/>`)
    expect(reply.text).toContain(
      `<membershipArray><items><company><companyHandle>c|${acme.tenantId}</companyHandle><name>Acme Corp</name><rootPath>AcmeCorp/</rootPath></company><role>IpsUser</role><isActive>true</isActive></items></membershipArray>`,
    )
    // one address, the same password in both companies: a member of both
    await server.ctx.admin.setPassword(globex.tenantId, globex.carol, carolAcme.password)
    try {
      const both = await call(carolAcme, `<getCompanyMembershipParam xmlns="${NS}"/>`)
      expect(
        all(bodyOf(both.root), 'membershipArray/items/company/companyHandle').map((e) => e.text),
      ).toEqual([`c|${acme.tenantId}`, `c|${globex.tenantId}`])
    } finally {
      await server.ctx.admin.setPassword(globex.tenantId, globex.carol, carolGlobex.password)
      server.ctx.auth.forgetVerifiedPasswords()
    }
    // the pre-4.0 API lists the companies themselves
    const old = await call(carolAcme, '<getCompanyMembershipParam xmlns="http://www.scene7.com/IpsApi/xsd"/>')
    expect(old.text).toContain(
      `<membershipArray><items><companyHandle>c|${acme.tenantId}</companyHandle><name>Acme Corp</name><rootPath>AcmeCorp/</rootPath></items></membershipArray>`,
    )
  })

  it('another user’s memberships: company administrators of their own company only', async () => {
    const admin = { login: 'admin@acme.example', password: 'acme-admin-password' }
    const ofDave = await call(
      admin,
      `<getCompanyMembershipParam xmlns="${NS}"><userHandle>u|${acme.dave}|dave@example.com</userHandle></getCompanyMembershipParam>`,
    )
    expect(text(bodyOf(ofDave.root), 'membershipArray/items/role')).toBe('ImagePortalUser')
    const refused = await call(
      carolAcme,
      `<getCompanyMembershipParam xmlns="${NS}"><userHandle>u|${acme.dave}</userHandle></getCompanyMembershipParam>`,
    )
    expect(faultOf(refused.root)).toMatchObject({ element: 'authorizationFault', code: '20007' })
    const otherCompany = await call(
      admin,
      `<getCompanyMembershipParam xmlns="${NS}"><userHandle>u|${globex.carol}</userHandle></getCompanyMembershipParam>`,
    )
    expect(faultOf(otherCompany.root).code).toBe('20007')
  })

  it('are versioned like the other operations: in every WSDL, answered in the request’s namespace', async () => {
    for (const version of ['', '2008-01-15', '2023-01-15']) {
      const wsdl = await (
        await fetch(`${server.baseUrl}/scene7/webservice/IpsApi${version ? `-${version}` : ''}.wsdl`)
      ).text()
      for (const op of ['getCompanyInfo', 'getCompanyMembership']) {
        expect(wsdl).toContain(`<wsdl:operation name="${op}">`)
        expect(wsdl).toContain(`<xsd:element name="${op}Param">`)
      }
      const namespace = version ? ns(version) : 'http://www.scene7.com/IpsApi/xsd'
      const reply = await call(
        carolAcme,
        `<getCompanyInfoParam xmlns="${namespace}"><companyName>Acme Corp</companyName></getCompanyInfoParam>`,
      )
      expect(reply.text).toContain(`<getCompanyInfoReturn xmlns="${namespace}">`)
    }
  })
})

describe('WSDLs every toolkit loads as served', () => {
  it('binds the faults in the SOAP 1.1 binding only: Axis 1.4 knows no soap12:fault', async () => {
    for (const version of ['', '2008-01-15', '2014-04-03', '2023-01-15']) {
      const wsdl = await (
        await fetch(`${server.baseUrl}/scene7/webservice/IpsApi${version ? `-${version}` : ''}.wsdl`)
      ).text()
      const soap12 = wsdl.slice(wsdl.indexOf('<wsdl:binding name="IpsApiSoap12Binding"'))
      expect(soap12).not.toContain('soap12:fault')
      expect(soap12.slice(0, soap12.indexOf('</wsdl:binding>'))).not.toContain('<wsdl:fault')
      const soap11 = wsdl.slice(wsdl.indexOf('<wsdl:binding name="IpsApiSoapBinding"'))
      expect(soap11).toContain('<soap:fault name="authenticationFault" use="literal"/>')
    }
  })
})

describe('assets trashed with their folder through another door', () => {
  it('are InTrash for getAssets and searchAssets; restorable by whom may, else refused naming the folder', async () => {
    const admin = server.ctx.admin
    const library = (
      await admin.createItem(acme.tenantId, { kind: 'folder', name: 'Library', ownerId: acme.admin })
    ).item
    const campaign = (
      await admin.createItem(acme.tenantId, {
        kind: 'folder',
        name: 'Old campaign',
        parentId: library.id,
        ownerId: acme.admin,
      })
    ).item
    const banner = (
      await admin.createItem(acme.tenantId, {
        kind: 'file',
        name: 'banner.png',
        type: 'Image',
        parentId: campaign.id,
        ownerId: acme.carol,
        content: Buffer.from('png'),
      })
    ).item
    // the administrator deletes the folder over srv.asmx
    const ticket = (
      await asmx(server.baseUrl, 'GET', 'AuthenticateUser', { UID: 'acme-admin', PWD: 'acme-admin-password' })
    ).response.attrs.ticket!
    const deleted = await asmx(server.baseUrl, 'GET', 'DeleteFolder', {
      authenticationTicket: ticket,
      Path: '\\Library\\Old campaign',
    })
    expect(deleted.success).toBe('true')

    const handle = `a|${banner.id}`
    const assets = await call(
      carolAcme,
      `<getAssetsParam xmlns="${NS}"><companyHandle>c|${acme.tenantId}</companyHandle><assetHandleArray><items>${handle}</items></assetHandleArray></getAssetsParam>`,
    )
    expect(text(bodyOf(assets.root), 'assetArray/items/trashState')).toBe('InTrash')
    expect(text(bodyOf(assets.root), 'assetArray/items/folder')).toBe('AcmeCorp/Library/Old campaign/')
    const found = await call(
      carolAcme,
      `<searchAssetsParam xmlns="${NS}"><companyHandle>c|${acme.tenantId}</companyHandle><folder>AcmeCorp/Library/</folder><includeSubfolders>true</includeSubfolders><trashState>InTrash</trashState></searchAssetsParam>`,
    )
    expect(all(bodyOf(found.root), 'assetArray/items/assetHandle').map((e) => e.text)).toEqual([handle])

    // Carol owns the asset but did not delete the folder: refused, and the reason names the folder
    const batch = (op: string) =>
      `<${op}Param xmlns="${NS}"><companyHandle>c|${acme.tenantId}</companyHandle><assetHandleArray><items>${handle}</items></assetHandleArray></${op}Param>`
    for (const op of ['restoreAssetsFromTrash', 'emptyAssetsFromTrash']) {
      const refused = await call(carolAcme, batch(op))
      expect(text(bodyOf(refused.root), 'errorCount'), refused.text).toBe('1')
      expect(text(bodyOf(refused.root), 'errorDetailArray/items/reason')).toBe(
        `User does not have permission to access asset '${handle}' with operation '${op}': it was deleted with folder 'AcmeCorp/Library/Old campaign/'`,
      )
    }
    const state = async () =>
      (await server.ctx.db.query('select state, parent_id from items where id = $1', [banner.id])).rows[0]
    expect(await state()).toEqual({ state: 'trashed', parent_id: campaign.id })

    // the one who deleted the folder restores the asset: back in its folder's path, the folder recreated
    const restored = await call(
      { login: 'admin@acme.example', password: 'acme-admin-password' },
      batch('restoreAssetsFromTrash'),
    )
    expect(text(bodyOf(restored.root), 'successCount'), restored.text).toBe('1')
    const after = await call(
      carolAcme,
      `<getAssetsParam xmlns="${NS}"><companyHandle>c|${acme.tenantId}</companyHandle><assetHandleArray><items>${handle}</items></assetHandleArray></getAssetsParam>`,
    )
    expect(text(bodyOf(after.root), 'assetArray/items/trashState')).toBe('NotInTrash')
    expect(text(bodyOf(after.root), 'assetArray/items/folder')).toBe('AcmeCorp/Library/Old campaign/')
    expect((await state())!.state).toBe('active')
  })
})
