import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RestoreTarget } from '../src/core/ports/trash-store.js'
import type { Queryable } from '../src/db/database.js'
import { restoreUnitRange } from '../src/db/trash-lifecycle.js'
import { itemsScans, type PlanNode, planOf } from './helpers/plans.js'
import { needs, POSTGRES } from './helpers/requirements.js'
import { createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

const UNIT = 40_000
const RANGE = 10_000

/**
 * The statement that restores one keyset range of a large unit (a folder of a million files is a hundred of
 * them) reaches the range's rows through the unit's index. Joined to the range's ids instead, it was planned as
 * a hash join over a sequential scan of the unit's table: every range read the whole table once more (at a million
 * rows, the undo took 1.9 times as long as one statement over the unit, and other users' restores waited meanwhile).
 */
describe('the plan of a large unit range restore', needs(POSTGRES, 'plans of PostgreSQL'), () => {
  let server: TestServer
  let f: Fixture
  let admin: pg.Client
  let folder: number

  beforeAll(async () => {
    server = await startTestServer()
    f = await createFixture(server.ctx, 'range-plans')
    admin = new pg.Client({ connectionString: server.database.url })
    await admin.connect()
    folder = (
      await server.ctx.admin.createItem(f.tenantId, { kind: 'folder', name: 'mass', brandId: f.brandId })
    ).item.id
    await admin.query(
      `insert into items (tenant_id, kind, type, name, parent_id, brand_id, size)
       select $1, 'file', 'Document', 'mass-' || g || '.pdf', $2, $3, 10 from generate_series(1, $4::int) g`,
      [f.tenantId, folder, f.brandId, UNIT],
    )
    await server.ctx.trash.trash(f.users.admin!.actor, [folder])
    await admin.query('analyze items')
  }, 120_000)

  afterAll(async () => {
    await admin?.end()
    await server?.close()
  })

  it('reads the range by the unit index, never the table whole', async () => {
    const middle = await admin.query<{ id: number }>(
      'select id from items where tenant_id = $1 and trash_root = $2 order by id offset $3 limit 1',
      [f.tenantId, folder, UNIT / 2],
    )
    for (const after of [0, Number(middle.rows[0]!.id)]) {
      let plan: PlanNode | undefined
      // the statement explained (not run) with its own parameters, as the job sends it
      const explaining: Queryable = {
        query: (async (text: string, values?: unknown[]) => {
          plan = await planOf(admin, text, values)
          return { rows: [{ read: 0, restored: 0, last: null }] }
        }) as Queryable['query'],
      } as Queryable
      const target: RestoreTarget = { id: folder }
      await restoreUnitRange(explaining, f.users.admin!.actor, target, after, RANGE)
      const scans = itemsScans(plan!)
      expect(scans.length).toBeGreaterThan(0)
      for (const scan of scans) {
        const described = `${scan['Node Type']} ${scan['Index Name'] ?? ''}: ${JSON.stringify(plan).slice(0, 600)}`
        expect(scan['Node Type'], described).toMatch(/^(Index (Only )?Scan|Bitmap Heap Scan)$/)
      }
    }
  })
})
