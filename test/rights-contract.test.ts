import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { canSeeEvent, canView, may, RIGHTS } from '../src/core/policy.js'
import type { Actor, Door } from '../src/core/types.js'
import { viewableBrandIds } from '../src/db/event-repository.js'
import { readItemFacts } from '../src/db/item-repository.js'
import { may as maySql } from '../src/db/policy-sql.js'
import { createTestContext, type TestContext } from './helpers/server.js'

/**
 * The rule has two forms: policy.may, which decides an item at a time, and db/rights-sql.ts, which decides sets
 * of rows in SQL (a folder's subtree, a unit, a bin). Over every combination of brand rights, ownership,
 * deleter, kind, level and state, and every kind of actor and right, both must answer the same.
 */

let context: TestContext
let tenantId: number
let userId: number
let otherId: number
const itemIds: number[] = []

beforeAll(async () => {
  context = await createTestContext()
  const { admin } = context.ctx
  tenantId = await admin.createTenant('contract tenant')
  userId = await admin.createUser(tenantId, { login: 'contract-user', password: 'contract-password-1' })
  otherId = await admin.createUser(tenantId, { login: 'contract-other', password: 'contract-password-2' })
  // one brand without an access row for the user, and one per combination of view, delete and purge
  const brands: (number | null)[] = [null, await admin.createBrand(tenantId, 'no access')]
  for (let bits = 0; bits < 8; bits++) {
    const brand = await admin.createBrand(tenantId, `rights ${bits}`)
    await admin.setAccess(tenantId, brand, userId, {
      view: (bits & 1) !== 0,
      delete: (bits & 2) !== 0,
      purge: (bits & 4) !== 0,
    })
    brands.push(brand)
  }
  const library = (await admin.createItem(tenantId, { kind: 'folder', name: 'Library', parentId: null })).item
    .id
  const people = [userId, otherId, null]
  const rows: [number | null, number | null, number | null, string, number | null, string][] = []
  for (const brand of brands)
    for (const owner of people)
      for (const deleter of people)
        for (const kind of ['file', 'folder'])
          for (const parent of [null, library])
            for (const state of ['active', 'trashed', 'emptied'])
              rows.push([brand, owner, state === 'active' ? null : (deleter ?? otherId), kind, parent, state])
  const inserted = await context.database.db.query<{ id: number }>(
    `insert into items (tenant_id, brand_id, owner_id, deleted_by, kind, parent_id, state, name, type, deleted_at)
     select $1, r.brand_id, r.owner_id, r.deleted_by, r.kind, r.parent_id, r.state, 'item ' || r.n, 'Document',
            case when r.state = 'active' then null else now() end
       from unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::bigint[], $7::text[])
            with ordinality as r(brand_id, owner_id, deleted_by, kind, parent_id, state, n)
     returning id`,
    [
      tenantId,
      rows.map((r) => r[0]),
      rows.map((r) => r[1]),
      rows.map((r) => r[2]),
      rows.map((r) => r[3]),
      rows.map((r) => r[4]),
      rows.map((r) => r[5]),
    ],
  )
  itemIds.push(library, ...inserted.rows.map((row) => row.id))
}, 120_000)

afterAll(async () => {
  await context?.close()
})

const actor = (admin: boolean, door: Door): Actor => ({
  tenantId,
  userId,
  login: 'contract-user',
  displayName: null,
  admin,
  ipsRole: 'IpsUser',
  door,
})

describe('rights contract: policy.may and its SQL twin agree', () => {
  it('over every actor kind, right and item combination', async () => {
    const facts = await readItemFacts(context.database.db, tenantId, userId, itemIds)
    expect(facts.size).toBeGreaterThan(1000)
    let compared = 0
    const allowedSomewhere = new Set<string>()
    const refusedSomewhere = new Set<string>()
    for (const admin of [false, true]) {
      for (const door of ['rest', 'enterprise', 'asmx', 'ips'] as Door[]) {
        const who = actor(admin, door)
        for (const right of RIGHTS) {
          const result = await context.database.db.query<{ id: number; allowed: boolean }>(
            `select i.id, ${maySql(who, right, 'i', '$2')} as allowed from items i
              where i.tenant_id = $1 and i.id = any($3::bigint[]) and $2::bigint is not null`,
            [tenantId, userId, itemIds],
          )
          expect(result.rows.length).toBe(itemIds.length)
          const disagreements = result.rows
            .filter((row) => row.allowed !== may(who, facts.get(row.id)!, right))
            .map((row) => ({ ...facts.get(row.id)!, sql: row.allowed }))
          expect(disagreements.slice(0, 3), `${door} admin=${admin} ${right}`).toEqual([])
          for (const row of result.rows) (row.allowed ? allowedSomewhere : refusedSomewhere).add(right)
          compared += result.rows.length
        }
      }
    }
    // every right is both granted and refused somewhere in the matrix: the comparison is not vacuous
    expect([...allowedSomewhere].sort()).toEqual([...RIGHTS].sort())
    expect([...refusedSomewhere].sort()).toEqual([...RIGHTS].sort())
    expect(compared).toBe(itemIds.length * RIGHTS.length * 8)
  })

  it('an event reaches a subscriber exactly when canView lets it see the item, with the brands the database says it may view', async () => {
    const facts = await readItemFacts(context.database.db, tenantId, userId, itemIds)
    const brands = await viewableBrandIds(context.database.db, tenantId, userId)
    const seen = new Set<boolean>()
    for (const admin of [false, true]) {
      for (const door of ['rest', 'enterprise', 'asmx', 'ips'] as Door[]) {
        const who = actor(admin, door)
        const disagreements = [...facts.values()].filter((item) => {
          // an event another user caused: whether it is seen depends on the item alone
          const subject = { ...item, actorId: otherId }
          const seesEvent = canSeeEvent(who, subject, admin ? new Set<number>() : brands)
          seen.add(seesEvent)
          return seesEvent !== (canView(who, item) === null)
        })
        expect(disagreements.slice(0, 3), `${door} admin=${admin}`).toEqual([])
      }
    }
    expect([...seen].sort()).toEqual([false, true])
  })
})
