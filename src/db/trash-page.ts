import { CoreError, ErrorCodes } from '../core/errors.js'
import type { TrashVisibility } from '../core/policy.js'
import type { TrashFacets } from '../core/ports/trash-store.js'
import type { TrashEntry, TrashFilter, TrashPage } from '../core/types.js'
import { ITEM_COLUMNS, toTrashEntry } from './item-rows.js'
import * as policySql from './policy-sql.js'
import type { Queryable } from './queryable.js'
import { SqlParams } from './sql-params.js'
import { type Direction, decodeCursor, nullableIn, SORT_CASTS } from './trash-cursor.js'

/** A page of the trash an actor may see, its facets and its count, and the WHERE every trash listing shares. */

/** When the cleanup job will purge a row (policy.expiresAt); needs `b` and `t`. */
const EXPIRES_AT = policySql.expiresAt('i', 'b', 't')

const SORT_COLUMNS: Record<NonNullable<TrashPage['sort']>, string> = {
  deletedAt: 'i.deleted_at',
  name: 'i.name',
  size: 'i.size',
  type: 'i.type',
  deletedBy: 'u.login',
  path: 'i.original_path',
  brand: 'b.name',
  id: 'i.id',
  modifiedAt: 'i.modified_at',
  expiresAt: EXPIRES_AT,
}

/**
 * The WHERE clauses of a trash listing and their parameters (the tenant first, `tenant` its placeholder); shared
 * with trash-listing.ts, which reads `values`.
 */
export function trashWhere(visibility: TrashVisibility, filter: TrashFilter) {
  const params = new SqlParams()
  const tenant = params.add(visibility.tenantId)
  const where = [`i.tenant_id = ${tenant}`]
  const add = (clause: (p: string) => string, value: unknown) => {
    where.push(clause(params.add(value)))
  }
  add((p) => `i.state = any(${p}::text[])`, filter.states ?? ['trashed'])
  const listed = policySql.isListedInTrash(visibility, filter.scope, 'i')
  if (listed) add(listed, visibility.userId)
  if (filter.rootsOnly) where.push('i.id = i.trash_root')
  if (filter.name !== undefined) {
    if (filter.nameExact) add((p) => `i.name = ${p}`, filter.name)
    else add((p) => `strpos(lower(i.name), lower(${p})) > 0`, filter.name)
  }
  if (filter.type !== undefined) add((p) => `i.type = ${p}`, filter.type)
  if (filter.kind !== undefined) add((p) => `i.kind = ${p}`, filter.kind)
  if (filter.brandId !== undefined) add((p) => `i.brand_id = ${p}`, filter.brandId)
  if (filter.issueId !== undefined) add((p) => `i.issue_id = ${p}`, filter.issueId)
  if (filter.categoryId !== undefined) add((p) => `i.category_id = ${p}`, filter.categoryId)
  if (filter.deletedBy !== undefined) add((p) => `i.deleted_by = ${p}`, filter.deletedBy)
  if (filter.deletedByLogin !== undefined) {
    add(
      (p) =>
        `i.deleted_by in (select id from users where tenant_id = ${tenant} and (lower(login) = lower(${p}) or lower(display_name) = lower(${p})))`,
      filter.deletedByLogin,
    )
  }
  if (filter.deletedFrom !== undefined) add((p) => `i.deleted_at >= ${p}`, filter.deletedFrom)
  if (filter.deletedTo !== undefined) add((p) => `i.deleted_at <= ${p}`, filter.deletedTo)
  if (filter.sizeMin !== undefined) add((p) => `i.size >= ${p}`, filter.sizeMin)
  if (filter.sizeMax !== undefined) add((p) => `i.size <= ${p}`, filter.sizeMax)
  if (filter.ids !== undefined) add((p) => `i.id = any(${p}::bigint[])`, filter.ids)
  return { where, values: params.values, params, tenant }
}

/**
 * One page of the trash an actor may see, with the actor's rights on each entry. Every order pages by keyset
 * (cursor: the sort value and id of the last row seen; nulls sort last) so a deep page costs what the first
 * does; `offset` remains for clients that jump. Default order: deleted newest first, id as tie-break.
 */
export async function listTrash(
  q: Queryable,
  visibility: TrashVisibility,
  filter: TrashFilter,
  page: TrashPage,
): Promise<TrashEntry[]> {
  const { where, params, tenant } = trashWhere(visibility, filter)
  const sort = page.sort ?? 'deletedAt'
  const direction: Direction = page.direction === 'asc' ? 'asc' : 'desc'
  const column = SORT_COLUMNS[sort]
  const nullable = nullableIn(sort, filter)
  // always true (the column is not null): it lets the active items' order use items_active_modified_at_idx
  if (sort === 'modifiedAt') where.push('i.modified_at is not null')
  if (page.cursor !== undefined) {
    const cursor = decodeCursor(page.cursor)
    if (!cursor || cursor.sort !== sort || cursor.direction !== direction)
      throw new CoreError(ErrorCodes.INVALID_INPUT, 'The cursor does not belong to this sort order')
    const after = direction === 'desc' ? '<' : '>'
    const id = `${params.add(cursor.id)}::bigint`
    if (cursor.value === null) {
      // only nullable columns reach here: the rest of the nulls, which sort last
      where.push(`(${column} is null and i.id ${after} ${id})`)
    } else {
      const v = `${params.add(cursor.value)}::${SORT_CASTS[sort]}`
      // a non-null column is a row comparison (the default order's is answered by an index)
      where.push(
        nullable
          ? `(${column} ${after} ${v} or (${column} = ${v} and i.id ${after} ${id}) or ${column} is null)`
          : `(${column}, i.id) ${after} (${v}, ${id})`,
      )
    }
  }
  const userParam = params.add(visibility.userId)
  const limit = params.add(page.limit)
  const offset = params.add(page.offset ?? 0)
  const order = `${column} ${direction}${nullable ? ' nulls last' : ''}, i.id ${direction}`
  // The page's ids are chosen first, from items alone (joined only with what the sort needs), then the
  // few rows of the page get their names, rights and expiry: joins never run over the whole trash.
  const sortJoin =
    sort === 'deletedBy'
      ? 'left join users u on u.tenant_id = i.tenant_id and u.id = i.deleted_by'
      : sort === 'brand'
        ? 'left join brands b on b.tenant_id = i.tenant_id and b.id = i.brand_id'
        : sort === 'expiresAt'
          ? `join tenants t on t.id = i.tenant_id
             left join brands b on b.tenant_id = i.tenant_id and b.id = i.brand_id`
          : ''
  const result = await q.query(
    `with page as (
       select i.id, ${column} as sort_value${
         SORT_CASTS[sort] === 'timestamptz'
           ? `, to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as sort_key`
           : ''
       } from items i ${sortJoin}
        where ${where.join(' and ')}
        order by ${order}
        limit ${limit} offset ${offset})
     select ${ITEM_COLUMNS('i')}, u.login as deleted_by_login, u.display_name as deleted_by_name,
            b.name as brand_name, b.legal_hold as brand_legal_hold, a.can_view, a.can_delete, a.can_purge,
            ${SORT_CASTS[sort] === 'timestamptz' ? 'p.sort_key,' : ''}
            ${EXPIRES_AT} as expires_at,
            case when i.kind = 'folder' and i.id = i.trash_root then
              (select count(*) from items m where m.tenant_id = i.tenant_id and m.trash_root = i.id
                  and m.state = i.state) end as unit_size,
            case when i.kind = 'folder' and i.id = i.trash_root then
              (select coalesce(sum(m.size), 0)::bigint from items m where m.tenant_id = i.tenant_id and m.trash_root = i.id
                  and m.state = i.state) end as unit_bytes,
            ${UNIT_REFUSES(visibility, 'restore', userParam)} as unit_refuses_restore,
            ${UNIT_REFUSES(visibility, 'purge', userParam)} as unit_refuses_purge
       from page p
       join items i on i.tenant_id = ${tenant} and i.id = p.id
       join tenants t on t.id = i.tenant_id
       left join users u on u.tenant_id = i.tenant_id and u.id = i.deleted_by
       left join brands b on b.tenant_id = i.tenant_id and b.id = i.brand_id
       left join access a on a.tenant_id = i.tenant_id and a.brand_id = i.brand_id and a.user_id = ${userParam}
      order by p.sort_value ${direction}${nullable ? ' nulls last' : ''}, p.id ${direction}`,
    params.values,
  )
  return result.rows.map(toTrashEntry)
}

/**
 * Whether a listed folder unit (alias `i`) holds a member the actor may not restore or purge: a listing offers an
 * action on a unit only when the operation would accept the whole of it. Administrators may do everything.
 */
const UNIT_REFUSES = (visibility: TrashVisibility, right: 'restore' | 'purge', user: string) =>
  visibility.admin
    ? 'false'
    : `(i.kind = 'folder' and i.id = i.trash_root and exists (
         select 1 from items m where m.tenant_id = i.tenant_id and m.trash_root = i.id and m.state = i.state
            and not ${policySql.may(visibility, right, 'm', user)}))`

/** The brands, deleters and types present in the trash an actor may see (for filter choices). */
export async function trashFacets(
  q: Queryable,
  visibility: TrashVisibility,
  filter: TrashFilter,
): Promise<TrashFacets> {
  const { where, params, tenant } = trashWhere(visibility, filter)
  const result = await q.query<{
    facet: string
    id: number | null
    name: string | null
    label: string | null
  }>(
    `with visible as (select i.brand_id, i.deleted_by, i.type from items i where ${where.join(' and ')})
     select 'brand' as facet, b.id, b.name, null as label
       from brands b where b.tenant_id = ${tenant} and b.id in (select brand_id from visible)
     union all
     select 'deleter', u.id, u.login, u.display_name
       from users u where u.tenant_id = ${tenant} and u.id in (select deleted_by from visible)
     union all
     select 'type', null, v.type, null from (select distinct type from visible) v
     order by 1, 3`,
    params.values,
  )
  const rows = (facet: string) => result.rows.filter((row) => row.facet === facet)
  return {
    brands: rows('brand').map((row) => ({ id: row.id!, name: row.name! })),
    deleters: rows('deleter').map((row) => ({ id: row.id!, login: row.name!, name: row.label })),
    types: rows('type').map((row) => row.name!),
  }
}

export async function countTrash(
  q: Queryable,
  visibility: TrashVisibility,
  filter: TrashFilter,
): Promise<number> {
  const { where, params } = trashWhere(visibility, filter)
  const result = await q.query<{ n: number }>(
    `select count(*)::int as n from items i where ${where.join(' and ')}`,
    params.values,
  )
  return result.rows[0]?.n ?? 0
}
