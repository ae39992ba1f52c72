import type { AppContext } from '../../src/context.js'
import type { Queryable } from '../../src/db/database.js'
import type { Fixture } from './server.js'

/**
 * `count` active files of the fixture's editor in its brand (in `parentId`, or at the top level), named
 * `<prefix>-<n>.pdf` and inserted set-based; their ids.
 */
export async function activeFiles(
  db: Queryable,
  f: Fixture,
  count: number,
  prefix: string,
  parentId: number | null = null,
): Promise<number[]> {
  const result = await db.query<{ id: number }>(
    `insert into items (tenant_id, kind, type, name, brand_id, size, state, owner_id, parent_id)
     select $1, 'file', 'Document', $4 || '-' || g || '.pdf', $2, 10, 'active', $3, $6
       from generate_series(1, $5::int) g
     returning id::int`,
    [f.tenantId, f.brandId, f.users.editor!.id, prefix, count, parentId],
  )
  return result.rows.map((row) => row.id)
}

/** A file of type Article at the top level of the fixture's brand, its content its name; its id. */
export async function articleFile(ctx: AppContext, fixture: Fixture, name: string): Promise<number> {
  return (
    await ctx.admin.createItem(fixture.tenantId, {
      kind: 'file',
      name,
      type: 'Article',
      brandId: fixture.brandId,
      content: Buffer.from(name),
    })
  ).item.id
}
