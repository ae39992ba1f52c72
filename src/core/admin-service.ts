import * as admin from '../db/admin-repository.js'
import { type Database, isPgError } from '../db/database.js'
import * as repo from '../db/trash-repository.js'
import * as users from '../db/user-repository.js'
import { CoreError, ErrorCodes } from './errors.js'
import { PasswordHasher, passwordProblem } from './passwords.js'
import * as policy from './policy.js'
import { type BlobStore, type Content, DEFAULT_UPLOAD_MAX_BYTES, storeContent } from './ports.js'
import type { Actor, BrandRights, Item, ItemKind } from './types.js'

export interface NewItemInput {
  kind: ItemKind
  name: string
  parentId?: number | null
  type?: string
  brandId?: number | null
  issueId?: number | null
  categoryId?: number | null
  ownerId?: number | null
  /** a stream is stored as it arrives, up to the upload limit */
  content?: Content
  contentType?: string | null
}

/** Translates constraint violations into typed errors at the boundary, never leaking SQL. */
function translate(error: unknown): never {
  if (isPgError(error, '23505')) throw new CoreError(ErrorCodes.NAME_TAKEN)
  if (isPgError(error, '23503'))
    throw new CoreError(ErrorCodes.IN_USE, 'Referenced record does not exist or is in use')
  throw error
}

/** Tenants, users, brands, rights and items: what the REST admin API and the demo seed create. */
export class AdminService {
  constructor(
    private readonly db: Database,
    private readonly blobs: BlobStore,
    private readonly hasher: PasswordHasher = new PasswordHasher(),
    /** the largest content a stream may bring (UPLOAD_MAX_BYTES) */
    private readonly uploadMaxBytes = DEFAULT_UPLOAD_MAX_BYTES,
  ) {}

  private async newPasswordHash(password: string) {
    const problem = passwordProblem(password)
    if (problem) throw new CoreError(ErrorCodes.INVALID_INPUT, problem)
    return this.hasher.hash(password)
  }

  createTenant(name: string, retentionDays?: number) {
    return admin.insertTenant(this.db, name, retentionDays)
  }

  async requireTenant(tenantId: number) {
    const tenant = await admin.findTenant(this.db, tenantId)
    if (!tenant) throw new CoreError(ErrorCodes.NOT_FOUND, 'Tenant not found')
    return tenant
  }

  listTenants() {
    return admin.listTenants(this.db)
  }

  async setTenantRetention(tenantId: number, retentionDays: number) {
    if (!(await admin.updateTenantRetention(this.db, tenantId, retentionDays))) {
      throw new CoreError(ErrorCodes.NOT_FOUND, 'Tenant not found')
    }
  }

  async createUser(
    tenantId: number,
    input: {
      login: string
      password: string
      displayName?: string
      email?: string
      admin?: boolean
      ipsRole?: string
    },
  ) {
    await this.requireTenant(tenantId)
    const passwordHash = await this.newPasswordHash(input.password)
    return admin.insertUser(this.db, { tenantId, ...input, passwordHash }).catch(translate)
  }

  /** A new password, set by an administrator: every session of the user ends. */
  async setPassword(tenantId: number, userId: number, password: string) {
    const passwordHash = await this.newPasswordHash(password)
    await this.db.transaction(async (tx) => {
      if (!(await admin.updatePasswordHash(tx, tenantId, userId, passwordHash))) {
        throw new CoreError(ErrorCodes.NOT_FOUND, 'User not found')
      }
      await users.deleteUserSessions(tx, tenantId, userId)
    })
  }

  /** A disabled user cannot sign in; disabling ends every session of the user. */
  async setDisabled(tenantId: number, userId: number, disabled: boolean) {
    await this.db.transaction(async (tx) => {
      if (!(await admin.updateUserDisabled(tx, tenantId, userId, disabled))) {
        throw new CoreError(ErrorCodes.NOT_FOUND, 'User not found')
      }
      if (disabled) await users.deleteUserSessions(tx, tenantId, userId)
    })
  }

  /** Ends every session of a user (at every door); answers how many there were. */
  async endSessions(tenantId: number, userId: number): Promise<number> {
    if (!(await users.findUser(this.db, tenantId, userId))) {
      throw new CoreError(ErrorCodes.NOT_FOUND, 'User not found')
    }
    return users.deleteUserSessions(this.db, tenantId, userId)
  }

  /** A user of the tenant by id, or null. */
  findUser(tenantId: number, userId: number) {
    return users.findUser(this.db, tenantId, userId)
  }

  /** A user of the tenant by login (case-insensitive), or null. */
  findUserByLogin(tenantId: number, login: string) {
    return users.findUserInTenant(this.db, tenantId, login)
  }

  listUsers(tenantId: number) {
    return admin.listUsers(this.db, tenantId)
  }

  async createBrand(tenantId: number, name: string, autoPurgeDays: number | null = null) {
    await this.requireTenant(tenantId)
    return admin.insertBrand(this.db, tenantId, name, autoPurgeDays).catch(translate)
  }

  async updateBrand(
    tenantId: number,
    brandId: number,
    changes: { autoPurgeDays?: number | null; legalHold?: boolean },
  ) {
    if (!(await admin.updateBrand(this.db, tenantId, brandId, changes))) {
      throw new CoreError(ErrorCodes.NOT_FOUND, 'Brand not found')
    }
  }

  listBrands(tenantId: number) {
    return admin.listBrands(this.db, tenantId)
  }

  /** The brands an actor works in, with the rights the actor has there (what an Enterprise LogOn lists). */
  async brandsOf(actor: Actor): Promise<(admin.BrandAccessRow & { rights: BrandRights })[]> {
    const rows = await admin.brandsWithAccess(this.db, actor.tenantId, actor.userId, actor.admin)
    return rows.map((row) => ({ ...row, rights: policy.effectiveBrandRights(actor, row.rights) }))
  }

  async createIssue(tenantId: number, brandId: number, name: string) {
    await this.requireBrand(tenantId, brandId)
    return admin.insertBrandChild(this.db, 'issues', tenantId, brandId, name).catch(translate)
  }

  async createCategory(tenantId: number, brandId: number, name: string) {
    await this.requireBrand(tenantId, brandId)
    return admin.insertBrandChild(this.db, 'categories', tenantId, brandId, name).catch(translate)
  }

  /** An issue or category still referenced by any item, trashed ones included, is not removed (seed 004). */
  async deleteIssueOrCategory(table: 'issues' | 'categories', tenantId: number, id: number) {
    const outcome = await admin.deleteBrandChild(this.db, table, tenantId, id)
    if (outcome.occupied) {
      throw new CoreError(
        ErrorCodes.IN_USE,
        `The ${table === 'issues' ? 'issue' : 'category'} is still occupied`,
      )
    }
    if (!outcome.deleted) throw new CoreError(ErrorCodes.NOT_FOUND)
  }

  /** A brand that items (trashed ones included) still belong to is not removed (seed 004). */
  async deleteBrand(tenantId: number, brandId: number) {
    const outcome = await admin.deleteBrand(this.db, tenantId, brandId)
    if (outcome.occupied) throw new CoreError(ErrorCodes.IN_USE, 'The brand is still occupied')
    if (!outcome.deleted) throw new CoreError(ErrorCodes.NOT_FOUND, 'Brand not found')
  }

  /** Admin clean-up: moves items, trashed ones included, to another issue or category. */
  async moveItems(
    tenantId: number,
    ids: number[],
    to: { issueId?: number | null; categoryId?: number | null },
  ) {
    const brands = new Set<number>()
    for (const [table, id] of [
      ['issues', to.issueId],
      ['categories', to.categoryId],
    ] as const) {
      if (id == null) continue
      const brand = await admin.brandChildBrand(this.db, table, tenantId, id)
      if (brand === null) {
        throw new CoreError(
          ErrorCodes.NOT_FOUND,
          `Target ${table === 'issues' ? 'issue' : 'category'} not found`,
        )
      }
      brands.add(brand)
    }
    if (brands.size > 1) {
      throw new CoreError(ErrorCodes.INVALID_INPUT, 'The issue and the category belong to different brands')
    }
    // An issue or category decides the brand: items move into it, and leave behind what belonged to their old one.
    const [brandId = null] = brands
    return admin.moveItems(this.db, tenantId, ids, to.issueId, to.categoryId, brandId)
  }

  /** The brand an issue or category belongs to (null: no such issue or category in the tenant). */
  brandOf(table: 'issues' | 'categories', tenantId: number, id: number): Promise<number | null> {
    return admin.brandChildBrand(this.db, table, tenantId, id)
  }

  private async requireBrand(tenantId: number, brandId: number) {
    if (!(await admin.brandExists(this.db, tenantId, brandId)))
      throw new CoreError(ErrorCodes.NOT_FOUND, 'Brand not found')
  }

  async setAccess(
    tenantId: number,
    brandId: number,
    userId: number,
    rights: { view: boolean; delete: boolean; purge: boolean; read?: boolean },
  ) {
    await admin.upsertAccess(this.db, { tenantId, brandId, userId, ...rights }).catch(translate)
  }

  async setItemLegalHold(tenantId: number, itemId: number, hold: boolean) {
    if (!(await admin.setItemLegalHold(this.db, tenantId, itemId, hold))) {
      throw new CoreError(ErrorCodes.NOT_FOUND, 'Item not found')
    }
  }

  /** Creates a folder or file (content stored first; the row only exists once its file does). */
  async createItem(tenantId: number, input: NewItemInput): Promise<{ item: Item; path: string }> {
    if (input.kind === 'folder' && input.content !== undefined) {
      throw new CoreError(ErrorCodes.INVALID_INPUT, 'A folder has no content')
    }
    if (input.parentId != null) {
      const parent = await repo.getItem(this.db, tenantId, input.parentId)
      if (!parent || parent.kind !== 'folder' || parent.state !== 'active') {
        throw new CoreError(ErrorCodes.NOT_FOUND, 'Parent folder not found')
      }
    }
    const stored =
      input.content !== undefined ? await storeContent(this.blobs, input.content, this.uploadMaxBytes) : null
    const blobKey = stored?.key ?? null
    try {
      const item = await repo.insertItem(this.db, {
        tenantId,
        kind: input.kind,
        type: input.type ?? (input.kind === 'folder' ? 'Folder' : 'Document'),
        name: input.name,
        parentId: input.parentId ?? null,
        brandId: input.brandId ?? null,
        issueId: input.issueId ?? null,
        categoryId: input.categoryId ?? null,
        size: stored?.size ?? 0,
        blobKey,
        contentType: input.contentType ?? null,
        ownerId: input.ownerId ?? null,
      })
      const path = (await repo.pathsOf(this.db, tenantId, [item.id])).get(item.id)!.path
      return { item, path }
    } catch (error) {
      if (blobKey) await this.blobs.delete(blobKey).catch(() => {})
      translate(error)
    }
  }

  async getItem(tenantId: number, id: number) {
    const item = await repo.getItem(this.db, tenantId, id)
    if (!item || item.state === 'purging') throw new CoreError(ErrorCodes.NOT_FOUND, 'Item not found')
    const path =
      item.originalPath && item.state !== 'active'
        ? item.originalPath
        : (await repo.pathsOf(this.db, tenantId, [id])).get(id)?.path
    return { item, path: path ?? `/${item.name}` }
  }

  listAudit(
    tenantId: number,
    afterId: number,
    limit: number,
    filter?: Parameters<typeof admin.listAudit>[4],
  ) {
    return admin.listAudit(this.db, tenantId, afterId, limit, filter)
  }
}
