/** Bulk jobs (core/job-service.ts): their rows, leases, progress and per-unit results. */

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled'

/** What an undo job undoes: the operations, the one it undoes by id (undo of one), or the filter that matched. */
export interface UndoJobParams {
  operationIds: string[]
  undoOf: string | null
  filter?: Record<string, unknown>
}

export interface JobRow {
  tenantId: number
  id: string
  kind: 'undo'
  actorId: number
  door: string
  client: string | null
  remoteAddress: string | null
  params: UndoJobParams
  operationId: string
  status: JobStatus
  total: number
  done: number
  okCount: number
  warningCount: number
  errorCount: number
  skippedCount: number
  items: number
  /** the audit id the next page starts after; null once every page is done */
  position: number | null
  results: number
  cancelRequested: boolean
  attempts: number
  error: string | null
  createdAt: Date
  startedAt: Date | null
  finishedAt: Date | null
}

export type NewJob = Pick<
  JobRow,
  | 'tenantId'
  | 'id'
  | 'kind'
  | 'actorId'
  | 'door'
  | 'client'
  | 'remoteAddress'
  | 'params'
  | 'operationId'
  | 'total'
>

/** One page of a job's work: how far it got and what it did, committed with the page's own changes. */
export interface JobProgress {
  position: number | null
  done: number
  ok: number
  warning: number
  error: number
  skipped: number
  items: number
  /** one JSON-able result per unit, in order */
  results: unknown[]
}

export interface JobStore {
  insertJob(job: NewJob): Promise<JobRow>
  getJob(tenantId: number, id: string): Promise<JobRow | null>
  /**
   * Takes the oldest unfinished job nobody holds (queued, or running under a lease that ran out: its runner died)
   * for `owner` until `leaseSeconds` from now; null when there is none.
   */
  claimJob(owner: string, leaseSeconds: number): Promise<JobRow | null>
  /**
   * Records a page's progress and results and renews the lease, only while `owner` still holds the job: null when
   * it does not (the lease ran out and another runner took it), and the page must then be rolled back.
   */
  advanceJob(
    tenantId: number,
    id: string,
    owner: string,
    progress: JobProgress,
    leaseSeconds: number,
  ): Promise<JobRow | null>
  /** Ends a job the owner holds (or a queued one: owner null). */
  finishJob(
    tenantId: number,
    id: string,
    owner: string | null,
    status: 'succeeded' | 'failed' | 'cancelled',
    error: string | null,
  ): Promise<boolean>
  /**
   * Locks the job's row for the rest of the transaction while `owner` holds it (false: it does not), so that no
   * other runner takes the job over while a page runs, however long the page takes.
   */
  holdJob(tenantId: number, id: string, owner: string): Promise<boolean>
  /** Lets go of a job without ending it (a runner stopping): another runner may take it at once. */
  releaseJob(tenantId: number, id: string, owner: string): Promise<void>
  requestCancel(tenantId: number, id: string): Promise<JobRow | null>
  /** A page of a job's results after `afterSeq` (0: from the first). */
  listJobResults(
    tenantId: number,
    id: string,
    afterSeq: number,
    limit: number,
  ): Promise<{ seq: number; result: unknown }[]>
}
