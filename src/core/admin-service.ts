import type { CredentialCache } from './credential-cache.js'
import { CoreError, ErrorCodes } from './errors.js'
import { noPlugins, type PluginsOf } from './operation-hooks.js'
import { PasswordHasher, passwordProblem } from './passwords.js'
import type { Area, OperationRequest } from './plugins.js'
import * as policy from './policy.js'
import type { AdminStore, AuditFilter, BrandAccessRow, BrandChildTable } from './ports/admin-store.js'
import { type BlobStore, type Content, DEFAULT_UPLOAD_MAX_BYTES, storeContent } from './ports/blob-store.js'
import type { ItemStore } from './ports/item-store.js'
import type { Persistence } from './ports/unit-of-work.js'
import type { UserStore } from './ports/user-store.js'
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

/** Tenants, users, brands, rights and items: what the REST admin API and the demo seed create. */
export class AdminService {
  private readonly admin: AdminStore
  private readonly users: UserStore
  private readonly items: ItemStore

  /** Names taken and references to nothing come back from the admin store as NAME_TAKEN and IN_USE. */
  constructor(
    private readonly persistence: Persistence,
    private readonly blobs: BlobStore,
    private readonly hasher: PasswordHasher = new PasswordHasher(),
    /** the largest content a stream may bring (UPLOAD_MAX_BYTES) */
    private readonly uploadMaxBytes = DEFAULT_UPLOAD_MAX_BYTES,
    /** the server plug-ins, whose hooks run around an object's move (SetObjectProperties) */
    private readonly plugins: PluginsOf = noPlugins,
    /** the sign-ins' credential cache: a changed user or ended session is forgotten at once */
    private readonly credentials?: CredentialCache,
  ) {
    this.admin = persistence.stores.admin
    this.users = persistence.stores.users
    this.items = persistence.stores.items
  }

  private async newPasswordHash(password: string) {
    const problem = passwordProblem(password)
    if (problem) throw new CoreError(ErrorCodes.INVALID_INPUT, problem)
    return this.hasher.hash(password)
  }

  createTenant(name: string, retentionDays?: number) {
    return this.admin.insertTenant(name, retentionDays)
  }

  async requireTenant(tenantId: number) {
    const tenant = await this.admin.findTenant(tenantId)
    if (!tenant) throw new CoreError(ErrorCodes.NOT_FOUND, 'Tenant not found')
    return tenant
  }

  listTenants() {
    return this.admin.listTenants()
  }

  async setTenantRetention(tenantId: number, retentionDays: number) {
    if (!(await this.admin.updateTenantRetention(tenantId, retentionDays))) {
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
    return this.admin.insertUser({ tenantId, ...input, passwordHash })
  }

  /** A new password, set by an administrator: every session of the user ends. */
  async setPassword(tenantId: number, userId: number, password: string) {
    const passwordHash = await this.newPasswordHash(password)
    await this.persistence.unitOfWork(async (tx) => {
      if (!(await tx.admin.updatePasswordHash(tenantId, userId, passwordHash))) {
        throw new CoreError(ErrorCodes.NOT_FOUND, 'User not found')
      }
      await tx.users.deleteUserSessions(tenantId, userId)
    })
    this.credentials?.forgetAll()
  }

  /** A disabled user cannot sign in; disabling ends every session of the user. */
  async setDisabled(tenantId: number, userId: number, disabled: boolean) {
    await this.persistence.unitOfWork(async (tx) => {
      if (!(await tx.admin.updateUserDisabled(tenantId, userId, disabled))) {
        throw new CoreError(ErrorCodes.NOT_FOUND, 'User not found')
      }
      if (disabled) await tx.users.deleteUserSessions(tenantId, userId)
    })
    this.credentials?.forgetAll()
  }

  /** Ends every session of a user (at every door); answers how many there were. */
  async endSessions(tenantId: number, userId: number): Promise<number> {
    if (!(await this.users.findUser(tenantId, userId))) {
      throw new CoreError(ErrorCodes.NOT_FOUND, 'User not found')
    }
    const ended = await this.users.deleteUserSessions(tenantId, userId)
    this.credentials?.forgetAll()
    return ended
  }

  /** A user of the tenant by id, or null. */
  findUser(tenantId: number, userId: number) {
    return this.users.findUser(tenantId, userId)
  }

  /** A user of the tenant by login (case-insensitive), or null. */
  findUserByLogin(tenantId: number, login: string) {
    return this.users.findUserInTenant(tenantId, login)
  }

  listUsers(tenantId: number) {
    return this.admin.listUsers(tenantId)
  }

  async createBrand(tenantId: number, name: string, autoPurgeDays: number | null = null) {
    await this.requireTenant(tenantId)
    return this.admin.insertBrand(tenantId, name, autoPurgeDays)
  }

  async updateBrand(
    tenantId: number,
    brandId: number,
    changes: { autoPurgeDays?: number | null; legalHold?: boolean },
  ) {
    if (!(await this.admin.updateBrand(tenantId, brandId, changes))) {
      throw new CoreError(ErrorCodes.NOT_FOUND, 'Brand not found')
    }
  }

  listBrands(tenantId: number) {
    return this.admin.listBrands(tenantId)
  }

  /** The brands an actor works in, with the rights the actor has there (what an Enterprise LogOn lists). */
  async brandsOf(actor: Actor): Promise<(BrandAccessRow & { rights: BrandRights })[]> {
    const rows = await this.admin.brandsWithAccess(actor.tenantId, actor.userId, actor.admin)
    return rows.map((row) => ({ ...row, rights: policy.effectiveBrandRights(actor, row.rights) }))
  }

  async createIssue(tenantId: number, brandId: number, name: string) {
    await this.requireBrand(tenantId, brandId)
    return this.admin.insertBrandChild('issues', tenantId, brandId, name)
  }

  async createCategory(tenantId: number, brandId: number, name: string) {
    await this.requireBrand(tenantId, brandId)
    return this.admin.insertBrandChild('categories', tenantId, brandId, name)
  }

  /** An issue or category still referenced by any item, trashed ones included, is not removed (seed 004). */
  async deleteIssueOrCategory(table: BrandChildTable, tenantId: number, id: number) {
    const outcome = await this.admin.deleteBrandChild(table, tenantId, id)
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
    const outcome = await this.admin.deleteBrand(tenantId, brandId)
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
      const brand = await this.admin.brandChildBrand(table, tenantId, id)
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
    return this.admin.moveItems(tenantId, ids, to.issueId, to.categoryId, brandId)
  }

  /**
   * An object's move to another issue or category, as one request with the plug-ins' hooks around it: `area` is
   * where the object is (a move reaches objects in the Trash Can too).
   */
  async moveObject(
    actor: Actor,
    id: number,
    area: Area,
    to: { issueId?: number | null; categoryId?: number | null },
  ): Promise<void> {
    const request: OperationRequest = {
      operation: 'SetObjectProperties',
      action: 'move',
      actor,
      ids: [id],
      permanent: false,
      areas: [area],
    }
    const host = this.plugins()
    await host.before(request)
    try {
      await this.moveItems(actor.tenantId, [id], to)
    } catch (error) {
      await host.onError(request, error)
      throw error
    }
    await host.after(request, { ids: [id], results: [{ id, status: 'ok' }] })
  }

  /** The brand an issue or category belongs to (null: no such issue or category in the tenant). */
  brandOf(table: BrandChildTable, tenantId: number, id: number): Promise<number | null> {
    return this.admin.brandChildBrand(table, tenantId, id)
  }

  private async requireBrand(tenantId: number, brandId: number) {
    if (!(await this.admin.brandExists(tenantId, brandId)))
      throw new CoreError(ErrorCodes.NOT_FOUND, 'Brand not found')
  }

  async setAccess(
    tenantId: number,
    brandId: number,
    userId: number,
    rights: { view: boolean; delete: boolean; purge: boolean; read?: boolean },
  ) {
    await this.admin.upsertAccess({ tenantId, brandId, userId, ...rights })
  }

  async setItemLegalHold(tenantId: number, itemId: number, hold: boolean) {
    if (!(await this.admin.setItemLegalHold(tenantId, itemId, hold))) {
      throw new CoreError(ErrorCodes.NOT_FOUND, 'Item not found')
    }
  }

  /** Creates a folder or file (content stored first; the row only exists once its file does). */
  async createItem(tenantId: number, input: NewItemInput): Promise<{ item: Item; path: string }> {
    if (input.kind === 'folder' && input.content !== undefined) {
      throw new CoreError(ErrorCodes.INVALID_INPUT, 'A folder has no content')
    }
    if (input.parentId != null) {
      const parent = await this.items.getItem(tenantId, input.parentId)
      if (!parent || parent.kind !== 'folder' || parent.state !== 'active') {
        throw new CoreError(ErrorCodes.NOT_FOUND, 'Parent folder not found')
      }
    }
    const stored =
      input.content !== undefined ? await storeContent(this.blobs, input.content, this.uploadMaxBytes) : null
    const blobKey = stored?.key ?? null
    try {
      const item = await this.admin.insertItem({
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
      const path = (await this.items.pathsOf(tenantId, [item.id])).get(item.id)!.path
      return { item, path }
    } catch (error) {
      if (blobKey) await this.blobs.delete(blobKey).catch(() => {})
      throw error
    }
  }

  async getItem(tenantId: number, id: number) {
    const item = await this.items.getItem(tenantId, id)
    if (!item || item.state === 'purging') throw new CoreError(ErrorCodes.NOT_FOUND, 'Item not found')
    const path =
      item.originalPath && item.state !== 'active'
        ? item.originalPath
        : (await this.items.pathsOf(tenantId, [id])).get(id)?.path
    return { item, path: path ?? `/${item.name}` }
  }

  listAudit(tenantId: number, afterId: number, limit: number, filter?: AuditFilter) {
    return this.admin.listAudit(tenantId, afterId, limit, filter)
  }
}
