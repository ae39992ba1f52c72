import { randomUUID } from 'node:crypto'
import { actorOf } from './auth-service.js'
import { CoreError, ErrorCodes } from './errors.js'
import { newOperationId } from './operation-id.js'
import {
  type IdsJobKind,
  type IdsJobParams,
  isUndoJob,
  type JobKind,
  type JobParams,
  type JobRow,
  type UndoJobParams,
} from './ports/job-store.js'
import type { Stores } from './ports/stores.js'
import type { Persistence } from './ports/unit-of-work.js'
import {
  type Operation,
  recordOperation,
  type TrashService,
  type UndoPage,
  type UndoSkipped,
  uniqueIds,
} from './trash-service.js'
import type { Actor, Door, ItemResult } from './types.js'

export type { JobRow, JobStatus } from './ports/job-store.js'

export interface JobSettings {
  /** an undo of more items than this (units and their members) runs as a job (202) instead of inline */
  threshold: number
  /** units per page (one transaction each) */
  pageSize: number
  /** how long a runner holds a job without a page committed before another runner may take it over */
  leaseSeconds: number
  /** how often an idle runner looks for jobs (another instance's, or one left by a crash) */
  pollSeconds: number
}

export interface JobLogger {
  info(details: object, message: string): void
  warn(details: object, message: string): void
  error(details: object, message: string): void
}

/** One unit's (or id's) line in a job's results: what was done to it, or why it was left alone. */
export type JobResult =
  | (ItemResult & { outcome: 'restore' | 'empty' | 'purge' })
  | ({ outcome: 'skipped' } & Omit<UndoSkipped, 'kind'>)

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** takes of one job (each after a runner died or failed inside it) before it is given up as failed */
const MAX_ATTEMPTS = 10

/** how long a stopping runner waits for its page to commit */
const STOP_WAIT_MS = 30_000

/**
 * Bulk jobs: an undo over more units than the threshold is recorded as a job and answered at once; a runner in
 * every instance takes unfinished jobs one at a time under a lease and does them a page per transaction, each
 * page's progress committed with its work. A runner that dies (kill -9, a lost machine) leaves its lease to run
 * out; any instance's runner then takes the job over from the last committed page.
 */
export class JobService {
  /** this runner's name in leases */
  readonly owner = `runner-${randomUUID()}`
  #timer: ReturnType<typeof setTimeout> | undefined
  #running: Promise<unknown> | null = null
  #started = false
  #stopping = false
  #again = false

  constructor(
    private readonly persistence: Persistence,
    private readonly trash: TrashService,
    readonly settings: JobSettings,
    private readonly logger?: JobLogger,
  ) {}

  /** Whether an undo of `items` items runs as a job. */
  runsAsJob(items: number, asked: boolean): boolean {
    return asked || items > this.settings.threshold
  }

  /** Records an undo job for the actor and wakes this instance's runner; the job acts with the actor's rights. */
  enqueueUndo(actor: Actor, tenantId: number, params: UndoJobParams, total: number): Promise<JobRow> {
    return this.enqueue(actor, tenantId, 'undo', params, total)
  }

  /**
   * A restore, empty or purge of these ids as a job, when it is one: asked for (`asked`), or over more ids than
   * the threshold, or over units holding more rows than it between them (a folder of a million files is one id).
   * Null: it runs inline as before. The plug-ins' before-hooks decide before the job is recorded.
   */
  async enqueueIfLarge(
    actor: Actor,
    kind: IdsJobKind,
    requested: readonly number[],
    options: Omit<IdsJobParams, 'ids'>,
    asked: boolean,
  ): Promise<JobRow | null> {
    const ids = uniqueIds(requested)
    if (ids.length === 0) return null
    if (!asked && ids.length <= this.settings.threshold) {
      const rows = await this.trash.unitRows(actor, ids, this.settings.threshold + 1)
      if (rows <= this.settings.threshold) return null
    }
    await this.trash.beforeIdsJob(actor, kind, ids)
    return this.enqueue(actor, actor.tenantId, kind, { ids, ...options }, ids.length)
  }

  private async enqueue(
    actor: Actor,
    tenantId: number,
    kind: JobKind,
    params: JobParams,
    total: number,
  ): Promise<JobRow> {
    const job = await this.persistence.stores.jobs.insertJob({
      tenantId,
      id: randomUUID(),
      kind,
      actorId: actor.userId,
      door: actor.door,
      client: actor.client?.slice(0, 200) ?? null,
      remoteAddress: actor.remoteAddress ?? null,
      session: actor.eventTicket ?? null,
      params,
      operationId: newOperationId(),
      total,
    })
    this.kick()
    return job
  }

  /** A job the actor may see: their own; an administrator, any of the tenant's. */
  async get(actor: Actor, id: string): Promise<JobRow> {
    const job = UUID.test(id) ? await this.persistence.stores.jobs.getJob(actor.tenantId, id) : null
    if (!job || (!actor.admin && job.actorId !== actor.userId))
      throw new CoreError(ErrorCodes.NOT_FOUND, 'Job not found')
    return job
  }

  /**
   * Asks a job to stop: a queued one ends at once, a running one after the page it is doing (what it did stays
   * done and is recorded as its operation). A finished job is answered as it is.
   */
  async cancel(actor: Actor, id: string): Promise<JobRow> {
    const job = await this.get(actor, id)
    const jobs = this.persistence.stores.jobs
    const asked = await jobs.requestCancel(job.tenantId, job.id)
    if (!asked) return job
    if (asked.status === 'queued' && (await jobs.finishJob(job.tenantId, job.id, null, 'cancelled', null)))
      return (await jobs.getJob(job.tenantId, job.id))!
    return asked
  }

  async results(actor: Actor, id: string, after: number, limit: number) {
    const job = await this.get(actor, id)
    const rows = await this.persistence.stores.jobs.listJobResults(job.tenantId, job.id, after, limit)
    return {
      job,
      results: rows.map((row) => row.result as JobResult),
      next: rows.length === limit ? rows[rows.length - 1]!.seq : null,
    }
  }

  // ---- the runner

  /** Starts this instance's runner: it looks for jobs now and every `pollSeconds`. */
  start() {
    if (this.#started) return
    this.#started = true
    this.#stopping = false
    this.kick()
  }

  /** Stops the runner after its current page; the job it held is let go so that another runner takes it at once. */
  async stop() {
    this.#started = false
    this.#stopping = true
    clearTimeout(this.#timer)
    if (this.#running)
      await Promise.race([this.#running, new Promise((resolve) => setTimeout(resolve, STOP_WAIT_MS).unref())])
  }

  /** Looks for work now (after an enqueue), or after the current job when one is running. */
  kick() {
    if (!this.#started) return
    if (this.#running) {
      this.#again = true
      return
    }
    clearTimeout(this.#timer)
    this.#running = this.drain()
      .catch((error) => this.logger?.error({ err: error }, 'job runner failed'))
      .finally(() => {
        this.#running = null
        if (!this.#started) return
        if (this.#again) {
          this.#again = false
          this.kick()
          return
        }
        this.#timer = setTimeout(() => this.kick(), this.settings.pollSeconds * 1000)
        this.#timer.unref()
      })
  }

  /** Runs jobs until none is waiting (or the runner stops); answers how many it took. */
  async drain(): Promise<number> {
    let ran = 0
    while (!this.#stopping) {
      const job = await this.persistence.stores.jobs.claimJob(this.owner, this.settings.leaseSeconds)
      if (!job) break
      ran++
      await this.runJob(job)
    }
    return ran
  }

  /** Does a claimed job from its last committed page to the end (or a cancel, a stop, a lost lease). */
  private async runJob(claimed: JobRow) {
    const jobs = this.persistence.stores.jobs
    const log = { job: claimed.id, tenantId: claimed.tenantId, attempt: claimed.attempts }
    if (claimed.attempts > MAX_ATTEMPTS) {
      await jobs.finishJob(
        claimed.tenantId,
        claimed.id,
        this.owner,
        'failed',
        `Gave up after ${MAX_ATTEMPTS} attempts`,
      )
      this.logger?.error(log, 'job given up')
      return
    }
    const user = await this.persistence.stores.users.findUser(claimed.tenantId, claimed.actorId)
    if (!user || user.disabled) {
      await jobs.finishJob(
        claimed.tenantId,
        claimed.id,
        this.owner,
        'failed',
        'The user who asked for it is gone',
      )
      return
    }
    const actor: Actor = {
      ...actorOf(user, claimed.door as Door),
      client: claimed.client ?? undefined,
      remoteAddress: claimed.remoteAddress ?? undefined,
      // the session of the request that asked: its operation and audit rows carry the session's tag
      eventTicket: claimed.session ?? undefined,
    }
    const params = claimed.params
    const op: Operation = {
      id: claimed.operationId,
      action: claimed.kind,
      actor,
      startedAt: claimed.createdAt,
      undoOf: isUndoJob(params) ? (params.undoOf ?? undefined) : undefined,
    }
    const outcome = claimed.kind === 'undo' ? 'restore' : claimed.kind
    this.logger?.info({ ...log, position: claimed.position }, 'job started')
    let job: JobRow = claimed
    try {
      while (job.position !== null) {
        // a cancel asked for while the last page ran is seen here, before the next one
        const fresh = await jobs.getJob(job.tenantId, job.id)
        if (!fresh || fresh.cancelRequested) break
        if (this.#stopping) {
          await jobs.releaseJob(job.tenantId, job.id, this.owner)
          this.logger?.info(log, 'job let go: the instance is stopping')
          return
        }
        let advanced: JobRow | null = null
        const record = async (tx: Stores, page: UndoPage) => {
          advanced = await tx.jobs.advanceJob(
            job.tenantId,
            job.id,
            this.owner,
            progressOf(page, outcome),
            this.settings.leaseSeconds,
          )
          // another runner took the job over (this one stalled past its lease): its page is not kept
          if (!advanced) throw new LeaseLost()
        }
        const hold = async (tx: Stores) => {
          // the job's row stays locked while the page runs: a runner looking for jobs skips it
          if (!(await tx.jobs.holdJob(job.tenantId, job.id, this.owner))) throw new LeaseLost()
        }
        if (isUndoJob(params)) {
          await this.trash.undoJobPage(
            op,
            job.tenantId,
            params.operationIds,
            job.position,
            this.settings.pageSize,
            record,
            hold,
          )
        } else {
          const done = await this.trash.idsJobPage(
            op,
            job.kind as IdsJobKind,
            params,
            job.position,
            this.settings.pageSize,
            record,
            hold,
          )
          if (done.amended.length > 0) {
            // a purge's files that could not be removed after its page committed: those results become errors
            const before = (advanced as JobRow | null)!.results - done.page.results.length
            await jobs.amendResults(
              job.tenantId,
              job.id,
              done.amended.map(({ index, result }) => ({
                seq: before + index + 1,
                result: { outcome, ...result },
              })),
              done.amended.length,
            )
            advanced = await jobs.getJob(job.tenantId, job.id)
          }
        }
        job = advanced!
      }
      await this.persistence.unitOfWork(async (tx) => {
        await recordOperation(tx.operations, op, {
          requested: job.done,
          ok: job.okCount,
          warning: job.warningCount + job.skippedCount,
          error: job.errorCount,
          items: job.items,
        })
        const status = job.position === null ? 'succeeded' : 'cancelled'
        if (!(await tx.jobs.finishJob(job.tenantId, job.id, this.owner, status, null))) throw new LeaseLost()
      })
      this.logger?.info({ ...log, done: job.done, total: job.total }, 'job finished')
    } catch (error) {
      if (error instanceof LeaseLost) {
        this.logger?.warn(log, 'job taken over by another runner')
        return
      }
      // a database that went away: the lease runs out and a runner takes the job again
      this.logger?.error({ ...log, err: error }, 'job page failed')
      throw error
    }
  }
}

class LeaseLost extends Error {}

/** What a page did, as the job's row and results keep it. */
export function progressOf(page: UndoPage, outcome: 'restore' | 'empty' | 'purge' = 'restore') {
  let ok = 0
  let warning = 0
  let error = 0
  let items = 0
  const results: JobResult[] = []
  for (const result of page.results) {
    if (result.status === 'ok') ok++
    else if (result.status === 'warning') warning++
    else error++
    items += result.affected ?? 0
    results.push({ outcome, ...result })
  }
  for (const unit of page.skipped)
    results.push({ outcome: 'skipped', id: unit.id, name: unit.name, state: unit.state, reason: unit.reason })
  return {
    position: page.next,
    done: page.results.length + page.skipped.length,
    ok,
    warning,
    error,
    skipped: page.skipped.length,
    items,
    results,
  }
}
