import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseXml, type XmlElement } from '../src/protocols/soap/xml.js'
import { asmx } from './helpers/asmx.js'
import { deleteObjects, envelope, handledIds, logOn, postEnterprise } from './helpers/enterprise.js'
import { tenantFingerprint } from './helpers/hardening.js'
import { authHeader, bodyOf, faultOf, ns, post, soap11 } from './helpers/ips.js'
import { basicAuth, createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

/**
 * Two tenants. The attacker (tenant b, every role, its own valid credentials and tickets) names the victim's
 * (tenant a) ids, handles, company handle, paths and tickets through every door: every read finds nothing,
 * every write is refused, and the victim's items and audit rows are byte-for-byte unchanged.
 */

let server: TestServer
let victim: Fixture
let attacker: Fixture
const v = { trashedFile: 0, trashedFolder: 0, childOfFolder: 0, activeFile: 0, activeFolder: 0 }
let victimTickets: { asmx: string; enterprise: string }

const IPS_NS = ns('2012-02-14')
const ROLES = ['admin', 'editor', 'purger', 'viewer', 'outsider'] as const

beforeAll(async () => {
  server = await startTestServer()
  victim = await createFixture(server.ctx, 'iv')
  attacker = await createFixture(server.ctx, 'ia')
  const make = async (kind: 'file' | 'folder', name: string, parentId: number | null = null) =>
    (
      await server.ctx.admin.createItem(victim.tenantId, {
        kind,
        name,
        parentId,
        brandId: victim.brandId,
        ownerId: victim.users.editor!.id,
      })
    ).item.id
  v.activeFolder = await make('folder', 'Reports')
  v.activeFile = await make('file', 'plan.txt', v.activeFolder)
  v.trashedFolder = await make('folder', 'Old')
  v.childOfFolder = await make('file', 'inside.txt', v.trashedFolder)
  v.trashedFile = await make('file', 'secret.txt')
  const editor = victim.users.editor!.actor
  await server.ctx.trash.trash(editor, [v.trashedFolder, v.trashedFile])
  const auth = await asmx(server.baseUrl, 'GET', 'AuthenticateUser', {
    UID: victim.users.admin!.login,
    PWD: victim.users.admin!.password,
  })
  victimTickets = { asmx: auth.response.attrs.ticket!, enterprise: await logOn(server, victim.users.admin!) }
})

afterAll(async () => {
  await server?.close()
})

const victimIds = () => [v.trashedFile, v.trashedFolder, v.childOfFolder, v.activeFile, v.activeFolder]
const unchanged = async (run: () => Promise<void>) => {
  const before = await tenantFingerprint(server.database.db, victim.tenantId, { operations: true })
  await run()
  expect(await tenantFingerprint(server.database.db, victim.tenantId, { operations: true })).toEqual(before)
}

describe('isolation: IPS', () => {
  const batch = (op: string, company: string, handles: string[]) =>
    `<${op}Param xmlns="${IPS_NS}"><companyHandle>${company}</companyHandle><assetHandleArray>${handles
      .map((h) => `<items>${h}</items>`)
      .join('')}</assetHandleArray></${op}Param>`
  const search = (company: string, extra = '') =>
    `<searchAssetsParam xmlns="${IPS_NS}"><companyHandle>${company}</companyHandle>${extra}<trashState>Any</trashState></searchAssetsParam>`

  it("the victim's company handle is refused (20006) for every operation and role", async () => {
    await unchanged(async () => {
      const company = `c|${victim.tenantId}`
      const handles = victimIds().map((id) => `a|${id}`)
      for (const role of ROLES) {
        const header = authHeader(attacker.users[role]!)
        for (const op of [
          batch('restoreAssetsFromTrash', company, handles),
          batch('emptyAssetsFromTrash', company, handles),
          batch('deleteAssets', company, handles),
          `<deleteAssetParam xmlns="${IPS_NS}"><companyHandle>${company}</companyHandle><assetHandle>a|${v.activeFile}</assetHandle></deleteAssetParam>`,
          `<getAssetsParam xmlns="${IPS_NS}"><companyHandle>${company}</companyHandle><assetHandleArray><items>a|${v.trashedFile}</items></assetHandleArray></getAssetsParam>`,
          search(company),
          `<getCompanyInfoParam xmlns="${IPS_NS}"><companyHandle>${company}</companyHandle></getCompanyInfoParam>`,
        ]) {
          const reply = await post(server.baseUrl, '/scene7/services/IpsApiService', soap11(op, header))
          expect(reply.status, `${role}: ${reply.text}`).toBe(500)
          const fault = faultOf(reply.root)
          // roles that may not use an operation at all are refused before the company is looked at
          expect(['20006', '20003'], `${role} ${op}: ${reply.text}`).toContain(fault.code)
        }
      }
    })
  })

  it("the victim's company name and users are not found: getCompanyInfo 30001, getCompanyMembership 20007", async () => {
    await unchanged(async () => {
      for (const role of ROLES) {
        const header = authHeader(attacker.users[role]!)
        const byName = await post(
          server.baseUrl,
          '/scene7/services/IpsApiService',
          soap11(
            `<getCompanyInfoParam xmlns="${IPS_NS}"><companyName>iv tenant</companyName></getCompanyInfoParam>`,
            header,
          ),
        )
        expect(['30001', '20003'], `${role}: ${byName.text}`).toContain(faultOf(byName.root).code)
        for (const user of ROLES) {
          const membership = await post(
            server.baseUrl,
            '/scene7/services/IpsApiService',
            soap11(
              `<getCompanyMembershipParam xmlns="${IPS_NS}"><userHandle>u|${victim.users[user]!.id}</userHandle></getCompanyMembershipParam>`,
              header,
            ),
          )
          expect(membership.text).not.toContain('iv tenant')
          expect(['20007', '20003'], `${role} → ${user}: ${membership.text}`).toContain(
            faultOf(membership.root).code,
          )
        }
      }
    })
  })

  it("the victim's asset handles under the attacker's own company are per-item errors; searches find nothing", async () => {
    await unchanged(async () => {
      const company = `c|${attacker.tenantId}`
      const handles = victimIds().map((id) => `a|${id}`)
      const header = authHeader(attacker.users.admin!)
      for (const op of ['restoreAssetsFromTrash', 'emptyAssetsFromTrash', 'deleteAssets']) {
        const reply = await post(
          server.baseUrl,
          '/scene7/services/IpsApiService',
          soap11(batch(op, company, handles), header),
        )
        expect(reply.status, reply.text).toBe(200)
        const result = bodyOf(reply.root)
        const count = (name: string) => result.children.find((c) => c.name === name)?.text
        expect([count('successCount'), count('warningCount'), count('errorCount')], reply.text).toEqual([
          '0',
          '0',
          String(handles.length),
        ])
      }
      const assets = await post(
        server.baseUrl,
        '/scene7/services/IpsApiService',
        soap11(
          `<getAssetsParam xmlns="${IPS_NS}"><companyHandle>${company}</companyHandle><assetHandleArray>${handles
            .map((h) => `<items>${h}</items>`)
            .join('')}</assetHandleArray></getAssetsParam>`,
          header,
        ),
      )
      expect(assets.text).not.toMatch(/secret\.txt|plan\.txt|inside\.txt|Reports|>Old</)
      for (const folder of ['', '<folder>Reports/</folder><includeSubfolders>true</includeSubfolders>']) {
        const found = await post(
          server.baseUrl,
          '/scene7/services/IpsApiService',
          soap11(search(company, folder), header),
        )
        expect(found.text).not.toMatch(/secret\.txt|plan\.txt|inside\.txt/)
        for (const id of victimIds()) expect(found.text).not.toContain(`>a|${id}<`)
      }
    })
  })
})

describe('isolation: srv.asmx', () => {
  const transports = ['GET', 'POST', 'SOAP11', 'SOAP12'] as const

  it("the victim's handlers, paths and delete log are out of reach for every attacker role and binding", async () => {
    await unchanged(async () => {
      for (const role of ROLES) {
        const login = await asmx(server.baseUrl, 'GET', 'AuthenticateUser', {
          UID: attacker.users[role]!.login,
          PWD: attacker.users[role]!.password,
        })
        const ticket = login.response.attrs.ticket!
        for (const transport of transports) {
          const calls: [string, Record<string, string>][] = [
            [
              'RestoreRecycleBinItem',
              { AuthenticationTicket: ticket, ItemHandler: `D${v.trashedFile}`, RestorePath: '' },
            ],
            [
              'RestoreRecycleBinItem',
              { AuthenticationTicket: ticket, ItemHandler: `F${v.trashedFolder}`, RestorePath: '' },
            ],
            ['PurgeRecycleBinItem', { AuthenticationTicket: ticket, ItemHandler: `D${v.trashedFile}` }],
            ['PurgeRecycleBinItem', { AuthenticationTicket: ticket, ItemHandler: `F${v.trashedFolder}` }],
            ['DeleteDocument', { authenticationTicket: ticket, Path: '\\Reports\\plan.txt' }],
            ['DeleteDocument', { authenticationTicket: ticket, Path: `~D${v.activeFile}` }],
            ['DeleteFolder', { authenticationTicket: ticket, Path: '\\Reports' }],
            ['DeleteFolder', { authenticationTicket: ticket, Path: `~F${v.activeFolder}` }],
          ]
          for (const [method, params] of calls) {
            const answer = await asmx(server.baseUrl, transport, method, params)
            expect(
              answer.success,
              `${role} ${transport} ${method} ${JSON.stringify(params)}: ${answer.text}`,
            ).toBe('false')
          }
          for (const [method, params] of [
            ['GetRecycleBinContent', { AuthenticationTicket: ticket }],
            [
              'SearchRecycledItems',
              {
                authenticationTicket: ticket,
                objectName: '',
                dateDeletedMinDate: '',
                dateDeletedMaxDate: '',
                minSize: '',
                maxSize: '',
                deletedByUsername: '',
              },
            ],
            ['GetDeleteLog', { AuthenticationTicket: ticket, StartDate: '', EndDate: '', PathFilter: '' }],
            ['EmptyRecycleBin', { AuthenticationTicket: ticket }],
            ['GetUserStatistics', { authenticationTicket: ticket, userName: victim.users.editor!.login }],
          ] as const) {
            const answer = await asmx(server.baseUrl, transport, method, params)
            expect(answer.text).not.toMatch(/secret\.txt|plan\.txt|inside\.txt|\\Old|iv-/)
            for (const id of victimIds()) expect(answer.text).not.toMatch(new RegExp(`"[DF]${id}"`))
          }
        }
      }
    })
  })

  it("a victim's ticket is the victim's own: it acts on the victim's tenant only, never on the attacker's", async () => {
    const own = (
      await server.ctx.admin.createItem(attacker.tenantId, {
        kind: 'file',
        name: 'mine.txt',
        brandId: attacker.brandId,
      })
    ).item.id
    await server.ctx.trash.trash(attacker.users.admin!.actor, [own])
    const before = await tenantFingerprint(server.database.db, attacker.tenantId)
    for (const method of ['RestoreRecycleBinItem', 'PurgeRecycleBinItem']) {
      const answer = await asmx(server.baseUrl, 'GET', method, {
        AuthenticationTicket: victimTickets.asmx,
        ItemHandler: `D${own}`,
        ...(method === 'RestoreRecycleBinItem' ? { RestorePath: '' } : {}),
      })
      expect(answer.success, answer.text).toBe('false')
    }
    expect(await tenantFingerprint(server.database.db, attacker.tenantId)).toEqual(before)
  })
})

describe('isolation: Enterprise', () => {
  it("the victim's ids are Record not found for every attacker role; queries show none of them", async () => {
    await unchanged(async () => {
      for (const role of ROLES) {
        const ticket = await logOn(server, attacker.users[role]!)
        for (const request of [
          deleteObjects(ticket, { ids: victimIds(), permanent: false, areas: ['Workflow'] }),
          deleteObjects(ticket, { ids: victimIds(), permanent: true, areas: ['Workflow'] }),
          deleteObjects(ticket, { ids: victimIds(), permanent: true, areas: ['Trash'] }),
          envelope(
            `<ns1:RestoreObjects><Ticket>${ticket}</Ticket><IDs>${victimIds()
              .map((id) => `<String>${id}</String>`)
              .join('')}</IDs></ns1:RestoreObjects>`,
          ),
        ]) {
          const reply = await postEnterprise(server, request)
          expect(reply.status).toBe(200)
          if (reply.text.includes('<SOAP-ENV:Fault>')) {
            expect(reply.text, reply.text).toMatch(/S1029|S1002|not found|denied/i)
            continue
          }
          const operation = /<ns1:(\w+)Response>/.exec(reply.text)![1]!
          expect(handledIds(reply.text, operation), reply.text).toEqual([])
        }
        for (const id of victimIds()) {
          for (const area of ['Trash', 'Workflow']) {
            const dialog = await postEnterprise(
              server,
              envelope(
                `<ns1:GetDialog><Ticket>${ticket}</Ticket><ID>${id}</ID><Action>Preview</Action><RequestDialog>true</RequestDialog>` +
                  '<RequestPublication>true</RequestPublication><RequestMetaData>true</RequestMetaData><RequestStates>false</RequestStates>' +
                  `<RequestTargets>true</RequestTargets><Areas><AreaType>${area}</AreaType></Areas></ns1:GetDialog>`,
              ),
            )
            expect(dialog.text, dialog.text).toMatch(/S1029/)
            expect(dialog.text).not.toMatch(/secret\.txt|plan\.txt|inside\.txt|>Old<|>Reports</)
          }
        }
        for (const areas of [
          '<Areas><AreaType>Trash</AreaType></Areas>',
          '<Areas><AreaType>Workflow</AreaType></Areas>',
        ]) {
          const query = await postEnterprise(
            server,
            envelope(
              `<ns1:QueryObjects><Ticket>${ticket}</Ticket><Params xsi:nil="true"/><FirstEntry>1</FirstEntry><MaxEntries>1000</MaxEntries><Hierarchical>false</Hierarchical><Order xsi:nil="true"/><MinimalProps xsi:nil="true"/><RequestProps xsi:nil="true"/>${areas}</ns1:QueryObjects>`,
            ),
          )
          expect(query.status).toBe(200)
          expect(query.text).not.toMatch(/secret\.txt|plan\.txt|inside\.txt|>Old<|>Reports</)
        }
      }
    })
  })
})

describe('isolation: REST', () => {
  it("the victim's operations are not found, listed, previewed or undone for every attacker role, whatever the filter", async () => {
    // a bulk job of the victim's (an undo of a delete whose file was restored since: it changes nothing)
    const editor = victim.users.editor!.actor
    const throwaway = (
      await server.ctx.admin.createItem(victim.tenantId, {
        kind: 'file',
        name: 'throwaway.txt',
        ownerId: editor.userId,
      })
    ).item.id
    await server.ctx.trash.trash(editor, [throwaway])
    const [deleted] = (await server.ctx.operations.list(editor, { action: 'trash' }, { limit: 1 })).operations
    await server.ctx.trash.restore(editor, [throwaway])
    const victimJob = (await server.ctx.operations.undo(editor, deleted!.id, { job: true })).job!
    // and one job of each other kind (a restore, empty and purge of the file, active again: nothing changes)
    const victimJobs = [victimJob]
    for (const kind of ['restore', 'empty', 'purge'] as const)
      victimJobs.push((await server.ctx.jobs.enqueueIfLarge(editor, kind, [throwaway], {}, true))!)
    // the server's runner takes them at once: wait (bounded) until they have ended
    for (const job of victimJobs) {
      for (let i = 0; i < 200 && (await server.ctx.jobs.get(editor, job.id)).finishedAt === null; i++)
        await new Promise((resolve) => setTimeout(resolve, 50))
      expect((await server.ctx.jobs.get(editor, job.id)).status).toBe('succeeded')
    }
    const victimOps = (
      await server.database.db.query('select id from operations where tenant_id = $1', [victim.tenantId])
    ).rows.map((row) => row.id as string)
    expect(victimOps.length).toBeGreaterThan(0)
    await unchanged(async () => {
      for (const role of ROLES) {
        const authorization = basicAuth(attacker.users[role]!)
        for (const id of victimOps) {
          for (const [method, url] of [
            ['GET', `/api/v1/operations/${id}`],
            ['GET', `/api/v1/operations/${id}?after=0&limit=1000`],
            ['GET', `/api/v1/operations/${id}/undo/preview`],
            ['POST', `/api/v1/operations/${id}/undo`],
            ...victimJobs.flatMap(
              (job) =>
                [
                  ['GET', `/api/v1/jobs/${job.id}`],
                  ['GET', `/api/v1/jobs/${job.id}/results`],
                  ['POST', `/api/v1/jobs/${job.id}/cancel`],
                ] as const,
            ),
          ] as const) {
            const response = await fetch(`${server.baseUrl}${url}`, {
              method,
              headers:
                method === 'POST' ? { authorization, 'content-type': 'application/json' } : { authorization },
              ...(method === 'POST' ? { body: '{}' } : {}),
            })
            const text = await response.text()
            expect([401, 403, 404], `${role} ${method} ${url}: ${text}`).toContain(response.status)
            expect(text).not.toMatch(/secret\.txt|Old|inside\.txt|throwaway/)
          }
          // asked as a job, the undo of the victim's operation is not found either
          const asJob = await fetch(`${server.baseUrl}/api/v1/operations/${id}/undo`, {
            method: 'POST',
            headers: { authorization, 'content-type': 'application/json', prefer: 'respond-async' },
            body: '{}',
          })
          expect([401, 403, 404], `${role} undo as a job: ${await asJob.text()}`).toContain(asJob.status)
        }
        for (const query of [
          '',
          `?actor=${victim.users.editor!.id}`,
          `?actorLogin=${victim.users.editor!.login}`,
          '?door=rest&action=trash&minItems=0',
        ]) {
          const response = await fetch(`${server.baseUrl}/api/v1/operations${query}`, {
            headers: { authorization },
          })
          const text = await response.text()
          if (response.status !== 200)
            expect([401, 403], `${role} ${query}: ${text}`).toContain(response.status)
          for (const id of victimOps) expect(text).not.toContain(id)
          expect(text).not.toContain(victim.users.editor!.login)
        }
        // undo by filter naming the victim's users finds nothing of theirs
        for (const url of ['/api/v1/operations/undo/preview', '/api/v1/operations/undo']) {
          for (const filter of [
            { actor: victim.users.editor!.id, from: '2000-01-01' },
            { actorLogin: victim.users.editor!.login, from: '2000-01-01' },
          ]) {
            const response = await fetch(`${server.baseUrl}${url}`, {
              method: 'POST',
              headers: { authorization, 'content-type': 'application/json' },
              body: JSON.stringify(filter),
            })
            const text = await response.text()
            if (response.status === 200)
              expect(JSON.parse(text)).toMatchObject({ operations: 0, results: [] })
            else expect([401, 403], `${role} ${url}: ${text}`).toContain(response.status)
            expect(text).not.toMatch(/secret\.txt|inside\.txt/)
          }
        }
      }
    })
  })

  it("the victim's ids are not found for every attacker role, in batches and one by one; listings show none", async () => {
    await unchanged(async () => {
      for (const role of ROLES) {
        const authorization = basicAuth(attacker.users[role]!)
        const json = { authorization, 'content-type': 'application/json' }
        const ids = victimIds()
        for (const url of ['/api/v1/trash/restore', '/api/v1/trash/purge', '/api/v1/items/trash']) {
          const response = await fetch(`${server.baseUrl}${url}`, {
            method: 'POST',
            headers: json,
            body: JSON.stringify({ ids }),
          })
          const text = await response.text()
          if (response.status === 200) {
            const batch = JSON.parse(text)
            expect(batch.successCount, text).toBe(0)
            expect(batch.errorCount).toBe(ids.length)
            expect(new Set(batch.results.map((r: { code: string }) => r.code))).toEqual(
              new Set(['NOT_FOUND']),
            )
          } else expect([401, 403], `${role} ${url}: ${text}`).toContain(response.status)
          expect(text).not.toMatch(/secret\.txt|plan\.txt|inside\.txt/)
        }
        for (const id of ids) {
          for (const [method, url] of [
            ['POST', `/api/v1/trash/${id}/restore`],
            ['DELETE', `/api/v1/trash/${id}`],
            ['POST', `/api/v1/items/${id}/trash`],
            ['GET', `/api/v1/items/${id}`],
          ] as const) {
            const response = await fetch(`${server.baseUrl}${url}`, {
              method,
              headers: method === 'GET' || method === 'DELETE' ? { authorization } : json,
              ...(method === 'POST' ? { body: '{}' } : {}),
            })
            const text = await response.text()
            expect([401, 403, 404], `${role} ${method} ${url}: ${text}`).toContain(response.status)
            expect(text).not.toMatch(/secret\.txt|plan\.txt|inside\.txt/)
          }
        }
        for (const query of ['', '?state=any', '?scope=own', '?name=secret', '?roots=true']) {
          const response = await fetch(`${server.baseUrl}/api/v1/trash${query}`, {
            headers: { authorization },
          })
          const text = await response.text()
          expect(text).not.toMatch(/secret\.txt|plan\.txt|inside\.txt/)
        }
        const empty = await fetch(`${server.baseUrl}/api/v1/trash/empty`, {
          method: 'POST',
          headers: json,
          body: '{}',
        })
        expect(await empty.text()).not.toMatch(/secret\.txt|inside\.txt/)
        const bin = await fetch(`${server.baseUrl}/api/v1/bin/empty`, {
          method: 'POST',
          headers: json,
          body: '{}',
        })
        expect(await bin.text()).not.toMatch(/secret\.txt|inside\.txt/)
      }
    })
  })
})

describe('isolation: REST bulk jobs', () => {
  it("the victim's ids asked as restore, empty and purge jobs are not found for every attacker role, and change nothing", async () => {
    await unchanged(async () => {
      for (const role of ROLES) {
        const authorization = basicAuth(attacker.users[role]!)
        const ids = victimIds()
        for (const url of ['/api/v1/trash/restore', '/api/v1/trash/empty', '/api/v1/trash/purge']) {
          const response = await fetch(`${server.baseUrl}${url}`, {
            method: 'POST',
            headers: { authorization, 'content-type': 'application/json', prefer: 'respond-async' },
            body: JSON.stringify({ ids }),
          })
          const text = await response.text()
          expect(text).not.toMatch(/secret\.txt|plan\.txt|inside\.txt/)
          if (response.status !== 202) {
            expect([401, 403], `${role} ${url}: ${text}`).toContain(response.status)
            continue
          }
          const id = JSON.parse(text).job.id as string
          // the job runs on the server at once: wait (bounded) until it has ended
          let job = { status: 'queued' }
          for (let i = 0; i < 200 && ['queued', 'running'].includes(job.status); i++) {
            await new Promise((resolve) => setTimeout(resolve, 50))
            job = await (
              await fetch(`${server.baseUrl}/api/v1/jobs/${id}`, { headers: { authorization } })
            ).json()
          }
          expect(job, `${role} ${url}`).toMatchObject({
            status: 'succeeded',
            outcomes: { ok: 0, warning: 0 },
          })
          const results = await fetch(`${server.baseUrl}/api/v1/jobs/${id}/results?limit=1000`, {
            headers: { authorization },
          })
          const page = await results.text()
          expect(page).not.toMatch(/secret\.txt|plan\.txt|inside\.txt/)
          const codes = (JSON.parse(page).results as { code: string }[]).map((result) => result.code)
          expect(codes, `${role} ${url}`).toEqual(ids.map(() => 'NOT_FOUND'))
        }
      }
    })
  })
})

describe('per-user bins stay per-user', () => {
  it("GetRecycleBinContent and REST scope=own list only the caller's own deletions; emptying one bin leaves the other", async () => {
    const make = async (name: string) =>
      (await server.ctx.admin.createItem(victim.tenantId, { kind: 'file', name, brandId: victim.brandId }))
        .item.id
    const editorsFile = await make('editors-own.txt')
    const purgersFile = await make('purgers-own.txt')
    await server.ctx.trash.trash(victim.users.editor!.actor, [editorsFile])
    await server.ctx.trash.trash(victim.users.purger!.actor, [purgersFile])

    const binOf = async (role: 'editor' | 'purger') => {
      const login = await asmx(server.baseUrl, 'GET', 'AuthenticateUser', {
        UID: victim.users[role]!.login,
        PWD: victim.users[role]!.password,
      })
      const ticket = login.response.attrs.ticket!
      const answer = await asmx(server.baseUrl, 'GET', 'GetRecycleBinContent', {
        AuthenticationTicket: ticket,
      })
      const root: XmlElement = parseXml(answer.text)
      const names = JSON.stringify(root)
      const rest = await fetch(`${server.baseUrl}/api/v1/trash?scope=own`, {
        headers: { authorization: basicAuth(victim.users[role]!) },
      })
      const own = (await rest.json()).items.map((item: { name: string }) => item.name)
      return { ticket, asmx: names, rest: own as string[] }
    }
    const editor = await binOf('editor')
    const purger = await binOf('purger')
    expect(editor.asmx).toContain('editors-own.txt')
    expect(editor.asmx).not.toContain('purgers-own.txt')
    expect(purger.asmx).toContain('purgers-own.txt')
    expect(purger.asmx).not.toContain('editors-own.txt')
    expect(editor.rest).toContain('editors-own.txt')
    expect(editor.rest).not.toContain('purgers-own.txt')
    expect(purger.rest).toEqual(['purgers-own.txt'])

    // the purger empties its own bin: the editor's deletion stays where it was
    const emptied = await asmx(server.baseUrl, 'GET', 'EmptyRecycleBin', {
      AuthenticationTicket: purger.ticket,
    })
    expect(emptied.success, emptied.text).toBe('true')
    const states = await server.database.db.query(
      'select id, state from items where id = any($1) order by id',
      [[editorsFile, purgersFile]],
    )
    expect(Object.fromEntries(states.rows.map((row) => [String(row.id), row.state]))).toEqual({
      [String(editorsFile)]: 'trashed',
    })
    const purged = await server.database.db.query(
      "select item_id from audit where action not in ('trash', 'restore') and item_id = any($1)",
      [[editorsFile, purgersFile]],
    )
    expect(purged.rows.map((row) => Number(row.item_id))).toEqual([purgersFile])
  })
})
