import { type ErrorCode, ErrorCodes } from './errors.js'
import type { EventSubject } from './events.js'
import type { Actor, BrandRights, ItemFacts, TrashEntry, TrashFilter } from './types.js'

/**
 * The one place that answers "may this actor do this to this item". Every door asks here; none re-implements a
 * rule. A decision is null (allowed) or the error code to report.
 */

/** IPS roles that may trash, restore and empty assets (seeds 000 and 001). */
export const IPS_TRASH_ROLES: readonly string[] = [
  'IpsUser',
  'IpsAdmin',
  'IpsCompanyAdmin',
  'ImagePortalAdmin',
  'ImagePortalContrib',
  'ImagePortalContribUser',
]

export const IPS_ROLES: readonly string[] = [...IPS_TRASH_ROLES, 'ImagePortalUser', 'TrialSiteUser']

/** IPS roles that may search and read assets and check logins (searchAssets, getAssets, checkLogin). */
export const IPS_READ_ROLES: readonly string[] = [
  ...IPS_TRASH_ROLES,
  'TrialSiteAdmin',
  'TrialSiteUser',
  'ImagePortalUser',
]

export type Decision = ErrorCode | null

/** What deciding visibility needs of an item. */
type VisibilityFacts = Pick<ItemFacts, 'tenantId' | 'ownerId' | 'deletedBy' | 'brandId' | 'rights'>

const isOwner = (actor: Actor, item: VisibilityFacts) =>
  item.ownerId !== null && item.ownerId === actor.userId
const isDeleter = (actor: Actor, item: VisibilityFacts) =>
  item.deletedBy !== null && item.deletedBy === actor.userId

/**
 * WoodWing Enterprise grants file rights per brand through access profiles only (seed 004): "Delete" (also
 * gates Restore) and "Delete Permanently" (Purge); system administrators are not limited. Owners and deleters
 * get no exception there.
 */
const brandRightsOnly = (actor: Actor) => actor.door === 'enterprise'

export function sameTenant(actor: Actor, item: { tenantId: number }): boolean {
  return actor.tenantId === item.tenantId
}

/** See an item at all (in the trash or not). Items of other tenants are simply not found. */
export function canView(actor: Actor, item: VisibilityFacts): Decision {
  if (!sameTenant(actor, item)) return ErrorCodes.NOT_FOUND
  return visible(actor, item) ? null : ErrorCodes.ACCESS_DENIED
}

/** may(view) for a same-tenant actor. */
const visible = (actor: Actor, item: VisibilityFacts) =>
  actor.admin ||
  isOwner(actor, item) ||
  isDeleter(actor, item) ||
  item.brandId === null ||
  item.rights?.view === true

/** Whether a same-tenant actor may change an active item (trash it, or restore into it as a folder). */
const changeable = (actor: Actor, item: VisibilityFacts) =>
  actor.admin ||
  item.brandId === null ||
  item.rights?.delete === true ||
  (isOwner(actor, item) && !brandRightsOnly(actor))

/**
 * Whether a trash event reaches a subscriber: what it did itself, and events of items it may see as canView
 * decides, with the brands it may view now (`viewableBrands`) standing for its rights.
 */
export function canSeeEvent(
  actor: Actor,
  subject: EventSubject,
  viewableBrands: ReadonlySet<number>,
): boolean {
  if (subject.actorId !== null && subject.actorId === actor.userId && sameTenant(actor, subject)) return true
  const view = subject.brandId !== null && viewableBrands.has(subject.brandId)
  return canView(actor, { ...subject, rights: { view, delete: false, purge: false } }) === null
}

/**
 * Read an item's files, versions and properties (Enterprise GetObjects, ListVersions, GetVersion, GetDialog2 and
 * file downloads): admins always; in a brand, the View and Read rights of its access profile; items outside any
 * brand: whoever may see them.
 */
export function canRead(actor: Actor, item: ItemFacts): Decision {
  const visible = canView(actor, item)
  if (visible === ErrorCodes.NOT_FOUND) return visible
  if (actor.admin) return null
  if (item.brandId === null) return visible
  return item.rights?.view && item.rights.read !== false ? null : ErrorCodes.ACCESS_DENIED
}

/**
 * What an operation needs of every item it would change. `purgeActive` is a permanent delete straight from
 * the workflow (Enterprise DeleteObjects Permanent from the Workflow area).
 */
export type Right = 'view' | 'trash' | 'restore' | 'empty' | 'purge' | 'purgeActive'

export const RIGHTS: readonly Right[] = ['view', 'trash', 'restore', 'empty', 'purge', 'purgeActive']

/** What deciding a right needs of an item (its SQL twin, db/policy-sql.ts may, reads the same columns). */
export type RightFacts = Pick<
  ItemFacts,
  'tenantId' | 'kind' | 'parentId' | 'state' | 'ownerId' | 'deletedBy' | 'brandId' | 'rights'
>

/** A library root: a folder at the top level (infoRouter's domains, IPS's company folders). */
export const isTopLevelFolder = (item: Pick<ItemFacts, 'kind' | 'parentId' | 'state'>) =>
  item.kind === 'folder' && item.parentId === null && item.state === 'active'

/**
 * The one rule. Administrators of the item's tenant may do everything (seed 004: "not limited by access
 * rights"); nobody may do anything to another tenant's items. Otherwise:
 * - view: the owner, the deleter, anyone for items outside any brand, the brand's View right;
 * - trash: library roots belong to administrators (infoRouter: "Top-level domain cannot be deleted"); items
 *   outside any brand are the shared library's (everyone may delete there); in a brand the Delete right, or
 *   ownership outside Enterprise (Enterprise grants rights through access profiles only);
 * - restore: the brand's Delete right (which gates Restore, seed 004), or the deleter outside Enterprise; outside
 *   any brand the deleter, at every door;
 * - empty, purge: every road to permanent loss needs the brand's Purge right ("Delete Permanently"); outside any
 *   brand the deleter may empty and purge their own deletions (infoRouter's EmptyRecycleBin);
 * - purgeActive: Enterprise asks for the Purge right only; elsewhere purging an active item also needs the
 *   right to trash it.
 * Legal holds are not rights: canPurge adds them.
 */
export function may(actor: Actor, item: RightFacts, right: Right): boolean {
  if (!sameTenant(actor, item)) return false
  if (actor.admin) return true
  const branded = item.brandId !== null
  const deleter = isDeleter(actor, item)
  switch (right) {
    case 'view':
      return visible(actor, item)
    case 'trash':
      return !isTopLevelFolder(item) && changeable(actor, item)
    case 'restore':
      if (!branded) return deleter
      return item.rights?.delete === true || (deleter && !brandRightsOnly(actor))
    case 'empty':
    case 'purge':
      return branded ? item.rights?.purge === true : deleter
    case 'purgeActive':
      if (branded && brandRightsOnly(actor)) return item.rights?.purge === true
      return may(actor, item, 'purge') && may(actor, item, 'trash')
  }
}

/**
 * How a refusal of an item reads: an item the actor may not see answers exactly like one that does not exist
 * (no existence oracle), except at Enterprise, whose S1002 ("Access denied") for objects of a brand without
 * rights is documented product behaviour (seed 004).
 */
export function refusal(actor: Actor, item: RightFacts): ErrorCode {
  if (!sameTenant(actor, item)) return ErrorCodes.NOT_FOUND
  if (brandRightsOnly(actor) || may(actor, item, 'view')) return ErrorCodes.ACCESS_DENIED
  return ErrorCodes.NOT_FOUND
}

const decideRight = (actor: Actor, item: RightFacts, right: Right): Decision => {
  if (may(actor, item, right)) return null
  if (right === 'trash' && isTopLevelFolder(item) && may(actor, item, 'view'))
    return ErrorCodes.TOP_LEVEL_FOLDER
  return refusal(actor, item)
}

/** Move an active item (and its subtree: see TrashService) to the trash. */
export function canTrash(actor: Actor, item: RightFacts): Decision {
  return decideRight(actor, item, 'trash')
}

/** Bring a trashed item back. */
export function canRestore(actor: Actor, item: RightFacts): Decision {
  return decideRight(actor, item, 'restore')
}

/**
 * Restore into a chosen folder instead of the original one: a folder the actor may not see does not exist for it;
 * items go into a folder the actor may change as it may trash there (owner, admin, brand `delete`, or the shared
 * library outside any brand; a library root counts as the shared library here).
 */
export function canRestoreInto(actor: Actor, folder: ItemFacts): Decision {
  if (canView(actor, folder) !== null) return ErrorCodes.TARGET_NOT_FOUND
  return changeable(actor, folder) ? null : ErrorCodes.ACCESS_DENIED
}

/** Empty an item from the trash (IPS: it waits for the cleanup job, so it is a purge in slow motion). */
export function canEmpty(actor: Actor, item: RightFacts): Decision {
  return decideRight(actor, item, 'empty')
}

/** A legal hold, the item's own or its brand's. Its SQL twin: db/policy-sql.ts isUnderLegalHold. */
export function isUnderLegalHold(item: Pick<ItemFacts, 'legalHold' | 'brandLegalHold'>): boolean {
  return item.legalHold || item.brandLegalHold
}

/** What deciding a purge needs of an item: its rights' facts and its legal holds. */
export type PurgeFacts = RightFacts & Pick<ItemFacts, 'legalHold' | 'brandLegalHold'>

/** Purge an item now. A legal hold stops every purge, administrators' too. */
export function canPurge(actor: Actor, item: PurgeFacts): Decision {
  if (!sameTenant(actor, item)) return ErrorCodes.NOT_FOUND
  if (isUnderLegalHold(item)) return ErrorCodes.LEGAL_HOLD
  return decideRight(actor, item, 'purge')
}

/** Purge an active item straight away (its subtree: see TrashService), after a legal-hold check. */
export function canPurgeActive(actor: Actor, item: PurgeFacts): Decision {
  if (!sameTenant(actor, item)) return ErrorCodes.NOT_FOUND
  if (isUnderLegalHold(item)) return ErrorCodes.LEGAL_HOLD
  return decideRight(actor, item, 'purgeActive')
}

/**
 * Whose units infoRouter's EmptyRecycleBin purges, for the SQL layer: every unit the actor deleted whose every
 * member the actor may purge (the rest stays in the bin and is reported); a legal hold still stops each held
 * unit (the purge statement leaves those and reports them).
 */
export function ownBinScope(actor: Actor): { tenantId: number; deletedBy: number } {
  return { tenantId: actor.tenantId, deletedBy: actor.userId }
}

/**
 * Whose operations an actor may see (and undo, within the rights on each item): a user their own, a tenant's
 * administrator every operation of the tenant.
 */
export function operationScope(actor: Actor): { tenantId: number; actorId?: number } {
  return actor.admin ? { tenantId: actor.tenantId } : { tenantId: actor.tenantId, actorId: actor.userId }
}

/** The rights an actor has on a brand: tenant administrators are not limited by access rights (seed 004). */
export function effectiveBrandRights(actor: Actor, granted: BrandRights | null): BrandRights {
  if (actor.admin) return { view: true, delete: true, purge: true }
  return granted ?? { view: false, delete: false, purge: false }
}

/**
 * What a listing shows the actor may do with a trashed item: the same rules the operations apply, to the item
 * and, for a folder unit, to every member (listed as unitRefuses by the SQL form of the rule).
 */
export function trashEntryRights(actor: Actor, item: TrashEntry): { restore: boolean; purge: boolean } {
  return {
    restore: canRestore(actor, item) === null && !item.unitRefuses?.restore,
    purge: canPurge(actor, item) === null && !item.unitRefuses?.purge,
  }
}

/** Door operations reserved to the tenant's system administrators (srv.asmx PurgeRecycleBinItem, search). */
export function requireAdmin(actor: Actor): Decision {
  return actor.admin ? null : ErrorCodes.ADMIN_ONLY
}

/** Whether an IPS role may use the trash operations at all (others get authorizationFault 20003). */
export function ipsRoleMayUseTrash(actor: Actor): boolean {
  return actor.admin || IPS_TRASH_ROLES.includes(actor.ipsRole)
}

/** IPS company administrators, who may look at the other users of their company (getCompanyMembership). */
export function isIpsCompanyAdmin(actor: Actor): boolean {
  return actor.admin || actor.ipsRole === 'IpsCompanyAdmin' || actor.ipsRole === 'IpsAdmin'
}

/** Whether an IPS role may search and read assets (others get authorizationFault 20003). */
export function ipsRoleMayRead(actor: Actor): boolean {
  return actor.admin || IPS_READ_ROLES.includes(actor.ipsRole)
}

/**
 * Which items (any state) an actor may see, for the SQL layer; the SQL mirrors canView: admins everything;
 * others unbranded items, what they own or deleted, and items of brands they may view.
 */
export function itemVisibility(actor: Actor): TrashVisibility {
  return {
    tenantId: actor.tenantId,
    userId: actor.userId,
    everything: actor.admin,
    admin: actor.admin,
    door: actor.door,
    right: 'view',
  }
}

/**
 * Which trash rows an actor may list, for the SQL layer (the rule: isListedInTrash): admins the whole tenant;
 * others what they deleted, what they own, and items of brands they may view.
 */
export interface TrashVisibility {
  tenantId: number
  userId: number
  everything: boolean
  /** the door asking: the rights of the Enterprise door are its brands' alone */
  admin: boolean
  door: Actor['door']
  /** 'purge': only rows the actor may purge (may(purge): the brand's Purge right, own unbranded deletions) */
  right: 'view' | 'purge'
}

export function trashVisibility(actor: Actor, right: 'view' | 'purge' = 'view'): TrashVisibility {
  return {
    tenantId: actor.tenantId,
    userId: actor.userId,
    everything: actor.admin,
    admin: actor.admin,
    door: actor.door,
    right,
  }
}

/**
 * Whether a trash listing shows a row: the scope 'own' lists what the actor deleted (administrators' too); a
 * listing of what may be purged (right 'purge') the rows may(purge) allows; any other listing, for an
 * administrator the whole tenant, for others what they deleted, what they own, and items of brands whose View
 * right they have. Unbranded items deleted by someone else stay out: the shared library's trash is each
 * deleter's. Its SQL twin: db/policy-sql.ts isListedInTrash.
 */
export function isListedInTrash(
  visibility: TrashVisibility,
  scope: TrashFilter['scope'],
  row: RightFacts,
): boolean {
  if (row.tenantId !== visibility.tenantId) return false
  if (scope === 'own') return row.deletedBy === visibility.userId
  if (visibility.everything) return true
  if (visibility.right === 'purge') return may(visibilityActor(visibility), row, 'purge')
  return (
    row.deletedBy === visibility.userId ||
    row.ownerId === visibility.userId ||
    (row.brandId !== null && row.rights?.view === true)
  )
}

/** The actor a visibility stands for, as far as `may` reads one. */
const visibilityActor = (visibility: TrashVisibility): Actor => ({
  tenantId: visibility.tenantId,
  userId: visibility.userId,
  login: '',
  displayName: null,
  admin: visibility.admin,
  ipsRole: '',
  door: visibility.door,
})

/**
 * Effective retention in days of a trashed item: brand auto purge when set, else the tenant's; 0 = never. Its
 * SQL twin: db/policy-sql.ts effectiveRetentionDays (the cleanup job's due units and dry-run plan, the listing's
 * expiry).
 */
export function effectiveRetentionDays(
  brandAutoPurgeDays: number | null,
  tenantRetentionDays: number,
): number {
  return brandAutoPurgeDays ?? tenantRetentionDays
}

const DAY_MS = 86_400_000

/**
 * Whether a trashed item's retention has run out at `now` (0 days: never). Legal holds aside: the cleanup job
 * still finds a held unit due and reports it held, untouched. Its SQL twin: db/policy-sql.ts isPastRetention
 * (which units the cleanup job and its dry-run plan find expired).
 */
export function isPastRetention(deletedAt: Date | null, retentionDays: number, now: Date): boolean {
  return (
    retentionDays > 0 && deletedAt !== null && deletedAt.getTime() <= now.getTime() - retentionDays * DAY_MS
  )
}

/** What deciding an item's expiry needs. */
export type ExpiryFacts = Pick<
  ItemFacts,
  'state' | 'deletedAt' | 'emptiedAt' | 'legalHold' | 'brandLegalHold'
>

/**
 * When the cleanup job purges an item (null: never): an active item, one under legal hold, or one whose
 * effective retention is 0 never expires; an emptied one expires when it was emptied; any other the effective
 * retention after it was trashed (whole days, as the database counts them in UTC). Its SQL twin:
 * db/policy-sql.ts expiresAt (the listing's expiresAt).
 */
export function expiresAt(item: ExpiryFacts, retentionDays: number): Date | null {
  if (item.state === 'active' || isUnderLegalHold(item) || retentionDays === 0) return null
  if (item.state === 'emptied') return item.emptiedAt
  return item.deletedAt && new Date(item.deletedAt.getTime() + retentionDays * DAY_MS)
}
