import type { TrashVisibility } from '../core/policy.js'
import type { ItemListing, ItemSearchFilter } from '../core/types.js'
import type { Queryable } from './queryable.js'
import { ITEM_COLUMNS, toItem } from './item-rows.js'
import * as policySql from './policy-sql.js'

/**
 * Searches over items in every lifecycle state (IPS searchAssets and getAssets). One statement counts, one
 * reads a page; folder scoping and folder paths are recursive walks inside those statements, never a query
 * per item.
 */

interface Where {
  ctes: string[]
  where: string[]
  values: unknown[]
}

/** Visibility as policy.may(view) decides it, in its SQL form. */
function visible(where: Where, visibility: TrashVisibility) {
  if (visibility.everything) return
  where.values.push(visibility.userId)
  where.where.push(policySql.may(visibility, 'view', 'i', `$${where.values.length}`))
}

function build(visibility: TrashVisibility, filter: ItemSearchFilter): Where {
  const w: Where = { ctes: [], where: ['i.tenant_id = $1'], values: [visibility.tenantId] }
  const add = (clause: (p: string) => string, value: unknown) => {
    w.values.push(value)
    w.where.push(clause(`$${w.values.length}`))
  }
  add((p) => `i.state = any(${p}::text[])`, filter.states)
  if (filter.kind !== undefined) add((p) => `i.kind = ${p}`, filter.kind)
  if (filter.types !== undefined) add((p) => `i.type = any(${p}::text[])`, filter.types)
  if (filter.excludeTypes !== undefined && filter.excludeTypes.length > 0) {
    add((p) => `i.type <> all(${p}::text[])`, filter.excludeTypes)
  }
  visible(w, visibility)
  if (filter.folder !== undefined) folderScope(w, filter.folder, filter.includeSubfolders ?? false)
  return w
}

/**
 * Active items: children of the named active folder (or of its whole active subtree). Trashed and emptied
 * items: those whose original path lies in that folder (or below), whether the folder still exists or not.
 */
function folderScope(w: Where, segments: string[], includeSubfolders: boolean) {
  w.values.push(segments, includeSubfolders, `/${segments.map((s) => `${s}/`).join('')}`)
  const seg = `$${w.values.length - 2}`
  const sub = `$${w.values.length - 1}`
  const prefix = `$${w.values.length}`
  if (segments.length === 0) {
    w.where.push(`(i.state = 'active' and (${sub}::boolean or i.parent_id is null)
      or i.state <> 'active' and (${sub}::boolean or strpos(substr(i.original_path, 2), '/') = 0))`)
    return
  }
  w.ctes.push(
    `folder_walk as (
        select f.id, 1 as depth from items f
         where f.tenant_id = $1 and f.parent_id is null and f.name = (${seg}::text[])[1] and f.state = 'active'
           and f.kind = 'folder'
        union all
        select c.id, fw.depth + 1 from folder_walk fw
          join items c on c.tenant_id = $1 and c.parent_id = fw.id and c.name = (${seg}::text[])[fw.depth + 1]
               and c.state = 'active' and c.kind = 'folder'
         where fw.depth < cardinality(${seg}::text[])
      )`,
    `folder_scope as (
        select id, 0 as depth from folder_walk where depth = cardinality(${seg}::text[])
        union all
        select c.id, fs.depth + 1 from folder_scope fs
          join items c on c.tenant_id = $1 and c.parent_id = fs.id and c.kind = 'folder' and c.state = 'active'
         where ${sub}::boolean and fs.depth < 1000
      )`,
  )
  w.where.push(`(i.state = 'active' and i.parent_id in (select id from folder_scope)
      or i.state <> 'active' and starts_with(i.original_path, ${prefix}::text)
         and (${sub}::boolean or strpos(substr(i.original_path, length(${prefix}::text) + 1), '/') = 0))`)
}

/**
 * Selects listing rows for the items of a CTE named `picked` (id, ord): their columns, folder path (active:
 * walked up through the parents; trashed/emptied: the folder part of the original path) and user names.
 */
const LISTING_SELECT = `,
      up as (
        select p.id as start, i.parent_id as next, ''::text as path, 0 as depth
          from picked p join items i on i.tenant_id = $1 and i.id = p.id where i.state = 'active'
        union all
        select up.start, f.parent_id, f.name || '/' || up.path, up.depth + 1
          from up join items f on f.tenant_id = $1 and f.id = up.next
         where up.depth < 1000
      )
      select ${ITEM_COLUMNS('i')},
             case when i.state = 'active' then (select path from up where up.start = i.id and up.next is null)
                  else regexp_replace(substr(coalesce(i.original_path, ''), 2), '[^/]*$', '') end as folder_path,
             coalesce(cu.email, cu.login) as created_by_user, coalesce(mu.email, mu.login) as modified_by_user
        from picked p
        join items i on i.tenant_id = $1 and i.id = p.id
        left join users cu on cu.tenant_id = i.tenant_id and cu.id = i.created_by
        left join users mu on mu.tenant_id = i.tenant_id and mu.id = i.modified_by
       order by p.ord`

function toListing(row: Record<string, unknown>): ItemListing {
  return {
    ...toItem(row),
    folderPath: (row.folder_path as string | null) ?? '',
    createdByUser: row.created_by_user as string | null,
    modifiedByUser: row.modified_by_user as string | null,
  }
}

/** One page of matching items ordered by name (id breaks ties), and how many match in all. */
export async function searchItems(
  q: Queryable,
  visibility: TrashVisibility,
  filter: ItemSearchFilter,
  page: { limit: number; offset: number },
): Promise<{ total: number; items: ItemListing[] }> {
  const w = build(visibility, filter)
  const withClause = w.ctes.length > 0 ? `with recursive ${w.ctes.join(',\n')}` : ''
  const counted = await q.query<{ n: number }>(
    `${withClause} select count(*)::int as n from items i where ${w.where.join(' and ')}`,
    w.values,
  )
  const total = counted.rows[0]?.n ?? 0
  if (total === 0 || page.offset >= total) return { total, items: [] }
  const values = [...w.values, page.limit, page.offset]
  const result = await q.query(
    `with recursive ${[...w.ctes, ''].join(',\n')}
      picked as (
        select i.id, row_number() over (order by i.name, i.id) as ord from items i
         where ${w.where.join(' and ')}
         order by i.name, i.id limit $${values.length - 1} offset $${values.length}
      )${LISTING_SELECT}`,
    values,
  )
  return { total, items: result.rows.map(toListing) }
}

/** The visible items among these ids (any state but purging), in the order asked. */
export async function listItemsByIds(
  q: Queryable,
  visibility: TrashVisibility,
  ids: number[],
  kind?: ItemSearchFilter['kind'],
): Promise<ItemListing[]> {
  if (ids.length === 0) return []
  const w = build(visibility, { states: ['active', 'trashed', 'emptied'], kind })
  w.values.push(ids)
  const p = `$${w.values.length}`
  const result = await q.query(
    `with recursive picked as (
        select i.id, min(r.ord) as ord
          from unnest(${p}::bigint[]) with ordinality as r(id, ord)
          join items i on i.tenant_id = $1 and i.id = r.id
         where ${w.where.join(' and ')}
         group by i.id
      )${LISTING_SELECT}`,
    w.values,
  )
  return result.rows.map(toListing)
}
