import pg from 'pg'
import type {
  KeptAnswer,
  KeyClaim,
  NewOperation,
  OperationCursor,
  OperationFilter,
  OperationRow,
  OperationStore,
  OperationUnit,
} from '../core/ports/operation-store.js'
import { canSendAtCommit, type Queryable } from './queryable.js'

const COLUMNS = `tenant_id, id, actor_id, actor_login, door, action, client, remote_address, started_at, finished_at,
  requested, ok_count, warning_count, error_count, items, undo_of, session`

const toOperation = (row: Record<string, unknown>): OperationRow => ({
  tenantId: row.tenant_id as number,
  id: row.id as string,
  actorId: row.actor_id as number | null,
  actorLogin: row.actor_login as string | null,
  door: row.door as string,
  action: row.action as string,
  client: row.client as string | null,
  remoteAddress: row.remote_address as string | null,
  startedAt: row.started_at as Date,
  finishedAt: row.finished_at as Date,
  requested: row.requested as number,
  okCount: row.ok_count as number,
  warningCount: row.warning_count as number,
  errorCount: row.error_count as number,
  items: row.items as number,
  undoOf: row.undo_of as string | null,
  session: row.session as string | null,
})

export const INSERT_OPERATION = `insert into operations (tenant_id, id, actor_id, actor_login, door, action, client,
    remote_address, started_at, requested, ok_count, warning_count, error_count, items, undo_of, session)`

/**
 * An operation's row. It is its transaction's last write and nobody reads its answer, so within a transaction
 * it goes with the COMMIT, one round trip fewer (its values then literals: see literalsOf).
 */
export async function insertOperation(q: Queryable, op: NewOperation): Promise<void> {
  const values = [
    op.tenantId,
    op.id,
    op.actorId,
    op.actorLogin,
    op.door,
    op.action,
    op.client,
    op.remoteAddress,
    op.startedAt,
    op.requested,
    op.okCount,
    op.warningCount,
    op.errorCount,
    op.items,
    op.undoOf,
    op.session,
  ]
  if (canSendAtCommit(q)) {
    const literals = literalsOf(values)
    if (literals) {
      q.atCommit(`${INSERT_OPERATION} values (${literals.join(', ')})`)
      return
    }
  }
  await q.query(
    `${INSERT_OPERATION} values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
    values,
  )
}

/**
 * Values as SQL literals for a statement sent without parameters; null when one has no safe literal (text with
 * NUL, which a simple query cannot carry, or a number that is not a safe integer): the statement is then sent
 * with parameters, as usual.
 */
function literalsOf(values: unknown[]): string[] | null {
  const literals: string[] = []
  for (const value of values) {
    if (value === null || value === undefined) literals.push('null')
    else if (typeof value === 'number' && Number.isSafeInteger(value)) literals.push(String(value))
    else if (typeof value === 'string' && !value.includes('\0')) literals.push(pg.escapeLiteral(value))
    else if (value instanceof Date && Number.isFinite(value.getTime()))
      literals.push(`${pg.escapeLiteral(value.toISOString())}::timestamptz`)
    else return null
  }
  return literals
}

/** A purge whose stored files could not all be removed: the units that failed move from ok to error. */
export async function recordLateFailures(q: Queryable, tenantId: number, id: string, failedUnits: number) {
  await q.query(
    `update operations set ok_count = greatest(ok_count - $3, 0), error_count = error_count + $3,
            finished_at = clock_timestamp()
      where tenant_id = $1 and id = $2`,
    [tenantId, id, failedUnits],
  )
}

/**
 * A cleanup run's operation, one row per tenant it changed, counted from the audit rows it wrote under its id
 * (one statement for the whole run, however many tenants).
 */
export async function insertRunOperations(
  q: Queryable,
  id: string,
  startedAt: Date,
  failedByTenant: Map<number, number>,
): Promise<void> {
  await q.query(
    `insert into operations (tenant_id, id, actor_id, actor_login, door, action, started_at, requested, ok_count,
                             error_count, items)
     select a.tenant_id, $1, null, null, 'cleanup', 'cleanup', $2,
            count(*) filter (where a.unit_root is null or a.unit_root = a.item_id) + coalesce(f.failed, 0),
            count(*) filter (where a.unit_root is null or a.unit_root = a.item_id), coalesce(f.failed, 0), count(*)
       from audit a
       left join unnest($3::bigint[], $4::int[]) as f(tenant_id, failed) on f.tenant_id = a.tenant_id
      where a.operation_id = $1
      group by a.tenant_id, f.failed`,
    [id, startedAt, [...failedByTenant.keys()], [...failedByTenant.values()]],
  )
}

/** A page of a tenant's operations, newest first, after a keyset cursor. */
export async function listOperations(
  q: Queryable,
  tenantId: number,
  filter: OperationFilter,
  after: OperationCursor | null,
  limit: number,
): Promise<OperationRow[]> {
  const result = await q.query(
    `select ${COLUMNS} from operations
      where tenant_id = $1
        and ($2::bigint is null or actor_id = $2)
        and ($3::text is null or lower(actor_login) = lower($3))
        and ($4::text is null or door = $4)
        and ($5::text is null or action = $5)
        and ($6::timestamptz is null or started_at >= $6)
        and ($7::timestamptz is null or started_at <= $7)
        and ($8::int is null or items >= $8)
        and ($9::timestamptz is null or (started_at, id) < ($9, $10::uuid))
        and ($12::text is null or session = $12)
      order by started_at desc, id desc
      limit $11`,
    [
      tenantId,
      filter.actorId ?? null,
      filter.actorLogin ?? null,
      filter.door ?? null,
      filter.action ?? null,
      filter.from ?? null,
      filter.to ?? null,
      filter.minItems ?? null,
      after?.startedAt ?? null,
      after?.id ?? null,
      limit,
      filter.session ?? null,
    ],
  )
  return result.rows.map(toOperation)
}

export async function getOperation(q: Queryable, tenantId: number, id: string): Promise<OperationRow | null> {
  const result = await q.query(`select ${COLUMNS} from operations where tenant_id = $1 and id = $2`, [
    tenantId,
    id,
  ])
  return result.rows[0] ? toOperation(result.rows[0]) : null
}

/**
 * A page of the units some operations changed, in the order they changed them (audit id keyset). `countMembers`:
 * how many rows of each unit the operation changed, read in one pass over the page's operations (an undo, which
 * does not show them, leaves that pass out).
 */
export async function listOperationUnits(
  q: Queryable,
  tenantId: number,
  operationIds: string[],
  afterAuditId: number,
  limit: number,
  countMembers = true,
): Promise<OperationUnit[]> {
  const result = await q.query(
    `with page as materialized (
        select a.id, a.at, a.action, a.item_id, a.item_kind, a.item_name, a.item_path, a.item_deleted_at,
               a.operation_id
          from audit a
         where a.operation_id in (select unnest($2::uuid[])) and a.tenant_id = $1 and a.id > $3
           and (a.unit_root is null or a.unit_root = a.item_id)
         order by a.id
         limit $4
      ),
      members as (
        select m.operation_id, m.unit_root, count(*)::int as n
          from audit m
         where $5 and m.operation_id in (select distinct operation_id from page) and m.tenant_id = $1
           and m.unit_root in (select item_id from page) and m.unit_root <> m.item_id
         group by m.operation_id, m.unit_root
      )
      select p.id, p.at, p.action, p.item_id, p.item_kind, p.item_name, p.item_path, i.state,
             (p.action = 'trash' and i.state = 'trashed' and i.trash_root = i.id
               and i.deleted_at = p.item_deleted_at) as still_trashed,
             1 + coalesce(mb.n, 0) as items
        from page p
        left join members mb on mb.operation_id = p.operation_id and mb.unit_root = p.item_id
        left join items i on i.tenant_id = $1 and i.id = p.item_id
       order by p.id`,
    [tenantId, operationIds, afterAuditId, limit, countMembers],
  )
  return result.rows.map((row) => ({
    auditId: row.id,
    at: row.at,
    action: row.action,
    itemId: row.item_id,
    kind: row.item_kind,
    name: row.item_name,
    path: row.item_path,
    items: row.items,
    state: row.state ?? null,
    stillTrashed: row.still_trashed === true,
  }))
}

/** The operation log over the pool or one transaction. */
export async function claimKey(
  q: Queryable,
  tenantId: number,
  userId: number,
  key: string,
  fingerprint: string,
  limits: { keepSeconds: number; staleSeconds: number },
): Promise<KeyClaim> {
  // The insert and the read of an earlier holder see the same snapshot: a holder that committed after this
  // statement began is neither claimed over nor read (answered as taken by a concurrent request).
  const result = await q.query<{
    claimed: boolean
    fingerprint: string | null
    status: number | null
    content_type: string | null
    body: string | null
  }>(
    `with expired as (
        delete from idempotency_keys
         where tenant_id = $1 and user_id = $2 and key <> $3 and created_at < now() - make_interval(secs => $5)
      ),
      claimed as (
        insert into idempotency_keys as k (tenant_id, user_id, key, fingerprint) values ($1, $2, $3, $4)
        on conflict (tenant_id, user_id, key) do update
           set fingerprint = excluded.fingerprint, status = null, content_type = null, body = null, created_at = now()
         where k.created_at < now() - make_interval(secs => $5)
            or (k.status is null and k.created_at < now() - make_interval(secs => $6))
        returning 1
      )
      select true as claimed, null as fingerprint, null::int as status, null as content_type, null as body
        from claimed
      union all
      select false, k.fingerprint, k.status, k.content_type, k.body
        from idempotency_keys k
       where not exists (select from claimed) and k.tenant_id = $1 and k.user_id = $2 and k.key = $3`,
    [tenantId, userId, key, fingerprint, limits.keepSeconds, limits.staleSeconds],
  )
  const row = result.rows[0]
  if (!row) return { claimed: false, fingerprint: null, answer: null }
  if (row.claimed) return { claimed: true }
  return {
    claimed: false,
    fingerprint: row.fingerprint!,
    answer:
      row.status === null ? null : { status: row.status, contentType: row.content_type!, body: row.body! },
  }
}

export class PgOperationStore implements OperationStore {
  constructor(private readonly q: Queryable) {}
  claimKey(
    tenantId: number,
    userId: number,
    key: string,
    fingerprint: string,
    limits: { keepSeconds: number; staleSeconds: number },
  ) {
    return claimKey(this.q, tenantId, userId, key, fingerprint, limits)
  }
  async keepAnswer(tenantId: number, userId: number, key: string, answer: KeptAnswer) {
    await this.q.query(
      `update idempotency_keys set status = $4, content_type = $5, body = $6
        where tenant_id = $1 and user_id = $2 and key = $3`,
      [tenantId, userId, key, answer.status, answer.contentType, answer.body],
    )
  }
  async releaseKey(tenantId: number, userId: number, key: string) {
    await this.q.query(
      'delete from idempotency_keys where tenant_id = $1 and user_id = $2 and key = $3 and status is null',
      [tenantId, userId, key],
    )
  }
  insertOperation(op: NewOperation) {
    return insertOperation(this.q, op)
  }
  recordLateFailures(tenantId: number, id: string, failedUnits: number) {
    return recordLateFailures(this.q, tenantId, id, failedUnits)
  }
  insertRunOperations(id: string, startedAt: Date, failedByTenant: Map<number, number>) {
    return insertRunOperations(this.q, id, startedAt, failedByTenant)
  }
  listOperations(tenantId: number, filter: OperationFilter, after: OperationCursor | null, limit: number) {
    return listOperations(this.q, tenantId, filter, after, limit)
  }
  getOperation(tenantId: number, id: string) {
    return getOperation(this.q, tenantId, id)
  }
  async countTrashed(tenantId: number, operationIds: string[]) {
    const result = await this.q.query<{ units: number; items: number }>(
      `select count(*) filter (where a.unit_root is null or a.unit_root = a.item_id)::int as units,
              count(*)::int as items
         from audit a
        where a.operation_id in (select unnest($2::uuid[])) and a.tenant_id = $1 and a.action = 'trash'`,
      [tenantId, operationIds],
    )
    return result.rows[0]!
  }
  listOperationUnits(
    tenantId: number,
    operationIds: string[],
    afterAuditId: number,
    limit: number,
    countMembers?: boolean,
  ) {
    return listOperationUnits(this.q, tenantId, operationIds, afterAuditId, limit, countMembers)
  }
}
