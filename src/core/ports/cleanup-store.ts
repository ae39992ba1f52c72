import type { AuditActor } from './purge-store.js'

/** The cleanup job's questions and records: which trash units are due, run rows, crashed purges to take over. */

export type CleanupReason = 'emptied' | 'expired' | 'retry'

export interface DueUnit {
  id: number
  reason: CleanupReason
  /** effective retention in days (brand auto purge when set, else the tenant's), for the audit and dry-run */
  retentionDays: number
  retentionSource: 'brand' | 'tenant'
  deletedAt: Date | null
  emptiedAt: Date | null
  purgeError: string | null
  /** keyset position of this unit in the pass */
  cursorAt: string
}

/** Where the next batch of a pass over the trash starts. */
export interface DueCursor {
  deletedAt: string
  id: number
}

/** What one batch did in a tenant. */
export interface TenantBatch {
  /** due units the batch took (rows other transactions held were skipped), by reason */
  due: number
  dueByReason: Record<CleanupReason, number>
  /** units left alone because of a legal hold, with their reason */
  held: { id: number; reason: CleanupReason }[]
  /** rows deleted at once (units without stored files) and rows marked for the rest of the protocol */
  deletedRows: number
  markedRows: number
  /** where this tenant's pass goes on */
  last: DueCursor
}

export interface DuePreview extends DueUnit {
  name: string
  kind: string
  path: string | null
  /** rows the unit would remove (a folder counts its subtree) */
  rows: number
  bytes: number
  /** an item of the unit, or its brand, is under legal hold: it would not be purged */
  held: boolean
}

// ---- run rows

export type RunTrigger = 'schedule' | 'api' | 'cli'
export type RunStatus = 'running' | 'succeeded' | 'partial' | 'failed' | 'abandoned'

export interface RunCounters {
  purged: number
  expired: number
  emptied: number
  retried: number
  recovered: number
  failed: number
  held: number
}

export interface CleanupRun extends RunCounters {
  id: number
  trigger: RunTrigger
  scheduledFor: Date | null
  tenantId: number | null
  instance: string
  startedAt: Date
  heartbeatAt: Date
  finishedAt: Date | null
  status: RunStatus
  error: string | null
}

export interface NewRun {
  trigger: RunTrigger
  scheduledFor?: Date | null
  tenantId?: number | null
  instance: string
}

export interface CleanupStore {
  /**
   * Purge step 1 for the next batch of due units of one or more tenants: up to `limit` due units per tenant along
   * each tenant's pass (the cursor applies when a single tenant is given), skipping units others hold, marked with
   * `token` or deleted at once (units without stored files), each with the audit action the job records.
   * `only`: of the units the batch takes, these alone (those the plug-ins were shown).
   */
  markDueForPurge(
    actor: Omit<AuditActor, 'tenantId'>,
    tenantIds: number[],
    after: DueCursor | null,
    limit: number,
    token: string,
    runId: number,
    only?: number[],
  ): Promise<Map<number, TenantBatch>>
  /** Dry-run: the next page of due units with what purging them would remove; reads only, locks nothing. */
  previewDueUnits(tenantId: number, after: DueCursor | null, limit: number): Promise<DuePreview[]>
  /**
   * Takes over rows a purge left in 'purging' without refreshing them for `staleAfterSeconds` under a new token
   * (rows a live transaction holds are skipped); answers how many.
   */
  claimStalePurges(
    tenantId: number,
    token: string,
    staleAfterSeconds: number,
    limit: number,
    detail: Record<string, unknown>,
  ): Promise<number>
  /** Which of these tenants have anything in the trash (emptied or trashed rows), in the order given. */
  tenantsWithTrash(tenantIds: number[]): Promise<number[]>
  /** Which of these tenants have rows left in 'purging' long enough to be taken over. */
  tenantsWithStalePurges(tenantIds: number[], staleAfterSeconds: number): Promise<number[]>
  countStalePurges(tenantId: number, staleAfterSeconds: number): Promise<number>
  /** Tenants in id order after a cursor, a page at a time. */
  tenantIdsAfter(afterId: number, limit: number): Promise<number[]>
  tenantExists(tenantId: number): Promise<boolean>
  /** Starts a run row; null: another instance already runs this schedule tick. */
  startRun(run: NewRun): Promise<CleanupRun | null>
  /** Records progress (and proves the run is alive). */
  updateRun(id: number, counters: RunCounters): Promise<void>
  finishRun(id: number, status: RunStatus, counters: RunCounters, error: string | null): Promise<CleanupRun>
  /** Runs whose process stopped reporting are closed as abandoned; answers how many. */
  abandonStaleRuns(staleAfterSeconds: number): Promise<number>
  /** Newest runs first, before an id cursor. */
  listRuns(limit: number, beforeId?: number): Promise<CleanupRun[]>
  /** Newest runs that covered a tenant, each with how many of that tenant's items it purged. */
  listTenantRuns(tenantId: number, limit: number): Promise<(CleanupRun & { tenantPurged: number })[]>
}
