import type { Right } from '../core/policy.js'
import type { Actor } from '../core/types.js'
import type { Queryable } from './queryable.js'
import { idsIn, UNIT_WALK } from './sql-fragments.js'
import { SqlParams } from './sql-params.js'

/**
 * policy.may as a SQL predicate, for the statements that decide over sets of rows (a folder's subtree, a unit,
 * a bin): the same rule, term for term, so that no set operation decides differently from the per-item check.
 * test/rights-contract.test.ts holds the two to each other over every combination of actor, item and right.
 *
 * `item` is the alias of an `items` row of the actor's tenant (the caller's statement keeps to that tenant);
 * `user` is the parameter holding the actor's user id. Administrators and the Enterprise door are known when
 * the statement is written, so they shape its text, never a value taken from a request.
 */
export function maySql(
  actor: Pick<Actor, 'admin' | 'door'>,
  right: Right,
  item: string,
  user: string,
): string {
  if (actor.admin) return 'true'
  const enterprise = actor.door === 'enterprise'
  const me = `${user}::bigint`
  const granted = (column: 'can_view' | 'can_delete' | 'can_purge') =>
    `exists (select 1 from access a where a.tenant_id = ${item}.tenant_id and a.brand_id = ${item}.brand_id
       and a.user_id = ${me} and a.${column})`
  const owner = `${item}.owner_id is not distinct from ${me}`
  const deleter = `${item}.deleted_by is not distinct from ${me}`
  const unbranded = `${item}.brand_id is null`
  const branded = `${item}.brand_id is not null`
  const topLevelFolder = `(${item}.kind = 'folder' and ${item}.parent_id is null and ${item}.state = 'active')`
  const changeable = `(${unbranded} or ${granted('can_delete')}${enterprise ? '' : ` or ${owner}`})`
  const purge = `((${unbranded} and ${deleter}) or (${branded} and ${granted('can_purge')}))`
  const trash = `(not ${topLevelFolder} and ${changeable})`
  switch (right) {
    case 'view':
      return `(${owner} or ${deleter} or ${unbranded} or ${granted('can_view')})`
    case 'trash':
      return trash
    case 'restore':
      return `((${unbranded} and ${deleter}) or (${branded} and (${granted('can_delete')}${
        enterprise ? '' : ` or ${deleter}`
      })))`
    case 'empty':
    case 'purge':
      return purge
    case 'purgeActive':
      return enterprise
        ? `((${branded} and ${granted('can_purge')}) or (${unbranded} and ${purge} and ${trash}))`
        : `(${purge} and ${trash})`
  }
}

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
          join items c on c.tenant_id = ${tenant} and c.parent_id = sub.id and c.state = 'active'
      )
      select sub.root, count(*)::int as n from sub join items i on i.tenant_id = ${tenant} and i.id = sub.id
       where sub.id <> sub.root and not ${maySql(actor, right, 'i', user)}
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
       where u.id <> u.addressed and not ${maySql(actor, right, 'i', user)}
       group by u.addressed`,
    params.values,
  )
  return new Map(result.rows.map((row) => [row.addressed, row.n]))
}
