import type { AppContext } from './context.js'

export const DEMO = {
  tenant: 'Demo Company',
  admin: { login: 'admin', password: 'admin-demo-password', displayName: 'Demo Admin' },
  users: [
    {
      login: 'alice',
      password: 'alice-demo-password',
      displayName: 'Alice Editor',
      email: 'alice@example.com',
    },
    { login: 'bob', password: 'bob-demo-password', displayName: 'Bob Viewer', email: 'bob@example.com' },
  ],
}

/** Creates the demo tenant once (a second call sees it and does nothing). Returns its id. */
export async function seedDemo(ctx: AppContext): Promise<{ tenantId: number; created: boolean }> {
  const existing = (await ctx.admin.listTenants()).find((tenant) => tenant.name === DEMO.tenant)
  if (existing) return { tenantId: existing.id, created: false }
  const tenantId = await ctx.admin.createTenant(DEMO.tenant, 7)
  const adminId = await ctx.admin.createUser(tenantId, {
    ...DEMO.admin,
    admin: true,
    ipsRole: 'IpsCompanyAdmin',
  })
  const [aliceId, bobId] = [
    await ctx.admin.createUser(tenantId, DEMO.users[0]!),
    await ctx.admin.createUser(tenantId, { ...DEMO.users[1]!, ipsRole: 'ImagePortalUser' }),
  ]
  const brandId = await ctx.admin.createBrand(tenantId, 'WW News')
  await ctx.admin.createIssue(tenantId, brandId, 'Issue 1')
  await ctx.admin.createCategory(tenantId, brandId, 'News')
  await ctx.admin.setAccess(tenantId, brandId, aliceId!, { view: true, delete: true, purge: false })
  await ctx.admin.setAccess(tenantId, brandId, bobId!, { view: true, delete: false, purge: false })

  const folder = async (name: string, parentId: number | null) =>
    (await ctx.admin.createItem(tenantId, { kind: 'folder', name, parentId, ownerId: adminId })).item.id
  const file = async (name: string, parentId: number | null, type: string, text: string, ownerId: number) =>
    (
      await ctx.admin.createItem(tenantId, {
        kind: 'file',
        name,
        parentId,
        type,
        ownerId,
        brandId: type === 'Article' || type === 'Layout' ? brandId : null,
        content: Buffer.from(text),
        contentType: 'application/octet-stream',
      })
    ).item.id
  const library = await folder('Library', null)
  const finance = await folder('Finance', library)
  const images = await folder('images', library)
  await file('Q1-2024-Report.pdf', finance, 'Document', 'Q1 report', aliceId!)
  await file('Budget.xlsx', finance, 'Document', 'budget', aliceId!)
  await file('hat.jpg', images, 'Image', 'jpeg bytes', aliceId!)
  await file('shoe.jpg', images, 'Image', 'jpeg bytes', aliceId!)
  const article = await file('Front page.wcml', library, 'Article', 'article text', aliceId!)
  // a version history for Enterprise's ListVersions and GetVersion
  await ctx.objects.addVersion(tenantId, article, {
    content: Buffer.from('article text, second draft'),
    comment: 'second draft',
    createdBy: aliceId!,
  })
  await file('Front page layout.indd', library, 'Layout', 'layout bytes', adminId)
  const old = await folder('Old campaign', library)
  await file('banner.png', old, 'Image', 'png bytes', aliceId!)

  // something in the trash to look at
  const alice = (await ctx.auth.authenticate(DEMO.users[0]!.login, DEMO.users[0]!.password, 'cli'))!
  await ctx.trash.trash(alice, [old])
  return { tenantId, created: true }
}

/** Users that still have a password published above (demo logins with their demo passwords). */
export async function usersWithPublishedPasswords(ctx: AppContext) {
  const found = []
  for (const { login, password } of [DEMO.admin, ...DEMO.users]) {
    const user = await ctx.auth.userWithPassword(login, password)
    if (user) found.push(user)
  }
  return found
}

export function demoInstructions(baseUrl: string, tenantId: number): string {
  const a = DEMO.admin
  const u = DEMO.users[0]!
  return [
    `Demo tenant ${tenantId} (IPS company handle c|${tenantId}); users:`,
    `  ${a.login} / ${a.password} (tenant administrator)`,
    ...DEMO.users.map((user) => `  ${user.login} / ${user.password}`),
    'Try:',
    `  REST      curl -u ${u.login}:${u.password} '${baseUrl}/api/v1/trash'`,
    `  IPS       curl -u ${u.login}:${u.password} -H 'content-type: text/xml' ${baseUrl}/scene7/services/IpsApiService -d '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><searchAssetsParam xmlns="http://www.scene7.com/IpsApi/xsd/2014-04-03"><companyHandle>c|${tenantId}</companyHandle><trashState>InTrash</trashState></searchAssetsParam></soapenv:Body></soapenv:Envelope>'`,
    `  srv.asmx  curl '${baseUrl}/srv.asmx/AuthenticateUser?UID=${u.login}&PWD=${u.password}'  then  curl '${baseUrl}/srv.asmx/GetRecycleBinContent?AuthenticationTicket=<ticket>'`,
    `  Web page  ${baseUrl}/ (sign in as ${u.login} / ${u.password}, or ${a.login} for the whole tenant)`,
    `  Enterprise curl -H 'content-type: text/xml' ${baseUrl}/Enterprise/index.php -d '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="urn:SmartConnection"><SOAP-ENV:Body><ns1:LogOn><User>${u.login}</User><Password>${u.password}</Password><ClientName>curl</ClientName><ClientAppName>curl</ClientAppName></ns1:LogOn></SOAP-ENV:Body></SOAP-ENV:Envelope>'  then QueryObjects with <Ticket>, <Params/> and <Areas><AreaType>Trash</AreaType></Areas>`,
    `  Events    curl -N -u ${u.login}:${u.password} '${baseUrl}/api/v1/events'`,
  ].join('\n')
}
