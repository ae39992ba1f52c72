import { readdir } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asmx, asmxTicket } from './helpers/asmx.js'
import { deleteObjects, envelope, handledIds, ids, logOn, postEnterprise } from './helpers/enterprise.js'
import { tenantFingerprint } from './helpers/hardening.js'
import { authHeader, bodyOf, ns, post, soap11, text } from './helpers/ips.js'
import { basicAuth, createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

/**
 * Rights matrix: every door's trash, restore and purge-or-empty operation, tried by every kind of actor on a unit
 * whose members carry different brands and rights: an unbranded folder holding an unbranded file and a file of
 * the fixture's brand. The expected outcomes are written out by hand from the rule (README "Rights"): a unit
 * changes whole when the actor may change every member, and otherwise nothing changes: no row, no audit row.
 */

let server: TestServer
let f: Fixture
let library: number
const IPS_NS = ns('2012-02-14')
const ROLES = ['admin', 'editor', 'purger', 'viewer', 'outsider'] as const
type Role = (typeof ROLES)[number]
const DOORS = ['rest', 'ips', 'asmx', 'enterprise'] as const
type Door = (typeof DOORS)[number]
const asmxTickets: Partial<Record<Role, string>> = {}
const enterpriseTickets: Partial<Record<Role, string>> = {}

interface Unit {
  name: string
  folder: number
  loose: number
  branded: number
}

beforeAll(async () => {
  server = await startTestServer()
  f = await createFixture(server.ctx, 'rm')
  library = (
    await server.ctx.admin.createItem(f.tenantId, { kind: 'folder', name: 'Matrix', parentId: null })
  ).item.id
  for (const role of ROLES) {
    const user = f.users[role]!
    asmxTickets[role] = await asmxTicket(server.baseUrl, user)
    enterpriseTickets[role] = await logOn(server, user)
  }
}, 120_000)

afterAll(async () => {
  await server?.close()
})

let units = 0
async function makeUnit(): Promise<Unit> {
  const name = `unit ${++units}`
  const create = async (
    kind: 'file' | 'folder',
    itemName: string,
    parentId: number,
    brandId: number | null,
  ) =>
    (
      await server.ctx.admin.createItem(f.tenantId, {
        kind,
        name: itemName,
        parentId,
        brandId,
        ownerId: f.users.admin!.id,
        // stored files, so that a purge has files to remove and a refusal can be seen to leave them
        ...(kind === 'file' ? { content: Buffer.from(`${name} ${itemName}`) } : {}),
      })
    ).item.id
  const folder = await create('folder', name, library, null)
  return {
    name,
    folder,
    loose: await create('file', 'loose.txt', folder, null),
    branded: await create('file', 'branded.txt', folder, f.brandId),
  }
}

/** Every file in the server's data directory (the blob store lives there). */
const storedFiles = async () =>
  (await readdir(server.dataDir, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => `${entry.parentPath}/${entry.name}`)
    .sort()

const states = async (unit: Unit) => {
  const result = await server.database.db.query<{ id: number; state: string }>(
    'select id, state from items where tenant_id = $1 and id = any($2::bigint[]) order by id',
    [f.tenantId, [unit.folder, unit.loose, unit.branded]],
  )
  return result.rows.map((row) => row.state)
}

const rest = async (role: Role, path: string, body: unknown) => {
  const response = await fetch(`${server.baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: basicAuth(f.users[role]!), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return (await response.json()) as { successCount: number; results: { status: string }[] }
}

const ips = async (role: Role, operation: string, id: number) => {
  const reply = await post(
    server.baseUrl,
    '/scene7/services/IpsApiService',
    soap11(
      `<${operation}Param xmlns="${IPS_NS}"><companyHandle>c|${f.tenantId}</companyHandle>` +
        `<assetHandleArray><items>a|${id}</items></assetHandleArray></${operation}Param>`,
      authHeader(f.users[role]!),
    ),
  )
  return text(bodyOf(reply.root), 'successCount') === '1'
}

const enterprise = async (xml: string, operation: string, id: number) => {
  const reply = await postEnterprise(server, xml)
  return handledIds(reply.text, operation).includes(String(id))
}

/** Each door's way to do each operation; true when the door reports the unit done. */
const operations: Record<
  'trash' | 'restore' | 'purge',
  Record<Door, (role: Role, unit: Unit) => Promise<boolean>>
> = {
  trash: {
    rest: async (role, unit) =>
      (await rest(role, '/api/v1/items/trash', { ids: [unit.folder] })).successCount === 1,
    ips: (role, unit) => ips(role, 'deleteAssets', unit.folder),
    asmx: async (role, unit) =>
      (
        await asmx(server.baseUrl, 'GET', 'DeleteFolder', {
          authenticationTicket: asmxTickets[role]!,
          Path: `\\Matrix\\${unit.name}`,
        })
      ).success === 'true',
    enterprise: (role, unit) =>
      enterprise(
        deleteObjects(enterpriseTickets[role]!, {
          ids: [unit.folder],
          permanent: false,
          areas: ['Workflow'],
        }),
        'DeleteObjects',
        unit.folder,
      ),
  },
  restore: {
    rest: async (role, unit) =>
      (await rest(role, '/api/v1/trash/restore', { ids: [unit.folder] })).successCount === 1,
    ips: (role, unit) => ips(role, 'restoreAssetsFromTrash', unit.folder),
    asmx: async (role, unit) =>
      (
        await asmx(server.baseUrl, 'GET', 'RestoreRecycleBinItem', {
          AuthenticationTicket: asmxTickets[role]!,
          ItemHandler: `F${unit.folder}`,
          RestorePath: '',
        })
      ).success === 'true',
    enterprise: (role, unit) =>
      enterprise(
        envelope(
          `<ns1:RestoreObjects><Ticket>${enterpriseTickets[role]}</Ticket>${ids([unit.folder])}</ns1:RestoreObjects>`,
        ),
        'RestoreObjects',
        unit.folder,
      ),
  },
  // every road to permanent loss: REST purge, IPS empty, srv.asmx EmptyRecycleBin, Enterprise purge
  purge: {
    rest: async (role, unit) =>
      (await rest(role, '/api/v1/trash/purge', { ids: [unit.folder] })).successCount === 1,
    ips: (role, unit) => ips(role, 'emptyAssetsFromTrash', unit.folder),
    asmx: async (role, unit) => {
      await asmx(server.baseUrl, 'GET', 'EmptyRecycleBin', { AuthenticationTicket: asmxTickets[role]! })
      // the answer speaks of the whole bin: whether this unit left it is what counts
      return (await states(unit)).length === 0
    },
    enterprise: (role, unit) =>
      enterprise(
        deleteObjects(enterpriseTickets[role]!, { ids: [unit.folder], permanent: true, areas: ['Trash'] }),
        'DeleteObjects',
        unit.folder,
      ),
  },
}

/** Who may, by the rule: a mixed unit needs the right on its branded member too. */
const EXPECTED: Record<'trash' | 'restore' | 'purge', Role[]> = {
  // the brand's Delete right (or administrator); the viewer and the outsider lack it for the branded member
  trash: ['admin', 'editor', 'purger'],
  // the deleter of the unbranded folder with the brand's Delete right for the branded member
  restore: ['admin', 'editor', 'purger'],
  // the deleter with the brand's Purge right
  purge: ['admin', 'purger'],
}

/** Who deletes the unit before a restore or purge: the actor when it may, else an administrator. */
const deleterFor = (role: Role): Role => (EXPECTED.trash.includes(role) ? role : 'admin')

const AFTER: Record<'trash' | 'restore' | 'purge', (door: Door) => string[] | null> = {
  trash: () => ['trashed', 'trashed', 'trashed'],
  restore: () => ['active', 'active', 'active'],
  // IPS empties (restorable no more, purged by the cleanup job); the others purge at once
  purge: (door) => (door === 'ips' ? ['emptied', 'emptied', 'emptied'] : []),
}

describe.each(['trash', 'restore', 'purge'] as const)('rights matrix: %s', (operation) => {
  it.each(DOORS)('through %s, for every kind of actor', async (door) => {
    const outcomes: Record<string, boolean> = {}
    for (const role of ROLES) {
      const unit = await makeUnit()
      if (operation !== 'trash') {
        const deleted = await operations.trash.rest(deleterFor(role), unit)
        expect(deleted, `${role}: the unit was trashed first`).toBe(true)
      }
      const before = await tenantFingerprint(server.database.db, f.tenantId)
      const filesBefore = await storedFiles()
      const beforeStates = await states(unit)
      const done = await operations[operation][door](role, unit)
      outcomes[role] = done
      if (done) expect(await states(unit), `${door} ${role}`).toEqual(AFTER[operation](door))
      else {
        expect(await states(unit), `${door} ${role}`).toEqual(beforeStates)
        // nothing else of the tenant changed either: no row, no audit row, no stored file (srv.asmx
        // EmptyRecycleBin may purge the actor's other deletions: none here)
        expect(await tenantFingerprint(server.database.db, f.tenantId), `${door} ${role}`).toEqual(before)
        expect(await storedFiles(), `${door} ${role}`).toEqual(filesBefore)
      }
      // a purge removes the unit's two stored files at once (srv.asmx EmptyRecycleBin also the actor's other
      // deletions it may purge); nothing else removes any
      const removed = filesBefore.length - (await storedFiles()).length
      if (done && operation === 'purge' && door === 'asmx') expect(removed).toBeGreaterThanOrEqual(2)
      else expect(removed, `${door} ${role}`).toBe(done && operation === 'purge' && door !== 'ips' ? 2 : 0)
    }
    expect(outcomes).toEqual(
      Object.fromEntries(ROLES.map((role) => [role, EXPECTED[operation].includes(role)])),
    )
  })
})

describe('rights matrix: restore of a unit holding a member the actor may not restore', () => {
  it.each(
    DOORS,
  )('through %s: refused whole for an editor of the brand, done for an administrator', async (door) => {
    const closed = await server.ctx.admin.createBrand(f.tenantId, `rm closed ${door}`)
    const outcomes: Record<string, boolean> = {}
    for (const role of ['editor', 'admin'] as const) {
      const unit = await makeUnit()
      // a folder of the brand the editor may restore in, holding a file of a brand it has no rights in
      await server.database.db.query(
        'update items set brand_id = case when id = $2 then $3::bigint else $4::bigint end where tenant_id = $1 and id = any($5::bigint[])',
        [f.tenantId, unit.folder, f.brandId, closed, [unit.folder, unit.loose]],
      )
      expect(await operations.trash.rest('admin', unit)).toBe(true)
      const before = await tenantFingerprint(server.database.db, f.tenantId)
      outcomes[role] = await operations.restore[door](role, unit)
      if (outcomes[role]) expect(await states(unit)).toEqual(['active', 'active', 'active'])
      else expect(await tenantFingerprint(server.database.db, f.tenantId)).toEqual(before)
    }
    expect(outcomes).toEqual({ editor: false, admin: true })
  })
})

describe('rights matrix: restore preview (REST POST /trash/restore/preview)', () => {
  const preview = async (role: Role, unit: Unit) => {
    const before = await tenantFingerprint(server.database.db, f.tenantId, { operations: true })
    const filesBefore = await storedFiles()
    const answer = await rest(role, '/api/v1/trash/restore/preview', { ids: [unit.folder] })
    // a preview changes nothing, whoever asks: no row, no audit row, no operation, no stored file
    expect(await tenantFingerprint(server.database.db, f.tenantId, { operations: true }), role).toEqual(
      before,
    )
    expect(await states(unit), role).toEqual(['trashed', 'trashed', 'trashed'])
    expect(await storedFiles(), role).toEqual(filesBefore)
    expect(answer.results, role).toHaveLength(1)
    // who may not restore gets a refusal only
    if (answer.successCount !== 1) expect(answer.results[0]!.status, role).toBe('error')
    return answer.successCount === 1
  }

  it('for every kind of actor: what its restore would do, nothing changed', async () => {
    const outcomes: Record<string, boolean> = {}
    for (const role of ROLES) {
      const unit = await makeUnit()
      expect(await operations.trash.rest(deleterFor(role), unit), role).toBe(true)
      outcomes[role] = await preview(role, unit)
    }
    expect(outcomes).toEqual(Object.fromEntries(ROLES.map((role) => [role, EXPECTED.restore.includes(role)])))
  })

  it('a unit holding a member the actor may not restore: refused whole for an editor of the brand', async () => {
    const closed = await server.ctx.admin.createBrand(f.tenantId, 'rm closed preview')
    const outcomes: Record<string, boolean> = {}
    for (const role of ['editor', 'admin'] as const) {
      const unit = await makeUnit()
      await server.database.db.query(
        'update items set brand_id = case when id = $2 then $3::bigint else $4::bigint end where tenant_id = $1 and id = any($5::bigint[])',
        [f.tenantId, unit.folder, f.brandId, closed, [unit.folder, unit.loose]],
      )
      expect(await operations.trash.rest('admin', unit)).toBe(true)
      outcomes[role] = await preview(role, unit)
    }
    expect(outcomes).toEqual({ editor: false, admin: true })
  })
})

describe('rights matrix: an Enterprise Params query spanning brands', () => {
  it('DeleteObjects Permanent over the Trash by Deletor purges what the editor may and reports the rest (S1002)', async () => {
    const q = await createFixture(server.ctx, 'rq')
    const create = async (name: string, brandId: number | null) =>
      (await server.ctx.admin.createItem(q.tenantId, { kind: 'file', name, parentId: null, brandId })).item.id
    const loose = await create('loose.txt', null)
    const branded = await create('branded.txt', q.brandId)
    await server.ctx.trash.trash(q.users.editor!.actor, [loose, branded])
    const ticket = await logOn(server, q.users.editor!)
    const reply = await postEnterprise(
      server,
      deleteObjects(ticket, {
        ids: null,
        permanent: true,
        areas: ['Trash'],
        params: `<Params><QueryParam><Property>Deletor</Property><Operation>=</Operation><Value>${q.users.editor!.login}</Value></QueryParam></Params>`,
      }),
    )
    expect(handledIds(reply.text, 'DeleteObjects')).toEqual([String(loose)])
    expect(reply.text).toContain('S1002')
    const rows = await server.database.db.query<{ id: number; state: string }>(
      'select id, state from items where tenant_id = $1 order by id',
      [q.tenantId],
    )
    expect(rows.rows).toEqual([{ id: branded, state: 'trashed' }])
  })
})
