import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from './helpers/db.js'

/**
 * Scaling out past one PostgreSQL means distributing the tenant-scoped tables by tenant_id (Citus): that only
 * works while every such table has tenant_id in its primary key and in every unique index. The tables that are
 * not tenant-scoped, and the keys that are unique across tenants on purpose, are named here with the reason;
 * anything new must either carry tenant_id in its keys or be added here (and to the README's deployment section).
 */
const NOT_TENANT_SCOPED: Record<string, string> = {
  tenants: 'the tenants themselves (a reference table)',
  schema_migrations: 'applied migrations (per database)',
  cleanup_runs: "the cleanup job's runs, one per schedule tick across tenants (coordinator-local)",
  login_failures: 'throttling per login and per remote address, before any tenant is known',
  sweep_progress: "the orphan sweep's position in the store, which holds every tenant's files",
  sessions: 'looked up by the hash of a ticket that does not name its tenant (distributed by that hash)',
}
const UNIQUE_ACROSS_TENANTS: Record<string, string> = {
  users_login_key: 'a sign-in names a login, not a tenant (a lookup table keyed by login under Citus)',
}

let database: TestDatabase

beforeAll(async () => {
  database = await createTestDatabase()
})

afterAll(async () => {
  await database?.drop()
})

describe('tenant keys', () => {
  it('every tenant-scoped table has tenant_id in its primary key and in every unique index', async () => {
    const tables = await database.db.query<{ table: string }>(
      `select c.relname as table from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = current_schema() and c.relkind in ('r', 'p') order by 1`,
    )
    const keys = await database.db.query<{
      table: string
      index: string
      primary: boolean
      columns: string[]
    }>(
      `select c.relname as table, i.relname as index, x.indisprimary as primary,
              array(select a.attname::text from unnest(x.indkey) k join pg_attribute a
                     on a.attrelid = c.oid and a.attnum = k) as columns
         from pg_index x
         join pg_class c on c.oid = x.indrelid
         join pg_class i on i.oid = x.indexrelid
         join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = current_schema() and x.indisunique
        order by 1, 2`,
    )
    const names = tables.rows.map((row) => row.table)
    // the exceptions are real tables (a renamed or dropped one is taken off the list)
    for (const table of Object.keys(NOT_TENANT_SCOPED)) expect(names).toContain(table)
    const scoped = names.filter((table) => !(table in NOT_TENANT_SCOPED))
    expect(scoped).toEqual(expect.arrayContaining(['items', 'item_versions', 'audit', 'users', 'brands']))

    const problems: string[] = []
    for (const table of scoped) {
      const ofTable = keys.rows.filter((key) => key.table === table)
      if (!ofTable.some((key) => key.primary)) problems.push(`${table}: no primary key`)
      for (const key of ofTable) {
        if (key.index in UNIQUE_ACROSS_TENANTS) continue
        // an expression index lists attribute 0 for the expression: its definition must still name tenant_id
        if (!key.columns.includes('tenant_id'))
          problems.push(
            `${table}: ${key.primary ? 'primary key' : 'unique index'} ${key.index} lacks tenant_id`,
          )
      }
    }
    expect(problems).toEqual([])
    for (const index of Object.keys(UNIQUE_ACROSS_TENANTS))
      expect(keys.rows.map((key) => key.index)).toContain(index)
  })
})
