import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { CoreError, defaultMessage, type ErrorCode, ErrorCodes } from './errors.js'
import { noPlugins, type PluginsOf, withHooks } from './operation-hooks.js'
import { newOperationId } from './operation-id.js'
import type { OperationRequest, PluginHost } from './plugins.js'
import type { BlobStore } from './ports/blob-store.js'
import type {
  CleanupRun,
  CleanupStore,
  DueCursor,
  DuePreview,
  RunCounters,
  RunTrigger,
  TenantBatch,
} from './ports/cleanup-store.js'
import type { OperationStore } from './ports/operation-store.js'
import type { AuditActor } from './ports/purge-store.js'
import type { Persistence } from './ports/unit-of-work.js'
import { type CompletedPurge, completePurge, failuresByUnit, type PurgeCheckpoint } from './purge-protocol.js'
import type { Actor, ItemResult } from './types.js'

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
  trigger: RunTrigger
  /** the schedule tick this run serves (trigger 'schedule'): one instance runs it */
  scheduledFor?: Date
  /** only this tenant */
  tenantId?: number
  /** overrides CleanupSettings.staleAfterSeconds (an operator who knows the crashed process is gone: 0) */
  staleAfterSeconds?: number
  /** stop between batches (server shutdown); the run is recorded as failed and the next run goes on */
  signal?: AbortSignal
  /** called once the run row exists (the REST door answers with it without waiting for the run) */
  onStarted?: (run: CleanupRun) => void
}

export interface CleanupItemError {
  tenantId: number
  id: number
  code: ErrorCode
  message: string
  name?: string
}

export interface CleanupReport {
  run: CleanupRun
  /** per-item errors (legal hold, storage failures), the first MAX_REPORTED_ERRORS of them */
  errors: CleanupItemError[]
}

export interface DryRunUnit extends DuePreview {
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

/** A tenant's dry-run summary before anything due is counted (and what a tenant with nothing due shows). */
export function nothingDue(tenantId: number): DryRunTenant {
  return { tenantId, units: 0, rows: 0, bytes: 0, emptied: 0, expired: 0, retry: 0, held: 0, unfinished: 0 }
}

const MAX_REPORTED_ERRORS = 100
const TENANT_PAGE = 500
const RECOVERY_BATCH = 5000
const PROGRESS_EVERY_MS = 1000
/** due units marked by one statement at most, when the first batches of many tenants share it */
const UNITS_PER_STATEMENT = 20_000
/** tenants of one batch whose stored files are removed at the same time */
const TENANTS_COMPLETED_AT_ONCE = 4

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

export type { CleanupRun, RunCounters, RunTrigger } from './ports/cleanup-store.js'

/** Where the next batch of a pass over the trash starts: after the last unit of this one. */
function cursorAfter(units: { cursorAt: string; id: number }[]): DueCursor | null {
  const last = units[units.length - 1]
  return last ? { deletedAt: last.cursorAt, id: last.id } : null
}

export const defaultInstanceName = () => `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`

export class CleanupJob {
  readonly instance: string

  private readonly store: CleanupStore
  private readonly operations: OperationStore

  constructor(
    private readonly persistence: Persistence,
    private readonly blobs: BlobStore,
    private readonly settings: CleanupSettings,
    private readonly logger?: CleanupLogger,
    instance?: string,
    /** the server plug-ins: with any loaded, their hooks run around each tenant's batch (see purgeDueHooked) */
    private readonly plugins: PluginsOf = noPlugins,
  ) {
    this.instance = instance ?? defaultInstanceName()
    this.store = persistence.stores.cleanup
    this.operations = persistence.stores.operations
  }

  /** Runs the job once. Null when this is a schedule tick another instance already runs. */
  async run(options: RunOptions): Promise<CleanupReport | null> {
    if (options.tenantId !== undefined && !(await this.store.tenantExists(options.tenantId))) {
      throw new CoreError(ErrorCodes.NOT_FOUND, 'Tenant not found')
    }
    const staleAfter = options.staleAfterSeconds ?? this.settings.staleAfterSeconds
    await this.store.abandonStaleRuns(this.settings.staleAfterSeconds)
    // one operation for the whole run, recorded per tenant it changed when the run ends
    const operation: RunOperation = { id: newOperationId(), startedAt: new Date(), failed: new Map() }
    const run = await this.store.startRun({
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
    const counters: RunCounters = {
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
    // the run row's counters and heartbeat, refreshed at most once a second (a row per batch of a thousand
    // small tenants cost more than their purges)
    let savedAt = Date.now()
    const progress = async () => {
      if (Date.now() - savedAt < PROGRESS_EVERY_MS) return
      savedAt = Date.now()
      await this.store.updateRun(run.id, counters)
    }
    try {
      const pass: Pass = {
        runId: run.id,
        operation,
        pending: null,
        counters,
        report,
        progress,
        signal: options.signal,
      }
      for await (const page of this.tenantPages(options.tenantId)) {
        options.signal?.throwIfAborted()
        for (const tenantId of await this.store.tenantsWithStalePurges(page, staleAfter)) {
          await this.recover(tenantId, pass, staleAfter)
        }
        const host = this.plugins()
        if (host.plugins.length > 0) await this.purgeDueHooked(page, pass, host)
        else await this.purgeDue(page, pass)
      }
      await this.operations.insertRunOperations(operation.id, operation.startedAt, operation.failed)
      const status = counters.failed > 0 ? 'partial' : 'succeeded'
      const finished = await this.store.finishRun(run.id, status, counters, null)
      this.logger?.info({ run: finished.id, ...counters }, 'cleanup run finished')
      return { run: finished, errors }
    } catch (error) {
      // what the run did before it stopped is recorded all the same
      await this.operations
        .insertRunOperations(operation.id, operation.startedAt, operation.failed)
        .catch(() => {})
      const message = options.signal?.aborted ? 'Stopped by shutdown' : (error as Error).message
      const finished = await this.store.finishRun(run.id, 'failed', counters, message).catch(() => run)
      if (options.signal?.aborted) this.logger?.warn({ run: run.id }, 'cleanup run stopped by shutdown')
      else if (error instanceof CoreError && error.code === ErrorCodes.UNAVAILABLE)
        // an outage, not a bug: one line with the cause, no stack
        this.logger?.warn(
          { run: run.id, cause: error.details?.cause, errorCode: error.details?.errorCode },
          'cleanup run failed: the database cannot serve now',
        )
      else this.logger?.error({ run: run.id, err: error }, 'cleanup run failed')
      return { run: { ...finished, status: 'failed', error: message }, errors }
    }
  }

  /** Recorded runs, newest first. */
  runs(limit: number, beforeId?: number): Promise<CleanupRun[]> {
    return this.store.listRuns(limit, beforeId)
  }

  /** Recorded runs that covered a tenant, newest first, with how many of its items each purged. */
  tenantRuns(tenantId: number, limit: number) {
    return this.store.listTenantRuns(tenantId, limit)
  }

  /** What a run would purge, per tenant and why; changes nothing. `onUnit` receives every due unit. */
  async preview(
    options: { tenantId?: number; staleAfterSeconds?: number },
    onUnit?: (unit: DryRunUnit) => void | Promise<void>,
  ): Promise<DryRunTenant[]> {
    if (options.tenantId !== undefined && !(await this.store.tenantExists(options.tenantId))) {
      throw new CoreError(ErrorCodes.NOT_FOUND, 'Tenant not found')
    }
    const staleAfter = options.staleAfterSeconds ?? this.settings.staleAfterSeconds
    const tenants: DryRunTenant[] = []
    for await (const tenantId of this.tenants(options.tenantId)) {
      const summary = nothingDue(tenantId)
      summary.unfinished = await this.store.countStalePurges(tenantId, staleAfter)
      let after: DueCursor | null = null
      for (;;) {
        const page = await this.store.previewDueUnits(tenantId, after, this.settings.batchSize)
        if (page.length === 0) break
        after = cursorAfter(page)
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

  private async *tenantPages(only?: number): AsyncGenerator<number[]> {
    if (only !== undefined) {
      yield [only]
      return
    }
    let afterId = 0
    for (;;) {
      const page = await this.store.tenantIdsAfter(afterId, TENANT_PAGE)
      if (page.length === 0) return
      yield page
      afterId = page[page.length - 1]!
    }
  }

  private async *tenants(only?: number): AsyncGenerator<number> {
    for await (const page of this.tenantPages(only)) yield* page
  }

  /** Finishes rows a crashed purge left in 'purging', under a new token, through the same protocol. */
  private async recover(tenantId: number, pass: Pass, staleAfterSeconds: number) {
    const { runId, counters, progress, signal } = pass
    const actor = cleanupActor(tenantId, pass.operation.id)
    for (;;) {
      signal?.throwIfAborted()
      const token = randomUUID()
      const claimed = await this.store.claimStalePurges(tenantId, token, staleAfterSeconds, RECOVERY_BATCH, {
        recoveredBy: runId,
      })
      if (claimed === 0) return
      this.logger?.warn(
        { run: runId, tenantId, rows: claimed },
        'finishing a purge left unfinished by a crash',
      )
      const completed = await completePurge(this.persistence, this.blobs, actor, token)
      counters.recovered += completed.purged
      this.recordCompleted(tenantId, completed, pass)
      await progress()
      if (claimed < RECOVERY_BATCH) return
    }
  }

  /**
   * Purges the due units of a page of tenants in one pass over each tenant's trash. The first batch of many
   * tenants shares a statement; a tenant with more due units than a batch goes on alone from its cursor.
   */
  private async purgeDue(page: number[], pass: Pass) {
    const tenantIds = await this.store.tenantsWithTrash(page)
    const perStatement = Math.max(1, Math.floor(UNITS_PER_STATEMENT / this.settings.batchSize))
    try {
      for (let i = 0; i < tenantIds.length; i += perStatement) {
        pass.signal?.throwIfAborted()
        const unfinished = await this.purgeBatch(tenantIds.slice(i, i + perStatement), null, pass)
        for (let [tenantId, after] of unfinished) {
          for (;;) {
            pass.signal?.throwIfAborted()
            const next = (await this.purgeBatch([tenantId], after, pass)).get(tenantId)
            if (!next) break
            after = next
          }
        }
      }
    } catch (error) {
      // the batch in flight settles first; the run fails with the first error
      const last = pass.pending
      pass.pending = null
      await last?.catch(() => {})
      throw error
    }
    const last = pass.pending
    pass.pending = null
    await last
    await pass.progress()
    await testCrashPoint('after-batch')
  }

  /**
   * One batch: due units chosen, locked and marked in one statement (nothing held between round trips). The rest
   * of the purge protocol for units with stored files (removing the files, then the rows) runs while the next
   * batch is marked: file removal and database work use different resources, so the two overlap, one batch of
   * each at a time. Answers the cursors of the tenants whose batch was full (more may be due).
   */
  private async purgeBatch(
    tenantIds: number[],
    after: DueCursor | null,
    pass: Pass,
  ): Promise<Map<number, DueCursor>> {
    const token = randomUUID()
    const batch = await this.persistence.unitOfWork(
      (tx) =>
        tx.cleanup.markDueForPurge(
          CLEANUP_ACTOR,
          tenantIds,
          after,
          this.settings.batchSize,
          token,
          pass.runId,
        ),
      { operationId: pass.operation.id },
    )
    const { unfinished, stored } = this.countBatch(batch, pass)
    const previous = pass.pending
    pass.pending = null
    if (previous) {
      await previous
      // between batches: the earlier ones done, this one marked with its files still in place
      await testCrashPoint('after-batch')
    }
    await pass.progress()
    if (stored.length > 0) {
      const completion = this.completeStored(stored, token, pass)
      // awaited by the next batch or at the end of the pass; until then a failure must not go unhandled
      completion.catch(() => {})
      pass.pending = completion
    }
    return unfinished
  }

  /** Counts a marked batch's units; answers the tenants whose batch was full and those with stored files. */
  private countBatch(batch: Map<number, TenantBatch>, { counters, report }: Pass) {
    const unfinished = new Map<number, DueCursor>()
    const stored: number[] = []
    for (const [tenantId, done] of batch) {
      for (const unit of done.held) {
        counters.held++
        report({
          tenantId,
          id: unit.id,
          code: ErrorCodes.LEGAL_HOLD,
          message: defaultMessage(ErrorCodes.LEGAL_HOLD),
        })
      }
      // the batch's units are locked: each one not held was deleted or marked
      for (const reason of ['emptied', 'expired', 'retry'] as const) {
        const purged = done.dueByReason[reason] - done.held.filter((unit) => unit.reason === reason).length
        counters[reason === 'retry' ? 'retried' : reason] += purged
      }
      // units without stored files were deleted by the mark statement itself
      counters.purged += done.deletedRows
      if (done.markedRows > 0) stored.push(tenantId)
      if (done.due >= this.settings.batchSize) unfinished.set(tenantId, done.last)
    }
    return { unfinished, stored }
  }

  /**
   * purgeDue with plug-ins loaded: tenant by tenant, a batch of due units at a time, the hooks around each batch
   * as one request (action 'cleanup', a permanent delete from the Trash by the tenant's cleanup actor). The due
   * units are read first and only those are marked (one that fell due meanwhile waits for the next batch or
   * run); a veto leaves the batch's units where they are until the next run, each reported as VETOED. Batches
   * are not shared between tenants nor overlapped with the file removal of the one before: the after-hooks get
   * each batch's outcome whole. Finishing a crashed purge (recover) runs no hooks: that purge was decided before.
   */
  private async purgeDueHooked(tenantIds: number[], pass: Pass, host: PluginHost) {
    const { report } = pass
    const size = this.settings.batchSize
    for (const tenantId of tenantIds) {
      for (let after: DueCursor | null = null; ; ) {
        pass.signal?.throwIfAborted()
        const due = await this.store.previewDueUnits(tenantId, after, size)
        if (due.length === 0) break
        const ids = due.map((unit) => unit.id)
        const request: OperationRequest = {
          operation: 'DeleteObjects',
          action: 'cleanup',
          actor: cleanupHookActor(tenantId),
          ids,
          permanent: true,
          areas: ['Trash'],
        }
        const from = after
        try {
          await withHooks(host, this.persistence.stores.objects, request, async () => {
            const token = randomUUID()
            const batch = await this.persistence.unitOfWork(
              (tx) =>
                tx.cleanup.markDueForPurge(CLEANUP_ACTOR, [tenantId], from, size, token, pass.runId, ids),
              { operationId: pass.operation.id },
            )
            const { stored } = this.countBatch(batch, pass)
            const results = new Map<number, ItemResult>()
            for (const unit of batch.get(tenantId)?.held ?? [])
              results.set(unit.id, { id: unit.id, status: 'error', code: ErrorCodes.LEGAL_HOLD })
            if (stored.length > 0) {
              const completed = await this.completeTenant(tenantId, token, pass)
              for (const [id, failures] of failuresByUnit(new Set(ids), completed))
                results.set(id, { id, status: 'error', code: ErrorCodes.STORAGE_FAILURE, failures })
            }
            return ids.map((id) => results.get(id) ?? { id, status: 'ok' })
          })
        } catch (error) {
          if (!(error instanceof CoreError && error.code === ErrorCodes.VETOED)) throw error
          this.logger?.warn(
            { run: pass.runId, tenantId, units: ids.length, plugin: error.details?.plugin },
            'cleanup batch refused by a plug-in; its units stay until the next run',
          )
          for (const id of ids) report({ tenantId, id, code: ErrorCodes.VETOED, message: error.message })
        }
        await pass.progress()
        if (due.length < size) break
        after = cursorAfter(due)
      }
    }
    await testCrashPoint('after-batch')
  }

  /**
   * Purge steps 2 to 4 for the tenants of a batch whose marked units have stored files, a few tenants at a time
   * (each tenant's steps are round trips and file removals that wait on others, not on the processor).
   */
  private async completeStored(tenantIds: number[], token: string, pass: Pass) {
    let next = 0
    const worker = async () => {
      while (next < tenantIds.length) await this.completeTenant(tenantIds[next++]!, token, pass)
    }
    await Promise.all(Array.from({ length: Math.min(TENANTS_COMPLETED_AT_ONCE, tenantIds.length) }, worker))
  }

  private async completeTenant(tenantId: number, token: string, pass: Pass): Promise<CompletedPurge> {
    const completed = await completePurge(
      this.persistence,
      this.blobs,
      cleanupActor(tenantId, pass.operation.id),
      token,
      testCrashPoint,
    )
    this.recordCompleted(tenantId, completed, pass)
    return completed
  }

  /** Counts what the rest of a purge removed, and reports the files it could not remove. */
  private recordCompleted(
    tenantId: number,
    completed: CompletedPurge,
    { runId, counters, report, operation }: Pick<Pass, 'runId' | 'counters' | 'report' | 'operation'>,
  ) {
    counters.purged += completed.purged
    counters.failed += completed.failures.length
    if (completed.failures.length > 0)
      operation.failed.set(tenantId, (operation.failed.get(tenantId) ?? 0) + completed.failures.length)
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
}

/** What one run's batches share. */
interface Pass {
  runId: number
  operation: RunOperation
  /** the previous batch's file removal, still running while the next batch is marked */
  pending: Promise<void> | null
  counters: RunCounters
  report: (error: CleanupItemError) => void
  progress: () => Promise<void>
  signal?: AbortSignal
}

const CLEANUP_ACTOR = { userId: null, login: null, door: 'cleanup' }

/** The cleanup job as the plug-ins see it: no user (id 0, no login), the door 'cleanup', not limited by rights. */
function cleanupHookActor(tenantId: number): Actor {
  return { tenantId, userId: 0, login: '', displayName: null, admin: true, ipsRole: '', door: 'cleanup' }
}

/** The cleanup job has no user: audit rows name the door 'cleanup'. */
function cleanupActor(tenantId: number, operationId: string): AuditActor {
  return { tenantId, ...CLEANUP_ACTOR, operationId }
}

/** A run as one operation: its id (on every audit row the run writes) and the files it failed to remove. */
interface RunOperation {
  id: string
  startedAt: Date
  failed: Map<number, number>
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
