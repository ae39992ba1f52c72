import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Queryable } from '../src/db/database.js'
import { referencedKeys } from '../src/db/sweep-repository.js'
import { type PlanNode, planOf } from './helpers/plans.js'
import { needs, POSTGRES } from './helpers/requirements.js'
import { createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

/** More rows being purged than a hashed look-up of their files fits in work_mem by PostgreSQL's estimate. */
const PURGING = 200_000

type Node = PlanNode & { 'Subplan Name'?: string }

/**
 * The scans of items that reach no row by an index key under a subplan run once per outer row: one whose name the
 * plan never calls hashed (`hashed SubPlan n` is built once and probed per row).
 */
function unkeyedPerRowScans(node: Node, text: string, perRow = false, found: Node[] = []): Node[] {
  const name = node['Subplan Name']
  const inPerRow = name ? !text.includes(`hashed ${name})`) : perRow
  if (inPerRow && node['Relation Name'] === 'items' && !node['Index Cond']) found.push(node)
  for (const child of (node.Plans ?? []) as Node[]) unkeyedPerRowScans(child, text, inPerRow, found)
  return found
}

/**
 * The rows being purged are out of the stored-file index (migrations/0051), so the sweep asks about them apart.
 * Asked per key of a page, with statistics taken while a large purge was marked, the look-up was planned as a
 * scan of every row being purged for each key (a page of 1,000 keys against 200,000 such rows: two hundred million
 * comparisons). They are read in one pass for the page's keys that nothing else holds.
 */
describe('the plan of the sweep during a large purge', needs(POSTGRES, 'plans of PostgreSQL'), () => {
  let server: TestServer
  let f: Fixture
  let admin: pg.Client

  beforeAll(async () => {
    server = await startTestServer()
    f = await createFixture(server.ctx, 'sweep-plans')
    admin = new pg.Client({ connectionString: server.database.url })
    await admin.connect()
    await admin.query(
      `insert into items (tenant_id, kind, type, name, blob_key, state, deleted_at, state_before_purge, purge_token,
                          purge_started_at)
       select $1, 'file', 'Document', 'purged-' || g || '.pdf', gen_random_uuid()::text, 'purging', now(), 'trashed',
              $2::uuid, now()
         from generate_series(1, $3::int) g`,
      [f.tenantId, randomUUID(), PURGING],
    )
    await admin.query('analyze items')
  }, 120_000)

  afterAll(async () => {
    await admin?.end()
    await server?.close()
  })

  it('reads the rows being purged once per page, never once per key', async () => {
    const plans: Node[] = []
    // each statement explained (not run) with its own parameters; nothing is held, so every key is asked about
    const explaining: Queryable = {
      query: (async (text: string, values?: unknown[]) => {
        plans.push(await planOf(admin, text, values))
        return { rows: [] as { key: string }[] }
      }) as Queryable['query'],
    } as Queryable
    const keys = Array.from({ length: 1000 }, () => randomUUID())
    await referencedKeys(explaining, keys)
    expect(plans.length).toBeGreaterThan(0)
    for (const plan of plans) expect(unkeyedPerRowScans(plan, JSON.stringify(plan))).toEqual([])
  })
})
