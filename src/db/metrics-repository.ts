import type { Database } from './database.js'
import * as policySql from './policy-sql.js'

/** Items in one state of the trash, of one tenant (or of all, tenantId null). */
export interface TrashStateRow {
  tenantId: number | null
  state: 'trashed' | 'emptied' | 'purging'
  items: number
  bytes: number
}

/** Items due for a purge, by why (the cleanup job's reasons, counted per item rather than per unit). */
export interface BacklogRow {
  tenantId: number | null
  reason: 'emptied' | 'expired' | 'failed' | 'unfinished'
  items: number
}

export interface CleanupRunFigures {
  /** finished runs by status, and runs still running */
  runsByStatus: Record<string, number>
  /** when the last run that succeeded finished (null: none has) */
  lastSuccessAt: Date | null
  /** the last finished run */
  last: { status: string; durationSeconds: number; purged: number; failed: number } | null
}

export interface StoreFigures {
  trash: TrashStateRow[]
  backlog: BacklogRow[]
  cleanup: CleanupRunFigures
  /** the planner's estimate of all item rows (every state), free to read */
  itemsEstimate: number
}

/**
 * What the metrics report about the stored data, read in one statement under its own short statement timeout:
 * only rows in the trash are counted (the partial trash indexes), never the active library, whose size comes from
 * the planner's estimate; cleanup figures come from the cleanup run table (a row per run). `perTenant` keeps the
 * tenant apart in the counts (bounded by the number of tenants); without it the counts are summed in SQL.
 */
export async function readStoreFigures(
  db: Database,
  options: { perTenant: boolean; timeoutMs: number },
): Promise<StoreFigures> {
  const tenant = options.perTenant ? 'i.tenant_id' : 'null::bigint'
  const sql = `
    with trash as (
      select ${tenant} as tenant_id, i.state, i.size, i.deleted_at, i.purge_error,
             ${policySql.isUnderLegalHold('i', 'b.legal_hold')} as held,
             ${policySql.effectiveRetentionDays('b.auto_purge_days', 't.retention_days')} as days
        from items i
        join tenants t on t.id = i.tenant_id
        left join brands b on b.tenant_id = i.tenant_id and b.id = i.brand_id
       where i.state in ('trashed', 'emptied', 'purging')
    ),
    states as (
      select tenant_id, state, count(*)::float8 as items, coalesce(sum(size), 0)::float8 as bytes
        from trash group by tenant_id, state
    ),
    backlog as (
      select tenant_id,
             count(*) filter (where state = 'emptied' and purge_error is null and not held)::float8 as emptied,
             count(*) filter (where state = 'trashed' and purge_error is null and not held and days > 0
                                and deleted_at <= now() - make_interval(days => days))::float8 as expired,
             count(*) filter (where purge_error is not null and state <> 'purging')::float8 as failed,
             count(*) filter (where state = 'purging')::float8 as unfinished
        from trash group by tenant_id
    ),
    runs as (
      select coalesce(jsonb_object_agg(status, n), '{}'::jsonb) as by_status
        from (select status, count(*)::float8 as n from cleanup_runs group by status) s
    ),
    last_success as (
      select max(finished_at) as at from cleanup_runs where status = 'succeeded'
    ),
    last_run as (
      select status, extract(epoch from finished_at - started_at)::float8 as duration, purged, failed
        from cleanup_runs where finished_at is not null order by finished_at desc, id desc limit 1
    )
    select (select coalesce(jsonb_agg(jsonb_build_array(tenant_id, state, items, bytes)), '[]'::jsonb)
              from states) as states,
           (select coalesce(jsonb_agg(jsonb_build_array(tenant_id, emptied, expired, failed, unfinished)),
                            '[]'::jsonb) from backlog) as backlog,
           (select by_status from runs) as runs,
           (select at from last_success) as last_success,
           (select to_jsonb(last_run) from last_run) as last_run,
           (select greatest(reltuples, 0)::float8 from pg_class where oid = 'items'::regclass) as estimate`
  const row = await db.transaction(async (tx) => {
    await tx.query(`set local statement_timeout = ${Math.max(1, Math.round(options.timeoutMs))}`)
    return (await tx.query(sql)).rows[0]!
  })
  const states = row.states as [number | string | null, TrashStateRow['state'], number, number][]
  const backlog = row.backlog as [number | string | null, number, number, number, number][]
  const tenantOf = (value: number | string | null) => (value === null ? null : Number(value))
  const lastRun = row.last_run as {
    status: string
    duration: number
    purged: number
    failed: number
  } | null
  return {
    trash: states.map(([tenantId, state, items, bytes]) => ({
      tenantId: tenantOf(tenantId),
      state,
      items,
      bytes,
    })),
    backlog: backlog.flatMap(([tenantId, emptied, expired, failed, unfinished]) =>
      (
        [
          ['emptied', emptied],
          ['expired', expired],
          ['failed', failed],
          ['unfinished', unfinished],
        ] as const
      ).map(([reason, items]) => ({ tenantId: tenantOf(tenantId), reason, items })),
    ),
    cleanup: {
      runsByStatus: row.runs as Record<string, number>,
      lastSuccessAt: row.last_success ? new Date(row.last_success as string) : null,
      last: lastRun
        ? {
            status: lastRun.status,
            durationSeconds: lastRun.duration,
            purged: lastRun.purged,
            failed: lastRun.failed,
          }
        : null,
    },
    itemsEstimate: Number(row.estimate ?? 0),
  }
}
