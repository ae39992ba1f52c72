import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  effectiveRetentionDays,
  expiresAt,
  isListedInTrash,
  isPastRetention,
  isUnderLegalHold,
  trashVisibility,
} from '../src/core/policy.js'
import type { Actor, Door, ItemFacts, TrashFilter } from '../src/core/types.js'
import { readItemFacts } from '../src/db/item-repository.js'
import * as policySql from '../src/db/policy-sql.js'
import { SqlParams } from '../src/db/sql-params.js'
import { createTestContext, type TestContext } from './helpers/server.js'

/**
 * Each rule of src/core/policy.ts that SQL also decides has one SQL twin, under its name in src/db/policy-sql.ts.
 * Here both are evaluated on the same rows (every combination of brand retention, brand and item legal hold,
 * tenant retention, state, owner, deleter and brand rights; trashed long ago or two days ago) and must agree. policy.may and its twin (policy-sql.ts
 * may) are held to each other by test/rights-contract.test.ts.
 */

let context: TestContext
const tenants: { id: number; userId: number; itemIds: number[] }[] = []

const DELETED_AT = '2026-01-10T10:00:00.123Z'
const EMPTIED_AT = '2026-01-12T08:30:00Z'

beforeAll(async () => {
  context = await createTestContext()
  const { admin } = context.ctx
  const db = context.database.db
  for (const retention of [7, 0]) {
    const tenantId = await admin.createTenant(`policy contract ${retention}`, retention)
    const userId = await admin.createUser(tenantId, {
      login: `policy-user-${retention}`,
      password: 'policy-password-1',
    })
    const otherId = await admin.createUser(tenantId, {
      login: `policy-other-${retention}`,
      password: 'policy-password-2',
    })
    // brands by auto purge days and legal hold, with and without the user's View and Purge rights
    const brands: (number | null)[] = [null]
    for (const autoPurge of [null, 0, 3])
      for (const held of [false, true])
        for (const rights of [
          null,
          { view: true, delete: false, purge: false },
          { view: true, delete: true, purge: true },
        ]) {
          const brand = await admin.createBrand(
            tenantId,
            `b ${autoPurge} ${held} ${rights?.purge}`,
            autoPurge,
          )
          if (held) await db.query('update brands set legal_hold = true where id = $1', [brand])
          if (rights) await admin.setAccess(tenantId, brand, userId, rights)
          brands.push(brand)
        }
    const rows: [number | null, number | null, number | null, string, boolean][] = []
    for (const brand of brands)
      for (const owner of [userId, otherId, null])
        for (const deleter of [userId, otherId])
          for (const state of ['active', 'trashed', 'emptied', 'purging'])
            for (const held of [false, true])
              rows.push([brand, owner, state === 'active' ? null : deleter, state, held])
    const inserted = await db.query<{ id: number }>(
      `insert into items (tenant_id, brand_id, owner_id, deleted_by, kind, state, legal_hold, name, type,
                          deleted_at, emptied_at, trash_root)
       select $1, r.brand_id, r.owner_id, r.deleted_by, 'file', r.state, r.held, 'item ' || r.n, 'Document',
              -- every other row trashed two days ago: inside a 3- or 7-day retention
              case when r.state = 'active' then null when r.n % 2 = 0 then now() - interval '2 days'
                   else $7::timestamptz end,
              case when r.state = 'emptied' then $8::timestamptz end, null
         from unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::boolean[])
              with ordinality as r(brand_id, owner_id, deleted_by, state, held, n)
       returning id`,
      [
        tenantId,
        rows.map((r) => r[0]),
        rows.map((r) => r[1]),
        rows.map((r) => r[2]),
        rows.map((r) => r[3]),
        rows.map((r) => r[4]),
        DELETED_AT,
        EMPTIED_AT,
      ],
    )
    tenants.push({ id: tenantId, userId, itemIds: inserted.rows.map((row) => row.id) })
  }
}, 120_000)

afterAll(async () => {
  await context?.close()
})

/** The rows of a tenant as the per-item rules see them, by id. */
async function factsOf(tenant: (typeof tenants)[number]): Promise<Map<number, ItemFacts>> {
  return readItemFacts(context.database.db, tenant.id, tenant.userId, tenant.itemIds)
}

describe('policy rules and their SQL twins agree', () => {
  it('effective retention, legal hold and expiry', async () => {
    let compared = 0
    const seen = { never: 0, emptied: 0, later: 0, past: 0 }
    for (const tenant of tenants) {
      const facts = await factsOf(tenant)
      const params = new SqlParams()
      const result = await context.database.db.query<{
        id: number
        brand_days: number | null
        tenant_days: number
        days: number
        held: boolean
        expires_at: Date | null
        past: boolean | null
        at: Date
      }>(
        `select i.id, b.auto_purge_days as brand_days, t.retention_days as tenant_days,
                ${policySql.effectiveRetentionDays('b.auto_purge_days', 't.retention_days')} as days,
                ${policySql.isUnderLegalHold('i', 'b.legal_hold')} as held,
                ${policySql.expiresAt('i', 'b', 't')} as expires_at,
                ${policySql.isPastRetention('i.deleted_at', policySql.effectiveRetentionDays('b.auto_purge_days', 't.retention_days'))} as past,
                now() as at
           from items i
           join tenants t on t.id = i.tenant_id
           left join brands b on b.tenant_id = i.tenant_id and b.id = i.brand_id
          where i.tenant_id = ${params.add(tenant.id)}`,
        params.values,
      )
      expect(result.rows.length).toBe(tenant.itemIds.length)
      for (const row of result.rows) {
        const item = facts.get(row.id)!
        const days = effectiveRetentionDays(row.brand_days, row.tenant_days)
        const expected = expiresAt(item, days)
        const where = `item ${row.id} (${item.state}, hold ${item.legalHold}/${item.brandLegalHold}, ${days} days)`
        expect(row.days, where).toBe(days)
        expect(row.held, where).toBe(isUnderLegalHold(item))
        expect(row.expires_at?.getTime() ?? null, where).toBe(expected?.getTime() ?? null)
        // a predicate: SQL's null (no deleted_at) selects nothing, as false does
        expect(row.past === true, where).toBe(isPastRetention(item.deletedAt, days, row.at))
        if (row.past) seen.past++
        if (expected === null) seen.never++
        else if (item.state === 'emptied') seen.emptied++
        else seen.later++
        compared++
      }
    }
    expect(compared).toBeGreaterThan(1000)
    // every branch of the rule was reached
    expect(seen.never).toBeGreaterThan(0)
    expect(seen.emptied).toBeGreaterThan(0)
    expect(seen.later).toBeGreaterThan(0)
    expect(seen.past).toBeGreaterThan(0)
    expect(seen.past).toBeLessThan(compared)
  })

  const actor = (tenant: (typeof tenants)[number], admin: boolean, door: Door): Actor => ({
    tenantId: tenant.id,
    userId: tenant.userId,
    login: 'policy-user',
    displayName: null,
    admin,
    ipsRole: 'IpsUser',
    door,
  })

  it('which rows a trash listing shows', async () => {
    const tenant = tenants[0]!
    const facts = await factsOf(tenant)
    let listed = 0
    for (const admin of [false, true])
      for (const door of ['rest', 'enterprise'] as const)
        for (const right of ['view', 'purge'] as const)
          for (const scope of ['visible', 'own'] as TrashFilter['scope'][]) {
            const visibility = trashVisibility(actor(tenant, admin, door), right)
            const params = new SqlParams()
            const clause = policySql.isListedInTrash(visibility, scope, 'i')
            const where = [`i.tenant_id = ${params.add(tenant.id)}`]
            if (clause) where.push(clause(params.add(tenant.userId)))
            const result = await context.database.db.query<{ id: number }>(
              `select i.id from items i where ${where.join(' and ')} order by i.id`,
              params.values,
            )
            const expected = [...facts.values()]
              .filter((item) => isListedInTrash(visibility, scope, item))
              .map((item) => item.id)
              .sort((a, b) => a - b)
            expect(
              result.rows.map((row) => row.id),
              `${admin ? 'admin' : 'user'} at ${door}, ${right}, ${scope}`,
            ).toEqual(expected)
            expect(expected.length).toBeLessThanOrEqual(tenant.itemIds.length)
            listed += expected.length
          }
    expect(listed).toBeGreaterThan(0)
  })
})
