import type {
  CleanupReason,
  CleanupRun,
  CleanupStore,
  DueCursor,
  DuePreview,
  DueUnit,
  NewRun,
  RunCounters,
  RunStatus,
  RunTrigger,
  TenantBatch,
} from '../core/ports/cleanup-store.js'
import type { AuditActor } from '../core/ports/purge-store.js'
import { MARK_STATEMENT, markParams } from './purge-statements.js'
import type { Queryable } from './queryable.js'
import { UNIT_WALK } from './sql-fragments.js'
import { SqlParams } from './sql-params.js'
import * as policySql from './policy-sql.js'

/**
 * SQL of the cleanup job: which trash units are due, run rows, and taking over crashed purges. The purge itself
 * goes through purge-statements.ts' markForPurge / markedBlobs / revertPurge / finishPurge like every other purge.
 */

/**
 * Which trash rows are due, each the head of what the job purges as one unit. The effective retention is
 * policy.effectiveRetentionDays (brand auto_purge_days when set, else tenant retention_days; 0 = never) through
 * its SQL twin (policy-sql.ts). Reasons, first match wins:
 * - emptied: emptied (IPS) and not below another emptied row of its unit; whatever its age.
 * - expired: the root of a trashed unit (or the top of what is left of one) older than its retention.
 * - retry: an earlier purge of it failed (the error is recorded) and it is not below another such row.
 * `tenant` is the tenant's id (a parameter or a column); `cursor` the placeholders of the keyset cursor (each run
 * passes over the trash once).
 */
const IS_EMPTIED_HEAD = `(i.state = 'emptied' and not exists (
    select 1 from items p where p.tenant_id = i.tenant_id and p.id = i.parent_id
       and p.trash_root = i.trash_root and p.state = 'emptied'))`
const IS_EXPIRED_HEAD = `(i.state = 'trashed' and ${policySql.isPastRetention('i.deleted_at', 'r.days')}
    and (i.id = i.trash_root or not exists (
      select 1 from items p where p.tenant_id = i.tenant_id and p.id = i.parent_id
         and p.trash_root = i.trash_root and p.state = 'trashed')))`
const IS_RETRY_HEAD = `(i.purge_error is not null and not exists (
    select 1 from items p where p.tenant_id = i.tenant_id and p.id = i.parent_id
       and p.trash_root = i.trash_root and p.purge_error is not null and p.state in ('trashed', 'emptied')))`

/**
 * Walks the tenant's trash oldest first along items_trash_idx, from a keyset cursor (deleted_at as text, so
 * microseconds survive the round trip; id), without joins, so that LIMIT stops the scan after one batch.
 * `tenantDays` is the tenant's retention (an expression); a row's effective retention (`r.days`, its brand's
 * auto purge days when set) is worked out once per row (`offset 0` keeps the planner from copying the brand
 * lookup into every place that uses it), and only for rows in a brand.
 */
const DUE_SELECT = (tenant: string, tenantDays: string, cursor: { at: string; id: string }) => `
  select i.tenant_id, i.id, i.trash_root, i.state, i.kind, i.blob_key, i.legal_hold, i.brand_id, i.deleted_at,
         i.deleted_at::text as cursor_at, i.emptied_at, i.purge_error, r.days as retention_days,
         case when r.brand_days is not null then 'brand' else 'tenant' end as retention_source,
         case when ${IS_EMPTIED_HEAD} then 'emptied' when ${IS_EXPIRED_HEAD} then 'expired' else 'retry' end
           as reason
    from items i
   cross join lateral (
     select bd.brand_days, ${policySql.effectiveRetentionDays('bd.brand_days', tenantDays)} as days
       from (select case when i.brand_id is not null then (
               select b.auto_purge_days from brands b where b.tenant_id = i.tenant_id and b.id = i.brand_id)
             end as brand_days offset 0) as bd
   ) as r
   where i.tenant_id = ${tenant} and i.state in ('trashed', 'emptied')
     and (${cursor.at}::timestamptz is null or (i.deleted_at, i.id) > (${cursor.at}::timestamptz, ${cursor.id}::bigint))
     and (${IS_EMPTIED_HEAD} or ${IS_EXPIRED_HEAD} or ${IS_RETRY_HEAD})
   order by i.deleted_at, i.id`

/** A single tenant's retention (`tenant`: its placeholder), read once for the statement. */
const TENANT_DAYS = (tenant: string) => `(select t.retention_days from tenants t where t.id = ${tenant})`

function toDueUnit(row: Record<string, unknown>): DueUnit {
  return {
    id: row.id as number,
    reason: row.reason as CleanupReason,
    retentionDays: row.retention_days as number,
    retentionSource: row.retention_source as 'brand' | 'tenant',
    deletedAt: (row.deleted_at as Date | null) ?? null,
    emptiedAt: (row.emptied_at as Date | null) ?? null,
    purgeError: (row.purge_error as string | null) ?? null,
    cursorAt: row.cursor_at as string,
  }
}

/**
 * Purge step 1 for the next batch of due units of one or more tenants, in one statement: up to `limit` due units
 * per tenant are chosen along each tenant's pass (DUE_SELECT), locked with SKIP LOCKED (rows a user's restore or
 * another instance holds are left for later), and marked or deleted as markForPurge does, each with the audit
 * action and detail the job records. The keyset cursor applies when a single tenant is given. Many small tenants
 * share a statement, and the answer is a summary per tenant: a round trip, a plan and a row per unit cost more
 * than purging the unit.
 */
export async function markDueForPurge(
  q: Queryable,
  actor: Omit<AuditActor, 'tenantId'>,
  tenantIds: number[],
  after: DueCursor | null,
  limit: number,
  token: string,
  runId: number,
  only?: number[],
): Promise<Map<number, TenantBatch>> {
  const params = new SqlParams()
  const tenants = params.add(tenantIds)
  const cursor = { at: params.add(after?.deletedAt ?? null), id: params.add(after?.id ?? 0) }
  const perTenant = params.add(limit)
  const mark = markParams(params, token, actor)
  const run = params.add(runId)
  const onlyThese = only ? ` and d.id = any(${params.add(only)}::bigint[])` : ''
  const result = await q.query<{
    tenant_id: number
    id: number | null
    n: number
    what: 'due' | 'last' | 'held' | 'deleted' | 'marked'
    reason: CleanupReason | null
    cursor_at: string | null
  }>(
    MARK_STATEMENT(
      `due as materialized (
        select d.*, td.expired_detail from tenants t
          -- the audit detail of a unit past its tenant's retention (most units), built once per tenant: building
          -- it per unit was a sixth of the statement's time
          cross join lateral (
            select jsonb_build_object('run', ${run}::bigint, 'reason', 'expired', 'retentionDays', t.retention_days,
                                      'retentionFrom', 'tenant') as expired_detail
            offset 0
          ) as td
          cross join lateral (
            ${DUE_SELECT('t.id', 't.retention_days', cursor)} limit ${perTenant} for update of i skip locked
          ) as d
         where t.id = any(${tenants}::bigint[])${onlyThese}
      ),
      heads as (
        select tenant_id, id, trash_root, state, kind, blob_key, legal_hold, brand_id,
               case when reason = 'expired' then 'expire' else 'purge' end as action,
               case when reason = 'expired' and retention_source = 'tenant' then expired_detail
                    when reason = 'expired'
                    then jsonb_build_object('run', ${run}::bigint, 'reason', reason, 'retentionDays', retention_days,
                                            'retentionFrom', retention_source)
                    -- built once for the statement
                    when reason = 'emptied' then (select jsonb_build_object('run', ${run}::bigint, 'reason', 'emptied'))
                    else (select jsonb_build_object('run', ${run}::bigint, 'reason', 'retry')) end as detail
          from due
      )`,
      mark,
      `select tenant_id, null::bigint as id, count(*)::int as n, 'due' as what, reason, null as cursor_at
         from due group by tenant_id, reason
       union all
       select * from (
         select distinct on (tenant_id) tenant_id, id, 0, 'last', null, cursor_at
           from due order by tenant_id, deleted_at desc, id desc
       ) as last
       union all
       select tenant_id, addressed, 0, 'held', detail->>'reason', null from held
       union all
       select tenant_id, null, count(*)::int, 'deleted', null, null from gone group by tenant_id
       union all
       select tenant_id, null, count(*)::int, 'marked', null, null from marked group by tenant_id`,
    ),
    params.values,
  )
  const batches = new Map<number, TenantBatch>()
  const of = (tenantId: number) => {
    let batch = batches.get(tenantId)
    if (!batch) {
      batch = {
        due: 0,
        dueByReason: { emptied: 0, expired: 0, retry: 0 },
        held: [],
        deletedRows: 0,
        markedRows: 0,
        last: { deletedAt: '', id: 0 },
      }
      batches.set(tenantId, batch)
    }
    return batch
  }
  for (const row of result.rows) {
    const batch = of(row.tenant_id)
    if (row.what === 'due') {
      batch.due += row.n
      batch.dueByReason[row.reason!] += row.n
    } else if (row.what === 'last') batch.last = { deletedAt: row.cursor_at!, id: row.id! }
    else if (row.what === 'held') batch.held.push({ id: row.id!, reason: row.reason! })
    else if (row.what === 'deleted') batch.deletedRows = row.n
    else batch.markedRows = row.n
  }
  return batches
}

/** Dry-run: the next page of due units with what purging them would remove; reads only, locks nothing. */
export async function previewDueUnits(
  q: Queryable,
  tenantId: number,
  after: DueCursor | null,
  limit: number,
): Promise<DuePreview[]> {
  const params = new SqlParams()
  const tenant = params.add(tenantId)
  const cursor = { at: params.add(after?.deletedAt ?? null), id: params.add(after?.id ?? 0) }
  const result = await q.query(
    `with recursive due as (${DUE_SELECT(tenant, TENANT_DAYS(tenant), cursor)} limit ${params.add(limit)}),
      ${UNIT_WALK("'trashed', 'emptied'", tenant, 'select id from due')},
      totals as (
        select unit.addressed, count(*)::int as rows, coalesce(sum(i.size), 0)::bigint as bytes,
               bool_or(${policySql.isUnderLegalHold('i', 'b.legal_hold')}) as held
          from unit join items i on i.tenant_id = ${tenant} and i.id = unit.id
          left join brands b on b.tenant_id = i.tenant_id and b.id = i.brand_id
         group by unit.addressed
      )
      select due.*, i.name, i.kind, i.original_path as path, totals.rows, totals.bytes, totals.held
        from due join items i on i.tenant_id = ${tenant} and i.id = due.id
        join totals on totals.addressed = due.id
       order by due.deleted_at, due.id`,
    params.values,
  )
  return result.rows.map((row) => ({
    ...toDueUnit(row),
    name: row.name,
    kind: row.kind,
    path: row.path,
    rows: row.rows,
    bytes: Number(row.bytes),
    held: row.held,
  }))
}

/**
 * Takes over rows left in 'purging' by a purge whose process stopped refreshing them (crashed, killed): they get
 * a new token, so the process that marked them, should it still be alive, no longer finishes them. Rows locked by
 * a live transaction are skipped. Returns how many rows were taken.
 */
export async function claimStalePurges(
  q: Queryable,
  tenantId: number,
  token: string,
  staleAfterSeconds: number,
  limit: number,
  detail: Record<string, unknown>,
): Promise<number> {
  const result = await q.query<{ n: number }>(
    `with stale as (
        select id from items
         where tenant_id = $1 and state = 'purging'
           and purge_started_at <= now() - make_interval(secs => $3)
         order by id limit $4
           for update skip locked
      ),
      claimed as (
        update items x set purge_token = $2, purge_started_at = now(),
               purge_detail = coalesce(x.purge_detail, '{}'::jsonb) || $5::jsonb
          from stale where x.tenant_id = $1 and x.id = stale.id and x.state = 'purging'
        returning x.id
      )
      select count(*)::int as n from claimed`,
    [tenantId, token, staleAfterSeconds, limit, JSON.stringify(detail)],
  )
  return result.rows[0]?.n ?? 0
}

/**
 * Which of these tenants have anything in the trash, in the order given: every due unit is a trashed or emptied
 * row, so the others have nothing to purge. One probe of the trash index per tenant (an empty tenant cost its
 * share of a mark statement, whose planning alone is dearer).
 */
export async function tenantsWithTrash(q: Queryable, tenantIds: number[]): Promise<number[]> {
  const result = await q.query<{ id: number }>(
    `select t.id from unnest($1::bigint[]) with ordinality as t(id, n)
      where exists (select 1 from items i where i.tenant_id = t.id and i.state in ('trashed', 'emptied'))
      order by t.n`,
    [tenantIds],
  )
  return result.rows.map((row) => row.id)
}

/** Which of these tenants have rows left in 'purging' long enough to be taken over (most have none). */
export async function tenantsWithStalePurges(
  q: Queryable,
  tenantIds: number[],
  staleAfterSeconds: number,
): Promise<number[]> {
  const result = await q.query<{ tenant_id: number }>(
    `select distinct tenant_id from items
      where state = 'purging' and purge_started_at <= now() - make_interval(secs => $2)
        and tenant_id = any($1::bigint[])
      order by tenant_id`,
    [tenantIds, staleAfterSeconds],
  )
  return result.rows.map((row) => row.tenant_id)
}

/** Rows of the tenant left in 'purging' long enough to be taken over (dry-run reporting). */
export async function countStalePurges(
  q: Queryable,
  tenantId: number,
  staleAfterSeconds: number,
): Promise<number> {
  const result = await q.query<{ n: number }>(
    `select count(*)::int as n from items
      where tenant_id = $1 and state = 'purging' and purge_started_at <= now() - make_interval(secs => $2)`,
    [tenantId, staleAfterSeconds],
  )
  return result.rows[0]?.n ?? 0
}

/** Tenants in id order after a cursor, a page at a time. */
export async function tenantIdsAfter(q: Queryable, afterId: number, limit: number): Promise<number[]> {
  const result = await q.query<{ id: number }>('select id from tenants where id > $1 order by id limit $2', [
    afterId,
    limit,
  ])
  return result.rows.map((row) => row.id)
}

export async function tenantExists(q: Queryable, tenantId: number): Promise<boolean> {
  const result = await q.query('select 1 from tenants where id = $1', [tenantId])
  return (result.rowCount ?? 0) > 0
}

// ---- run rows

const RUN_COLUMNS = `id, trigger, scheduled_for, tenant_id, instance, started_at, heartbeat_at, finished_at, status,
  purged, expired, emptied, retried, recovered, failed, held, error`

function toRun(row: Record<string, unknown>): CleanupRun {
  return {
    id: row.id as number,
    trigger: row.trigger as RunTrigger,
    scheduledFor: (row.scheduled_for as Date | null) ?? null,
    tenantId: (row.tenant_id as number | null) ?? null,
    instance: row.instance as string,
    startedAt: row.started_at as Date,
    heartbeatAt: row.heartbeat_at as Date,
    finishedAt: (row.finished_at as Date | null) ?? null,
    status: row.status as RunStatus,
    purged: row.purged as number,
    expired: row.expired as number,
    emptied: row.emptied as number,
    retried: row.retried as number,
    recovered: row.recovered as number,
    failed: row.failed as number,
    held: row.held as number,
    error: (row.error as string | null) ?? null,
  }
}

/**
 * Starts a run row. For a schedule tick every instance tries the same (tick) row and exactly one gets it: null
 * means another instance already runs this tick.
 */
export async function startRun(q: Queryable, run: NewRun): Promise<CleanupRun | null> {
  const result = await q.query(
    `insert into cleanup_runs (trigger, scheduled_for, tenant_id, instance)
     values ($1, $2, $3, $4)
     on conflict (scheduled_for) where trigger = 'schedule' do nothing
     returning ${RUN_COLUMNS}`,
    [run.trigger, run.scheduledFor ?? null, run.tenantId ?? null, run.instance],
  )
  return result.rows[0] ? toRun(result.rows[0]) : null
}

/** Records progress (and proves the run is alive). */
export async function updateRun(q: Queryable, id: number, counters: RunCounters): Promise<void> {
  await q.query(
    `update cleanup_runs set heartbeat_at = now(), purged = $2, expired = $3, emptied = $4, retried = $5,
            recovered = $6, failed = $7, held = $8
      where id = $1`,
    [
      id,
      counters.purged,
      counters.expired,
      counters.emptied,
      counters.retried,
      counters.recovered,
      counters.failed,
      counters.held,
    ],
  )
}

export async function finishRun(
  q: Queryable,
  id: number,
  status: RunStatus,
  counters: RunCounters,
  error: string | null,
): Promise<CleanupRun> {
  await updateRun(q, id, counters)
  const result = await q.query(
    `update cleanup_runs set finished_at = now(), status = $2, error = $3 where id = $1 returning ${RUN_COLUMNS}`,
    [id, status, error],
  )
  return toRun(result.rows[0]!)
}

/** Runs whose process stopped reporting (killed mid-run) are closed as abandoned; their work is redone. */
export async function abandonStaleRuns(q: Queryable, staleAfterSeconds: number): Promise<number> {
  const result = await q.query(
    `update cleanup_runs set status = 'abandoned', finished_at = now(),
            error = 'The process running it stopped before it finished'
      where status = 'running' and heartbeat_at <= now() - make_interval(secs => $1)`,
    [staleAfterSeconds],
  )
  return result.rowCount ?? 0
}

/** Newest runs first, before an id cursor. */
export async function listRuns(q: Queryable, limit: number, beforeId?: number): Promise<CleanupRun[]> {
  const result = await q.query(
    `select ${RUN_COLUMNS} from cleanup_runs where ($1::bigint is null or id < $1) order by id desc limit $2`,
    [beforeId ?? null, limit],
  )
  return result.rows.map(toRun)
}

/**
 * Newest runs that covered a tenant (every-tenant runs and the tenant's own), each with the number of that
 * tenant's items it purged, counted from the audit rows the run wrote (their detail names the run).
 */
export async function listTenantRuns(
  q: Queryable,
  tenantId: number,
  limit: number,
): Promise<(CleanupRun & { tenantPurged: number })[]> {
  const result = await q.query(
    `select ${RUN_COLUMNS},
            (select count(*)::int from audit a
              where a.tenant_id = $1 and a.door = 'cleanup' and a.at >= r.started_at
                and a.at <= coalesce(r.finished_at, now()) and a.detail ->> 'run' = r.id::text) as tenant_purged
       from cleanup_runs r
      where r.tenant_id is null or r.tenant_id = $1
      order by r.id desc limit $2`,
    [tenantId, limit],
  )
  return result.rows.map((row) => ({ ...toRun(row), tenantPurged: row.tenant_purged as number }))
}

export async function getRun(q: Queryable, id: number): Promise<CleanupRun | null> {
  const result = await q.query(`select ${RUN_COLUMNS} from cleanup_runs where id = $1`, [id])
  return result.rows[0] ? toRun(result.rows[0]) : null
}

/** The cleanup job's store over the pool or one transaction. */
export class PgCleanupStore implements CleanupStore {
  constructor(private readonly q: Queryable) {}
  markDueForPurge(
    actor: Omit<AuditActor, 'tenantId'>,
    tenantIds: number[],
    after: DueCursor | null,
    limit: number,
    token: string,
    runId: number,
    only?: number[],
  ) {
    return markDueForPurge(this.q, actor, tenantIds, after, limit, token, runId, only)
  }
  previewDueUnits(tenantId: number, after: DueCursor | null, limit: number) {
    return previewDueUnits(this.q, tenantId, after, limit)
  }
  claimStalePurges(
    tenantId: number,
    token: string,
    staleAfterSeconds: number,
    limit: number,
    detail: Record<string, unknown>,
  ) {
    return claimStalePurges(this.q, tenantId, token, staleAfterSeconds, limit, detail)
  }
  tenantsWithTrash(tenantIds: number[]) {
    return tenantsWithTrash(this.q, tenantIds)
  }
  tenantsWithStalePurges(tenantIds: number[], staleAfterSeconds: number) {
    return tenantsWithStalePurges(this.q, tenantIds, staleAfterSeconds)
  }
  countStalePurges(tenantId: number, staleAfterSeconds: number) {
    return countStalePurges(this.q, tenantId, staleAfterSeconds)
  }
  tenantIdsAfter(afterId: number, limit: number) {
    return tenantIdsAfter(this.q, afterId, limit)
  }
  tenantExists(tenantId: number) {
    return tenantExists(this.q, tenantId)
  }
  startRun(run: NewRun) {
    return startRun(this.q, run)
  }
  updateRun(id: number, counters: RunCounters) {
    return updateRun(this.q, id, counters)
  }
  finishRun(id: number, status: RunStatus, counters: RunCounters, error: string | null) {
    return finishRun(this.q, id, status, counters, error)
  }
  abandonStaleRuns(staleAfterSeconds: number) {
    return abandonStaleRuns(this.q, staleAfterSeconds)
  }
  listRuns(limit: number, beforeId?: number) {
    return listRuns(this.q, limit, beforeId)
  }
  listTenantRuns(tenantId: number, limit: number) {
    return listTenantRuns(this.q, tenantId, limit)
  }
}
