import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { Database } from '../db/database.js'
import * as runs from '../db/cleanup-repository.js'
import * as repo from '../db/trash-repository.js'
import { CoreError, defaultMessage, type ErrorCode, ErrorCodes } from './errors.js'
import type { BlobStore } from './ports.js'
import { completePurge, type PurgeCheckpoint } from './purge-protocol.js'

/**
 * The cleanup job: purges what retention says must go (emptied units, trashed units older than their effective
 * retention, and purges that failed before), and finishes purges a crashed process left half-done. Every purge
 * goes through the shared protocol (purge-protocol.ts). Work is done tenant by tenant in batches: a batch's due
 * units are locked with SKIP LOCKED and marked in one short transaction, so memory and lock time stay bounded
 * whatever the trash size, a concurrent user's restore waits at most for one batch's marking, and any number of
 * instances can run at once without purging anything twice.
 */

export interface CleanupLogger {
  info(object: object, message: string): void
  warn(object: object, message: string): void
  error(object: object, message: string): void
  debug(object: object, message: string): void
}

export interface CleanupSettings {
  /** due units per batch */
  batchSize: number
  /** a 'purging' row not refreshed for this long belongs to a dead process and is finished by the job */
  staleAfterSeconds: number
}

export interface RunOptions {
  trigger: runs.RunTrigger
  /** the schedule tick this run serves (trigger 'schedule'): one instance runs it */
  scheduledFor?: Date
  /** only this tenant */
  tenantId?: number
  /** overrides CleanupSettings.staleAfterSeconds (an operator who knows the crashed process is gone: 0) */
  staleAfterSeconds?: number
  /** stop between batches (server shutdown); the run is recorded as failed and the next run goes on */
  signal?: AbortSignal
  /** called once the run row exists (the REST door answers with it without waiting for the run) */
  onStarted?: (run: runs.CleanupRun) => void
}

export interface CleanupItemError {
  tenantId: number
  id: number
  code: ErrorCode
  message: string
  name?: string
}

export interface CleanupReport {
  run: runs.CleanupRun
  /** per-item errors (legal hold, storage failures), the first MAX_REPORTED_ERRORS of them */
  errors: CleanupItemError[]
}

export interface DryRunUnit extends runs.DuePreview {
  tenantId: number
}

export interface DryRunTenant {
  tenantId: number
  units: number
  rows: number
  bytes: number
  emptied: number
  expired: number
  retry: number
  held: number
  /** rows left in 'purging' by a crashed purge that the next run would finish */
  unfinished: number
}

const MAX_REPORTED_ERRORS = 100
const TENANT_PAGE = 500
const RECOVERY_BATCH = 5000

/**
 * Test-only fault injection: with TRASHD_TEST_CRASH_AT set to a purge checkpoint ('after-mark', 'mid-blobs',
 * 'after-blobs') or 'after-batch', the job announces the point on stderr the first time it reaches it and then
 * waits forever, so that a test can kill the process with SIGKILL exactly there. Never set it in production.
 */
const CRASH_AT_ENV = 'TRASHD_TEST_CRASH_AT'

async function testCrashPoint(point: PurgeCheckpoint | 'after-batch'): Promise<void> {
  if (process.env[CRASH_AT_ENV] !== point) return
  process.stderr.write(`${CRASH_AT_ENV} reached ${point}\n`)
  await new Promise(() => {})
}

export type { CleanupRun, RunCounters, RunTrigger } from '../db/cleanup-repository.js'

export const defaultInstanceName = () => `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`

export class CleanupJob {
  readonly instance: string

  constructor(
    private readonly db: Database,
    private readonly blobs: BlobStore,
    private readonly settings: CleanupSettings,
    private readonly logger?: CleanupLogger,
    instance?: string,
  ) {
    this.instance = instance ?? defaultInstanceName()
  }

  /** Runs the job once. Null when this is a schedule tick another instance already runs. */
  async run(options: RunOptions): Promise<CleanupReport | null> {
    if (options.tenantId !== undefined && !(await runs.tenantExists(this.db, options.tenantId))) {
      throw new CoreError(ErrorCodes.NOT_FOUND, 'Tenant not found')
    }
    const staleAfter = options.staleAfterSeconds ?? this.settings.staleAfterSeconds
    await runs.abandonStaleRuns(this.db, this.settings.staleAfterSeconds)
    const run = await runs.startRun(this.db, {
      trigger: options.trigger,
      scheduledFor: options.scheduledFor ?? null,
      tenantId: options.tenantId ?? null,
      instance: this.instance,
    })
    if (!run) {
      this.logger?.debug(
        { scheduledFor: options.scheduledFor },
        'cleanup tick already run by another instance',
      )
      return null
    }
    this.logger?.info({ run: run.id, trigger: run.trigger, tenantId: run.tenantId }, 'cleanup run started')
    options.onStarted?.(run)
    const counters: runs.RunCounters = {
      purged: 0,
      expired: 0,
      emptied: 0,
      retried: 0,
      recovered: 0,
      failed: 0,
      held: 0,
    }
    const errors: CleanupItemError[] = []
    const report = (error: CleanupItemError) => {
      if (errors.length < MAX_REPORTED_ERRORS) errors.push(error)
    }
    try {
      for await (const tenantId of this.tenants(options.tenantId)) {
        options.signal?.throwIfAborted()
        await this.recover(tenantId, run.id, staleAfter, counters, report, options.signal)
        await this.purgeDue(tenantId, run.id, counters, report, options.signal)
      }
      const status = counters.failed > 0 ? 'partial' : 'succeeded'
      const finished = await runs.finishRun(this.db, run.id, status, counters, null)
      this.logger?.info({ run: finished.id, ...counters }, 'cleanup run finished')
      return { run: finished, errors }
    } catch (error) {
      const message = options.signal?.aborted ? 'Stopped by shutdown' : (error as Error).message
      const finished = await runs.finishRun(this.db, run.id, 'failed', counters, message).catch(() => run)
      if (options.signal?.aborted) this.logger?.warn({ run: run.id }, 'cleanup run stopped by shutdown')
      else this.logger?.error({ run: run.id, err: error }, 'cleanup run failed')
      return { run: { ...finished, status: 'failed', error: message }, errors }
    }
  }

  /** Recorded runs, newest first. */
  runs(limit: number, beforeId?: number): Promise<runs.CleanupRun[]> {
    return runs.listRuns(this.db, limit, beforeId)
  }

  /** Recorded runs that covered a tenant, newest first, with how many of its items each purged. */
  tenantRuns(tenantId: number, limit: number) {
    return runs.listTenantRuns(this.db, tenantId, limit)
  }

  /** What a run would purge, per tenant and why; changes nothing. `onUnit` receives every due unit. */
  async preview(
    options: { tenantId?: number; staleAfterSeconds?: number },
    onUnit?: (unit: DryRunUnit) => void | Promise<void>,
  ): Promise<DryRunTenant[]> {
    if (options.tenantId !== undefined && !(await runs.tenantExists(this.db, options.tenantId))) {
      throw new CoreError(ErrorCodes.NOT_FOUND, 'Tenant not found')
    }
    const staleAfter = options.staleAfterSeconds ?? this.settings.staleAfterSeconds
    const tenants: DryRunTenant[] = []
    for await (const tenantId of this.tenants(options.tenantId)) {
      const summary: DryRunTenant = {
        tenantId,
        units: 0,
        rows: 0,
        bytes: 0,
        emptied: 0,
        expired: 0,
        retry: 0,
        held: 0,
        unfinished: await runs.countStalePurges(this.db, tenantId, staleAfter),
      }
      let after: runs.DueCursor | null = null
      for (;;) {
        const page = await runs.previewDueUnits(this.db, tenantId, after, this.settings.batchSize)
        if (page.length === 0) break
        after = runs.cursorAfter(page)
        for (const unit of page) {
          if (unit.held) summary.held++
          else {
            summary.units++
            summary.rows += unit.rows
            summary.bytes += unit.bytes
            summary[unit.reason]++
          }
          await onUnit?.({ ...unit, tenantId })
        }
      }
      if (summary.units + summary.held + summary.unfinished > 0) tenants.push(summary)
    }
    return tenants
  }

  private async *tenants(only?: number): AsyncGenerator<number> {
    if (only !== undefined) {
      yield only
      return
    }
    let afterId = 0
    for (;;) {
      const page = await runs.tenantIdsAfter(this.db, afterId, TENANT_PAGE)
      if (page.length === 0) return
      yield* page
      afterId = page[page.length - 1]!
    }
  }

  /** Finishes rows a crashed purge left in 'purging', under a new token, through the same protocol. */
  private async recover(
    tenantId: number,
    runId: number,
    staleAfterSeconds: number,
    counters: runs.RunCounters,
    report: (error: CleanupItemError) => void,
    signal?: AbortSignal,
  ) {
    const actor = cleanupActor(tenantId)
    for (;;) {
      signal?.throwIfAborted()
      const token = randomUUID()
      const claimed = await this.db.transaction((tx) =>
        runs.claimStalePurges(tx, tenantId, token, staleAfterSeconds, RECOVERY_BATCH, {
          recoveredBy: runId,
        }),
      )
      if (claimed === 0) return
      this.logger?.warn(
        { run: runId, tenantId, rows: claimed },
        'finishing a purge left unfinished by a crash',
      )
      const completed = await completePurge(this.db, this.blobs, actor, token)
      counters.recovered += completed.purged
      counters.purged += completed.purged
      counters.failed += completed.failures.length
      for (const failure of completed.failures) {
        report({
          tenantId,
          id: failure.id,
          name: failure.name,
          code: ErrorCodes.STORAGE_FAILURE,
          message: failure.message,
        })
      }
      await runs.updateRun(this.db, runId, counters)
      if (claimed < RECOVERY_BATCH) return
    }
  }

  /** Purges the tenant's due units, one locked batch at a time, in one pass over the trash. */
  private async purgeDue(
    tenantId: number,
    runId: number,
    counters: runs.RunCounters,
    report: (error: CleanupItemError) => void,
    signal?: AbortSignal,
  ) {
    const actor = cleanupActor(tenantId)
    let after: runs.DueCursor | null = null
    for (;;) {
      signal?.throwIfAborted()
      const token = randomUUID()
      const batch = await this.db.transaction(async (tx) => {
        const due = await runs.lockDueUnits(tx, tenantId, after, this.settings.batchSize)
        if (due.length === 0) return null
        const marked = await repo.markForPurge(
          tx,
          actor,
          due.map((unit) => ({
            id: unit.id,
            action: unit.reason === 'expired' ? 'expire' : 'purge',
            detail: {
              run: runId,
              reason: unit.reason,
              ...(unit.reason === 'expired'
                ? { retentionDays: unit.retentionDays, retentionFrom: unit.retentionSource }
                : {}),
            },
          })),
          token,
        )
        return { due, marked }
      })
      if (!batch) return
      after = runs.cursorAfter(batch.due)
      const held = new Set(batch.marked.held)
      for (const unit of batch.due) {
        if (held.has(unit.id)) {
          counters.held++
          report({
            tenantId,
            id: unit.id,
            code: ErrorCodes.LEGAL_HOLD,
            message: defaultMessage(ErrorCodes.LEGAL_HOLD),
          })
        } else if (batch.marked.marked.has(unit.id) || batch.marked.deleted.has(unit.id)) {
          counters[unit.reason === 'retry' ? 'retried' : unit.reason]++
          // units without stored files were deleted by the mark statement itself
          counters.purged += batch.marked.deleted.get(unit.id) ?? 0
        }
      }
      if (batch.marked.marked.size > 0) {
        const completed = await completePurge(this.db, this.blobs, actor, token, testCrashPoint)
        counters.purged += completed.purged
        counters.failed += completed.failures.length
        for (const failure of completed.failures) {
          report({
            tenantId,
            id: failure.id,
            name: failure.name,
            code: ErrorCodes.STORAGE_FAILURE,
            message: failure.message,
          })
          this.logger?.warn(
            { run: runId, tenantId, item: failure.id },
            'a stored file could not be removed; retried next run',
          )
        }
      }
      await runs.updateRun(this.db, runId, counters)
      await testCrashPoint('after-batch')
    }
  }
}

/** The cleanup job has no user: audit rows name the door 'cleanup'. */
function cleanupActor(tenantId: number): repo.AuditActor {
  return { tenantId, userId: null, login: null, door: 'cleanup' }
}

/** One line of a dry-run: what would be purged and why. */
export function describeDueUnit(unit: DryRunUnit): string {
  const what = `${unit.kind} ${unit.id} ${unit.path ?? unit.name} (${unit.rows} item(s), ${unit.bytes} bytes)`
  if (unit.held) return `${what}: kept, under legal hold`
  switch (unit.reason) {
    case 'emptied':
      return `${what}: emptied from the trash${unit.emptiedAt ? ` on ${unit.emptiedAt.toISOString()}` : ''}`
    case 'retry':
      return `${what}: an earlier purge failed (${unit.purgeError ?? 'unknown error'})`
    case 'expired':
      return `${what}: trashed on ${unit.deletedAt?.toISOString()}, past the ${unit.retentionDays}-day retention of its ${unit.retentionSource}`
  }
}
