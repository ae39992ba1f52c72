import { eventTicketOf } from './auth-service.js'
import { CoreError, ErrorCodes } from './errors.js'
import type { JobRow, JobService } from './job-service.js'
import * as policy from './policy.js'
import type {
  KeptAnswer,
  OperationCursor,
  OperationFilter,
  OperationRow,
  OperationStore,
} from './ports/operation-store.js'
import type { Persistence } from './ports/unit-of-work.js'
import type { TrashService, UndoOutcome } from './trash-service.js'
import type { Actor } from './types.js'

export type { OperationFilter, OperationRow, OperationUnit } from './ports/operation-store.js'

/** operations read per statement when a filter is matched, and how many one undo takes at most */
const MATCH_PAGE = 500
const MAX_MATCHED = 100_000

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The keyset cursor after an operation (newest first): its start, to the microsecond the row keeps, and id. */
export function operationCursor(op: OperationRow): string {
  return Buffer.from(JSON.stringify([op.startedAt.toISOString(), op.id])).toString('base64url')
}

function parseCursor(cursor: string): OperationCursor {
  try {
    const [startedAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[]
    if (typeof startedAt === 'string' && !Number.isNaN(Date.parse(startedAt)) && typeof id === 'string')
      if (UUID.test(id)) return { startedAt, id }
  } catch {
    // refused below
  }
  throw new CoreError(ErrorCodes.INVALID_INPUT, 'Invalid cursor')
}

/**
 * The operation log: every request that trashed, restored, emptied or purged, and every cleanup run, as the
 * actor may see it (their own; a tenant administrator's: the tenant's).
 */
/**
 * A key's answer is kept for a day; a request that took a key and never answered (its process ended) holds it
 * for ten minutes, then a retry acts.
 */
const KEY_LIMITS = { keepSeconds: 24 * 3600, staleSeconds: 600 }

export type KeyOutcome =
  | { kind: 'act' }
  | { kind: 'replay'; answer: KeptAnswer }
  | { kind: 'other-request' }
  | { kind: 'in-progress' }

/** What operations are looked for by: the stored filter, or the ticket a client's requests came with. */
export type OperationQuery = OperationFilter & { ticket?: string }

export interface UndoOptions {
  /** what it would do, nothing changed (always inline) */
  dryRun?: boolean
  /** run as a job whatever its size */
  job?: boolean
}

export class OperationService {
  private readonly operations: OperationStore

  constructor(
    persistence: Persistence,
    private readonly trash: TrashService,
    private readonly jobs?: JobService,
  ) {
    this.operations = persistence.stores.operations
  }

  /**
   * What a request naming an Idempotency-Key may do: act (the key is its own now), answer what the user's
   * earlier request with that key answered, or be refused (the key names another request, or that request is
   * still being answered).
   */
  async claimKey(actor: Actor, key: string, fingerprint: string): Promise<KeyOutcome> {
    const claim = await this.operations.claimKey(actor.tenantId, actor.userId, key, fingerprint, KEY_LIMITS)
    if (claim.claimed) return { kind: 'act' }
    if (claim.fingerprint !== null && claim.fingerprint !== fingerprint) return { kind: 'other-request' }
    if (claim.answer) return { kind: 'replay', answer: claim.answer }
    return { kind: 'in-progress' }
  }

  /** The answer of a request that acted under its key; an answer the server failed to give frees the key. */
  async settleKey(actor: Actor, key: string, answer: KeptAnswer): Promise<void> {
    if (answer.status >= 500) await this.operations.releaseKey(actor.tenantId, actor.userId, key)
    else await this.operations.keepAnswer(actor.tenantId, actor.userId, key, answer)
  }

  async list(
    actor: Actor,
    filter: OperationQuery,
    page: { limit: number; cursor?: string },
  ): Promise<{ operations: OperationRow[]; next: string | null }> {
    const scope = policy.operationScope(actor)
    const { ticket, ...stored } = filter
    // a ticket is looked for by its tag, as operations keep it (never the ticket itself)
    if (ticket !== undefined) stored.session = eventTicketOf(ticket)
    // a user asking for someone else's operations sees none
    if (scope.actorId !== undefined && filter.actorId !== undefined && filter.actorId !== scope.actorId)
      return { operations: [], next: null }
    const rows = await this.operations.listOperations(
      scope.tenantId,
      { ...stored, actorId: scope.actorId ?? filter.actorId },
      page.cursor ? parseCursor(page.cursor) : null,
      page.limit,
    )
    return {
      operations: rows,
      next: rows.length === page.limit ? operationCursor(rows[rows.length - 1]!) : null,
    }
  }

  /** One operation the actor may see; NOT_FOUND otherwise (another tenant's or user's does not exist for them). */
  async get(actor: Actor, id: string): Promise<OperationRow> {
    const scope = policy.operationScope(actor)
    const op = UUID.test(id) ? await this.operations.getOperation(scope.tenantId, id) : null
    if (!op || (scope.actorId !== undefined && op.actorId !== scope.actorId))
      throw new CoreError(ErrorCodes.NOT_FOUND, 'Operation not found')
    return op
  }

  /** A page of the units the operation changed, with their state now (audit id keyset). */
  async units(actor: Actor, id: string, after: number, limit: number) {
    const op = await this.get(actor, id)
    const units = await this.operations.listOperationUnits(op.tenantId, [op.id], after, limit)
    return { operation: op, units, next: units.length === limit ? units[units.length - 1]!.auditId : null }
  }

  /**
   * Undoes an operation the actor may see (their own; an administrator: any of the tenant's) within the actor's
   * rights on every unit (see TrashService.undoOperation); `dryRun`: what it would do, nothing changed.
   */
  async undo(actor: Actor, id: string, options: UndoOptions = {}): Promise<UndoOutcome & { job?: JobRow }> {
    const op = await this.get(actor, id)
    if (op.action !== 'trash')
      throw new CoreError(
        ErrorCodes.INVALID_INPUT,
        `Only a trash operation can be undone (this one is ${op.action})`,
      )
    const job = await this.asJob(actor, op.tenantId, [op.id], op.id, options)
    if (job) return job
    return this.trash.undoOperations(actor, op.tenantId, [op.id], { ...options, undoOf: op.id })
  }

  /** An undo over more units than the threshold (or asked as one) is recorded as a job, answered at once. */
  private async asJob(
    actor: Actor,
    tenantId: number,
    operationIds: string[],
    undoOf: string | null,
    options: UndoOptions,
    filter?: Record<string, unknown>,
  ): Promise<(UndoOutcome & { job: JobRow }) | null> {
    if (!this.jobs || options.dryRun || operationIds.length === 0) return null
    const units = await this.operations.countTrashedUnits(tenantId, operationIds)
    if (!this.jobs.runsAsJob(units, options.job === true)) return null
    const job = await this.jobs.enqueueUndo(actor, tenantId, { operationIds, undoOf, filter }, units)
    return { operationId: job.operationId, results: [], skipped: [], job }
  }

  /**
   * Undo by filter, for a client that deleted item by item (thousands of one-item operations): every trash
   * operation the actor may see that matches (actor, door, start time window) is undone as one operation.
   */
  async undoMatching(
    actor: Actor,
    filter: Pick<OperationQuery, 'actorId' | 'actorLogin' | 'door' | 'from' | 'to' | 'session' | 'ticket'>,
    options: UndoOptions = {},
  ): Promise<UndoOutcome & { operations: number; job?: JobRow }> {
    const ids: string[] = []
    let cursor: string | undefined
    for (;;) {
      const page = await this.list(actor, { ...filter, action: 'trash' }, { limit: MATCH_PAGE, cursor })
      ids.push(...page.operations.map((op) => op.id))
      if (!page.next) break
      if (ids.length >= MAX_MATCHED)
        throw new CoreError(
          ErrorCodes.INVALID_INPUT,
          `More than ${MAX_MATCHED} operations match: narrow the filter`,
        )
      cursor = page.next
    }
    const scope = policy.operationScope(actor)
    // the job keeps what the filter matched by, a ticket only as its tag
    const { ticket, ...kept } = filter
    const job = await this.asJob(actor, scope.tenantId, ids, null, options, {
      ...kept,
      ...(ticket === undefined ? {} : { session: eventTicketOf(ticket) }),
    })
    if (job) return { ...job, operations: ids.length }
    const outcome = await this.trash.undoOperations(actor, scope.tenantId, ids, options)
    return { ...outcome, operations: ids.length }
  }
}
