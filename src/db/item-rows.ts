import type { Item, ItemFacts, TrashEntry } from '../core/types.js'

/** Columns of `items` as the core's Item, for `select ${ITEM_COLUMNS('i')} from items i`. */
export const ITEM_COLUMNS = (alias: string) =>
  [
    'tenant_id',
    'id',
    'kind',
    'type',
    'name',
    'parent_id',
    'brand_id',
    'issue_id',
    'category_id',
    'size',
    'blob_key',
    'content_type',
    'owner_id',
    'created_at',
    'created_by',
    'modified_at',
    'modified_by',
    'state',
    'deleted_at',
    'deleted_by',
    'deleted_via',
    'trash_root',
    'original_parent_id',
    'original_path',
    'emptied_at',
    'legal_hold',
    'purge_error',
  ]
    .map((column) => `${alias}.${column}`)
    .join(', ')

export type ItemRow = Record<string, unknown>

export function toItem(row: ItemRow): Item {
  return {
    tenantId: row.tenant_id as number,
    id: row.id as number,
    kind: row.kind as Item['kind'],
    type: row.type as string,
    name: row.name as string,
    parentId: row.parent_id as number | null,
    brandId: row.brand_id as number | null,
    issueId: row.issue_id as number | null,
    categoryId: row.category_id as number | null,
    size: row.size as number,
    blobKey: row.blob_key as string | null,
    contentType: row.content_type as string | null,
    ownerId: row.owner_id as number | null,
    createdAt: row.created_at as Date,
    createdBy: row.created_by as number | null,
    modifiedAt: row.modified_at as Date,
    modifiedBy: row.modified_by as number | null,
    state: row.state as Item['state'],
    deletedAt: row.deleted_at as Date | null,
    deletedBy: row.deleted_by as number | null,
    deletedVia: row.deleted_via as string | null,
    trashRoot: row.trash_root as number | null,
    originalParentId: row.original_parent_id as number | null,
    originalPath: row.original_path as string | null,
    emptiedAt: row.emptied_at as Date | null,
    legalHold: row.legal_hold as boolean,
    purgeError: row.purge_error as string | null,
  }
}

export function toItemFacts(row: ItemRow): ItemFacts {
  const hasRights = row.can_view !== null && row.can_view !== undefined
  return {
    ...toItem(row),
    rights: hasRights
      ? {
          view: row.can_view as boolean,
          delete: row.can_delete as boolean,
          purge: row.can_purge as boolean,
          ...(typeof row.can_read === 'boolean' ? { read: row.can_read } : {}),
        }
      : null,
    brandLegalHold: (row.brand_legal_hold as boolean | null) ?? false,
  }
}

export function toTrashEntry(row: ItemRow): TrashEntry {
  return {
    ...toItemFacts(row),
    deletedByLogin: row.deleted_by_login as string | null,
    deletedByName: row.deleted_by_name as string | null,
    brandName: row.brand_name as string | null,
    expiresAt: row.expires_at as Date | null,
    unitSize: (row.unit_size as number | null) ?? 1,
    unitBytes: (row.unit_bytes as number | null) ?? (row.size as number),
    unitRefuses: {
      restore: row.unit_refuses_restore === true,
      purge: row.unit_refuses_purge === true,
    },
    ...(typeof row.sort_key === 'string' ? { sortKey: row.sort_key } : {}),
  }
}
