import type { Right } from '../core/policy.js'
import type { Actor } from '../core/types.js'
import * as policySql from './policy-sql.js'
import type { Queryable } from './queryable.js'
import { childrenByKey, idsIn, stateNotIn, UNIT_WALK, unitRange } from './sql-fragments.js'
import { SqlParams } from './sql-params.js'

/**
 * Of these active items, how many items of each one's active subtree (the item itself not counted) the actor
 * may not exercise `right` on: a folder is trashed, or purged from the workflow, whole or not at all.
 */
export async function forbiddenInActiveSubtrees(
  q: Queryable,
  actor: Actor,
  right: Right,
  ids: number[],
): Promise<Map<number, number>> {
  if (actor.admin || ids.length === 0) return new Map()
  const params = new SqlParams()
  const tenant = params.add(actor.tenantId)
  const addressed = params.add(ids)
  const user = params.add(actor.userId)
  const result = await q.query<{ root: number; n: number }>(
    `with recursive sub as (
        select i.id as root, i.id from unnest(${addressed}::bigint[]) as a(id)
          join items i on i.tenant_id = ${tenant} and i.id = a.id and i.state = 'active' and i.kind = 'folder'
        union all
        select sub.root, c.id from sub
          cross join lateral (${childrenByKey(tenant, 'sub.id')}) c
         where c.state = 'active'
      )
      select sub.root, count(*)::int as n from sub join items i on i.tenant_id = ${tenant} and i.id = sub.id
       where sub.id <> sub.root and not ${policySql.may(actor, right, 'i', user)}
       group by sub.root`,
    params.values,
  )
  return new Map(result.rows.map((row) => [row.root, row.n]))
}

/**
 * Of these addressed trashed items, how many other members of each one's unit (UNIT_WALK: a unit root with its
 * members, or what is below an addressed member) the actor may not exercise `right` on.
 */
export async function forbiddenInUnits(
  q: Queryable,
  actor: Actor,
  right: Right,
  ids: number[],
  states: readonly ('trashed' | 'emptied')[],
): Promise<Map<number, number>> {
  if (actor.admin || ids.length === 0) return new Map()
  const params = new SqlParams()
  const tenant = params.add(actor.tenantId)
  const addressed = params.add(ids)
  const user = params.add(actor.userId)
  const result = await q.query<{ addressed: number; n: number }>(
    `with recursive ${UNIT_WALK(states.map((state) => `'${state}'`).join(', '), tenant, idsIn(addressed))}
      select u.addressed, count(*)::int as n from unit u join items i on i.tenant_id = ${tenant} and i.id = u.id
       where u.id <> u.addressed and not ${policySql.may(actor, right, 'i', user)}
       group by u.addressed`,
    params.values,
  )
  return new Map(result.rows.map((row) => [row.addressed, row.n]))
}

/**
 * forbiddenInUnits over one keyset range of a large unit (unitRange: the members of the unit rooted at `rootId`
 * after `afterId`, at most `limit`): how many of them (in `states`, the root not counted) the actor may not
 * exercise `right` on, how many rows the range held (fewer than `limit`: the last range) and its last id.
 */
export async function forbiddenInUnitRange(
  q: Queryable,
  actor: Actor,
  right: Right,
  rootId: number,
  afterId: number,
  limit: number,
  states: readonly ('trashed' | 'emptied')[],
): Promise<{ read: number; forbidden: number; last: number | null }> {
  const params = new SqlParams()
  const tenant = params.add(actor.tenantId)
  const root = params.add(rootId)
  const range = unitRange(tenant, root, params.add(afterId), params.add(limit))
  const user = params.add(actor.userId)
  const result = await q.query<{ read: number; forbidden: number; last: string | null }>(
    `with range as materialized (${range})
      select count(*)::int as read, max(r.id) as last,
             count(*) filter (
               where i.id <> ${root}::bigint and i.state ${stateNotIn(states.map((state) => `'${state}'`).join(', '))}
                 and not ${policySql.may(actor, right, 'i', user)}
             )::int as forbidden
        from range r
        cross join lateral (select i.* from items i where i.tenant_id = ${tenant} and i.id = r.id offset 0) i`,
    params.values,
  )
  const row = result.rows[0]!
  return { read: row.read, forbidden: row.forbidden, last: row.last === null ? null : Number(row.last) }
}
