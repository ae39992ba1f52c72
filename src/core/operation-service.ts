import { randomUUID } from 'node:crypto'
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
  OperationUnit,
} from './ports/operation-store.js'
import type { Persistence } from './ports/unit-of-work.js'
import type { TrashService, UndoOutcome, UndoSkipped } from './trash-service.js'
import type { Actor } from './types.js'

export type { OperationFilter, OperationRow, OperationUnit } from './ports/operation-store.js'

/** operations read per statement when a filter is matched, and how many one undo takes at most */
const MATCH_PAGE = 500
const MAX_MATCHED = 100_000
/** units an undo of an undo trashes again in one request (the trash's own limit of ids per request) */
const MAX_TRASH_AGAIN = 10_000

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
  /** undoing an undo trashes its units again: only when this says so */
  trashAgain?: boolean
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
    if (op.action === 'undo') return this.trashAgain(actor, op, options)
    if (op.action !== 'trash')
      throw new CoreError(
        ErrorCodes.INVALID_INPUT,
        `Only a trash operation can be undone (this one is ${op.action})`,
      )
    const job = await this.asJob(actor, op.tenantId, [op.id], op.id, options)
    if (job) return job
    return this.trash.undoOperations(actor, op.tenantId, [op.id], { ...options, undoOf: op.id })
  }

  /**
   * Undo of an undo: what the undo restored and is still where it left it is trashed again, as a trash operation
   * of its own (`undoOf` the undo) with the trash rules; only when asked explicitly (`trashAgain`), since it
   * deletes. Units since trashed again or purged are reported and left alone.
   */
  private async trashAgain(actor: Actor, undo: OperationRow, options: UndoOptions): Promise<UndoOutcome> {
    if (!options.trashAgain)
      throw new CoreError(
        ErrorCodes.INVALID_INPUT,
        'This operation is an undo: undoing it trashes again what it restored; ask for that with trashAgain',
      )
    if (options.dryRun)
      throw new CoreError(ErrorCodes.INVALID_INPUT, 'Undoing an undo has no preview; list its units instead')
    const units: OperationUnit[] = []
    for (let after = 0; ; ) {
      const page = await this.operations.listOperationUnits(
        undo.tenantId,
        [undo.id],
        after,
        MATCH_PAGE,
        false,
      )
      units.push(...page.filter((unit) => unit.action === 'restore'))
      if (page.length < MATCH_PAGE) break
      if (units.length > MAX_TRASH_AGAIN)
        throw new CoreError(
          ErrorCodes.INVALID_INPUT,
          `The undo restored more than ${MAX_TRASH_AGAIN} units: trash them again in batches`,
        )
      after = page[page.length - 1]!.auditId
    }
    const again = units.filter((unit) => unit.state === 'active').map((unit) => unit.itemId)
    const skipped: UndoSkipped[] = units
      .filter((unit) => unit.state !== 'active')
      .map((unit) => ({
        id: unit.itemId,
        name: unit.name,
        kind: unit.kind,
        state: unit.state,
        reason: unit.state === null || unit.state === 'purging' ? 'purged' : 'trashed_again',
      }))
    if (again.length === 0) return { operationId: null, results: [], skipped }
    const operationId = randomUUID()
    const batch = await this.trash.trash(actor, again, { undoOf: undo.id, operationId })
    return { operationId, results: batch.results, skipped }
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
    const { units, items } = await this.operations.countTrashed(tenantId, operationIds)
    if (!this.jobs.runsAsJob(items, options.job === true)) return null
    // the plug-ins decide now, before the job is recorded: a veto refuses the request
    await this.trash.beforeUndoJob(actor, tenantId, operationIds)
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
