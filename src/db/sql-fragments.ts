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
const stateNotIn = (states: string) => {
  const others = ITEM_STATES.filter((state) => !states.includes(`'${state}'`))
  return `not in (${others.map((state) => `'${state}'`).join(', ')})`
}

/**
 * The predicate picking the addressed ids of a statement parameter (`ids`: its placeholder). A join with the
 * unnested ids, not `= any(array)`: with the array the planner estimates a handful of rows and walks a whole
 * tenant's trash through the partial roots index (id = trash_root) instead of probing the key.
 */
export const idsIn = (ids: string) => (column: string) => `${column} in (select unnest(${ids}::bigint[]))`

/**
 * The rows of the addressed trashed items' units: for a unit root, every row whose trash_root is the root (one
 * index range, whatever the unit's size: a recursive walk here was planned badly on large folders); for an
 * item inside a unit, a walk down from it through the members of the same unit. Children trashed separately
 * before are other units and stay where they are. Defines `unit(id, trash_root, addressed, blob_key,
 * legal_hold, brand_id)`; needs `with recursive`. `tenant` is the tenant's placeholder; `addressed` makes the
 * predicate that picks the addressed ids (idsIn: the ids of a parameter, probed by key).
 */
export const UNIT_WALK = (states: string, tenant: string, addressed: (column: string) => string) => `walk as (
    select i.id, i.trash_root, i.id as addressed, i.blob_key, i.legal_hold, i.brand_id
      from items i where i.tenant_id = ${tenant} and ${addressed('i.id')} and i.state in (${states})
       and i.id <> i.trash_root
    union all
    select c.id, c.trash_root, walk.addressed, c.blob_key, c.legal_hold, c.brand_id
      from walk join items c on c.tenant_id = ${tenant} and c.parent_id = walk.id and c.trash_root = walk.trash_root
     where c.state in (${states})
  ),
  -- materialized: inlined into an UPDATE's join it can be re-run once per candidate row (seen: 150 s for 200 ids)
  unit as materialized (
    select m.id, m.trash_root, r.id as addressed, m.blob_key, m.legal_hold, m.brand_id
      from items r join items m on m.tenant_id = ${tenant} and m.trash_root = r.id and m.state in (${states})
     where r.tenant_id = ${tenant} and ${addressed('r.id')} and r.id = r.trash_root and r.state ${stateNotIn(states)}
    union all
    select id, trash_root, addressed, blob_key, legal_hold, brand_id from walk
  )`
