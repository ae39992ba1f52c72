import type { NewVersion, ObjectRow, ObjectStore, VersionRow } from '../core/ports/object-store.js'
import type { Queryable } from './queryable.js'
import { ITEM_COLUMNS, type ItemRow, toItemFacts } from './item-rows.js'

/** SQL behind object reads (Enterprise GetObjects, versions, renditions) and the version history of items. */

/** Items with the actor's rights and the names their metadata shows, one statement for the batch. */
export async function readObjects(
  q: Queryable,
  tenantId: number,
  userId: number,
  ids: number[],
): Promise<Map<number, ObjectRow>> {
  if (ids.length === 0) return new Map()
  const result = await q.query<ItemRow>(
    `select ${ITEM_COLUMNS('i')}, a.can_view, a.can_delete, a.can_purge, a.can_read,
            b.legal_hold as brand_legal_hold, b.name as brand_name, iss.name as issue_name,
            c.name as category_name, cu.login as creator_login, mu.login as modifier_login,
            du.login as deletor_login, i.version as current_version
       from items i
       left join access a on a.tenant_id = i.tenant_id and a.brand_id = i.brand_id and a.user_id = $2
       left join brands b on b.tenant_id = i.tenant_id and b.id = i.brand_id
       left join issues iss on iss.tenant_id = i.tenant_id and iss.id = i.issue_id
       left join categories c on c.tenant_id = i.tenant_id and c.id = i.category_id
       left join users cu on cu.tenant_id = i.tenant_id and cu.id = coalesce(i.created_by, i.owner_id)
       left join users mu on mu.tenant_id = i.tenant_id and mu.id = coalesce(i.modified_by, i.created_by, i.owner_id)
       left join users du on du.tenant_id = i.tenant_id and du.id = i.deleted_by
      where i.tenant_id = $1 and i.id = any($3::bigint[])`,
    [tenantId, userId, ids],
  )
  return new Map(
    result.rows.map((row) => [
      row.id as number,
      {
        ...toItemFacts(row),
        brandName: row.brand_name as string | null,
        issueName: row.issue_name as string | null,
        categoryName: row.category_name as string | null,
        creatorLogin: row.creator_login as string | null,
        modifierLogin: row.modifier_login as string | null,
        deletorLogin: row.deletor_login as string | null,
        version: row.current_version as string | null,
      },
    ]),
  )
}

/**
 * The version history of items, oldest first. A file stored before versions were kept (no rows yet) has one
 * version, 0.1: its current file.
 */
export async function listVersions(q: Queryable, tenantId: number, itemIds: number[]): Promise<VersionRow[]> {
  if (itemIds.length === 0) return []
  const result = await q.query<Record<string, unknown>>(
    `select v.item_id, v.major, v.minor, v.blob_key, v.size, v.content_type, v.thumb_blob_key,
            v.preview_blob_key, v.comment, v.created_at, u.login as creator_login
       from item_versions v
       left join users u on u.tenant_id = v.tenant_id and u.id = v.created_by
      where v.tenant_id = $1 and v.item_id = any($2::bigint[])
     union all
     select i.id, 0, 1, i.blob_key, i.size, i.content_type, null, null, '', i.modified_at, u.login
       from items i
       left join users u on u.tenant_id = i.tenant_id and u.id = coalesce(i.created_by, i.owner_id)
      where i.tenant_id = $1 and i.id = any($2::bigint[]) and i.blob_key is not null
        and not exists (select 1 from item_versions v where v.tenant_id = $1 and v.item_id = i.id)
      order by 1, 2, 3`,
    [tenantId, itemIds],
  )
  return result.rows.map((row) => ({
    itemId: Number(row.item_id),
    major: Number(row.major),
    minor: Number(row.minor),
    blobKey: row.blob_key as string,
    size: Number(row.size),
    contentType: row.content_type as string | null,
    thumbBlobKey: row.thumb_blob_key as string | null,
    previewBlobKey: row.preview_blob_key as string | null,
    comment: row.comment as string,
    createdAt: row.created_at as Date,
    creatorLogin: row.creator_login as string | null,
  }))
}

/**
 * Adds a version to an active file and makes it the current one, in one statement: the item row is locked,
 * its earlier content becomes version 0.1 when no history was kept yet, and the new number follows the last.
 * Returns the number given, or null when there is no such active file.
 */
export async function insertVersion(
  q: Queryable,
  version: NewVersion,
): Promise<{ major: number; minor: number } | null> {
  const result = await q.query<{ major: number; minor: number }>(
    `with item as (
        select id, blob_key, size, content_type, modified_at, coalesce(modified_by, created_by, owner_id) as author
          from items where tenant_id = $1 and id = $2 and kind = 'file' and state = 'active'
           for update
      ),
      existing as (
        select major, minor from item_versions where tenant_id = $1 and item_id = $2
      ),
      first as (
        insert into item_versions (tenant_id, item_id, major, minor, blob_key, size, content_type, created_at,
                                   created_by)
        select $1, item.id, 0, 1, item.blob_key, item.size, item.content_type, item.modified_at, item.author
          from item where item.blob_key is not null and not exists (select 1 from existing)
        returning major, minor
      ),
      latest as (
        select major, minor from (select * from existing union all select * from first) known
         order by major desc, minor desc limit 1
      ),
      numbered as (
        select case when $10 then coalesce(l.major, 0) + 1 else coalesce(l.major, 0) end as major,
               case when $10 then 0 else coalesce(l.minor, 0) + 1 end as minor
          from item left join latest l on true
      ),
      added as (
        insert into item_versions (tenant_id, item_id, major, minor, blob_key, size, content_type, thumb_blob_key,
                                   preview_blob_key, comment, created_by)
        select $1, $2, n.major, n.minor, $3, $4, $5, $6, $7, $8, $9 from numbered n
        returning major, minor
      ),
      current as (
        update items set blob_key = $3, size = $4, content_type = coalesce($5, content_type),
               modified_at = now(), modified_by = coalesce($9, modified_by),
               version = added.major || '.' || added.minor
          from added where tenant_id = $1 and id = $2
      )
      select major, minor from added`,
    [
      version.tenantId,
      version.itemId,
      version.blobKey,
      version.size,
      version.contentType,
      version.thumbBlobKey,
      version.previewBlobKey,
      version.comment,
      version.createdBy,
      version.major,
    ],
  )
  const row = result.rows[0]
  return row ? { major: Number(row.major), minor: Number(row.minor) } : null
}

/** The columns the tenant's Trash Can query shows (null: the standard set). */
export async function trashColumns(q: Queryable, tenantId: number): Promise<string[] | null> {
  const result = await q.query<{ trash_columns: string[] | null }>(
    'select trash_columns from tenants where id = $1',
    [tenantId],
  )
  return result.rows[0]?.trash_columns ?? null
}

export async function setTrashColumns(q: Queryable, tenantId: number, columns: string[] | null) {
  const result = await q.query('update tenants set trash_columns = $2 where id = $1', [tenantId, columns])
  return (result.rowCount ?? 0) > 0
}

/** The object store over the pool or one transaction. */
export class PgObjectStore implements ObjectStore {
  constructor(private readonly q: Queryable) {}
  readObjects(tenantId: number, userId: number, ids: number[]) {
    return readObjects(this.q, tenantId, userId, ids)
  }
  listVersions(tenantId: number, itemIds: number[]) {
    return listVersions(this.q, tenantId, itemIds)
  }
  insertVersion(version: NewVersion) {
    return insertVersion(this.q, version)
  }
  trashColumns(tenantId: number) {
    return trashColumns(this.q, tenantId)
  }
  setTrashColumns(tenantId: number, columns: string[] | null) {
    return setTrashColumns(this.q, tenantId, columns)
  }
}
