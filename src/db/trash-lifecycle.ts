import type { RootPath } from '../core/ports/item-store.js'
import type { RestoreTarget } from '../core/ports/trash-store.js'
import type { Actor } from '../core/types.js'
import type { Queryable } from './queryable.js'
import {
  AUDIT_INSERT,
  AUDIT_ITEM_FACTS,
  childrenByKey,
  idsIn,
  UNIT_WALK,
  unitRange,
} from './sql-fragments.js'
import { SqlParams } from './sql-params.js'

/**
 * SQL for the trash lifecycle. Every statement works on a whole batch (arrays of ids), and every transition
 * writes its audit rows in the same statement, so a transition and its audit row commit or vanish together.
 */

/**
 * Moves each root and its active subtree to the trash as one unit. Returns the number of rows moved per root.
 * Only rows still active are touched, so a racing trash of the same items moves each row once. A root given
 * without its path (null) has it worked out here, walking up its parents by key as pathsOf does.
 */
export async function trashUnits(
  q: Queryable,
  actor: Actor,
  roots: (Pick<RootPath, 'id'> & { path: string | null })[],
  detail: Record<string, unknown> | null = null,
): Promise<Map<number, number>> {
  if (roots.length === 0) return new Map()
  // Files are moved without the walk: the walk's row estimate comes from parent_id's statistics, and with
  // 190,000 files in one folder a one-file delete hash-joined the tenant's whole table (90 ms). With no folder
  // among the roots the walk and its update find nothing to read, whatever their plan.
  const result = await q.query<{ root: number; n: number }>(
    `with recursive up as (
        select r.root as start, i.parent_id as next, i.name::text as path, 0 as depth
          from unnest($6::bigint[], $7::text[]) as r(root, path)
          join items i on i.tenant_id = $1 and i.id = r.root
         where r.path is null
        union all
        select up.start, p.parent_id, p.name || '/' || up.path, up.depth + 1
          from up join items p on p.tenant_id = $1 and p.id = up.next
         where up.depth < 1000
      ),
      root as (
        select i.id, i.kind, r.root,
               coalesce(r.path, (select '/' || up.path from up where up.start = r.root and up.next is null)) as path,
               r.ord
          from unnest($6::bigint[], $7::text[]) with ordinality as r(root, path, ord)
          join items i on i.tenant_id = $1 and i.id = r.root and i.state = 'active'
      ),
      walk as (
        select id, root, path, ord from root where kind = 'folder'
        union all
        select c.id, walk.root, walk.path || '/' || c.name, walk.ord
          from walk cross join lateral (${childrenByKey('$1', 'walk.id')}) c
         where c.state = 'active'
      ),
      moved_alone as (
        ${TRASH_UPDATE('root')} and root.kind <> 'folder'
        returning x.*, root.ord
      ),
      moved_walked as (
        ${TRASH_UPDATE('walk')}
        returning x.*, walk.ord
      ),
      moved as (select * from moved_alone union all select * from moved_walked),
      audited as (
        ${AUDIT_INSERT}
        select x.tenant_id, $2, $3, $4, $5, x.id, x.kind, x.type, x.name, x.original_path, x.trash_root, $8::jsonb,
               ${AUDIT_ITEM_FACTS}
          from moved x
         order by x.ord, x.id <> x.trash_root
      )
      select trash_root as root, count(*)::int as n from moved group by trash_root`,
    [
      actor.tenantId,
      actor.userId,
      actor.login,
      actor.door,
      'trash',
      roots.map((r) => r.id),
      roots.map((r) => r.path),
      detail === null ? null : JSON.stringify(detail),
    ],
  )
  return new Map(result.rows.map((row) => [row.root, row.n]))
}

/** The update that moves the rows of a unit CTE (id, root, path) to the trash. */
const TRASH_UPDATE = (unit: string) => `
  update items x set state = 'trashed', deleted_at = date_trunc('milliseconds', now()), deleted_by = $2,
         deleted_via = $4, trash_root = ${unit}.root, original_parent_id = x.parent_id,
         original_path = ${unit}.path, emptied_at = null, purge_error = null
    from ${unit} where x.tenant_id = $1 and x.id = ${unit}.id`

/** Brings units back: the addressed item (moved and renamed when asked) and its unit members become active. */
export async function restoreUnits(
  q: Queryable,
  actor: Actor,
  targets: RestoreTarget[],
): Promise<Map<number, number>> {
  if (targets.length === 0) return new Map()
  const params = new SqlParams()
  const tenant = params.add(actor.tenantId)
  const ids = params.add(targets.map((t) => t.id))
  const audit = auditParams(params, actor, 'restore')
  const target = {
    ids: params.add(targets.map((t) => t.id)),
    move: params.add(targets.map((t) => t.parentId !== undefined)),
    parentId: params.add(targets.map((t) => t.parentId ?? null)),
    newName: params.add(targets.map((t) => t.newName ?? null)),
  }
  const result = await q.query<{ addressed: number; n: number }>(
    `with recursive ${UNIT_WALK("'trashed'", tenant, idsIn(ids))},
      target as (
        select * from unnest(${target.ids}::bigint[], ${target.move}::boolean[], ${target.parentId}::bigint[],
                             ${target.newName}::text[])
          as t(id, move, parent_id, new_name)
      ),
      moved as (
        update items x set state = 'active', trash_root = null,
               parent_id = case when t.move then t.parent_id else x.parent_id end,
               name = coalesce(t.new_name, x.name),
               modified_at = now(), modified_by = ${audit.userId}, purge_error = null, purge_attempts = 0
          from unit left join target t on t.id = unit.id
         where x.tenant_id = ${tenant} and x.id = unit.id and x.state not in ('active', 'emptied', 'purging')
        returning x.*, unit.addressed
      ),
      audited as (
        ${AUDIT_INSERT}
        select x.tenant_id, ${audit.userId}, ${audit.login}, ${audit.door}, ${audit.action}, x.id, x.kind, x.type,
               x.name, x.original_path, x.addressed,
               case when x.id = x.addressed then jsonb_build_object('parentId', x.parent_id, 'name', x.name) end, ${AUDIT_ITEM_FACTS}
          from moved x
      )
      select addressed, count(*)::int as n from moved group by addressed`,
    params.values,
  )
  return new Map(result.rows.map((row) => [row.addressed, row.n]))
}

/**
 * How many rows each of these unit roots' units holds, counted up to `cap` (from the index alone, never more than
 * `cap` entries per unit): which units are too large to be restored by one statement.
 */
export async function unitSizes(
  q: Queryable,
  tenantId: number,
  rootIds: number[],
  cap: number,
): Promise<Map<number, number>> {
  if (rootIds.length === 0) return new Map()
  const result = await q.query<{ id: number; n: number }>(
    `select r.id, (select count(*)::int from (${unitRange('$1', 'r.id', '0', '$3')}) s) as n
       from unnest($2::bigint[]) as r(id)`,
    [tenantId, rootIds, cap],
  )
  return new Map(result.rows.map((row) => [Number(row.id), row.n]))
}

/**
 * How many rows the units of these ids hold between them (a unit root's members, itself included), counted up to
 * `cap` at most, from the index alone: whether a request over them is large enough to run as a job.
 */
export async function countUnitRows(
  q: Queryable,
  tenantId: number,
  ids: number[],
  cap: number,
): Promise<number> {
  if (ids.length === 0) return 0
  const result = await q.query<{ n: number }>(
    `select count(*)::int as n from (
        select 1 from unnest($2::bigint[]) as r(id)
        cross join lateral (${unitRange('$1', 'r.id', '0', '$3')}) m
        limit $3
      ) s`,
    [tenantId, ids, cap],
  )
  return result.rows[0]!.n
}

/**
 * Restores one keyset range of a large unit (unitRange: its members after `afterId`, at most `limit`): the rows
 * still trashed become active, the root (in whichever range it falls) moved and renamed as its target says, each
 * with its audit row. Answers how many rows the range held (`read`: fewer than `limit` means it was the last),
 * how many it restored, and the last id it held (where the next range starts). The ranges of a unit run in one
 * transaction, so the unit becomes visible whole or not at all.
 */
export async function restoreUnitRange(
  q: Queryable,
  actor: Actor,
  target: RestoreTarget,
  afterId: number,
  limit: number,
): Promise<{ read: number; restored: number; last: number | null }> {
  const params = new SqlParams()
  const tenant = params.add(actor.tenantId)
  const root = params.add(target.id)
  const after = params.add(afterId)
  const range = unitRange(tenant, root, after, params.add(limit))
  const audit = auditParams(params, actor, 'restore')
  const move = params.add(target.parentId !== undefined)
  const parentId = params.add(target.parentId ?? null)
  const newName = params.add(target.newName ?? null)
  // The update reaches the range's rows through the unit's index, between the ids the range starts after and ends
  // at, as one hand-written statement over the unit would: joined to the range's ids instead, it was planned as a
  // hash join over a sequential scan of every row of the unit (the whole table's, at a million rows), once per range.
  const result = await q.query<{ read: number; restored: number; last: string | null }>(
    `with range as materialized (${range}),
      bound as materialized (select count(*)::int as read, max(id) as last from range),
      moved as (
        update items x set state = 'active', trash_root = null,
               parent_id = case when x.id = ${root}::bigint and ${move}::boolean then ${parentId}::bigint
                                else x.parent_id end,
               name = case when x.id = ${root}::bigint then coalesce(${newName}::text, x.name) else x.name end,
               modified_at = now(), modified_by = ${audit.userId}, purge_error = null, purge_attempts = 0
         where x.tenant_id = ${tenant} and x.trash_root = ${root}::bigint and x.id > ${after}::bigint
           and x.id <= (select last from bound)
           and x.state not in ('active', 'emptied', 'purging')
        returning x.*
      ),
      audited as (
        ${AUDIT_INSERT}
        select x.tenant_id, ${audit.userId}, ${audit.login}, ${audit.door}, ${audit.action}, x.id, x.kind, x.type,
               x.name, x.original_path, ${root}::bigint,
               case when x.id = ${root}::bigint then jsonb_build_object('parentId', x.parent_id, 'name', x.name) end,
               ${AUDIT_ITEM_FACTS}
          from moved x
      )
      select bound.read, (select count(*)::int from moved) as restored, bound.last from bound`,
    params.values,
  )
  const row = result.rows[0]!
  return { read: row.read, restored: row.restored, last: row.last === null ? null : Number(row.last) }
}

/** Empties units from the trash (IPS): they leave every listing and wait for the cleanup job. */
export async function emptyUnits(q: Queryable, actor: Actor, ids: number[]): Promise<Map<number, number>> {
  if (ids.length === 0) return new Map()
  const params = new SqlParams()
  const tenant = params.add(actor.tenantId)
  const addressed = params.add(ids)
  const audit = auditParams(params, actor, 'empty')
  const result = await q.query<{ addressed: number; n: number }>(
    `with recursive ${UNIT_WALK("'trashed'", tenant, idsIn(addressed))},
      changed as (
        update items x set state = 'emptied', emptied_at = now()
          from unit where x.tenant_id = ${tenant} and x.id = unit.id and x.state not in ('active', 'emptied', 'purging')
        returning x.*, unit.addressed
      ),
      audited as (
        ${AUDIT_INSERT}
        select x.tenant_id, ${audit.userId}, ${audit.login}, ${audit.door}, ${audit.action}, x.id, x.kind, x.type,
               x.name, x.original_path, x.addressed, null, ${AUDIT_ITEM_FACTS}
          from changed x
      )
      select addressed, count(*)::int as n from changed group by addressed`,
    params.values,
  )
  return new Map(result.rows.map((row) => [row.addressed, row.n]))
}

/** Adds the auditing actor and the audit action of a lifecycle statement to its parameters. */
function auditParams(params: SqlParams, actor: Actor, action: string) {
  return {
    userId: params.add(actor.userId),
    login: params.add(actor.login),
    door: params.add(actor.door),
    action: params.add(action),
  }
}
