import type { JobProgress, JobRow, JobStore, NewJob } from '../core/ports/job-store.js'
import type { Queryable } from './queryable.js'

const COLUMNS = `tenant_id, id, kind, actor_id, door, client, remote_address, session, params, operation_id, status, total,
  done, ok_count, warning_count, error_count, skipped_count, items, position, results, cancel_requested, attempts,
  error, created_at, started_at, finished_at`

const toJob = (row: Record<string, unknown>): JobRow => ({
  tenantId: Number(row.tenant_id),
  id: row.id as string,
  kind: row.kind as JobRow['kind'],
  actorId: Number(row.actor_id),
  door: row.door as string,
  client: row.client as string | null,
  remoteAddress: row.remote_address as string | null,
  session: row.session as string | null,
  params: row.params as JobRow['params'],
  operationId: row.operation_id as string,
  status: row.status as JobRow['status'],
  total: row.total as number,
  done: row.done as number,
  okCount: row.ok_count as number,
  warningCount: row.warning_count as number,
  errorCount: row.error_count as number,
  skippedCount: row.skipped_count as number,
  items: row.items as number,
  position: row.position === null ? null : Number(row.position),
  results: row.results as number,
  cancelRequested: row.cancel_requested as boolean,
  attempts: row.attempts as number,
  error: row.error as string | null,
  createdAt: row.created_at as Date,
  startedAt: row.started_at as Date | null,
  finishedAt: row.finished_at as Date | null,
})

/** Jobs over the pool or one transaction (a page's progress commits with the page's work). */
export class PgJobStore implements JobStore {
  constructor(private readonly q: Queryable) {}

  async insertJob(job: NewJob): Promise<JobRow> {
    const result = await this.q.query(
      `insert into jobs (tenant_id, id, kind, actor_id, door, client, remote_address, params, operation_id, total,
                         session)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       returning ${COLUMNS}`,
      [
        job.tenantId,
        job.id,
        job.kind,
        job.actorId,
        job.door,
        job.client,
        job.remoteAddress,
        JSON.stringify(job.params),
        job.operationId,
        job.total,
        job.session,
      ],
    )
    return toJob(result.rows[0]!)
  }

  async getJob(tenantId: number, id: string): Promise<JobRow | null> {
    const result = await this.q.query(`select ${COLUMNS} from jobs where tenant_id = $1 and id = $2`, [
      tenantId,
      id,
    ])
    return result.rows[0] ? toJob(result.rows[0]) : null
  }

  async claimJob(owner: string, leaseSeconds: number): Promise<JobRow | null> {
    // SKIP LOCKED: a job whose runner is inside a page (its row locked by the page's update) is never taken
    const result = await this.q.query(
      `update jobs j
          set status = 'running', lease_owner = $1,
              lease_until = clock_timestamp() + make_interval(secs => $2),
              started_at = coalesce(j.started_at, clock_timestamp()), attempts = j.attempts + 1
        where (j.tenant_id, j.id) = (
                select tenant_id, id from jobs
                 where status in ('queued', 'running')
                   and (lease_until is null or lease_until < clock_timestamp())
                 order by created_at
                 limit 1
                 for update skip locked)
       returning ${COLUMNS}`,
      [owner, leaseSeconds],
    )
    return result.rows[0] ? toJob(result.rows[0]) : null
  }

  async advanceJob(
    tenantId: number,
    id: string,
    owner: string,
    progress: JobProgress,
    leaseSeconds: number,
  ): Promise<JobRow | null> {
    const result = await this.q.query(
      `with job as (
         update jobs
            set position = $4, done = done + $5, ok_count = ok_count + $6, warning_count = warning_count + $7,
                error_count = error_count + $8, skipped_count = skipped_count + $9, items = items + $10,
                results = results + jsonb_array_length($11::jsonb),
                lease_until = clock_timestamp() + make_interval(secs => $12)
          where tenant_id = $1 and id = $2 and lease_owner = $3 and status = 'running'
         returning ${COLUMNS}
       ),
       kept as (
         insert into job_results (tenant_id, job_id, seq, result)
         select job.tenant_id, job.id, job.results - jsonb_array_length($11::jsonb) + r.n::int, r.value
           from job, jsonb_array_elements($11::jsonb) with ordinality as r(value, n)
       )
       select * from job`,
      [
        tenantId,
        id,
        owner,
        progress.position,
        progress.done,
        progress.ok,
        progress.warning,
        progress.error,
        progress.skipped,
        progress.items,
        JSON.stringify(progress.results),
        leaseSeconds,
      ],
    )
    return result.rows[0] ? toJob(result.rows[0]) : null
  }

  async finishJob(
    tenantId: number,
    id: string,
    owner: string | null,
    status: 'succeeded' | 'failed' | 'cancelled',
    error: string | null,
  ): Promise<boolean> {
    const result = await this.q.query(
      `update jobs
          set status = $4, error = $5, finished_at = clock_timestamp(), lease_owner = null, lease_until = null
        where tenant_id = $1 and id = $2
          and ($3::text is null and status = 'queued' or lease_owner = $3 and status = 'running')`,
      [tenantId, id, owner, status, error],
    )
    return (result.rowCount ?? 0) > 0
  }

  async holdJob(tenantId: number, id: string, owner: string): Promise<boolean> {
    const result = await this.q.query(
      `select 1 from jobs where tenant_id = $1 and id = $2 and lease_owner = $3 and status = 'running' for update`,
      [tenantId, id, owner],
    )
    return (result.rowCount ?? 0) > 0
  }

  async releaseJob(tenantId: number, id: string, owner: string): Promise<void> {
    await this.q.query(
      `update jobs set lease_until = null, lease_owner = null
        where tenant_id = $1 and id = $2 and lease_owner = $3 and status = 'running'`,
      [tenantId, id, owner],
    )
  }

  async requestCancel(tenantId: number, id: string): Promise<JobRow | null> {
    const result = await this.q.query(
      `update jobs set cancel_requested = true
        where tenant_id = $1 and id = $2 and status in ('queued', 'running')
       returning ${COLUMNS}`,
      [tenantId, id],
    )
    return result.rows[0] ? toJob(result.rows[0]) : null
  }

  async amendResults(
    tenantId: number,
    id: string,
    amended: { seq: number; result: unknown }[],
    failed: number,
  ) {
    if (amended.length === 0) return
    await this.q.query(
      `with fixed as (
         update job_results r set result = a.result
           from unnest($3::int[], $4::jsonb[]) as a(seq, result)
          where r.tenant_id = $1 and r.job_id = $2 and r.seq = a.seq
       )
       update jobs set ok_count = greatest(ok_count - $5, 0), error_count = error_count + $5
        where tenant_id = $1 and id = $2`,
      [tenantId, id, amended.map((row) => row.seq), amended.map((row) => JSON.stringify(row.result)), failed],
    )
  }

  async listJobResults(tenantId: number, id: string, afterSeq: number, limit: number) {
    const result = await this.q.query<{ seq: number; result: unknown }>(
      `select seq, result from job_results
        where tenant_id = $1 and job_id = $2 and seq > $3
        order by seq
        limit $4`,
      [tenantId, id, afterSeq, limit],
    )
    return result.rows
  }
}
