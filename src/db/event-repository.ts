import { type AuditEventRow, EVENT_ACTIONS } from '../core/events.js'
import type { Queryable } from './queryable.js'

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

/** The brands a user may view (whose items' events it may receive). */
export async function viewableBrandIds(q: Queryable, tenantId: number, userId: number): Promise<Set<number>> {
  const result = await q.query<{ brand_id: number }>(
    'select brand_id from access where tenant_id = $1 and user_id = $2 and can_view',
    [tenantId, userId],
  )
  return new Set(result.rows.map((row) => row.brand_id))
}

/** One audit row as the event follower first sees it: enough to tell whether anyone wants it. */
export interface AuditMark {
  id: number
  tenantId: number
  action: string
  /** the application_name of the connection that wrote it: which instance made the change */
  origin: string | null
}

/** What one statement saw: its rows and its snapshot's bounds (transaction ids, as decimal strings). */
export interface AuditScan {
  rows: AuditMark[]
  /** every transaction below this had ended when the statement ran */
  xmin: bigint
  /** every transaction that had started when the statement ran is below this */
  xmax: bigint
}

const SNAPSHOT = `select pg_snapshot_xmin(pg_current_snapshot())::text as xmin,
                         pg_snapshot_xmax(pg_current_snapshot())::text as xmax`

function toScan(rows: Record<string, unknown>[]): AuditScan {
  const first = rows[0] as { xmin: string; xmax: string }
  return {
    xmin: BigInt(first.xmin),
    xmax: BigInt(first.xmax),
    rows: rows
      .filter((row) => row.id !== null)
      .map((row) => ({
        id: row.id as number,
        tenantId: row.tenant_id as number,
        action: row.action as string,
        origin: row.origin as string | null,
      })),
  }
}

/**
 * Audit rows of every tenant whose ids lie in the given ranges, oldest first, at most `limit`, with the
 * statement's snapshot bounds. Ids are global but the table's key leads with the tenant, so each tenant's part
 * of each range is one index range scan.
 */
export async function scanAuditRanges(
  q: Queryable,
  from: number[],
  to: number[],
  limit: number,
): Promise<AuditScan> {
  const result = await q.query(
    `select s.xmin, s.xmax, a.id, a.tenant_id, a.action, a.origin
       from (${SNAPSHOT}) s
       left join lateral (
         select a.* from unnest($1::bigint[], $2::bigint[]) as g(lo, hi)
           cross join tenants t
           cross join lateral (
             select id, tenant_id, action, origin from audit
              where tenant_id = t.id and id between g.lo and g.hi order by id limit $3) a
          order by a.id limit $3) a on true
      order by a.id`,
    [from, to, limit],
  )
  return toScan(result.rows)
}

/** The highest audit id of any tenant (0: none), one index probe per tenant. */
export async function newestAuditId(q: Queryable): Promise<number> {
  const result = await q.query<{ id: number | null }>(
    `select max(newest.id) as id
       from tenants t cross join lateral (select max(id) as id from audit where tenant_id = t.id) newest`,
  )
  return result.rows[0]?.id ?? 0
}

/** Event rows by tenant and id, oldest first. */
export async function eventRowsByIds(
  q: Queryable,
  tenantIds: number[],
  ids: number[],
): Promise<AuditEventRow[]> {
  const result = await q.query(
    `${EVENT_SELECT}
      join unnest($1::bigint[], $2::bigint[]) as wanted(tenant_id, id) on wanted.tenant_id = a.tenant_id and wanted.id = a.id
      order by a.id`,
    [tenantIds, ids],
  )
  return result.rows.map(toRow)
}

/** Every brand's id (of every tenant): the message queue exchanges declared at start. */
export async function allBrandIds(q: Queryable): Promise<number[]> {
  const result = await q.query<{ id: number }>('select id from brands order by id')
  return result.rows.map((row) => row.id)
}
