import type { DeleteLogFilter, DeleteLogRow } from '../core/ports/trash-store.js'
import type { Queryable } from './queryable.js'

/** One transition of a unit as a delete log shows it (members of a trashed folder are not repeated). */
/** A page of unit-level audit rows after an id cursor, oldest first. */
export async function listDeleteLog(
  q: Queryable,
  tenantId: number,
  filter: DeleteLogFilter,
  afterId: number,
  limit: number,
): Promise<DeleteLogRow[]> {
  const result = await q.query(
    `select a.id, a.at, a.action, a.item_id, a.item_kind, a.item_name, a.item_path, a.actor_id,
            coalesce(u.display_name, u.login, a.actor_login) as actor_name,
            nullif(split_part(a.item_path, '/', 2), '') as library_name, lib.id as library_id
       from audit a
       left join users u on u.tenant_id = a.tenant_id and u.id = a.actor_id
       left join items lib on lib.tenant_id = a.tenant_id and coalesce(lib.parent_id, 0) = 0
             and lib.state = 'active' and lib.name = split_part(a.item_path, '/', 2)
      where a.tenant_id = $1 and a.id > $2 and a.action = any($3::text[])
        and (a.unit_root is null or a.unit_root = a.item_id)
        and ($4::timestamptz is null or a.at >= $4)
        and ($5::timestamptz is null or a.at <= $5)
        and ($6::text is null or a.item_path = $6 or starts_with(a.item_path, $6 || '/'))
      order by a.id
      limit $7`,
    [
      tenantId,
      afterId,
      filter.actions,
      filter.from ?? null,
      filter.to ?? null,
      filter.pathPrefix ?? null,
      limit,
    ],
  )
  return result.rows.map((row) => ({
    id: row.id,
    at: row.at,
    action: row.action,
    itemId: row.item_id,
    itemKind: row.item_kind,
    itemName: row.item_name,
    itemPath: row.item_path,
    actorId: row.actor_id,
    actorName: row.actor_name,
    libraryId: row.library_id,
    libraryName: row.library_name,
  }))
}
