import type { CleanupRun, DryRunUnit } from '../../core/cleanup-job.js'
import { describeDueUnit } from '../../core/cleanup-job.js'
import type { JobRow } from '../../core/job-service.js'
import type { OperationRow } from '../../core/operation-service.js'
import { summarize, type UndoOutcome } from '../../core/trash-service.js'
import type { Actor, BatchResult, Door, Item, TrashEntry } from '../../core/types.js'
import { allHandles } from '../kit/handles.js'

export function itemJson(item: Item, path: string) {
  return {
    id: item.id,
    kind: item.kind,
    type: item.type,
    name: item.name,
    path,
    parentId: item.parentId,
    brandId: item.brandId,
    issueId: item.issueId,
    categoryId: item.categoryId,
    size: item.size,
    contentType: item.contentType,
    ownerId: item.ownerId,
    createdAt: item.createdAt,
    modifiedAt: item.modifiedAt,
    state: item.state,
    deletedAt: item.deletedAt,
    deletedBy: item.deletedBy,
    deletedVia: item.deletedVia,
    trashRoot: item.trashRoot,
    originalParentId: item.originalParentId,
    originalPath: item.originalPath,
    legalHold: item.legalHold,
    purgeError: item.purgeError,
    handles: allHandles(item.id, item.kind),
  }
}

export function trashEntryJson(entry: TrashEntry) {
  return {
    id: entry.id,
    kind: entry.kind,
    type: entry.type,
    name: entry.name,
    originalPath: entry.originalPath,
    size: entry.unitBytes,
    items: entry.unitSize,
    state: entry.state,
    deletedAt: entry.deletedAt,
    deletedBy: { id: entry.deletedBy, login: entry.deletedByLogin, name: entry.deletedByName },
    deletedVia: entry.deletedVia,
    expiresAt: entry.expiresAt,
    brand: entry.brandId === null ? null : { id: entry.brandId, name: entry.brandName },
    legalHold: entry.legalHold,
    purgeError: entry.purgeError,
    handles: allHandles(entry.id, entry.kind),
  }
}

export function batchJson(batch: BatchResult) {
  return {
    successCount: batch.successCount,
    warningCount: batch.warningCount,
    errorCount: batch.errorCount,
    results: batch.results,
  }
}

export function cleanupRunJson(run: CleanupRun) {
  return { ...run }
}

export function dryRunUnitJson(unit: DryRunUnit) {
  return {
    tenantId: unit.tenantId,
    id: unit.id,
    kind: unit.kind,
    name: unit.name,
    path: unit.path,
    reason: unit.held ? ('legal_hold' as const) : unit.reason,
    wouldPurge: !unit.held,
    items: unit.rows,
    bytes: unit.bytes,
    deletedAt: unit.deletedAt,
    emptiedAt: unit.emptiedAt,
    retentionDays: unit.retentionDays,
    retentionFrom: unit.retentionSource,
    purgeError: unit.purgeError,
    explanation: describeDueUnit(unit),
  }
}

export function operationJson(op: OperationRow) {
  return {
    id: op.id,
    actor: op.actorId === null ? null : { id: op.actorId, login: op.actorLogin },
    door: op.door as Door,
    action: op.action,
    client: op.client,
    remoteAddress: op.remoteAddress,
    startedAt: op.startedAt,
    finishedAt: op.finishedAt,
    requested: op.requested,
    outcomes: { ok: op.okCount, warning: op.warningCount, error: op.errorCount },
    items: op.items,
    undoOf: op.undoOf,
    session: op.session,
  }
}

export function jobJson(job: JobRow) {
  return {
    id: job.id,
    kind: job.kind,
    status: job.status,
    operation: job.operationId,
    undoOf: 'undoOf' in job.params ? job.params.undoOf : null,
    total: job.total,
    done: job.done,
    outcomes: { ok: job.okCount, warning: job.warningCount, error: job.errorCount },
    skippedCount: job.skippedCount,
    items: job.items,
    cancelRequested: job.cancelRequested,
    attempts: job.attempts,
    error: job.error,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
  }
}

export function undoJson(undoOf: string | null, outcome: UndoOutcome) {
  const batch = batchJson(summarize(outcome.results))
  return {
    ...(outcome.operationId ? { operation: outcome.operationId } : { preview: true as const }),
    undoOf,
    ...batch,
    skippedCount: outcome.skipped.length,
    skipped: outcome.skipped,
  }
}

/** The signed-in user as POST /sessions and GET /me answer it. */
export function me(actor: Actor) {
  return {
    id: actor.userId,
    tenantId: actor.tenantId,
    login: actor.login,
    displayName: actor.displayName,
    admin: actor.admin,
  }
}
