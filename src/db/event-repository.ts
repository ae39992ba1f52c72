import { type AuditEventRow, EVENT_ACTIONS } from '../core/events.js'
import type { Queryable } from './database.js'

/** Audit rows that are events, with the user names they show. */
const EVENT_SELECT = `select a.id, a.tenant_id, a.at, a.action, a.actor_id, a.actor_login,
         actor.display_name as actor_name, a.item_id, a.item_type, a.item_name, a.item_brand_id, a.item_issue_id,
         a.item_category_id, a.item_deleted_at, a.item_deleted_by, deleter.login as deleter_login, a.item_owner_id,
         a.item_kind, a.item_version, a.item_format, a.event_ticket, a.detail
    from audit a
    left join users actor on actor.tenant_id = a.tenant_id and actor.id = a.actor_id
    left join users deleter on deleter.tenant_id = a.tenant_id and deleter.id = a.item_deleted_by`

function toRow(row: Record<string, unknown>): AuditEventRow {
  return {
    id: row.id as number,
    tenantId: row.tenant_id as number,
    at: row.at as Date,
    action: row.action as string,
    actorId: row.actor_id as number | null,
    actorLogin: row.actor_login as string | null,
    actorName: row.actor_name as string | null,
    itemId: row.item_id as number,
    itemType: row.item_type as string | null,
    itemName: row.item_name as string | null,
    brandId: row.item_brand_id as number | null,
    issueId: row.item_issue_id as number | null,
    categoryId: row.item_category_id as number | null,
    deletedAt: row.item_deleted_at as Date | null,
    deletedBy: row.item_deleted_by as number | null,
    deleterLogin: row.deleter_login as string | null,
    ownerId: row.item_owner_id as number | null,
    itemKind: row.item_kind as string | null,
    itemVersion: row.item_version as string | null,
    itemFormat: row.item_format as string | null,
    eventTicket: row.event_ticket as string | null,
    detail: row.detail as Record<string, unknown> | null,
  }
}

/** Event rows of a tenant after a cursor, oldest first. */
export async function eventRowsAfter(
  q: Queryable,
  tenantId: number,
  afterId: number,
  limit: number,
): Promise<AuditEventRow[]> {
  const result = await q.query(
    `${EVENT_SELECT}
      where a.tenant_id = $1 and a.id > $2 and a.action = any($3::text[])
      order by a.id limit $4`,
    [tenantId, afterId, EVENT_ACTIONS, limit],
  )
  return result.rows.map(toRow)
}

/** Event rows of a tenant in an id range (what one notification announced), oldest first. */
export async function eventRowsBetween(
  q: Queryable,
  tenantId: number,
  fromId: number,
  toId: number,
): Promise<AuditEventRow[]> {
  const result = await q.query(
    `${EVENT_SELECT}
      where a.tenant_id = $1 and a.id between $2 and $3 and a.action = any($4::text[])
      order by a.id`,
    [tenantId, fromId, toId, EVENT_ACTIONS],
  )
  return result.rows.map(toRow)
}

/** The brands a user may view (whose items' events it may receive). */
export async function viewableBrandIds(q: Queryable, tenantId: number, userId: number): Promise<Set<number>> {
  const result = await q.query<{ brand_id: number }>(
    'select brand_id from access where tenant_id = $1 and user_id = $2 and can_view',
    [tenantId, userId],
  )
  return new Set(result.rows.map((row) => row.brand_id))
}

/** The newest audit id of a tenant (0 when none): where a live subscription starts. */
export async function lastAuditId(q: Queryable, tenantId: number): Promise<number> {
  const result = await q.query<{ id: number | null }>(
    'select max(id) as id from audit where tenant_id = $1',
    [tenantId],
  )
  return result.rows[0]?.id ?? 0
}

/** Event rows of every tenant after a cursor, oldest first (the embedded database's own-event poll). */
export async function eventRowsAcrossTenantsAfter(
  q: Queryable,
  afterId: number,
  limit: number,
): Promise<AuditEventRow[]> {
  const result = await q.query(
    `${EVENT_SELECT}
      where a.id > $1 and a.action = any($2::text[])
      order by a.id limit $3`,
    [afterId, EVENT_ACTIONS, limit],
  )
  return result.rows.map(toRow)
}

/** The newest audit id of all tenants (0 when none). */
export async function lastAuditIdAcrossTenants(q: Queryable): Promise<number> {
  const result = await q.query<{ id: number | null }>('select max(id) as id from audit')
  return result.rows[0]?.id ?? 0
}

/** Every brand's id (of every tenant): the message queue exchanges declared at start. */
export async function allBrandIds(q: Queryable): Promise<number[]> {
  const result = await q.query<{ id: number }>('select id from brands order by id')
  return result.rows.map((row) => row.id)
}
