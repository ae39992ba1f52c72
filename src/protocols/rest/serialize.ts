import type { BatchResult, Item, TrashEntry } from '../../core/types.js'
import { allHandles } from '../handles.js'

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
