import type { Item } from '../types.js'
import type { NewItem } from './item-store.js'

/**
 * What the admin API and the demo seed create and change: tenants, users, brands, issues, categories, access
 * rights, legal holds, items, and the audit they read. A name already taken is CoreError NAME_TAKEN, a reference
 * to a record that does not exist (or one still in use) CoreError IN_USE.
 */

export interface Tenant {
  id: number
  name: string
  retentionDays: number
}

export interface NewUser {
  tenantId: number
  login: string
  passwordHash: string
  displayName?: string | null
  email?: string | null
  admin?: boolean
  ipsRole?: string
}

export interface UserSummary {
  id: number
  login: string
  displayName: string | null
  email: string | null
  admin: boolean
  ipsRole: string
  disabled: boolean
}

export interface Brand {
  id: number
  name: string
  autoPurgeDays: number | null
  legalHold: boolean
}

export type BrandChildTable = 'issues' | 'categories'

/** A delete refused while items (trashed ones included) still reference the record. */
export interface OccupiedDelete {
  occupied: boolean
  deleted: boolean
}

export interface AccessGrant {
  tenantId: number
  userId: number
  brandId: number
  view: boolean
  delete: boolean
  purge: boolean
  read?: boolean
}

export interface AuditRow {
  id: number
  at: Date
  actorId: number | null
  actorLogin: string | null
  door: string
  action: string
  itemId: number
  itemKind: string | null
  itemType: string | null
  itemName: string | null
  itemPath: string | null
  unitRoot: number | null
  detail: unknown
}

export interface AuditFilter {
  actions?: string[]
  actorId?: number
  itemId?: number
}

export interface BrandAccessRow {
  id: number
  name: string
  rights: { view: boolean; delete: boolean; purge: boolean } | null
  issues: { id: number; name: string }[]
  categories: { id: number; name: string }[]
}

export interface AdminStore {
  insertTenant(name: string, retentionDays: number | undefined): Promise<number>
  findTenant(id: number): Promise<Tenant | null>
  listTenants(): Promise<Tenant[]>
  /** false: no such tenant */
  updateTenantRetention(id: number, retentionDays: number): Promise<boolean>
  insertUser(user: NewUser): Promise<number>
  /** false: no such user */
  updatePasswordHash(tenantId: number, userId: number, passwordHash: string): Promise<boolean>
  /** false: no such user */
  updateUserDisabled(tenantId: number, userId: number, disabled: boolean): Promise<boolean>
  listUsers(tenantId: number): Promise<UserSummary[]>
  insertBrand(tenantId: number, name: string, autoPurgeDays: number | null): Promise<number>
  /** false: no such brand */
  updateBrand(
    tenantId: number,
    brandId: number,
    changes: { autoPurgeDays?: number | null; legalHold?: boolean },
  ): Promise<boolean>
  brandExists(tenantId: number, brandId: number): Promise<boolean>
  listBrands(tenantId: number): Promise<Brand[]>
  /** The brands a user has any right on (all brands of the tenant when asked), with their issues and categories. */
  brandsWithAccess(tenantId: number, userId: number, allBrands: boolean): Promise<BrandAccessRow[]>
  insertBrandChild(table: BrandChildTable, tenantId: number, brandId: number, name: string): Promise<number>
  /** Deletes an issue or category unless items (trashed ones included) still reference it. */
  deleteBrandChild(table: BrandChildTable, tenantId: number, id: number): Promise<OccupiedDelete>
  /** The brand an issue or category belongs to (null: none such in the tenant). */
  brandChildBrand(table: BrandChildTable, tenantId: number, id: number): Promise<number | null>
  /** Deletes a brand with its issues, categories and rights, unless items still belong to any of them. */
  deleteBrand(tenantId: number, brandId: number): Promise<OccupiedDelete>
  upsertAccess(access: AccessGrant): Promise<void>
  /** false: no such item (a row being purged is gone for every purpose) */
  setItemLegalHold(tenantId: number, itemId: number, hold: boolean): Promise<boolean>
  /** Moves items (trashed ones too) to another issue and/or category of the same brand; answers the ids moved. */
  moveItems(
    tenantId: number,
    ids: number[],
    issueId: number | null | undefined,
    categoryId: number | null | undefined,
    brandId: number | null,
  ): Promise<number[]>
  /** ItemStore.insertItem, a name already taken among active siblings answered as NAME_TAKEN */
  insertItem(item: NewItem): Promise<Item>
  listAudit(tenantId: number, afterId: number, limit: number, filter?: AuditFilter): Promise<AuditRow[]>
}
