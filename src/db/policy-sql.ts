import type { Right, TrashVisibility } from '../core/policy.js'
import type { Actor, TrashFilter } from '../core/types.js'

/**
 * The SQL twins of src/core/policy.ts's rules, each under its rule's name, for statements that decide over sets
 * of rows. test/rights-contract.test.ts holds `may` to policy.may, test/policy-contract.test.ts every other twin
 * to its rule, each evaluating both on the same rows.
 *
 * Arguments are SQL: aliases of joined rows (`item` an `items` row, `brand` its `brands` row, left joined,
 * `tenant` its `tenants` row) or expressions.
 */

/**
 * policy.may as a SQL predicate, for the statements that decide over sets of rows (a folder's subtree, a unit,
 * a bin): the same rule, term for term, so that no set operation decides differently from the per-item check.
 * test/rights-contract.test.ts holds the two to each other over every combination of actor, item and right.
 *
 * `item` is the alias of an `items` row of the actor's tenant (the caller's statement keeps to that tenant);
 * `user` is the parameter holding the actor's user id. Administrators and the Enterprise door are known when
 * the statement is written, so they shape its text, never a value taken from a request.
 */
export function may(actor: Pick<Actor, 'admin' | 'door'>, right: Right, item: string, user: string): string {
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

/** What of the actor shapes may's text: statements written with it are the same text for the same shape. */
export function mayShape(actor: Pick<Actor, 'admin' | 'door'>): 'admin' | 'enterprise' | 'other' {
  return actor.admin ? 'admin' : actor.door === 'enterprise' ? 'enterprise' : 'other'
}

/** policy.effectiveRetentionDays: the brand's auto purge days when set, else the tenant's retention. */
export const effectiveRetentionDays = (brandAutoPurgeDays: string, tenantRetentionDays: string) =>
  `coalesce(${brandAutoPurgeDays}, ${tenantRetentionDays})`

/**
 * policy.isUnderLegalHold: the item's own hold or its brand's. `brandLegalHold` is the brand's flag: the column of
 * a left-joined `brands` row, or an expression that reads it (null without a brand).
 */
export const isUnderLegalHold = (item: string, brandLegalHold: string) =>
  `(${item}.legal_hold or coalesce(${brandLegalHold}, false))`

/** policy.isPastRetention at the statement's time: `deletedAt` and `retentionDays` are expressions. */
export const isPastRetention = (deletedAt: string, retentionDays: string) =>
  `${retentionDays} > 0
    and ${deletedAt} <= now() - make_interval(days => ${retentionDays})`

/** policy.expiresAt, with policy.effectiveRetentionDays of the item's brand and tenant. */
export const expiresAt = (item: string, brand: string, tenant: string) => {
  const days = effectiveRetentionDays(`${brand}.auto_purge_days`, `${tenant}.retention_days`)
  return `case when ${item}.state = 'active' or ${isUnderLegalHold(item, `${brand}.legal_hold`)} or ${days} = 0 then null
                 when ${item}.state = 'emptied' then ${item}.emptied_at
                 else ${item}.deleted_at + make_interval(days => ${days}) end`
}

/**
 * policy.isListedInTrash as a predicate on `item` (of the visibility's tenant: the caller's statement keeps to
 * it), given the placeholder of the actor's user id; null when every row of the tenant is listed.
 */
export function isListedInTrash(
  visibility: TrashVisibility,
  scope: TrashFilter['scope'],
  item: string,
): ((user: string) => string) | null {
  if (scope === 'own') return (user) => `${item}.deleted_by = ${user}`
  if (visibility.everything) return null
  if (visibility.right === 'purge') return (user) => may(visibility, 'purge', item, user)
  return (
    user,
  ) => `(${item}.deleted_by = ${user} or ${item}.owner_id = ${user} or (${item}.brand_id is not null and exists (
      select 1 from access a where a.tenant_id = ${item}.tenant_id and a.brand_id = ${item}.brand_id and a.user_id = ${user}
         and a.can_view)))`
}
