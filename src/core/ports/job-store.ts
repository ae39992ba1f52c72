/** Bulk jobs (core/job-service.ts): their rows, leases, progress and per-unit results. */

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled'

/** What a job does: an undo, or a restore, empty or purge of the ids a request named. */
export type JobKind = 'undo' | 'restore' | 'empty' | 'purge'

/** What an undo job undoes: the operations, the one it undoes by id (undo of one), or the filter that matched. */
export interface UndoJobParams {
  operationIds: string[]
  undoOf: string | null
  filter?: Record<string, unknown>
}

/** What a restore, empty or purge job does: the request's ids (each once, in its order) and its options. */
export interface IdsJobParams {
  ids: number[]
  targetFolderId?: number | null
  onMissingParent?: 'recreate' | 'error'
}

export type JobParams = UndoJobParams | IdsJobParams

/** The kinds of job that go through a request's ids. */
export type IdsJobKind = Exclude<JobKind, 'undo'>

export const isUndoJob = (params: JobParams): params is UndoJobParams => 'operationIds' in params

export interface JobRow {
  tenantId: number
  id: string
  kind: JobKind
  actorId: number
  door: string
  client: string | null
  remoteAddress: string | null
  /** the tag of the session the request came with (its operation's `session`); null without one */
  session: string | null
  params: JobParams
  operationId: string
  status: JobStatus
  total: number
  done: number
  okCount: number
  warningCount: number
  errorCount: number
  skippedCount: number
  items: number
  /** where the next page starts (an undo: the audit id it starts after; ids: the index of its first id); null
   * once every page is done */
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
  | 'session'
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
  /**
   * Corrects results of a page already committed (a purge's stored files that could not be removed after its
   * rows were marked): each `seq`'s result replaced, `failed` results moved from ok to error.
   */
  amendResults(
    tenantId: number,
    id: string,
    amended: { seq: number; result: unknown }[],
    failed: number,
  ): Promise<void>
  /** A page of a job's results after `afterSeq` (0: from the first). */
  listJobResults(
    tenantId: number,
    id: string,
    afterSeq: number,
    limit: number,
  ): Promise<{ seq: number; result: unknown }[]>
}
