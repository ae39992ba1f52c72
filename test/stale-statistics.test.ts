import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { itemsScans, type PlanNode, planOf } from './helpers/plans.js'
import { needs, POSTGRES } from './helpers/requirements.js'
import { createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

/**
 * Plans that do not depend on the table's statistics: a tenant's trash bulk-filled after the statistics were
 * taken (every item active then) must not turn a one-item restore into a scan of the tenant's trash. The
 * restore's statements are caught before they run and explained (EXPLAIN, FORMAT JSON) with their own
 * parameters: every read of `items` is an index scan whose condition goes beyond the tenant (the addressed row
 * by primary key, a unit's members by trash_root, the name clash by the active-name key).
 */
describe('stale statistics', needs(POSTGRES, 'plans of PostgreSQL with statistics of its own'), () => {
  let server: TestServer
  let f: Fixture
  let admin: pg.Client

  beforeAll(async () => {
    server = await startTestServer()
    f = await createFixture(server.ctx, 'stale')
    admin = new pg.Client({ connectionString: server.database.url })
    await admin.connect()
    // statistics taken while every item of the tenant is active, then never again
    await admin.query('alter table items set (autovacuum_enabled = false)')
    const top = await server.ctx.admin.createItem(f.tenantId, {
      kind: 'folder',
      name: 'top',
      brandId: f.brandId,
    })
    await admin.query(
      `insert into items (tenant_id, kind, type, name, parent_id, brand_id, size)
       select $1, 'file', 'Document', 'stale-' || g || '.pdf', $2, $3, 10 from generate_series(1, 50000) g`,
      [f.tenantId, top.item.id, f.brandId],
    )
    await admin.query('analyze items')
    await admin.query(
      `update items set state = 'trashed', deleted_at = now(), deleted_by = $2, deleted_via = 'rest',
              trash_root = id, original_parent_id = parent_id, original_path = '/top/' || name
        where tenant_id = $1 and kind = 'file'`,
      [f.tenantId, f.users.admin!.id],
    )
  }, 120_000)

  afterAll(async () => {
    await admin?.end()
    await server?.close()
  })

  it('a restore reads items by key only: the unit walk and the name clash check', async () => {
    const item = await admin.query<{ id: number }>(
      `select id from items where tenant_id = $1 and state = 'trashed' order by id offset 25000 limit 2`,
      [f.tenantId],
    )
    const caught: { text: string; values: unknown[] }[] = []
    const stop = server.ctx.db.watchStatements!((statement) => {
      if (/^\s*(with recursive|select wanted\.name from unnest)/.test(statement.text)) {
        caught.push({ text: statement.text, values: statement.values ?? [] })
        // explained below instead: run with plans that scan the tenant's trash, it would take minutes
        if (statement.text.trimStart().startsWith('with recursive')) throw new Error('caught for EXPLAIN')
      }
    })
    try {
      // two units: a lone unit's restore leaves the name clash to the unique index, two check it first
      await server.ctx.trash
        .restore(
          f.users.admin!.actor,
          item.rows.map((row) => row.id),
        )
        .catch(() => {})
    } finally {
      stop()
    }
    expect(caught.map((statement) => statement.text.trimStart().slice(0, 14))).toEqual([
      'select wanted.',
      'with recursive',
    ])
    const usedIndexes = new Set<string>()
    for (const statement of caught) {
      const scans = itemsScans(await planOf(admin, statement.text, statement.values))
      expect(scans.length).toBeGreaterThan(0)
      for (const scan of scans) {
        const described = `${statement.text.trimStart().slice(0, 20)}: ${scan['Node Type']} ${scan['Index Name']} (${scan['Index Cond']}) ${JSON.stringify(scan).slice(0, 300)}`
        expect(scan['Node Type'], described).toMatch(/^Index (Only )?Scan$/)
        // a condition on the tenant alone would read the tenant's whole trash
        expect(scan['Index Cond'] ?? '', described).toMatch(/\b(id|trash_root|parent_id|name)\b/)
        usedIndexes.add(scan['Index Name']!)
      }
    }
    expect([...usedIndexes].sort()).toEqual(
      expect.arrayContaining(['items_active_name_key', 'items_pkey', 'items_trash_root_idx']),
    )
  })

  it('the name clash check looks each name up in the active-name key after statistics taken while all was trashed', async () => {
    // statistics now say the folder has no active child; then most of its items come back
    await admin.query('analyze items')
    await admin.query(
      `update items set state = 'active', deleted_at = null, deleted_by = null, deleted_via = null,
              trash_root = null, original_parent_id = null, original_path = null
        where tenant_id = $1 and kind = 'file' and state = 'trashed' and id % 5 <> 0`,
      [f.tenantId],
    )
    const item = await admin.query<{ id: number }>(
      `select id from items where tenant_id = $1 and state = 'trashed' order by id offset 5000 limit 2`,
      [f.tenantId],
    )
    const caught: { text: string; values: unknown[] }[] = []
    const stop = server.ctx.db.watchStatements!((statement) => {
      if (/^\s*select (wanted\.)?name from (unnest|items)/.test(statement.text)) {
        caught.push({ text: statement.text, values: statement.values ?? [] })
      }
    })
    try {
      const restored = await server.ctx.trash.restore(
        f.users.admin!.actor,
        item.rows.map((row) => row.id),
      )
      expect(restored.results.map((result) => result.status)).toEqual(['ok', 'ok'])
    } finally {
      stop()
    }
    expect(caught).toHaveLength(1)
    const scans = itemsScans(await planOf(admin, caught[0]!.text, caught[0]!.values))
    expect(scans.length).toBeGreaterThan(0)
    for (const scan of scans) {
      const described = `${scan['Node Type']} ${scan['Index Name']} (${scan['Index Cond']}) filter ${JSON.stringify(scan).slice(0, 300)}`
      expect(scan['Index Name'], described).toBe('items_active_name_key')
      // the name in the index condition: a filter on it would read every active child of the folder
      expect(scan['Index Cond'] ?? '', described).toMatch(/\bname = /)
    }
  })
})

/**
 * A folder bulk-filled (an import) before the table has any statistics of its own: trashing it walks its subtree
 * by key. Joined as one step of the walk, the planner scanned the table once per row of the walk: a folder of
 * 30,000 files took 63 s to trash, past the statement timeout.
 */
describe(
  'a folder filled before any statistics',
  needs(POSTGRES, 'plans of PostgreSQL with statistics of its own'),
  () => {
    let server: TestServer
    let f: Fixture
    let admin: pg.Client

    beforeAll(async () => {
      server = await startTestServer()
      f = await createFixture(server.ctx, 'unanalyzed')
      admin = new pg.Client({ connectionString: server.database.url })
      await admin.connect()
      await admin.query('alter table items set (autovacuum_enabled = false)')
    })

    afterAll(async () => {
      await admin?.end()
      await server?.close()
    })

    /** The nodes that read items in the walk's steps (the recursive union's second branch). */
    function walkSteps(node: PlanNode, inWalk = false, found: PlanNode[] = []): PlanNode[] {
      if (inWalk && node['Relation Name'] === 'items') found.push(node)
      for (const [i, child] of (node.Plans ?? []).entries())
        walkSteps(child, inWalk || (node['Node Type'] === 'Recursive Union' && i === 1), found)
      return found
    }

    it("trashing the folder walks its subtree by key: the trash's walk and the rights' walk", async () => {
      const top = await server.ctx.admin.createItem(f.tenantId, {
        kind: 'folder',
        name: 'top',
        brandId: f.brandId,
      })
      // below the top level: top-level folders are the administrators' to delete
      const fresh = await server.ctx.admin.createItem(f.tenantId, {
        kind: 'folder',
        name: 'fresh',
        brandId: f.brandId,
        parentId: top.item.id,
      })
      await admin.query(
        `insert into items (tenant_id, kind, type, name, parent_id, brand_id, size)
       select $1, 'file', 'Document', 'fresh-' || g || '.pdf', $2, $3, 10 from generate_series(1, 20000) g`,
        [f.tenantId, fresh.item.id, f.brandId],
      )
      const caught: { text: string; values: unknown[] }[] = []
      for (const role of ['admin', 'editor']) {
        const stop = server.ctx.db.watchStatements!((statement) => {
          // the walks (a lone item's statement, tried first for any single id, walks nothing and moves no folder)
          if (/^\s*with recursive/.test(statement.text) && /\b(walk|sub) as \(/.test(statement.text)) {
            caught.push({ text: statement.text, values: statement.values ?? [] })
            // explained below instead: with plans that scan the table per row of the walk it would take a minute
            throw new Error('caught for EXPLAIN')
          }
        })
        try {
          await server.ctx.trash.trash(f.users[role]!.actor, [fresh.item.id]).catch(() => {})
        } finally {
          stop()
        }
      }
      // the admin's trash reaches the trashing statement; the editor's first checks its rights on the members
      expect(caught).toHaveLength(2)
      expect(caught[0]!.text).toMatch(/^\s*with recursive up/)
      expect(caught[1]!.text).toMatch(/^\s*with recursive sub/)
      for (const statement of caught) {
        const scans = walkSteps(await planOf(admin, statement.text, statement.values))
        expect(scans.length).toBeGreaterThan(0)
        for (const scan of scans) {
          const described = `${statement.text.trimStart().slice(0, 20)}: ${scan['Node Type']} ${scan['Index Name']} (${scan['Index Cond']})`
          expect(scan['Node Type'], described).toMatch(/^Index (Only )?Scan$/)
          expect(scan['Index Cond'] ?? '', described).toMatch(/\b(id|parent_id)\b/)
        }
      }
    })
  },
)
