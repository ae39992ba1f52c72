import type { NewItem, RootPath } from '../core/ports/item-store.js'
import { eachInTurns } from '../core/turns.js'
import type { BatchFacts, Item, ItemFacts } from '../core/types.js'
import { ITEM_COLUMNS, type ItemRow, toItem, toItemFacts } from './item-rows.js'
import * as policySql from './policy-sql.js'
import type { Queryable } from './queryable.js'
import { childrenByKey } from './sql-fragments.js'

/** Items one at a time or by id: the facts a decision needs, paths, names under a folder, inserts. */

/**
 * Loads items for a decision and locks them (in id order, so racing batches queue instead of deadlocking). The
 * ids are joined as a set: with `= any(array)` a batch of 2,000 was answered by scanning the whole table. Only
 * the columns a batch decides on are read (BatchFacts): the whole row, four dates among its columns, took about
 * as much memory and decoding again, held for the batch's length (garbage collection pauses every request of
 * the process meanwhile).
 */
export async function lockItemFacts(
  q: Queryable,
  tenantId: number,
  userId: number,
  ids: number[],
): Promise<Map<number, BatchFacts>> {
  const result = await q.query<BatchFactsRow>(
    `select i.tenant_id, i.id, i.kind, i.name, i.parent_id, i.state, i.owner_id, i.deleted_by, i.brand_id,
            i.legal_hold, i.trash_root, i.original_parent_id, i.original_path,
            a.can_view, a.can_delete, a.can_purge, a.can_read, b.legal_hold as brand_legal_hold
       from items i
       left join access a on a.tenant_id = i.tenant_id and a.brand_id = i.brand_id and a.user_id = $2
       left join brands b on b.tenant_id = i.tenant_id and b.id = i.brand_id
      where i.tenant_id = $1 and i.id in (select unnest($3::bigint[]))
      order by i.id
        for update of i`,
    [tenantId, userId, ids],
  )
  const facts = new Map<number, BatchFacts>()
  await eachInTurns(result.rows, (row) => facts.set(row.id, toBatchFacts(row)))
  return facts
}

interface BatchFactsRow {
  tenant_id: number
  id: number
  kind: Item['kind']
  name: string
  parent_id: number | null
  state: Item['state']
  owner_id: number | null
  deleted_by: number | null
  brand_id: number | null
  legal_hold: boolean
  trash_root: number | null
  original_parent_id: number | null
  original_path: string | null
  can_view: boolean | null
  can_delete: boolean | null
  can_purge: boolean | null
  can_read: boolean | null
  brand_legal_hold: boolean | null
}

function toBatchFacts(row: BatchFactsRow): BatchFacts {
  return {
    tenantId: row.tenant_id,
    id: row.id,
    kind: row.kind,
    name: row.name,
    parentId: row.parent_id,
    state: row.state,
    ownerId: row.owner_id,
    deletedBy: row.deleted_by,
    brandId: row.brand_id,
    rights:
      row.can_view === null
        ? null
        : {
            view: row.can_view,
            delete: row.can_delete === true,
            purge: row.can_purge === true,
            ...(row.can_read !== null ? { read: row.can_read } : {}),
          },
    legalHold: row.legal_hold,
    brandLegalHold: row.brand_legal_hold ?? false,
    trashRoot: row.trash_root,
    originalParentId: row.original_parent_id,
    originalPath: row.original_path,
  }
}

/** Reads facts without locking (views, listings of single items). */
export async function readItemFacts(q: Queryable, tenantId: number, userId: number, ids: number[]) {
  if (ids.length === 0) return new Map<number, ItemFacts>()
  const result = await q.query(
    `select ${ITEM_COLUMNS('i')}, a.can_view, a.can_delete, a.can_purge, a.can_read, b.legal_hold as brand_legal_hold
       from items i
       left join access a on a.tenant_id = i.tenant_id and a.brand_id = i.brand_id and a.user_id = $2
       left join brands b on b.tenant_id = i.tenant_id and b.id = i.brand_id
      where i.tenant_id = $1 and i.id in (select unnest($3::bigint[]))`,
    [tenantId, userId, ids],
  )
  return factsById(result.rows)
}

/** Full paths and ancestor chains of items, one recursive walk for the whole batch. */
export async function pathsOf(q: Queryable, tenantId: number, ids: number[]): Promise<Map<number, RootPath>> {
  const result = await q.query<{ id: number; path: string; ancestor_ids: number[] }>(
    `with recursive up as (
        select i.id as start, i.parent_id as next, i.name::text as path, array[]::bigint[] as ancestors, 0 as depth
          from items i where i.tenant_id = $1 and i.id = any($2::bigint[])
        union all
        select up.start, p.parent_id, p.name || '/' || up.path, up.ancestors || p.id, up.depth + 1
          from up join items p on p.tenant_id = $1 and p.id = up.next
         where up.depth < 1000
      )
      select start as id, '/' || path as path, ancestors as ancestor_ids from up where next is null`,
    [tenantId, ids],
  )
  const paths = new Map<number, RootPath>()
  await eachInTurns(result.rows, (row) =>
    paths.set(row.id, { id: row.id, path: row.path, ancestorIds: row.ancestor_ids.map(Number) }),
  )
  return paths
}

/**
 * Of these active items, those whose active subtree (the item included) holds an item under legal hold, its own
 * flag or its brand's: a permanent delete from the workflow must refuse them before trashing anything.
 */
export async function activeSubtreesUnderHold(
  q: Queryable,
  tenantId: number,
  ids: number[],
): Promise<Set<number>> {
  if (ids.length === 0) return new Set()
  const result = await q.query<{ root: number }>(
    `with recursive sub as (
        select i.id, i.id as root from unnest($2::bigint[]) as a(id)
          join items i on i.tenant_id = $1 and i.id = a.id and i.state = 'active'
        union all
        select c.id, sub.root from sub cross join lateral (${childrenByKey('$1', 'sub.id')}) c
         where c.state = 'active'
      )
      select distinct sub.root from sub join items i on i.tenant_id = $1 and i.id = sub.id
        left join brands b on b.tenant_id = $1 and b.id = i.brand_id
       where ${policySql.isUnderLegalHold('i', 'b.legal_hold')}`,
    [tenantId, ids],
  )
  return new Set(result.rows.map((row) => row.root))
}

/**
 * Active items with one of these names under a parent (null: top level). Each name is one look-up in the
 * active-name key: as `name = any(…)`, statistics taken while the folder's items were trashed made the planner
 * read every active child of the folder and filter the names (40,000 rows, 28 ms for two names).
 */
export async function activeNamesUnder(
  q: Queryable,
  tenantId: number,
  parentId: number | null,
  names: string[],
): Promise<Set<string>> {
  const result = await q.query<{ name: string }>(
    `select wanted.name from unnest($3::text[]) as wanted(name)
      cross join lateral (
        select from items
         where tenant_id = $1 and coalesce(parent_id, 0) = coalesce($2::bigint, 0) and name = wanted.name
           and state = 'active'
         limit 1
      ) as taken`,
    [tenantId, parentId, names],
  )
  return new Set(result.rows.map((row) => row.name))
}

/** The active child of a parent (null: top level) with this name. */
export async function activeChild(q: Queryable, tenantId: number, parentId: number | null, name: string) {
  const result = await q.query<{ id: number; kind: string }>(
    `select id, kind from items where tenant_id = $1 and coalesce(parent_id, 0) = coalesce($2::bigint, 0)
        and name = $3 and state = 'active'`,
    [tenantId, parentId, name],
  )
  return result.rows[0] ?? null
}

/** Active names under a parent that start with a prefix (to pick a free "name (restored N)"). */
export async function activeNamesLike(
  q: Queryable,
  tenantId: number,
  parentId: number | null,
  prefix: string,
): Promise<Set<string>> {
  const result = await q.query<{ name: string }>(
    `select name from items
      where tenant_id = $1 and coalesce(parent_id, 0) = coalesce($2::bigint, 0) and state = 'active'
        and starts_with(name, $3)`,
    [tenantId, parentId, prefix],
  )
  return new Set(result.rows.map((row) => row.name))
}

/**
 * Resolves a '/'-free segment list from the top level to an item in the given states. Active rows are found
 * through the unique index on (tenant, parent, name): a folder of 190,000 files was read child by child to
 * find one name (23 ms a DeleteDocument). Rows in other states are looked for only at the last segment, and
 * only when asked for.
 */
export async function resolvePath(
  q: Queryable,
  tenantId: number,
  segments: string[],
  states: string[] = ['active'],
): Promise<Item | null> {
  if (segments.length === 0) return null
  const result = await q.query(
    `with recursive walk as (
        select i.id, 1 as depth from items i
         where i.tenant_id = $1 and coalesce(i.parent_id, 0) = 0 and i.name = ($2::text[])[1] and i.state = 'active'
        union all
        select c.id, walk.depth + 1 from walk
         cross join lateral (
           select a.id from items a
            where a.tenant_id = $1 and coalesce(a.parent_id, 0) = walk.id
              and a.name = ($2::text[])[walk.depth + 1] and a.state = 'active'
           union all
           select o.id from items o
            where walk.depth + 1 = cardinality($2::text[]) and $3::text[] <> array['active']
              and o.tenant_id = $1 and o.parent_id = walk.id and o.name = ($2::text[])[walk.depth + 1]
              and o.state <> 'active' and o.state = any($3::text[])
         ) c
         where walk.depth < cardinality($2::text[])
      )
      select ${ITEM_COLUMNS('i')} from walk join items i on i.tenant_id = $1 and i.id = walk.id
       where walk.depth = cardinality($2::text[]) and i.state = any($3::text[])
       order by i.state = 'active' desc, i.deleted_at desc nulls first limit 1`,
    [tenantId, segments, states],
  )
  return result.rows[0] ? toItem(result.rows[0]) : null
}

export async function insertItem(q: Queryable, item: NewItem): Promise<Item> {
  const result = await q.query(
    `insert into items (tenant_id, kind, type, name, parent_id, brand_id, issue_id, category_id, size, blob_key,
                        content_type, owner_id, created_by, modified_by)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $12)
     returning ${ITEM_COLUMNS('items')}`,
    [
      item.tenantId,
      item.kind,
      item.type,
      item.name,
      item.parentId,
      item.brandId ?? null,
      item.issueId ?? null,
      item.categoryId ?? null,
      item.size ?? 0,
      item.blobKey ?? null,
      item.contentType ?? null,
      item.ownerId,
    ],
  )
  return toItem(result.rows[0]!)
}

export async function getItem(q: Queryable, tenantId: number, id: number): Promise<Item | null> {
  const result = await q.query(
    `select ${ITEM_COLUMNS('i')} from items i where i.tenant_id = $1 and i.id = $2`,
    [tenantId, id],
  )
  return result.rows[0] ? toItem(result.rows[0]) : null
}

/** Rows of a batch as facts by id, the event loop given a turn on the way (10,000 rows are many milliseconds). */
async function factsById(rows: ItemRow[]): Promise<Map<number, ItemFacts>> {
  const facts = new Map<number, ItemFacts>()
  await eachInTurns(rows, (row) => facts.set(row.id as number, toItemFacts(row)))
  return facts
}
