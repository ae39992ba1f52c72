import { randomUUID } from 'node:crypto'
import { CoreError, defaultMessage, type ErrorCode, ErrorCodes } from './errors.js'
import type { TrashEvent } from './events.js'
import {
  afterHooks,
  beforeHooks,
  inBatches,
  noPlugins,
  type PluginsOf,
  readObjects,
  withHooks,
} from './operation-hooks.js'
import { newOperationId } from './operation-id.js'
import type { OperationRequest } from './plugins.js'
import * as policy from './policy.js'
import type { BlobStore } from './ports/blob-store.js'
import type { MarkResult, OwnBinBatch, OwnBinScope, PurgeUnit } from './ports/purge-store.js'
import type { RootPath } from './ports/item-store.js'
import type { IdsJobKind, IdsJobParams } from './ports/job-store.js'
import type { NewOperation, OperationStore, OperationUnit } from './ports/operation-store.js'
import type { Stores } from './ports/stores.js'
import type { DeleteLogFilter, DeleteLogRow, Pace, RestoreTarget } from './ports/trash-store.js'
import type { Persistence, UnitOfWorkOptions } from './ports/unit-of-work.js'
import { completePurge, failuresByUnit } from './purge-protocol.js'
import { eachInTurns, inPieces, mapInPieces, mapInTurns, nextTurn, PIECE, Turns } from './turns.js'
import {
  type Actor,
  type BatchFacts,
  type BatchResult,
  type ItemFacts,
  type ItemListing,
  type ItemResult,
  type ItemSearchFilter,
  MAX_BATCH_IDS,
  type RestoreOptions,
  type TrashEntry,
  type TrashFilter,
  type TrashListingEntry,
  type TrashPage,
} from './types.js'
import { UserQueue, UserSlots, WorkGate } from './user-slots.js'

const OWN_BIN_BATCH = 10000
/** restores race on the active-name unique index; the whole batch is re-planned then */
const RETRY_ON_NAME_RACE: UnitOfWorkOptions = { retryOnConflict: true }

/** How one request of a door is run: which ids besides those given, and how many per transaction. */
export interface RequestOptions {
  /** the ids this filter finds too (after those given, in id order): a query, or "the whole trash" */
  select?: TrashFilter
  /**
   * ids per transaction; a batch failing after others committed leaves them done and reports the rest as not
   * processed (UNAVAILABLE). Without it the request is one transaction of at most MAX_BATCH_IDS ids.
   */
  perTransaction?: number
  /** the operation this trash undoes (an undo's units trashed again, asked for explicitly) */
  undoOf?: string
  /** the id the request's operation is recorded under (a request of one transaction: no perTransaction) */
  operationId?: string
}

/** ids a filter resolves to per listing page */
const SELECT_PAGE = 1000

export interface PurgeOptions {
  /** Enterprise Permanent delete from the Workflow area: active items are trashed and purged at once */
  includeActive?: boolean
  /** the audit action recorded for each purged row */
  action?: 'purge' | 'empty_bin' | 'expire'
}

export function summarize(results: ItemResult[]): BatchResult {
  let successCount = 0
  let warningCount = 0
  let errorCount = 0
  for (const result of results) {
    if (result.status === 'ok') successCount++
    else if (result.status === 'warning') warningCount++
    else errorCount++
  }
  return { results, successCount, warningCount, errorCount }
}

const fail = (
  id: number,
  code: ErrorCode,
  item?: { name: string; kind: ItemResult['kind'] },
): ItemResult => ({
  id,
  status: 'error',
  code,
  message: defaultMessage(code),
  ...(item ? { name: item.name, kind: item.kind } : {}),
})

const warn = (id: number, code: ErrorCode, item: { name: string; kind: ItemResult['kind'] }): ItemResult => ({
  id,
  status: 'warning',
  code,
  message: defaultMessage(code),
  name: item.name,
  kind: item.kind,
})

const ok = (item: { id: number; name: string; kind: ItemResult['kind'] }, affected: number): ItemResult => ({
  id: item.id,
  status: 'ok',
  name: item.name,
  kind: item.kind,
  affected,
})

/** Ids in request order, each once (duplicates in one request count once); at most MAX_BATCH_IDS of them. */
export function uniqueIds(ids: readonly number[]): number[] {
  if (ids.length > MAX_BATCH_IDS) {
    throw new CoreError(ErrorCodes.INVALID_INPUT, `At most ${MAX_BATCH_IDS} items per request`)
  }
  return [...new Set(ids)]
}

/** Keeps the items `keep` says yes to, in place and in one pass (no splice per item). */
function keepOnly<T>(list: T[], keep: (item: T) => boolean) {
  let kept = 0
  for (const item of list) if (keep(item)) list[kept++] = item
  list.length = kept
}

/** `report.pdf` → `report (restored).pdf`, then `report (restored 2).pdf`, … */
export function restoredName(name: string, taken: { has(name: string): boolean }, from = 1): string {
  return restoredNameFrom(name, taken, from).name
}

/** restoredName, trying numbers from `from` on; also the number taken (the next search may start after it). */
function restoredNameFrom(name: string, taken: { has(name: string): boolean }, from: number) {
  const dot = name.lastIndexOf('.')
  const hasExtension = dot > 0 && dot > name.length - 12
  const base = hasExtension ? name.slice(0, dot) : name
  const extension = hasExtension ? name.slice(dot) : ''
  for (let n = from; n < from + 10_000; n++) {
    const candidate = `${base} (restored${n === 1 ? '' : ` ${n}`})${extension}`
    if (!taken.has(candidate)) return { name: candidate, n }
  }
  return { name: `${base} (restored ${randomUUID()})${extension}`, n: from }
}

/** A request that changes the trash, while it runs: what its operation row will say. */
export interface Operation {
  id: string
  action: string
  actor: Actor
  startedAt: Date
  undoOf?: string
}

export function startOperation(actor: Actor, action: string, undoOf?: string): Operation {
  return { id: newOperationId(), action, actor, startedAt: new Date(), undoOf }
}

/** The operation's row, from its results (written in the operation's last transaction: one statement). */
export function recordOperation(
  operations: OperationStore,
  op: Operation,
  counts: OperationCounts,
): Promise<void> {
  return operations.insertOperation(operationRow(op, counts))
}

interface OperationCounts {
  requested: number
  ok: number
  warning: number
  error: number
  items: number
}

/** One item asked for and done (a lone-item statement counts the rows it changed itself). */
const LONE_DONE: OperationCounts = { requested: 1, ok: 1, warning: 0, error: 0, items: 1 }

function operationRow(op: Operation, counts: OperationCounts): NewOperation {
  return {
    tenantId: op.actor.tenantId,
    id: op.id,
    actorId: op.actor.userId,
    actorLogin: op.actor.login,
    door: op.actor.door,
    action: op.action,
    client: op.actor.client?.slice(0, 200) ?? null,
    remoteAddress: op.actor.remoteAddress ?? null,
    startedAt: op.startedAt,
    requested: counts.requested,
    okCount: counts.ok,
    warningCount: counts.warning,
    errorCount: counts.error,
    items: counts.items,
    undoOf: op.undoOf ?? null,
    session: op.actor.eventTicket ?? null,
  }
}

const countsOf = (results: ItemResult[]) => {
  const batch = summarize(results)
  return {
    requested: results.length,
    ok: batch.successCount,
    warning: batch.warningCount,
    error: batch.errorCount,
    items: results.reduce((sum, result) => sum + (result.affected ?? 0), 0),
  }
}

/** Active folders by path (`/a/b`) as one restore's plan found or made them; null: a file stands at that path. */
type FolderPaths = Map<string, number | null>

/** units of a trash operation undone per transaction */
const UNDO_PAGE = 5000

/** A unit an undo left alone, and why: what happened to it since the operation trashed it. */
export interface UndoSkipped {
  id: number
  name: string | null
  kind: string | null
  /** its state now; null: purged */
  state: string | null
  reason: 'restored' | 'emptied' | 'purged' | 'trashed_again'
}

export interface UndoOutcome {
  /** the undo's own operation (null for a preview) */
  operationId: string | null
  /** one restore result per unit that was still in the trash */
  results: ItemResult[]
  skipped: UndoSkipped[]
}

/** One page of an undo: its units' restore results, the units left alone, and where the next page starts. */
export interface UndoPage {
  results: ItemResult[]
  skipped: UndoSkipped[]
  /** the audit id the next page starts after; null: this was the last page */
  next: number | null
}

function sinceReason(unit: OperationUnit): UndoSkipped['reason'] {
  if (unit.state === null || unit.state === 'purging') return 'purged'
  if (unit.state === 'active') return 'restored'
  if (unit.state === 'emptied') return 'emptied'
  return 'trashed_again'
}

/** A restore's answer for one id, as its preview gives it: where a restored unit would go. */
export interface RestorePreview extends ItemResult {
  /** the folder the unit would be restored into: id null for the top level ('/') or a folder made again */
  targetFolder?: { id: number | null; path: string }
}

/** ends a dry run's transaction so that it rolls back */
class DryRunDone extends Error {}

export class TrashService {
  private readonly stores: Stores
  /** streamed listings running per user (LISTINGS_PER_USER) */
  readonly listingSlots: UserSlots
  /** the reads of a user's streamed listings, one at a time */
  private readonly listingReads = new UserQueue()
  /** requests of more than PIECE items running at a time (BIG_BATCHES), the others waiting their turn */
  readonly bigBatches: WorkGate

  constructor(
    private readonly persistence: Persistence,
    private readonly blobs: BlobStore,
    options: {
      listingsPerUser?: number
      plugins?: PluginsOf
      unitRowsPerStatement?: number
      /** big batches at a time, and the seconds one waits for its turn before it is refused as busy */
      bigBatches?: { atOnce: number; waitSeconds: number }
    } = {},
  ) {
    this.stores = persistence.stores
    this.listingSlots = new UserSlots(options.listingsPerUser ?? 4)
    this.plugins = options.plugins ?? noPlugins
    this.rowsPerStatement = options.unitRowsPerStatement ?? 10_000
    const big = options.bigBatches ?? { atOnce: 2, waitSeconds: 30 }
    this.bigBatches = new WorkGate(
      big.atOnce,
      big.waitSeconds * 1000,
      () =>
        new CoreError(
          ErrorCodes.BUSY,
          `At most ${big.atOnce} requests of more than ${PIECE} items run at a time; try again later`,
        ),
    )
  }

  /**
   * A request of more than PIECE items runs when one of the BIG_BATCHES places is free (its turn waited for in
   * order, at most BIG_BATCH_WAIT): big batches share the database with every other request, and so many of them
   * at once would take every pooled connection and the database's CPU from other users' single-item requests.
   */
  private sized<T>(count: number, work: () => Promise<T>, patient = false): Promise<T> {
    return count > PIECE ? this.bigBatches.run(work, patient) : work()
  }

  /** rows a restoring statement changes at most: a larger unit is restored a keyset range at a time */
  private readonly rowsPerStatement: number

  /** the server plug-ins whose hooks run around every door's trash, restore and purge requests */
  private readonly plugins: PluginsOf

  /** The ids given, once each, then those `select` finds that were not given (a page of the listing at a time). */
  private async requestIds(
    actor: Actor,
    requested: readonly number[],
    select?: TrashFilter,
  ): Promise<number[]> {
    const ids = uniqueIds(requested)
    if (!select) return ids
    const seen = new Set(ids)
    for (let offset = 0; ; offset += SELECT_PAGE) {
      const page = await this.list(actor, select, {
        limit: SELECT_PAGE,
        offset,
        sort: 'id',
        direction: 'asc',
      })
      for (const entry of page) {
        if (!seen.has(entry.id)) {
          seen.add(entry.id)
          ids.push(entry.id)
        }
      }
      if (page.length < SELECT_PAGE) return ids
    }
  }

  /** One request: its ids resolved, the plug-ins' hooks around it, its transactions. */
  private async request(
    actor: Actor,
    requested: readonly number[],
    options: RequestOptions,
    what: Pick<OperationRequest, 'operation' | 'action' | 'permanent' | 'areas'>,
    once: (ids: number[]) => Promise<ItemResult[]>,
  ): Promise<BatchResult> {
    const ids = await this.requestIds(actor, requested, options.select)
    // written out rather than `{ ...what, actor, ids }`: a spread followed by new keys took 2-3 us per request on
    // Node.js 20 (the same keys, in the same order)
    const request: OperationRequest = {
      operation: what.operation,
      action: what.action,
      permanent: what.permanent,
      areas: what.areas,
      actor,
      ids,
    }
    const size = options.perTransaction
    if (size === undefined && ids.length > MAX_BATCH_IDS) {
      throw new CoreError(ErrorCodes.INVALID_INPUT, `At most ${MAX_BATCH_IDS} items per request`)
    }
    const run = size === undefined ? () => once(ids) : () => inBatches(ids, size, once)
    return summarize(
      await this.sized(ids.length, () => withHooks(this.plugins(), this.stores.objects, request, run)),
    )
  }

  /**
   * A slot among the user's streamed listings, given back when the listing ends however it ends (done, failed,
   * or closed by its reader's going away); a user whose slots are all taken is refused as busy.
   */
  private async *inListingSlot<T>(actor: Actor, listing: () => AsyncGenerator<T>): AsyncGenerator<T> {
    const release = this.listingSlots.take(actor.tenantId, actor.userId)
    if (!release) {
      throw new CoreError(
        ErrorCodes.BUSY,
        `At most ${this.listingSlots.limit} listings per user run at a time; try again when one has ended`,
      )
    }
    try {
      yield* listing()
    } finally {
      release()
    }
  }

  /**
   * The actor's streamed listings read one page at a time between them (UserQueue): four listings of one user
   * at once made four connections read pages back to back, and another tenant's single restore took 2.6-4.4
   * times as long meanwhile on a loaded 2-core machine.
   */
  private readsOf(actor: Actor): Pace {
    return (read) => this.listingReads.run(actor.tenantId, actor.userId, read)
  }

  /** A unit of work for the actor: the audit rows it writes name the actor's session (the Ticket of events). */
  private actingTransaction<T>(
    actor: Actor,
    fn: (tx: Stores) => Promise<T>,
    options: UnitOfWorkOptions = {},
  ): Promise<T> {
    return this.persistence.unitOfWork(fn, { ...options, eventTicket: actor.eventTicket })
  }

  /** A unit of work of an operation: its audit rows carry the operation's id. */
  private operationTransaction<T>(
    op: Operation,
    fn: (tx: Stores) => Promise<T>,
    options: UnitOfWorkOptions = {},
  ): Promise<T> {
    return this.actingTransaction(op.actor, fn, { ...options, operationId: op.id })
  }

  /**
   * A dry run: the operation's work in one unit of work that is rolled back whatever happens, so its answer is
   * what the work would do now and nothing of it is kept (no row, no audit row, no operation row, no event).
   */
  private async rolledBack<T>(op: Operation, work: (tx: Stores) => Promise<T>): Promise<T> {
    let answer: { value: T } | undefined
    try {
      await this.operationTransaction(
        op,
        async (tx) => {
          answer = { value: await work(tx) }
          throw new DryRunDone()
        },
        RETRY_ON_NAME_RACE,
      )
    } catch (error) {
      if (!(error instanceof DryRunDone)) throw error
    }
    return answer!.value
  }

  /** active → trashed; a folder takes its active subtree along as one unit. */
  async trash(
    actor: Actor,
    requested: readonly number[],
    options: RequestOptions = {},
  ): Promise<BatchResult> {
    return this.request(
      actor,
      requested,
      options,
      { operation: 'DeleteObjects', action: 'trash', permanent: false, areas: ['Workflow'] },
      (batch) => this.trashOnce(actor, batch, options),
    )
  }

  private async trashOnce(actor: Actor, ids: number[], options: RequestOptions): Promise<ItemResult[]> {
    const op = startOperation(actor, 'trash', options.undoOf)
    if (options.operationId && !options.perTransaction) op.id = options.operationId
    if (ids.length === 1) {
      // the common case in one round trip (see TrashStore.trashLoneItem); anything else takes the general path
      const lone = await this.stores.trash.trashLoneItem(actor, { id: ids[0]! }, operationRow(op, LONE_DONE))
      if (lone) return [ok(lone, lone.affected)]
    }
    return this.operationTransaction(op, async (tx) => {
      const facts = await lockFacts(tx, actor, ids)
      const { results, allowed } = await decide(ids, facts, (item) => {
        if (item.state === 'purging') return fail(item.id, ErrorCodes.NOT_FOUND)
        if (item.state !== 'active') return warn(item.id, ErrorCodes.ALREADY_TRASHED, item)
        const denied = policy.canTrash(actor, item)
        return denied ? fail(item.id, denied, item) : null
      })
      await refuseForbiddenMembers(tx, actor, 'trash', allowed, results)
      await this.trashAllowed(tx, actor, allowed, results)
      const ordered = await mapInTurns(ids, (id) => results.get(id)!)
      await recordOperation(tx.operations, op, countsOf(ordered))
      return ordered
    })
  }

  /** Trashes the allowed items as units; returns the ids that head a unit (the others went along). */
  private async trashAllowed(
    tx: Stores,
    actor: Actor,
    allowed: BatchFacts[],
    results: Map<number, ItemResult>,
    auditDetail: Record<string, unknown> | null = null,
  ): Promise<Set<number>> {
    if (allowed.length === 0) return new Set()
    if (allowed.length === 1) {
      // a lone item heads its unit, and the trashing statement works out its path (one round trip fewer)
      const item = allowed[0]!
      const moved = await tx.trash.trashUnits(actor, [{ id: item.id, path: null }], auditDetail)
      results.set(item.id, ok(item, moved.get(item.id) ?? 0))
      return new Set([item.id])
    }
    const paths = await mapInPieces(
      allowed.map((item) => item.id),
      (piece) => tx.items.pathsOf(actor.tenantId, piece),
    )
    const allowedIds = new Set(allowed.map((item) => item.id))
    const roots: RootPath[] = []
    const byId = new Map(allowed.map((item) => [item.id, item]))
    await eachInTurns(allowed, (item) => {
      const path = paths.get(item.id)!
      // An item whose ancestor is trashed in the same batch goes along in that ancestor's unit.
      if (path.ancestorIds.some((ancestor) => allowedIds.has(ancestor))) results.set(item.id, ok(item, 0))
      else roots.push(path)
    })
    const moved = await mapInPieces(roots, (piece) => tx.trash.trashUnits(actor, piece, auditDetail))
    await eachInTurns(roots, (root) => {
      const item = byId.get(root.id)!
      results.set(item.id, ok(item, moved.get(root.id) ?? 0))
    })
    return new Set(roots.map((root) => root.id))
  }

  /** trashed → active under the same id, into the original folder, a target, or a recreated path. */
  async restore(
    actor: Actor,
    requested: readonly number[],
    options: RestoreOptions & RequestOptions = {},
  ): Promise<BatchResult> {
    return this.request(
      actor,
      requested,
      options,
      { operation: 'RestoreObjects', action: 'restore', permanent: false, areas: ['Trash'] },
      (batch) => this.restoreOnce(actor, batch, options),
    )
  }

  private async restoreOnce(actor: Actor, ids: number[], options: RestoreOptions): Promise<ItemResult[]> {
    const op = startOperation(actor, 'restore')
    if (ids.length === 1 && options.targetFolderId === undefined) {
      // the common case in one round trip (see TrashStore.restoreLoneUnit); anything else takes the general path
      const lone = await this.stores.trash.restoreLoneUnit(actor, ids[0]!, operationRow(op, LONE_DONE))
      if (lone) return [ok(lone, lone.affected)]
    }
    let attempts = 0
    return this.operationTransaction(
      op,
      async (tx) => {
        // the first attempt restores a lone unit without asking whether its name is free: the unique index on
        // active names answers that, and a taken name ends the attempt (a conflict) and runs it again, asking
        attempts++
        const ordered = await this.restoreIn(tx, actor, ids, options, undefined, attempts === 1)
        await recordOperation(tx.operations, op, countsOf(ordered))
        return ordered
      },
      RETRY_ON_NAME_RACE,
    )
  }

  /**
   * What restore(actor, ids, options) would do now, per id, changing nothing: the same restore run in a unit of
   * work that is rolled back (see rolledBack), so its outcomes, renames and folders made again are the
   * restore's own. Each unit restored also says where it would go: its folder's id and path (the id null for the
   * top level, and for a folder the restore would make again, whose id is not known before it is made). The
   * plug-ins' before-hooks decide as they would for the restore (dryRun set): a veto refuses the preview.
   */
  async previewRestore(
    actor: Actor,
    requested: readonly number[],
    options: RestoreOptions = {},
  ): Promise<RestorePreview[]> {
    const ids = uniqueIds(requested)
    await beforeHooks(this.plugins(), {
      operation: 'RestoreObjects',
      action: 'restore',
      dryRun: true,
      actor,
      ids,
      permanent: false,
      areas: ['Trash'],
    })
    const op = startOperation(actor, 'restore')
    return this.rolledBack(op, async (tx) => {
      const destinations = new Map<number, number | null>()
      const results = await this.restoreIn(tx, actor, ids, options, destinations)
      const folderIds = [...new Set(destinations.values())].filter((id): id is number => id !== null)
      const paths = folderIds.length > 0 ? await tx.items.pathsOf(actor.tenantId, folderIds) : new Map()
      return mapInTurns(results, (result): RestorePreview => {
        if (!destinations.has(result.id)) return result
        const folderId = destinations.get(result.id)!
        if (folderId === null) return { ...result, targetFolder: { id: null, path: '/' } }
        const made = (result.recreatedFolders?.length ?? 0) > 0
        return { ...result, targetFolder: { id: made ? null : folderId, path: paths.get(folderId)!.path } }
      })
    })
  }

  /**
   * The restore of these ids within a transaction: decisions, plan and the restoring statement. `destinations`,
   * when given, gets the folder each restored unit goes into (null: the top level).
   */
  private async restoreIn(
    tx: Stores,
    actor: Actor,
    ids: number[],
    options: RestoreOptions,
    destinations?: Map<number, number | null>,
    /** a lone unit's name is left to the unique index (see restore): an attempt that conflicts is run again */
    nameByIndex = false,
  ): Promise<ItemResult[]> {
    const facts = await lockFacts(tx, actor, ids)
    const { results, allowed } = await decide(ids, facts, (item) => {
      if (item.state === 'active') return warn(item.id, ErrorCodes.NOT_IN_TRASH, item)
      if (item.state === 'emptied') return fail(item.id, ErrorCodes.NOT_RESTORABLE, item)
      if (item.state === 'purging') return fail(item.id, ErrorCodes.NOT_FOUND)
      const denied = policy.canRestore(actor, item)
      return denied ? fail(item.id, denied, item) : null
    })
    const sizes = await this.unitSizes(tx, actor.tenantId, allowed)
    await refuseForbiddenMembers(tx, actor, 'restore', allowed, results, undefined, {
      sizes,
      rows: this.rowsPerStatement,
    })
    const units = await absorbIntoRequestedRoots(allowed, results)
    const recreated = new Map<number, string[]>()
    const targets = await this.planRestore(
      tx,
      actor,
      units,
      options,
      results,
      recreated,
      destinations,
      nameByIndex,
    )
    const restored = await this.restoreTargets(tx, actor, targets, sizes)
    const unitsById = new Map(units.map((unit) => [unit.id, unit]))
    await eachInTurns(targets, (target) => {
      const item = unitsById.get(target.id)!
      const result = ok(item, restored.get(item.id) ?? 0)
      if (target.newName !== undefined) {
        result.renamedTo = target.newName
        result.status = 'ok'
        result.message = `Restored as ${target.newName}`
      }
      const folders = recreated.get(item.id)
      if (folders && folders.length > 0) result.recreatedFolders = folders
      results.set(item.id, result)
    })
    return mapInTurns(ids, (id) => results.get(id)!)
  }

  /**
   * The rows of each trashed folder unit among these items (up to one more than a statement restores: enough to
   * tell a unit too large for one statement); files and members of a unit are not asked about (one row each, or
   * restored with their ancestors' walk).
   */
  private async unitSizes(tx: Stores, tenantId: number, items: BatchFacts[]): Promise<Map<number, number>> {
    const roots = items
      .filter((item) => item.kind === 'folder' && item.trashRoot === item.id && item.state === 'trashed')
      .map((item) => item.id)
    return roots.length === 0 ? new Map() : tx.trash.unitSizes(tenantId, roots, this.rowsPerStatement + 1)
  }

  /**
   * Restores the planned units, no statement changing more than rowsPerStatement rows: units that fit are
   * restored together, as many as fit in one statement; a larger unit alone, a keyset range of its rows per
   * statement. Every statement runs in the caller's transaction, so a unit is restored whole or not at all,
   * however many statements it takes. Answers the rows restored per unit.
   */
  private async restoreTargets(
    tx: Stores,
    actor: Actor,
    targets: RestoreTarget[],
    sizes: Map<number, number>,
  ): Promise<Map<number, number>> {
    const rows = this.rowsPerStatement
    const restored = new Map<number, number>()
    let batch: RestoreTarget[] = []
    let batchRows = 0
    const flush = async () => {
      if (batch.length === 0) return
      for (const [id, n] of await tx.trash.restoreUnits(actor, batch)) restored.set(id, n)
      batch = []
      batchRows = 0
    }
    for (const target of targets) {
      const size = sizes.get(target.id) ?? 1
      if (size <= rows) {
        // at most PIECE units a statement, however few rows they have (see inPieces)
        if (batchRows + size > rows || batch.length >= PIECE) await flush()
        batch.push(target)
        batchRows += size
        continue
      }
      let n = 0
      // each range moves the cursor past `rows` rows of the unit: as many statements as the unit has ranges
      for (let after = 0; ; ) {
        const range = await tx.trash.restoreUnitRange(actor, target, after, rows)
        n += range.restored
        if (range.read < rows || range.last === null) break
        after = range.last
      }
      restored.set(target.id, n)
    }
    await flush()
    return restored
  }

  /**
   * Undoes trash operations: every unit they trashed that is still in the trash as they left it is restored, with
   * the restore rules (the actor's rights on every member, original folders made again when gone, a taken name
   * renamed), as one operation of its own ('undo'); units since restored, emptied, purged or trashed again are
   * reported and left alone. A page of units per transaction, each a few statements whatever its size.
   * `dryRun` answers the same without changing anything: it runs the same work in one transaction rolled back.
   * The plug-ins' hooks run around it with the units still in the trash (a dry run: the before-hooks alone).
   */
  async undoOperations(
    actor: Actor,
    tenantId: number,
    operationIds: string[],
    options: { dryRun?: boolean; undoOf?: string } = {},
  ): Promise<UndoOutcome> {
    // more than PIECE units is a big batch (BIG_BATCHES): asked before anything is done
    const size = (
      await this.stores.operations.listOperationUnits(tenantId, operationIds, 0, PIECE + 1, false)
    ).length
    return this.sized(size, () => this.undoInPlace(actor, tenantId, operationIds, options))
  }

  private async undoInPlace(
    actor: Actor,
    tenantId: number,
    operationIds: string[],
    options: { dryRun?: boolean; undoOf?: string },
  ): Promise<UndoOutcome> {
    const host = this.plugins()
    if (host.plugins.length === 0) return this.undoOnce(actor, tenantId, operationIds, options)
    const request = await this.undoRequest(actor, tenantId, operationIds)
    if (options.dryRun) {
      await host.before({ ...request, dryRun: true })
      return this.undoOnce(actor, tenantId, operationIds, options)
    }
    let outcome: UndoOutcome | undefined
    await withHooks(host, this.stores.objects, request, async () => {
      outcome = await this.undoOnce(actor, tenantId, operationIds, options)
      return outcome.results
    })
    return outcome!
  }

  /**
   * An undo as the plug-ins see it: a restore of the units the operations trashed that are still in the trash
   * (read a page at a time; only when plug-ins are loaded).
   */
  private async undoRequest(
    actor: Actor,
    tenantId: number,
    operationIds: string[],
  ): Promise<OperationRequest> {
    const ids: number[] = []
    for (let after = 0; ; ) {
      const units = await this.stores.operations.listOperationUnits(
        tenantId,
        operationIds,
        after,
        UNDO_PAGE,
        false,
      )
      for (const unit of units) if (unit.action === 'trash' && unit.stillTrashed) ids.push(unit.itemId)
      if (units.length < UNDO_PAGE) break
      after = units[units.length - 1]!.auditId
    }
    return { operation: 'RestoreObjects', action: 'undo', actor, ids, permanent: false, areas: ['Trash'] }
  }

  /**
   * The before-hooks of an undo recorded to run as a job: a veto refuses it before it is recorded. Its pages'
   * after-hooks run as each page commits (undoJobPage).
   */
  async beforeUndoJob(actor: Actor, tenantId: number, operationIds: string[]): Promise<void> {
    const host = this.plugins()
    if (host.plugins.length === 0) return
    await host.before(await this.undoRequest(actor, tenantId, operationIds))
  }

  private async undoOnce(
    actor: Actor,
    tenantId: number,
    operationIds: string[],
    options: { dryRun?: boolean; undoOf?: string },
  ): Promise<UndoOutcome> {
    const op = startOperation(actor, 'undo', options.undoOf)
    const outcome: UndoOutcome = { operationId: null, results: [], skipped: [] }
    const chunk = (tx: Stores, after: number) =>
      this.undoPageIn(tx, actor, tenantId, operationIds, after, UNDO_PAGE)
    if (options.dryRun) {
      // the answer is gathered afresh by each attempt (a unit of work may run again)
      return this.rolledBack(op, async (tx) => {
        const preview: UndoOutcome = { operationId: null, results: [], skipped: [] }
        for (let after: number | null = 0; after !== null; ) {
          const page = await chunk(tx, after)
          preview.results.push(...page.results)
          preview.skipped.push(...page.skipped)
          after = page.next
        }
        return preview
      })
    }
    for (let after: number | null = 0; after !== null; ) {
      const from: number = after
      const page = await this.operationTransaction(op, (tx) => chunk(tx, from), RETRY_ON_NAME_RACE)
      outcome.results.push(...page.results)
      outcome.skipped.push(...page.skipped)
      after = page.next
    }
    const counts = countsOf(outcome.results)
    await recordOperation(this.stores.operations, op, {
      ...counts,
      requested: counts.requested + outcome.skipped.length,
      warning: counts.warning + outcome.skipped.length,
    })
    outcome.operationId = op.id
    return outcome
  }

  /**
   * One page of an undo job, in a unit of work of the job's operation; `record` runs in the same unit of work, so
   * the job's progress commits with the page's changes or neither does (a page is done once, even across a crash).
   * The plug-ins' after-hooks run for the page once it committed (the job's before-hooks ran when it was asked for).
   */
  async undoJobPage(
    op: Operation,
    tenantId: number,
    operationIds: string[],
    after: number,
    pageSize: number,
    record: (tx: Stores, page: UndoPage) => Promise<void>,
    hold: (tx: Stores) => Promise<void> = async () => {},
  ): Promise<UndoPage> {
    // a page of more than PIECE units waits for a place among the big batches (never refused: the job goes on)
    const page = await this.sized(
      pageSize,
      () =>
        this.operationTransaction(
          op,
          async (tx) => {
            await hold(tx)
            const page = await this.undoPageIn(tx, op.actor, tenantId, operationIds, after, pageSize)
            await record(tx, page)
            return page
          },
          RETRY_ON_NAME_RACE,
        ),
      true,
    )
    const host = this.plugins()
    if (host.plugins.length > 0 && page.results.length > 0) {
      const ids = page.results.map((result) => result.id)
      const request: OperationRequest = {
        operation: 'RestoreObjects',
        action: 'undo',
        actor: op.actor,
        ids,
        permanent: false,
        areas: ['Trash'],
      }
      await afterHooks(host, this.stores.objects, request, page.results)
    }
    return page
  }

  /** How many rows the units of these ids hold between them, up to `cap`: whether a request over them is a job. */
  unitRows(actor: Actor, ids: number[], cap: number): Promise<number> {
    return this.stores.trash.countUnitRows(actor.tenantId, ids, cap)
  }

  /** A restore, empty or purge job's request, as the plug-ins' hooks see it (as the same request made inline). */
  private idsJobRequest(actor: Actor, kind: IdsJobKind, ids: number[]): OperationRequest {
    if (kind === 'restore')
      return {
        operation: 'RestoreObjects',
        action: 'restore',
        actor,
        ids,
        permanent: false,
        areas: ['Trash'],
      }
    return { operation: 'DeleteObjects', action: kind, actor, ids, permanent: true, areas: ['Trash'] }
  }

  /** The plug-ins' before-hooks of a restore, empty or purge asked as a job: a veto refuses it before it is recorded. */
  async beforeIdsJob(actor: Actor, kind: IdsJobKind, ids: number[]): Promise<void> {
    await beforeHooks(this.plugins(), this.idsJobRequest(actor, kind, ids))
  }

  /**
   * One page of a restore, empty or purge job (the ids from `position`, `pageSize` of them), in a unit of work of
   * the job's operation with the checks of the same request made inline (the actor's rights as they are now);
   * `record` runs in the same unit of work, so the job's progress commits with the page's changes. A purge's
   * stored files are removed after that commit (the purge protocol); `amended` names the page's results that
   * changed then (units whose files could not all be removed: STORAGE_FAILURE), by their index in the page.
   */
  async idsJobPage(
    op: Operation,
    kind: IdsJobKind,
    params: IdsJobParams,
    position: number,
    pageSize: number,
    record: (tx: Stores, page: UndoPage) => Promise<void>,
    hold: (tx: Stores) => Promise<void> = async () => {},
  ): Promise<{ page: UndoPage; amended: { index: number; result: ItemResult }[] }> {
    const actor = op.actor
    const ids = params.ids.slice(position, position + pageSize)
    const next = position + pageSize < params.ids.length ? position + pageSize : null
    const host = this.plugins()
    const request = this.idsJobRequest(actor, kind, ids)
    const purged =
      host.plugins.length > 0 && request.permanent
        ? await readObjects(this.stores.objects, request, ids)
        : null
    const at = new Date()
    const token = randomUUID()
    let marked: { results: Map<number, ItemResult>; units: BatchFacts[] } | null = null
    // a page of more than PIECE ids waits for a place among the big batches (never refused: the job goes on)
    const page = await this.sized(
      ids.length,
      () =>
        this.operationTransaction(
          op,
          async (tx): Promise<UndoPage> => {
            await hold(tx)
            let results: ItemResult[]
            if (kind === 'restore')
              results = await this.restoreIn(tx, actor, ids, {
                targetFolderId: params.targetFolderId,
                onMissingParent: params.onMissingParent,
              })
            else if (kind === 'empty') results = await this.emptyIn(tx, actor, ids)
            else {
              const done = await this.purgeMarkIn(tx, actor, ids, {}, token)
              marked = done
              results = await mapInTurns(ids, (id) => done.results.get(id)!)
            }
            const page = { results, skipped: [], next }
            await record(tx, page)
            return page
          },
          RETRY_ON_NAME_RACE,
        ),
      true,
    )
    const amended: { index: number; result: ItemResult }[] = []
    const purging = marked as { results: Map<number, ItemResult>; units: BatchFacts[] } | null
    if (purging && (await this.purgeFinish(op, token, purging.units, purging.results)) > 0) {
      page.results.forEach((result, index) => {
        const now = purging.results.get(result.id)!
        if (now !== result) {
          amended.push({ index, result: now })
          page.results[index] = now
        }
      })
    }
    if (host.plugins.length > 0 && page.results.length > 0)
      await afterHooks(host, this.stores.objects, request, page.results, { purged, at })
    return { page, amended }
  }

  /** The units after `after` (audit id) the operations trashed: those still in the trash restored, the rest skipped. */
  private async undoPageIn(
    tx: Stores,
    actor: Actor,
    tenantId: number,
    operationIds: string[],
    after: number,
    pageSize: number,
  ): Promise<UndoPage> {
    // read a PIECE of units per statement, one after another, the event loop given a turn between two
    const units: OperationUnit[] = []
    for (let from = after; units.length < pageSize; ) {
      if (units.length > 0) await nextTurn()
      const asked = Math.min(PIECE, pageSize - units.length)
      const piece = await tx.operations.listOperationUnits(tenantId, operationIds, from, asked, false)
      for (const unit of piece) units.push(unit)
      if (piece.length < asked) break
      from = piece[piece.length - 1]!.auditId
    }
    const skipped: UndoSkipped[] = []
    const restorable: number[] = []
    for (const unit of units) {
      if (unit.action !== 'trash') continue
      if (unit.stillTrashed) restorable.push(unit.itemId)
      else
        skipped.push({
          id: unit.itemId,
          name: unit.name,
          kind: unit.kind,
          state: unit.state,
          reason: sinceReason(unit),
        })
    }
    const results =
      restorable.length > 0
        ? await this.restoreIn(tx, actor, restorable, { onMissingParent: 'recreate' })
        : []
    return { results, skipped, next: units.length === pageSize ? units[units.length - 1]!.auditId : null }
  }

  /** Where each unit goes and under which name; records errors for units that cannot go anywhere. */
  private async planRestore(
    tx: Stores,
    actor: Actor,
    units: BatchFacts[],
    options: RestoreOptions,
    results: Map<number, ItemResult>,
    recreated?: Map<number, string[]>,
    destinations?: Map<number, number | null>,
    nameByIndex = false,
  ): Promise<RestoreTarget[]> {
    if (units.length === 0) return []
    const destination = new Map<number, { parentId: number | null; move: boolean }>()

    if (options.targetFolderId !== undefined) {
      const target = options.targetFolderId
      if (target !== null) {
        const folder = (await tx.trash.readItemFacts(actor.tenantId, actor.userId, [target])).get(target)
        const refused =
          !folder || folder.state !== 'active' || folder.kind !== 'folder'
            ? ErrorCodes.TARGET_NOT_FOUND
            : policy.canRestoreInto(actor, folder)
        if (refused) {
          for (const unit of units) results.set(unit.id, fail(unit.id, refused, unit))
          return []
        }
      }
      await eachInTurns(units, (unit) =>
        destination.set(unit.id, { parentId: target, move: unit.parentId !== target }),
      )
    } else {
      const parentIds = [...new Set(units.map((u) => u.parentId).filter((id): id is number => id !== null))]
      const parents = await mapInPieces(parentIds, (piece) =>
        tx.trash.readItemFacts(actor.tenantId, actor.userId, piece),
      )
      // folders found or made along the way, by path: units of one gone folder look it up once, not one each
      const folders: FolderPaths = new Map()
      const turns = new Turns()
      for (const unit of units) {
        if (turns.due()) await turns.turn()
        const parent = unit.parentId === null ? null : parents.get(unit.parentId)
        const wasTopLevel = unit.parentId === null && unit.originalParentId === null
        if (wasTopLevel || parent?.state === 'active') {
          destination.set(unit.id, { parentId: unit.parentId, move: false })
          continue
        }
        if ((options.onMissingParent ?? 'error') === 'error') {
          results.set(unit.id, fail(unit.id, ErrorCodes.ORIGINAL_LOCATION_GONE, unit))
          continue
        }
        const folderPath = (unit.originalPath ?? `/${unit.name}`).split('/').filter(Boolean).slice(0, -1)
        // A file where a folder of the path should be stops this unit only (nothing was created for it: a
        // folder made along the way is new and empty, so the blocking file can only sit above it).
        try {
          const made: string[] = []
          const parentId = await this.ensureFolderPath(tx, actor, folderPath, made, folders)
          recreated?.set(unit.id, made)
          destination.set(unit.id, { parentId, move: true })
        } catch (error) {
          if (!(error instanceof CoreError && error.code === ErrorCodes.ORIGINAL_LOCATION_GONE)) throw error
          results.set(unit.id, fail(unit.id, ErrorCodes.ORIGINAL_LOCATION_GONE, unit))
        }
      }
    }

    // Name conflicts: one query per destination folder, names chosen so the batch does not collide with itself.
    const byParent = new Map<number | null, BatchFacts[]>()
    await eachInTurns(units, (unit) => {
      const dest = destination.get(unit.id)
      if (!dest) return
      const members = byParent.get(dest.parentId)
      if (members) members.push(unit)
      else byParent.set(dest.parentId, [unit])
    })
    const targets: RestoreTarget[] = []
    const turns = new Turns()
    // one unit going back: a taken name is a unique violation of the restoring statement, and the attempt is
    // run again with nameByIndex off (a round trip saved, and no plan that depends on the statistics)
    const lone = nameByIndex && byParent.size === 1 && [...byParent.values()][0]!.length === 1
    for (const [parentId, members] of byParent) {
      // one statement whatever the number of names: it reads the folder's active names once (in pieces it read
      // them once per piece) and answers only those taken
      const taken = lone
        ? new Set<string>()
        : await tx.trash.activeNamesUnder(
            actor.tenantId,
            parentId,
            members.map((m) => m.name),
          )
      const similarByStem = new Map<string, Set<string>>()
      const nextNumber = new Map<string, number>()
      for (const unit of members) {
        if (turns.due()) await turns.turn()
        const dest = destination.get(unit.id)!
        const target: RestoreTarget = { id: unit.id }
        if (dest.move) target.parentId = dest.parentId
        destinations?.set(unit.id, dest.parentId)
        if (taken.has(unit.name)) {
          // one look-up per name stem and folder, and each search for a free number starts after the last one
          // found for that name: restoring many items of one name stays linear
          const stem = unit.name.replace(/\.[^.]*$/, '')
          let similar = similarByStem.get(stem)
          if (!similar) {
            similar = await tx.trash.activeNamesLike(actor.tenantId, parentId, stem)
            similarByStem.set(stem, similar)
          }
          const inUse = similar
          const found = restoredNameFrom(
            unit.name,
            { has: (name) => inUse.has(name) || taken.has(name) },
            nextNumber.get(unit.name) ?? 1,
          )
          nextNumber.set(unit.name, found.n + 1)
          target.newName = found.name
          taken.add(target.newName)
        } else {
          taken.add(unit.name)
        }
        targets.push(target)
      }
    }
    return targets
  }

  /**
   * Finds or creates the active folders along a path from the top level; returns the last one's id. `known`
   * keeps what earlier calls of the same plan found or made, by path (null: a file stands in the way).
   */
  private async ensureFolderPath(
    tx: Stores,
    actor: Actor,
    segments: string[],
    made: string[] = [],
    known: FolderPaths = new Map(),
  ): Promise<number | null> {
    let parentId: number | null = null
    let path = ''
    for (const segment of segments) {
      // names hold no slash: the path names one folder
      path = `${path}/${segment}`
      const seen = known.get(path)
      if (seen === null) throw new CoreError(ErrorCodes.ORIGINAL_LOCATION_GONE)
      if (seen !== undefined) {
        parentId = seen
        continue
      }
      const found: { id: number; kind: string } | null = await tx.trash.activeChild(
        actor.tenantId,
        parentId,
        segment,
      )
      if (found && found.kind !== 'folder') {
        known.set(path, null)
        throw new CoreError(ErrorCodes.ORIGINAL_LOCATION_GONE)
      }
      if (found) {
        parentId = found.id
        known.set(path, parentId)
        continue
      }
      parentId = (
        await tx.items.insertItem({
          tenantId: actor.tenantId,
          kind: 'folder',
          type: 'Folder',
          name: segment,
          parentId,
          ownerId: actor.userId,
        })
      ).id
      known.set(path, parentId)
      made.push(path)
    }
    return parentId
  }

  /** trashed → emptied: not restorable, hidden from listings, purged by the next cleanup run (IPS). */
  async empty(actor: Actor, requested: readonly number[]): Promise<BatchResult> {
    const ids = uniqueIds(requested)
    const request: OperationRequest = {
      operation: 'DeleteObjects',
      action: 'empty',
      actor,
      ids,
      permanent: true,
      areas: ['Trash'],
    }
    const results = await this.sized(ids.length, () =>
      withHooks(this.plugins(), this.stores.objects, request, () => this.emptyOnce(actor, ids)),
    )
    return summarize(results)
  }

  private emptyOnce(actor: Actor, ids: number[]): Promise<ItemResult[]> {
    const op = startOperation(actor, 'empty')
    return this.operationTransaction(op, async (tx) => {
      const ordered = await this.emptyIn(tx, actor, ids)
      await recordOperation(tx.operations, op, countsOf(ordered))
      return ordered
    })
  }

  /** An empty's checks and changes in the caller's transaction: one result per id, in order. */
  private async emptyIn(tx: Stores, actor: Actor, ids: number[]): Promise<ItemResult[]> {
    const facts = await lockFacts(tx, actor, ids)
    const { results, allowed } = await decide(ids, facts, (item) => {
      if (item.state === 'emptied') return warn(item.id, ErrorCodes.ALREADY_EMPTIED, item)
      if (item.state === 'active') return fail(item.id, ErrorCodes.NOT_IN_TRASH, item)
      if (item.state === 'purging') return fail(item.id, ErrorCodes.NOT_FOUND)
      const denied = policy.canEmpty(actor, item)
      return denied ? fail(item.id, denied, item) : null
    })
    await refuseForbiddenMembers(tx, actor, 'empty', allowed, results)
    const units = await absorbIntoRequestedRoots(allowed, results)
    const emptied = await mapInPieces(
      units.map((u) => u.id),
      (piece) => tx.trash.emptyUnits(actor, piece),
    )
    await eachInTurns(units, (unit) => results.set(unit.id, ok(unit, emptied.get(unit.id) ?? 0)))
    return mapInTurns(ids, (id) => results.get(id)!)
  }

  /**
   * Removes units for good, rows and stored files, through the shared purge protocol (purge-protocol.ts): the
   * checks and the marking here, in one transaction; file removal, put-back of failures and row deletion there.
   * A crash between steps leaves rows in state 'purging' that the cleanup job finishes.
   */
  async purge(
    actor: Actor,
    requested: readonly number[],
    options: PurgeOptions & RequestOptions = {},
  ): Promise<BatchResult> {
    return this.request(
      actor,
      requested,
      options,
      {
        operation: 'DeleteObjects',
        action: 'purge',
        permanent: true,
        areas: [options.includeActive ? 'Workflow' : 'Trash'],
      },
      (batch) => this.purgeOnce(actor, batch, options),
    )
  }

  private async purgeOnce(actor: Actor, ids: number[], options: PurgeOptions): Promise<ItemResult[]> {
    const token = randomUUID()
    const op = startOperation(actor, options.action ?? 'purge')
    const { results, units } = await this.operationTransaction(op, async (tx) => {
      const marked = await this.purgeMarkIn(tx, actor, ids, options, token)
      await recordOperation(
        tx.operations,
        op,
        countsOf(await mapInTurns(ids, (id) => marked.results.get(id)!)),
      )
      return marked
    })
    const failed = await this.purgeFinish(op, token, units, results)
    if (failed > 0) await this.stores.operations.recordLateFailures(actor.tenantId, op.id, failed)
    return mapInTurns(ids, (id) => results.get(id)!)
  }

  /**
   * A purge's checks and marking in the caller's transaction (the first step of the purge protocol): answers the
   * result per id and the units whose stored files purgeFinish removes once the transaction has committed.
   */
  private async purgeMarkIn(
    tx: Stores,
    actor: Actor,
    ids: number[],
    options: PurgeOptions,
    token: string,
  ): Promise<{ results: Map<number, ItemResult>; units: BatchFacts[] }> {
    const facts = await lockFacts(tx, actor, ids)
    const active: BatchFacts[] = []
    const { results, allowed } = await decide(ids, facts, (item) => {
      if (item.state === 'purging') return fail(item.id, ErrorCodes.NOT_FOUND)
      if (item.state === 'active') {
        if (!options.includeActive) return fail(item.id, ErrorCodes.NOT_IN_TRASH, item)
        const denied = policy.canPurgeActive(actor, item)
        if (denied) return fail(item.id, denied, item)
        active.push(item)
        return null
      }
      const denied = policy.canPurge(actor, item)
      return denied ? fail(item.id, denied, item) : null
    })
    await refuseForbiddenMembers(tx, actor, 'purgeActive', active, results, allowed)
    await refuseForbiddenMembers(
      tx,
      actor,
      'purge',
      allowed.filter((item) => item.state !== 'active'),
      results,
      allowed,
    )
    // a legal hold anywhere below an active item stops its permanent delete before anything is trashed
    const activeHeld = await tx.trash.activeSubtreesUnderHold(
      actor.tenantId,
      active.map((item) => item.id),
    )
    if (activeHeld.size > 0) {
      for (const item of active.filter((candidate) => activeHeld.has(candidate.id))) {
        results.set(item.id, fail(item.id, ErrorCodes.LEGAL_HOLD, item))
      }
      keepOnly(allowed, (item) => !activeHeld.has(item.id))
      keepOnly(active, (item) => !activeHeld.has(item.id))
    }
    const wentAlong = new Set<number>()
    if (active.length > 0) {
      // audited as part of the permanent delete, so listeners see one permanent delete, not a trash first
      const roots = await this.trashAllowed(tx, actor, active, results, { permanent: true })
      for (const item of active) {
        if (roots.has(item.id)) {
          item.state = 'trashed'
          item.trashRoot = item.id
        } else wentAlong.add(item.id) // purged with its requested ancestor's unit
      }
    }
    const units = await absorbIntoRequestedRoots(
      allowed.filter((item) => !wentAlong.has(item.id)),
      results,
    )
    const action = options.action ?? 'purge'
    const marked = await markInPieces(
      tx,
      actor,
      units.map((u) => ({ id: u.id, action })),
      token,
    )
    const held = new Set(marked.held)
    await eachInTurns(units, (unit) => {
      if (held.has(unit.id)) results.set(unit.id, fail(unit.id, ErrorCodes.LEGAL_HOLD, unit))
      else {
        const affected = (marked.deleted.get(unit.id) ?? 0) + (marked.marked.get(unit.id) ?? 0)
        results.set(unit.id, ok(unit, affected))
      }
    })
    // only units with stored files wait for the rest of the protocol
    return { results, units: units.filter((unit) => marked.marked.has(unit.id)) }
  }

  /**
   * The rest of the purge protocol once the marking committed: the stored files removed, then the rows; a unit
   * whose files could not all be removed stays in the trash and its result becomes STORAGE_FAILURE. Answers how
   * many units failed so.
   */
  private async purgeFinish(
    op: Operation,
    token: string,
    units: BatchFacts[],
    results: Map<number, ItemResult>,
  ): Promise<number> {
    if (units.length === 0) return 0
    const completed = await completePurge(
      this.persistence,
      this.blobs,
      { ...op.actor, operationId: op.id },
      token,
    )
    const unitsById = new Map(units.map((unit) => [unit.id, unit]))
    const failed = failuresByUnit(new Set(unitsById.keys()), completed)
    for (const [unitId, unitFailures] of failed) {
      const unit = unitsById.get(unitId)!
      const result = fail(unit.id, ErrorCodes.STORAGE_FAILURE, unit)
      result.failures = unitFailures
      results.set(unit.id, result)
    }
    return failed.size
  }

  /**
   * infoRouter EmptyRecycleBin: purges every unit the actor deleted, a batch of roots per transaction, through
   * the shared purge protocol. The batch is chosen and marked in one statement (no per-item round trip): a bin
   * of 100,000 items costs about what deleting its rows does. With plug-ins loaded, their hooks run around it
   * with the bin's units (their roots) as read first, and only those units are purged: one the actor trashes
   * meanwhile stays in the bin, as the before-hooks never saw it.
   */
  async emptyOwnBin(actor: Actor): Promise<{ purged: number; failed: ItemResult[] }> {
    const host = this.plugins()
    const scope = policy.ownBinScope(actor)
    if (host.plugins.length === 0) {
      // a bin of more than PIECE units is a big batch (BIG_BATCHES): asked before anything is done
      const size = (await this.stores.purge.ownBinRoots(actor, scope, PIECE + 1)).length
      return this.sized(size, () => this.emptyOwnBinOnce(actor, scope))
    }
    const ids = await this.stores.purge.ownBinRoots(actor, scope)
    const request: OperationRequest = {
      operation: 'DeleteObjects',
      action: 'emptyOwnBin',
      actor,
      ids,
      permanent: true,
      areas: ['Trash'],
    }
    let outcome: { purged: number; failed: ItemResult[] } | undefined
    await this.sized(ids.length, () =>
      withHooks(host, this.stores.objects, request, async () => {
        outcome = await this.emptyOwnBinOnce(actor, { ...scope, only: ids })
        const failed = new Map(outcome.failed.map((result) => [result.id, result]))
        return ids.map((id) => failed.get(id) ?? { id, status: 'ok' })
      }),
    )
    return outcome!
  }

  private async emptyOwnBinOnce(
    actor: Actor,
    scope: ReturnType<typeof policy.ownBinScope> & { only?: number[] },
  ): Promise<{ purged: number; failed: ItemResult[] }> {
    const op = startOperation(actor, 'empty_bin')
    let purged = 0
    let units = 0
    // what the actor may not purge stays in the bin, reported; the rest is purged
    const failed: ItemResult[] = (await this.stores.purge.ownBinUnpurgeable(actor, scope)).map((unit) =>
      fail(unit.id, ErrorCodes.ACCESS_DENIED, unit),
    )
    let afterId = 0
    for (;;) {
      const token = randomUUID()
      const from = afterId
      const batch = await this.operationTransaction(op, (tx) =>
        markOwnBinInPieces(tx, actor, scope, from, OWN_BIN_BATCH, token),
      )
      if (batch.roots === 0) break
      afterId = batch.lastRootId
      units += batch.roots - batch.heldItems.size
      purged += batch.deletedRows
      for (const [id, item] of batch.heldItems) failed.push(fail(id, ErrorCodes.LEGAL_HOLD, item))
      if (batch.marked.size > 0) {
        const completed = await completePurge(
          this.persistence,
          this.blobs,
          { ...actor, operationId: op.id },
          token,
        )
        const failures = failuresByUnit(new Set(batch.marked.keys()), completed)
        for (const [id, n] of batch.marked) {
          const unitFailures = failures.get(id)
          if (!unitFailures) purged += n
          else {
            units--
            failed.push({ ...fail(id, ErrorCodes.STORAGE_FAILURE), failures: unitFailures })
          }
        }
      }
      if (batch.roots < OWN_BIN_BATCH) break
    }
    // a bin emptied in several transactions is recorded once, at the end
    await recordOperation(this.stores.operations, op, {
      requested: units + failed.length,
      ok: units,
      warning: 0,
      error: failed.length,
      items: purged,
    })
    return { purged, failed }
  }

  async list(actor: Actor, filter: TrashFilter, page: TrashPage): Promise<TrashEntry[]> {
    return this.stores.listing.listTrash(visibilityFor(actor, filter), filter, page)
  }

  async count(actor: Actor, filter: TrashFilter): Promise<number> {
    return this.stores.listing.countTrash(visibilityFor(actor, filter), filter)
  }

  /**
   * Which trash events a subscriber may receive, as of now: a subscriber sees the events of what it may see in
   * the trash. Rights change, so a long-lived stream asks again from time to time.
   */
  async eventFilter(actor: Actor): Promise<(event: TrashEvent) => boolean> {
    // administrators see every brand: no rights to read
    const brands = actor.admin
      ? new Set<number>()
      : await this.stores.listing.viewableBrandIds(actor.tenantId, actor.userId)
    return (event) => policy.canSeeEvent(actor, event.subject, brands)
  }

  /** The brands, deleters and types present in the trash the actor may see (filter choices). */
  async facets(actor: Actor, filter: TrashFilter) {
    return this.stores.listing.trashFacets(policy.trashVisibility(actor), filter)
  }

  /** The keyset cursor of the page that follows this entry in the given order (default: newest deleted first). */
  cursorAfter(entry: TrashEntry, sort?: TrashPage['sort'], direction?: TrashPage['direction']): string {
    return this.stores.listing.cursorAfter(entry, sort, direction)
  }

  /**
   * Streams a whole listing (newest deleted first) in batches, so a bin of any size is never held in memory at
   * once, in keyset pages that each hold a connection only while they are read: a slow reader holds none.
   */
  iterate(actor: Actor, filter: TrashFilter, pageSize = 1000): AsyncGenerator<TrashListingEntry[]> {
    return this.inListingSlot(actor, () =>
      this.stores.listing.streamTrash(visibilityFor(actor, filter), filter, pageSize, this.readsOf(actor)),
    )
  }

  /**
   * The tenant's trash history a unit at a time (a trashed folder once, not each member), oldest first, in
   * id-keyset pages so that a long history is never held in memory at once.
   */
  deleteLog(actor: Actor, filter: DeleteLogFilter, pageSize = 1000): AsyncGenerator<DeleteLogRow[]> {
    const listing = this.stores.listing
    const pace = this.readsOf(actor)
    return this.inListingSlot(actor, async function* () {
      let afterId = 0
      for (;;) {
        const page = await pace(() => listing.listDeleteLog(actor.tenantId, filter, afterId, pageSize))
        if (page.length === 0) return
        yield page
        if (page.length < pageSize) return
        afterId = page[page.length - 1]!.id
      }
    })
  }

  /** One item as the actor may see it (any state); null when missing, of another tenant, or not visible. */
  async get(actor: Actor, id: number): Promise<ItemFacts | null> {
    const facts = await this.stores.trash.readItemFacts(actor.tenantId, actor.userId, [id])
    const item = facts.get(id)
    if (!item || item.state === 'purging' || policy.canView(actor, item)) return null
    return item
  }

  /** Items in any state the actor may see, filtered by state, folder and type, a page at a time (by name). */
  async searchItems(
    actor: Actor,
    filter: ItemSearchFilter,
    page: { limit: number; offset: number },
  ): Promise<{ total: number; items: ItemListing[] }> {
    return this.stores.listing.searchItems(policy.itemVisibility(actor), filter, page)
  }

  /** The items among these ids the actor may see (any state), in the order asked; the others are left out. */
  async getItems(
    actor: Actor,
    ids: readonly number[],
    kind?: ItemSearchFilter['kind'],
  ): Promise<ItemListing[]> {
    return this.stores.listing.listItemsByIds(policy.itemVisibility(actor), uniqueIds(ids), kind)
  }

  /**
   * Trashes the active item of this kind at a path of names from the top level (srv.asmx's DeleteDocument and
   * DeleteFolder); null when there is none. A file the actor may trash goes in one statement, the walk to it
   * included, unless a plug-in hooks the request (its hooks are given the id before the work).
   */
  async trashAtPath(
    actor: Actor,
    path: string[],
    kind: 'file' | 'folder',
    options: RequestOptions = {},
  ): Promise<ItemResult | null> {
    if (kind === 'file' && this.plugins().plugins.length === 0 && !options.operationId) {
      const op = startOperation(actor, 'trash', options.undoOf)
      const lone = await this.stores.trash.trashLoneItem(actor, { path }, operationRow(op, LONE_DONE))
      if (lone) return ok(lone, lone.affected)
    }
    const item = await this.findByPath(actor, path)
    if (!item || item.kind !== kind) return null
    return (await this.trash(actor, [item.id], options)).results[0]!
  }

  /** Resolves a path of names from the top level; the last segment may name a trashed item when asked. */
  async findByPath(actor: Actor, segments: string[], states: ('active' | 'trashed')[] = ['active']) {
    return this.stores.trash.resolvePath(actor.tenantId, segments, states)
  }
}

const visibilityFor = (actor: Actor, filter: TrashFilter) =>
  policy.trashVisibility(actor, filter.purgeable ? 'purge' : 'view')

/**
 * Purge step 1 for the next `limit` units of the actor's own bin after `afterId`, a statement per PIECE of them
 * one after another in the caller's transaction, the event loop given a turn between two; the pieces' answers
 * as one.
 */
async function markOwnBinInPieces(
  tx: Stores,
  actor: Actor,
  scope: OwnBinScope,
  afterId: number,
  limit: number,
  token: string,
): Promise<OwnBinBatch> {
  const all: OwnBinBatch = {
    roots: 0,
    lastRootId: afterId,
    deletedRows: 0,
    marked: new Map(),
    heldItems: new Map(),
  }
  while (all.roots < limit) {
    if (all.roots > 0) await nextTurn()
    const asked = Math.min(PIECE, limit - all.roots)
    const piece = await tx.purge.markOwnBinForPurge(actor, scope, all.lastRootId, asked, token, 'empty_bin')
    all.roots += piece.roots
    all.lastRootId = piece.lastRootId
    all.deletedRows += piece.deletedRows
    for (const [id, n] of piece.marked) all.marked.set(id, n)
    for (const [id, item] of piece.heldItems) all.heldItems.set(id, item)
    if (piece.roots < asked) break
  }
  return all
}

/** Purge step 1 for these units, a statement per piece (inPieces), one after another in the caller's transaction. */
async function markInPieces(
  tx: Stores,
  actor: Actor,
  units: PurgeUnit[],
  token: string,
): Promise<MarkResult> {
  const pieces = await inPieces(units, (piece) => tx.purge.markForPurge(actor, piece, token))
  if (pieces.length === 1) return pieces[0]!
  const all: MarkResult = { marked: new Map(), deleted: new Map(), held: [] }
  for (const piece of pieces) {
    for (const [id, n] of piece.marked) all.marked.set(id, n)
    for (const [id, n] of piece.deleted) all.deleted.set(id, n)
    for (const id of piece.held) all.held.push(id)
  }
  return all
}

/**
 * Locks and reads the items' facts, a piece of ids at a time (inPieces) in ascending id order across the pieces,
 * so that racing batches queue behind each other's locks instead of deadlocking.
 */
function lockFacts(tx: Stores, actor: Actor, ids: number[]): Promise<Map<number, BatchFacts>> {
  const ordered = ids.length > PIECE ? [...ids].sort((a, b) => a - b) : ids
  return mapInPieces(ordered, (piece) => tx.trash.lockItemFacts(actor.tenantId, actor.userId, piece))
}

/**
 * Applies a per-item check: missing ids are NOT_FOUND (another tenant's ids included: they do not exist for
 * this actor); a check returning a result settles the item, null lets it through.
 */
async function decide(
  ids: number[],
  facts: Map<number, BatchFacts>,
  check: (item: BatchFacts) => ItemResult | null,
): Promise<{ results: Map<number, ItemResult>; allowed: BatchFacts[] }> {
  const results = new Map<number, ItemResult>()
  const allowed: BatchFacts[] = []
  await eachInTurns(ids, (id) => {
    const item = facts.get(id)
    if (!item) {
      results.set(id, fail(id, ErrorCodes.NOT_FOUND))
      return
    }
    const settled = check(item)
    if (settled) results.set(id, settled)
    else allowed.push(item)
  })
  return { results, allowed }
}

/** A member of a unit whose root is also requested goes along with the root (reported ok). */
async function absorbIntoRequestedRoots(
  allowed: BatchFacts[],
  results: Map<number, ItemResult>,
): Promise<BatchFacts[]> {
  const requested = new Set(allowed.map((item) => item.id))
  const units: BatchFacts[] = []
  await eachInTurns(allowed, (item) => {
    if (item.trashRoot !== null && item.trashRoot !== item.id && requested.has(item.trashRoot)) {
      results.set(item.id, ok(item, 0))
    } else units.push(item)
  })
  return units
}

const VERB: Record<policy.Right, string> = {
  view: 'seen',
  trash: 'deleted',
  restore: 'restored',
  empty: 'emptied from the trash',
  purge: 'purged',
  purgeActive: 'purged',
}

/**
 * An operation on a unit (a folder with its subtree, a trashed unit) needs the right on every member it would
 * change: each candidate with a member the actor may not change is refused whole, taken out of `candidates`
 * (and of `also`), its result saying how many members stand in the way but not which (no member the actor may
 * not see is named). The candidates themselves were decided by the policy already.
 */
async function refuseForbiddenMembers(
  tx: Stores,
  actor: Actor,
  right: policy.Right,
  candidates: BatchFacts[],
  results: Map<number, ItemResult>,
  also?: BatchFacts[],
  /** units' sizes (unitSizes): a unit larger than `rows` is checked a keyset range of `rows` at a time */
  large?: { sizes: Map<number, number>; rows: number },
): Promise<void> {
  // only a folder's unit has other members
  const folders = candidates.filter((item) => item.kind === 'folder').map((item) => item.id)
  const isLarge = (id: number) =>
    large !== undefined && !actor.admin && (large.sizes.get(id) ?? 0) > large.rows
  const ids = folders.filter((id) => !isLarge(id))
  const states: ('trashed' | 'emptied')[] = right === 'purge' ? ['trashed', 'emptied'] : ['trashed']
  const forbidden =
    right === 'trash' || right === 'purgeActive'
      ? await tx.trash.forbiddenInActiveSubtrees(actor, right, ids)
      : new Map(await tx.trash.forbiddenInUnits(actor, right, ids, states))
  for (const id of folders.filter(isLarge)) {
    let count = 0
    for (let after = 0; ; ) {
      const range = await tx.trash.forbiddenInUnitRange(actor, right, id, after, large!.rows, states)
      count += range.forbidden
      if (range.read < large!.rows || range.last === null) break
      after = range.last
    }
    if (count > 0) forbidden.set(id, count)
  }
  if (forbidden.size === 0) return
  for (const item of candidates) {
    const count = forbidden.get(item.id)
    if (count === undefined) continue
    results.set(item.id, {
      ...fail(item.id, ErrorCodes.ACCESS_DENIED, item),
      message: `${defaultMessage(ErrorCodes.ACCESS_DENIED)}: ${count} ${count === 1 ? 'item' : 'items'} in it may not be ${VERB[right]}`,
    })
  }
  for (const list of also ? [candidates, also] : [candidates])
    keepOnly(list, (item) => !forbidden.has(item.id))
}
