import type { Queryable } from '../src/db/database.js'

/**
 * A folder chain `depth` deep with `total` items below its top (folders included), files spread over the
 * levels, made with set-based SQL. Returns the top folder's id.
 */
export async function folderTree(
  q: Queryable,
  tenantId: number,
  ownerId: number,
  name: string,
  total: number,
  depth: number,
): Promise<number> {
  const chain: number[] = []
  for (let level = 0; level < depth; level++) {
    const result = await q.query<{ id: number }>(
      `insert into items (tenant_id, kind, type, name, parent_id, owner_id) values ($1, 'folder', 'Folder', $2, $3, $4)
       returning id`,
      [tenantId, level === 0 ? name : `level-${level}`, chain[level - 1] ?? null, ownerId],
    )
    chain.push(result.rows[0]!.id)
  }
  await q.query(
    `insert into items (tenant_id, kind, type, name, parent_id, owner_id, size)
     select $1, 'file', 'Document', 'file-' || g, ($2::bigint[])[1 + g % $3], $4, 1000
       from generate_series(1, $5::int) as g`,
    [tenantId, chain, depth, ownerId, total - depth],
  )
  await q.query('analyze items')
  return chain[0]!
}

/** Trashes a subtree with raw SQL (for limit datasets): the same columns the core sets. */
export async function rawTrashSubtree(q: Queryable, tenantId: number, rootId: number, userId: number) {
  await q.query(
    `with recursive sub as (
        select id from items where tenant_id = $1 and id = $2
        union all
        select c.id from items c join sub on c.tenant_id = $1 and c.parent_id = sub.id
      )
      update items i set state = 'trashed', deleted_at = now(), deleted_by = $3, trash_root = $2,
             original_parent_id = i.parent_id, original_path = '/' || i.name
        from sub where i.tenant_id = $1 and i.id = sub.id`,
    [tenantId, rootId, userId],
  )
}
