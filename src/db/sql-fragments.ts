/** SQL pieces several statements of the trash share (composed into statements, never run alone). */

/**
 * audit columns filled from a changed `items` row aliased `x`; every select ends with AUDIT_ITEM_FACTS (the
 * object's brand, issue, category, Deleted/Deleter and owner, which events carry after the row itself is gone)
 */
export const AUDIT_INSERT = `insert into audit (tenant_id, actor_id, actor_login, door, action, item_id, item_kind, item_type,
    item_name, item_path, unit_root, detail, item_brand_id, item_issue_id, item_category_id, item_deleted_at,
    item_deleted_by, item_owner_id, item_version, item_format)`
export const AUDIT_ITEM_FACTS =
  'x.brand_id, x.issue_id, x.category_id, x.deleted_at, x.deleted_by, x.owner_id, x.version, x.content_type'

// State re-checks on rows reached through a unit, and on addressed unit roots, are written as `not in (...)`: an
// `in ('trashed', …)` would match a partial index's predicate, and the planner then scanned that index once per
// unit row (quadratic on a 100,000-row folder), or a user's whole bin for each batch of roots, instead of
// reaching each row by its key.
const ITEM_STATES = ['active', 'trashed', 'emptied', 'purging']

/** `state not in (...)` naming every state but the given ones (a list like `'trashed', 'emptied'`). */
export const stateNotIn = (states: string) => {
  const others = ITEM_STATES.filter((state) => !states.includes(`'${state}'`))
  return `not in (${others.map((state) => `'${state}'`).join(', ')})`
}

/** The addressed ids of a statement parameter (`ids`: its placeholder), as a relation of one column, `id`. */
export const idsIn = (ids: string) => `select unnest(${ids}::bigint[]) as id`

/**
 * The rows of the addressed trashed items' units: for a unit root, every row whose trash_root is the root (one
 * index range, whatever the unit's size: a recursive walk here was planned badly on large folders); for an
 * item inside a unit, a walk down from it through the members of the same unit. Children trashed separately
 * before are other units and stay where they are. Defines `unit(id, trash_root, addressed, blob_key,
 * legal_hold, brand_id)`; needs `with recursive`. `tenant` is the tenant's placeholder; `addressed` a query
 * whose column `id` holds the addressed ids (idsIn: the ids of a parameter).
 *
 * Every row is reached by a key whatever the table's statistics say: each step is a lateral subquery (kept apart
 * by `offset 0`, so it is planned per outer row with that row's values as equalities) that names only the columns
 * of an index it must use: the addressed rows by primary key, a unit's members by (tenant_id, trash_root), a
 * walk's children by (tenant_id, parent_id) or (tenant_id, trash_root); states and the rest are checked outside,
 * so that no partial index of the trash can serve a tenant-wide scan. Planned as one join, statistics taken before a tenant's trash was
 * bulk-filled made the partial trash_root index look empty, and a one-item restore among 100,000 trashed items
 * scanned the tenant's trash once per row it read (over two minutes).
 */
export const UNIT_WALK = (states: string, tenant: string, addressed: string) => `heads as materialized (
    select i.id, i.trash_root, i.state, i.blob_key, i.legal_hold, i.brand_id
      from (select distinct id from (${addressed}) d) a
      cross join lateral (
        select i.id, i.trash_root, i.state, i.blob_key, i.legal_hold, i.brand_id
          from items i where i.tenant_id = ${tenant} and i.id = a.id offset 0
      ) i
  ),
  walk as (
    select h.id, h.trash_root, h.id as addressed, h.blob_key, h.legal_hold, h.brand_id
      from heads h where h.state ${stateNotIn(states)} and h.id <> h.trash_root
    union all
    select c.id, c.trash_root, walk.addressed, c.blob_key, c.legal_hold, c.brand_id
      from walk
      cross join lateral (
        select c.id, c.trash_root, c.state, c.blob_key, c.legal_hold, c.brand_id
          from items c
         where c.tenant_id = ${tenant} and c.parent_id = walk.id and c.trash_root = walk.trash_root
        offset 0
      ) c
     where c.state ${stateNotIn(states)}
  ),
  -- materialized: inlined into an UPDATE's join it can be re-run once per candidate row (seen: 150 s for 200 ids)
  unit as materialized (
    select m.id, m.trash_root, r.id as addressed, m.blob_key, m.legal_hold, m.brand_id
      from heads r
      cross join lateral (
        select m.id, m.trash_root, m.state, m.blob_key, m.legal_hold, m.brand_id
          from items m where m.tenant_id = ${tenant} and m.trash_root = r.id offset 0
      ) m
     where r.id = r.trash_root and r.state ${stateNotIn(states)} and m.state ${stateNotIn(states)}
    union all
    select id, trash_root, addressed, blob_key, legal_hold, brand_id from walk
  )`

/**
 * A folder's children (`id`, `name`, `state`) reached by the (tenant_id, parent_id) key whatever the statistics say:
 * a lateral step kept apart by `offset 0`, naming only the key's columns (the state is checked outside). Joined
 * as one step of an active subtree's walk, statistics taken before a folder was bulk-filled made the planner scan
 * the table once per row of the walk: trashing a freshly imported folder of 30,000 files took 63 s (past the
 * statement timeout) instead of about one.
 */
export const childrenByKey = (tenant: string, parent: string) =>
  `select c.id, c.name, c.state from items c where c.tenant_id = ${tenant} and c.parent_id = ${parent} offset 0`

/**
 * A keyset range of a unit's rows (`id` only): the members of the unit rooted at `root` after the id `after`, in id
 * order, at most `limit` of them, read from the (tenant_id, trash_root, id) index alone. How a unit too large for
 * one statement is gone through a range at a time (each range a statement of bounded size).
 */
export const unitRange = (tenant: string, root: string, after: string, limit: string) =>
  `select m.id from items m
    where m.tenant_id = ${tenant} and m.trash_root = ${root}::bigint and m.id > ${after}::bigint
    order by m.id limit ${limit}`
