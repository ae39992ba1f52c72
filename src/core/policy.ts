import { type ErrorCode, ErrorCodes } from './errors.js'
import type { EventSubject } from './events.js'
import type { Actor, BrandRights, ItemFacts } from './types.js'

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
  if (actor.admin || isOwner(actor, item) || isDeleter(actor, item)) return null
  if (item.brandId === null) return null
  return item.rights?.view ? null : ErrorCodes.ACCESS_DENIED
}

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

/** Move an active item (and its subtree) to the trash: owner, admin, or brand `delete`. */
export function canTrash(actor: Actor, item: ItemFacts): Decision {
  if (!sameTenant(actor, item)) return ErrorCodes.NOT_FOUND
  if (actor.admin || (!brandRightsOnly(actor) && isOwner(actor, item))) return null
  if (item.brandId !== null && item.rights?.delete) return null
  // Items outside any brand belong to the shared library: every user of the tenant may delete them there.
  if (item.brandId === null) return null
  return ErrorCodes.ACCESS_DENIED
}

/** Bring a trashed item back: the deleter, admin, or brand `delete`. */
export function canRestore(actor: Actor, item: ItemFacts): Decision {
  if (!sameTenant(actor, item)) return ErrorCodes.NOT_FOUND
  if (actor.admin) return null
  if (brandRightsOnly(actor)) {
    if (item.brandId === null) return null
    return item.rights?.delete ? null : ErrorCodes.ACCESS_DENIED
  }
  if (isDeleter(actor, item)) return null
  if (item.brandId !== null && item.rights?.delete) return null
  return ErrorCodes.ACCESS_DENIED
}

/**
 * Restore into a chosen folder instead of the original one: a folder the actor may not see does not exist for it;
 * items go into a folder the actor may change as it may trash there (owner, admin, brand `delete`, or the shared
 * library outside any brand).
 */
export function canRestoreInto(actor: Actor, folder: ItemFacts): Decision {
  if (canView(actor, folder) !== null) return ErrorCodes.TARGET_NOT_FOUND
  return canTrash(actor, folder)
}

/** Empty an item from the trash (IPS: it waits for the cleanup job): same people as restore. */
export function canEmpty(actor: Actor, item: ItemFacts): Decision {
  return canRestore(actor, item)
}

export function isUnderLegalHold(item: ItemFacts): boolean {
  return item.legalHold || item.brandLegalHold
}

/**
 * Purge an item now: admin or brand `purge`. `ownBin` is infoRouter's EmptyRecycleBin, where any user
 * may purge what they deleted themselves. A legal hold stops every purge.
 */
export function canPurge(actor: Actor, item: ItemFacts, options: { ownBin?: boolean } = {}): Decision {
  if (!sameTenant(actor, item)) return ErrorCodes.NOT_FOUND
  if (isUnderLegalHold(item)) return ErrorCodes.LEGAL_HOLD
  if (actor.admin) return null
  if (options.ownBin && isDeleter(actor, item)) return null
  if (item.brandId !== null && item.rights?.purge) return null
  return ErrorCodes.ACCESS_DENIED
}

/**
 * Whose units infoRouter's EmptyRecycleBin purges, for the SQL layer: every unit the actor deleted. It mirrors
 * canPurge with `ownBin`: the deleter may purge their own deletions, and a legal hold still stops each held unit
 * (the purge statement leaves those and reports them).
 */
export function ownBinScope(actor: Actor): { tenantId: number; deletedBy: number } {
  return { tenantId: actor.tenantId, deletedBy: actor.userId }
}

/**
 * Purging an active item straight away (Enterprise DeleteObjects Permanent from the Workflow area), after
 * canPurge allowed it: Enterprise asks for the Purge right only; elsewhere the actor must also be allowed to
 * trash it.
 */
export function canPurgeActive(actor: Actor, item: ItemFacts): Decision {
  if (brandRightsOnly(actor)) return canPurge(actor, item)
  return canPurge(actor, item) ?? canTrash(actor, item)
}

/** The rights an actor has on a brand: tenant administrators are not limited by access rights (seed 004). */
export function effectiveBrandRights(actor: Actor, granted: BrandRights | null): BrandRights {
  if (actor.admin) return { view: true, delete: true, purge: true }
  return granted ?? { view: false, delete: false, purge: false }
}

/** What a listing shows the actor may do with a trashed item (the same rules the operations apply). */
export function trashEntryRights(actor: Actor, item: ItemFacts): { restore: boolean; purge: boolean } {
  return { restore: canRestore(actor, item) === null, purge: canPurge(actor, item) === null }
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
  return { tenantId: actor.tenantId, userId: actor.userId, everything: actor.admin, right: 'view' }
}

/**
 * Which trash rows an actor may list, for the SQL layer: admins the whole tenant; others what they deleted,
 * what they own, unbranded items they deleted, and items of brands they may view.
 */
export interface TrashVisibility {
  tenantId: number
  userId: number
  everything: boolean
  /** 'purge': only rows the actor may purge (brand purge right; admins everything) */
  right: 'view' | 'purge'
}

export function trashVisibility(actor: Actor, right: 'view' | 'purge' = 'view'): TrashVisibility {
  return { tenantId: actor.tenantId, userId: actor.userId, everything: actor.admin, right }
}

/** Effective retention in days of a trashed item: brand auto purge when set, else the tenant's; 0 = never. */
export function effectiveRetentionDays(
  brandAutoPurgeDays: number | null,
  tenantRetentionDays: number,
): number {
  return brandAutoPurgeDays ?? tenantRetentionDays
}
