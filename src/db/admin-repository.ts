import { CoreError, ErrorCodes } from '../core/errors.js'
import type {
  AccessGrant,
  AdminStore,
  AuditFilter,
  AuditRow,
  Brand,
  BrandAccessRow,
  BrandChildTable,
  NewUser,
  OccupiedDelete,
  Tenant,
  UserSummary,
} from '../core/ports/admin-store.js'
import type { NewItem } from '../core/ports/item-store.js'
import { isPgError, type Queryable } from './queryable.js'
import { insertItem } from './item-repository.js'

/** SQL behind the admin API: tenants, users, brands, issues, categories, access rights, audit. */

export async function insertTenant(
  q: Queryable,
  name: string,
  retentionDays: number | undefined,
): Promise<number> {
  const result = await q.query<{ id: number }>(
    'insert into tenants (name, retention_days) values ($1, coalesce($2, 7)) returning id',
    [name, retentionDays ?? null],
  )
  return result.rows[0]!.id
}

export async function findTenant(q: Queryable, id: number): Promise<Tenant | null> {
  const result = await q.query<{ id: number; name: string; retention_days: number }>(
    'select id, name, retention_days from tenants where id = $1',
    [id],
  )
  const row = result.rows[0]
  return row ? { id: row.id, name: row.name, retentionDays: row.retention_days } : null
}

export async function listTenants(q: Queryable): Promise<Tenant[]> {
  const result = await q.query<{ id: number; name: string; retention_days: number }>(
    'select id, name, retention_days from tenants order by id',
  )
  return result.rows.map((row) => ({ id: row.id, name: row.name, retentionDays: row.retention_days }))
}

export async function updateTenantRetention(q: Queryable, id: number, retentionDays: number) {
  const result = await q.query('update tenants set retention_days = $2 where id = $1', [id, retentionDays])
  return (result.rowCount ?? 0) > 0
}

export async function insertUser(q: Queryable, user: NewUser) {
  const result = await q.query<{ id: number }>(
    `insert into users (tenant_id, login, password_hash, display_name, email, admin, ips_role)
     values ($1, $2, $3, $4, $5, $6, $7) returning id`,
    [
      user.tenantId,
      user.login,
      user.passwordHash,
      user.displayName ?? null,
      user.email ?? null,
      user.admin ?? false,
      user.ipsRole ?? 'IpsUser',
    ],
  )
  return result.rows[0]!.id
}

export async function updatePasswordHash(
  q: Queryable,
  tenantId: number,
  userId: number,
  passwordHash: string,
) {
  const result = await q.query('update users set password_hash = $3 where tenant_id = $1 and id = $2', [
    tenantId,
    userId,
    passwordHash,
  ])
  return (result.rowCount ?? 0) > 0
}

export async function updateUserDisabled(q: Queryable, tenantId: number, userId: number, disabled: boolean) {
  const result = await q.query('update users set disabled = $3 where tenant_id = $1 and id = $2', [
    tenantId,
    userId,
    disabled,
  ])
  return (result.rowCount ?? 0) > 0
}

export async function listUsers(q: Queryable, tenantId: number): Promise<UserSummary[]> {
  const result = await q.query<{
    id: number
    login: string
    display_name: string | null
    email: string | null
    admin: boolean
    ips_role: string
    disabled: boolean
  }>(
    'select id, login, display_name, email, admin, ips_role, disabled from users where tenant_id = $1 order by id',
    [tenantId],
  )
  return result.rows.map((row) => ({
    id: row.id,
    login: row.login,
    displayName: row.display_name,
    email: row.email,
    admin: row.admin,
    ipsRole: row.ips_role,
    disabled: row.disabled,
  }))
}

export async function insertBrand(
  q: Queryable,
  tenantId: number,
  name: string,
  autoPurgeDays: number | null,
) {
  const result = await q.query<{ id: number }>(
    'insert into brands (tenant_id, name, auto_purge_days) values ($1, $2, $3) returning id',
    [tenantId, name, autoPurgeDays],
  )
  return result.rows[0]!.id
}

export async function updateBrand(
  q: Queryable,
  tenantId: number,
  brandId: number,
  changes: { autoPurgeDays?: number | null; legalHold?: boolean },
) {
  const result = await q.query(
    `update brands set
        auto_purge_days = case when $3 then $4::int else auto_purge_days end,
        legal_hold = coalesce($5, legal_hold)
      where tenant_id = $1 and id = $2`,
    [
      tenantId,
      brandId,
      changes.autoPurgeDays !== undefined,
      changes.autoPurgeDays ?? null,
      changes.legalHold ?? null,
    ],
  )
  return (result.rowCount ?? 0) > 0
}

export async function brandExists(q: Queryable, tenantId: number, brandId: number) {
  const result = await q.query('select 1 from brands where tenant_id = $1 and id = $2', [tenantId, brandId])
  return (result.rowCount ?? 0) > 0
}

export async function listBrands(q: Queryable, tenantId: number): Promise<Brand[]> {
  const result = await q.query<{
    id: number
    name: string
    auto_purge_days: number | null
    legal_hold: boolean
  }>('select id, name, auto_purge_days, legal_hold from brands where tenant_id = $1 order by id', [tenantId])
  return result.rows.map((row) => ({
    id: row.id,
    name: row.name,
    autoPurgeDays: row.auto_purge_days,
    legalHold: row.legal_hold,
  }))
}

export async function insertBrandChild(
  q: Queryable,
  table: BrandChildTable,
  tenantId: number,
  brandId: number,
  name: string,
) {
  const result = await q.query<{ id: number }>(
    `insert into ${table} (tenant_id, brand_id, name) values ($1, $2, $3) returning id`,
    [tenantId, brandId, name],
  )
  return result.rows[0]!.id
}

/** Deletes an issue or category unless items (trashed ones included) still reference it. */
export async function deleteBrandChild(
  q: Queryable,
  table: BrandChildTable,
  tenantId: number,
  id: number,
): Promise<OccupiedDelete> {
  const column = table === 'issues' ? 'issue_id' : 'category_id'
  const result = await q.query<{ occupied: boolean; deleted: boolean }>(
    `with occupied as (
        select exists (select 1 from items where tenant_id = $1 and ${column} = $2) as occupied
      ),
      deleted as (
        delete from ${table} where tenant_id = $1 and id = $2 and not (select occupied from occupied)
        returning 1
      )
      select (select occupied from occupied) as occupied, exists (select 1 from deleted) as deleted`,
    [tenantId, id],
  )
  return result.rows[0]!
}

export async function brandChildBrand(q: Queryable, table: BrandChildTable, tenantId: number, id: number) {
  const result = await q.query<{ brand_id: number }>(
    `select brand_id from ${table} where tenant_id = $1 and id = $2`,
    [tenantId, id],
  )
  return result.rows[0]?.brand_id ?? null
}

export async function upsertAccess(q: Queryable, access: AccessGrant): Promise<void> {
  await q.query(
    `insert into access (tenant_id, user_id, brand_id, can_view, can_delete, can_purge, can_read)
     values ($1, $2, $3, $4, $5, $6, $7)
     on conflict (tenant_id, user_id, brand_id)
     do update set can_view = excluded.can_view, can_delete = excluded.can_delete, can_purge = excluded.can_purge,
                   can_read = excluded.can_read`,
    [
      access.tenantId,
      access.userId,
      access.brandId,
      access.view,
      access.delete,
      access.purge,
      access.read ?? true,
    ],
  )
}

/** A row already being purged is gone for every purpose (its file may be too): a hold cannot bring it back. */
export async function setItemLegalHold(q: Queryable, tenantId: number, itemId: number, hold: boolean) {
  const result = await q.query(
    "update items set legal_hold = $3 where tenant_id = $1 and id = $2 and state <> 'purging'",
    [tenantId, itemId, hold],
  )
  return (result.rowCount ?? 0) > 0
}

/** Moves items (trashed ones too) to another issue and/or category of the same brand. */
export async function moveItems(
  q: Queryable,
  tenantId: number,
  ids: number[],
  issueId: number | null | undefined,
  categoryId: number | null | undefined,
  brandId: number | null,
) {
  // an item that changes brand loses the issue or category of its old brand that the move does not set
  const result = await q.query<{ id: number }>(
    `update items set
        brand_id = coalesce($7::bigint, brand_id),
        issue_id = case when $3 then $4::bigint
                        when $7::bigint is not null and brand_id is distinct from $7::bigint then null
                        else issue_id end,
        category_id = case when $5 then $6::bigint
                           when $7::bigint is not null and brand_id is distinct from $7::bigint then null
                           else category_id end,
        modified_at = now()
      where tenant_id = $1 and id = any($2::bigint[]) and state <> 'purging'
      returning id`,
    [
      tenantId,
      ids,
      issueId !== undefined,
      issueId ?? null,
      categoryId !== undefined,
      categoryId ?? null,
      brandId,
    ],
  )
  return result.rows.map((row) => row.id)
}

export async function listAudit(
  q: Queryable,
  tenantId: number,
  afterId: number,
  limit: number,
  filter: AuditFilter = {},
): Promise<AuditRow[]> {
  const result = await q.query(
    `select id, at, actor_id, actor_login, door, action, item_id, item_kind, item_type, item_name, item_path,
            unit_root, detail
       from audit
      where tenant_id = $1 and id > $2
        and ($4::text[] is null or action = any($4::text[]))
        and ($5::bigint is null or actor_id = $5)
        and ($6::bigint is null or item_id = $6)
      order by id limit $3`,
    [tenantId, afterId, limit, filter.actions ?? null, filter.actorId ?? null, filter.itemId ?? null],
  )
  return result.rows.map((row) => ({
    id: row.id,
    at: row.at,
    actorId: row.actor_id,
    actorLogin: row.actor_login,
    door: row.door,
    action: row.action,
    itemId: row.item_id,
    itemKind: row.item_kind,
    itemType: row.item_type,
    itemName: row.item_name,
    itemPath: row.item_path,
    unitRoot: row.unit_root,
    detail: row.detail,
  }))
}

/** The brands a user has any right on (all brands of the tenant when asked), with their issues and categories. */
export async function brandsWithAccess(
  q: Queryable,
  tenantId: number,
  userId: number,
  allBrands: boolean,
): Promise<BrandAccessRow[]> {
  const result = await q.query(
    `select b.id, b.name, a.can_view, a.can_delete, a.can_purge,
            coalesce((select json_agg(json_build_object('id', i.id, 'name', i.name) order by i.id)
                        from issues i where i.tenant_id = b.tenant_id and i.brand_id = b.id), '[]') as issues,
            coalesce((select json_agg(json_build_object('id', c.id, 'name', c.name) order by c.id)
                        from categories c where c.tenant_id = b.tenant_id and c.brand_id = b.id), '[]') as categories
       from brands b
       left join access a on a.tenant_id = b.tenant_id and a.brand_id = b.id and a.user_id = $2
      where b.tenant_id = $1 and ($3 or a.can_view or a.can_delete or a.can_purge)
      order by b.id`,
    [tenantId, userId, allBrands],
  )
  return result.rows.map((row) => ({
    id: row.id,
    name: row.name,
    rights:
      row.can_view === null ? null : { view: row.can_view, delete: row.can_delete, purge: row.can_purge },
    issues: (row.issues as { id: number | string; name: string }[]).map((i) => ({
      id: Number(i.id),
      name: i.name,
    })),
    categories: (row.categories as { id: number | string; name: string }[]).map((c) => ({
      id: Number(c.id),
      name: c.name,
    })),
  }))
}

/**
 * Deletes a brand with its issues, categories and access rights, unless items (trashed ones included) still
 * belong to it or to one of its issues or categories.
 */
export async function deleteBrand(q: Queryable, tenantId: number, brandId: number): Promise<OccupiedDelete> {
  const result = await q.query<{ occupied: boolean; deleted: boolean }>(
    `with occupied as (
        select exists (
          select 1 from items i
           where i.tenant_id = $1 and (i.brand_id = $2
              or i.issue_id in (select id from issues where tenant_id = $1 and brand_id = $2)
              or i.category_id in (select id from categories where tenant_id = $1 and brand_id = $2))
        ) as occupied
      ),
      gone_issues as (
        delete from issues where tenant_id = $1 and brand_id = $2 and not (select occupied from occupied)
      ),
      gone_categories as (
        delete from categories where tenant_id = $1 and brand_id = $2 and not (select occupied from occupied)
      ),
      gone_access as (
        delete from access where tenant_id = $1 and brand_id = $2 and not (select occupied from occupied)
      ),
      deleted as (
        delete from brands where tenant_id = $1 and id = $2 and not (select occupied from occupied)
        returning 1
      )
      select (select occupied from occupied) as occupied, exists (select 1 from deleted) as deleted`,
    [tenantId, brandId],
  )
  return result.rows[0]!
}

/** Constraint violations as the core's errors: a name taken, a reference to nothing (or to a record in use). */
function translate(error: unknown): never {
  if (isPgError(error, '23505')) throw new CoreError(ErrorCodes.NAME_TAKEN)
  if (isPgError(error, '23503'))
    throw new CoreError(ErrorCodes.IN_USE, 'Referenced record does not exist or is in use')
  throw error
}

/** The admin store over the pool or one transaction. */
export class PgAdminStore implements AdminStore {
  constructor(private readonly q: Queryable) {}
  insertTenant(name: string, retentionDays: number | undefined) {
    return insertTenant(this.q, name, retentionDays)
  }
  findTenant(id: number) {
    return findTenant(this.q, id)
  }
  listTenants() {
    return listTenants(this.q)
  }
  updateTenantRetention(id: number, retentionDays: number) {
    return updateTenantRetention(this.q, id, retentionDays)
  }
  insertUser(user: NewUser) {
    return insertUser(this.q, user).catch(translate)
  }
  updatePasswordHash(tenantId: number, userId: number, passwordHash: string) {
    return updatePasswordHash(this.q, tenantId, userId, passwordHash)
  }
  updateUserDisabled(tenantId: number, userId: number, disabled: boolean) {
    return updateUserDisabled(this.q, tenantId, userId, disabled)
  }
  listUsers(tenantId: number) {
    return listUsers(this.q, tenantId)
  }
  insertBrand(tenantId: number, name: string, autoPurgeDays: number | null) {
    return insertBrand(this.q, tenantId, name, autoPurgeDays).catch(translate)
  }
  updateBrand(
    tenantId: number,
    brandId: number,
    changes: { autoPurgeDays?: number | null; legalHold?: boolean },
  ) {
    return updateBrand(this.q, tenantId, brandId, changes)
  }
  brandExists(tenantId: number, brandId: number) {
    return brandExists(this.q, tenantId, brandId)
  }
  listBrands(tenantId: number) {
    return listBrands(this.q, tenantId)
  }
  brandsWithAccess(tenantId: number, userId: number, allBrands: boolean) {
    return brandsWithAccess(this.q, tenantId, userId, allBrands)
  }
  insertBrandChild(table: BrandChildTable, tenantId: number, brandId: number, name: string) {
    return insertBrandChild(this.q, table, tenantId, brandId, name).catch(translate)
  }
  deleteBrandChild(table: BrandChildTable, tenantId: number, id: number) {
    return deleteBrandChild(this.q, table, tenantId, id)
  }
  brandChildBrand(table: BrandChildTable, tenantId: number, id: number) {
    return brandChildBrand(this.q, table, tenantId, id)
  }
  deleteBrand(tenantId: number, brandId: number) {
    return deleteBrand(this.q, tenantId, brandId)
  }
  upsertAccess(access: AccessGrant) {
    return upsertAccess(this.q, access).catch(translate)
  }
  setItemLegalHold(tenantId: number, itemId: number, hold: boolean) {
    return setItemLegalHold(this.q, tenantId, itemId, hold)
  }
  moveItems(
    tenantId: number,
    ids: number[],
    issueId: number | null | undefined,
    categoryId: number | null | undefined,
    brandId: number | null,
  ) {
    return moveItems(this.q, tenantId, ids, issueId, categoryId, brandId)
  }
  insertItem(item: NewItem) {
    return insertItem(this.q, item).catch(translate)
  }
  listAudit(tenantId: number, afterId: number, limit: number, filter?: AuditFilter) {
    return listAudit(this.q, tenantId, afterId, limit, filter)
  }
}
