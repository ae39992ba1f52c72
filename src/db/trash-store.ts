import type { Right, TrashVisibility } from '../core/policy.js'
import type { RootPath } from '../core/ports/item-store.js'
import type { NewOperation } from '../core/ports/operation-store.js'
import type {
  DeleteLogFilter,
  LoneTarget,
  Pace,
  RestoreTarget,
  TrashListingStore,
  TrashStore,
} from '../core/ports/trash-store.js'
import type { Actor, ItemSearchFilter, TrashEntry, TrashFilter, TrashPage } from '../core/types.js'
import { listDeleteLog } from './audit-repository.js'
import { viewableBrandIds } from './event-repository.js'
import {
  activeChild,
  activeNamesLike,
  activeNamesUnder,
  activeSubtreesUnderHold,
  lockItemFacts,
  readItemFacts,
  resolvePath,
} from './item-repository.js'
import { listItemsByIds, searchItems } from './item-search-repository.js'
import { restoreLoneUnit, trashLoneItem } from './lone-item.js'
import type { Queryable, TextQueryable } from './queryable.js'
import { forbiddenInActiveSubtrees, forbiddenInUnitRange, forbiddenInUnits } from './rights-sql.js'
import { encodeCursor } from './trash-cursor.js'
import {
  countUnitRows,
  emptyUnits,
  restoreUnitRange,
  restoreUnits,
  trashUnits,
  unitSizes,
} from './trash-lifecycle.js'
import { streamTrashListing } from './trash-listing.js'
import { countTrash, listTrash, trashFacets } from './trash-page.js'

/** The trash lifecycle's statements over the pool or one transaction. */
export class PgTrashStore implements TrashStore {
  constructor(private readonly q: Queryable) {}
  lockItemFacts(tenantId: number, userId: number, ids: number[]) {
    return lockItemFacts(this.q, tenantId, userId, ids)
  }
  readItemFacts(tenantId: number, userId: number, ids: number[]) {
    return readItemFacts(this.q, tenantId, userId, ids)
  }
  activeSubtreesUnderHold(tenantId: number, ids: number[]) {
    return activeSubtreesUnderHold(this.q, tenantId, ids)
  }
  trashUnits(
    actor: Actor,
    roots: (Pick<RootPath, 'id'> & { path: string | null })[],
    detail?: Record<string, unknown> | null,
  ) {
    return trashUnits(this.q, actor, roots, detail)
  }
  trashLoneItem(actor: Actor, target: LoneTarget, op: NewOperation) {
    return trashLoneItem(this.q, actor, target, op)
  }
  restoreLoneUnit(actor: Actor, id: number, op: NewOperation) {
    return restoreLoneUnit(this.q, actor, id, op)
  }
  restoreUnits(actor: Actor, targets: RestoreTarget[]) {
    return restoreUnits(this.q, actor, targets)
  }
  countUnitRows(tenantId: number, ids: number[], cap: number) {
    return countUnitRows(this.q, tenantId, ids, cap)
  }
  unitSizes(tenantId: number, rootIds: number[], cap: number) {
    return unitSizes(this.q, tenantId, rootIds, cap)
  }
  restoreUnitRange(actor: Actor, target: RestoreTarget, afterId: number, limit: number) {
    return restoreUnitRange(this.q, actor, target, afterId, limit)
  }
  emptyUnits(actor: Actor, ids: number[]) {
    return emptyUnits(this.q, actor, ids)
  }
  activeNamesUnder(tenantId: number, parentId: number | null, names: string[]) {
    return activeNamesUnder(this.q, tenantId, parentId, names)
  }
  activeChild(tenantId: number, parentId: number | null, name: string) {
    return activeChild(this.q, tenantId, parentId, name)
  }
  activeNamesLike(tenantId: number, parentId: number | null, prefix: string) {
    return activeNamesLike(this.q, tenantId, parentId, prefix)
  }
  resolvePath(tenantId: number, segments: string[], states?: string[]) {
    return resolvePath(this.q, tenantId, segments, states)
  }
  forbiddenInActiveSubtrees(actor: Actor, right: Right, ids: number[]) {
    return forbiddenInActiveSubtrees(this.q, actor, right, ids)
  }
  forbiddenInUnits(actor: Actor, right: Right, ids: number[], states: readonly ('trashed' | 'emptied')[]) {
    return forbiddenInUnits(this.q, actor, right, ids, states)
  }
  forbiddenInUnitRange(
    actor: Actor,
    right: Right,
    rootId: number,
    afterId: number,
    limit: number,
    states: readonly ('trashed' | 'emptied')[],
  ) {
    return forbiddenInUnitRange(this.q, actor, right, rootId, afterId, limit, states)
  }
}

/** Listings, search and the delete log; whole listings stream on the pool (`TextQueryable`). */
export class PgTrashListingStore implements TrashListingStore {
  constructor(private readonly q: Queryable & Partial<TextQueryable>) {}
  listTrash(visibility: TrashVisibility, filter: TrashFilter, page: TrashPage) {
    return listTrash(this.q, visibility, filter, page)
  }
  countTrash(visibility: TrashVisibility, filter: TrashFilter) {
    return countTrash(this.q, visibility, filter)
  }
  trashFacets(visibility: TrashVisibility, filter: TrashFilter) {
    return trashFacets(this.q, visibility, filter)
  }
  cursorAfter(
    entry: TrashEntry | { deletedAt: Date | null; id: number },
    sort?: TrashPage['sort'],
    direction?: TrashPage['direction'],
  ) {
    return encodeCursor(entry, sort, direction)
  }
  streamTrash(visibility: TrashVisibility, filter: TrashFilter, batchSize?: number, pace?: Pace) {
    // each batch is its own statement on a pooled connection: a transaction's client cannot serve one
    if (!this.q.queryText) throw new Error('A whole listing streams on the pool, not in a unit of work')
    return streamTrashListing(this.q as TextQueryable, visibility, filter, batchSize, pace)
  }
  listDeleteLog(tenantId: number, filter: DeleteLogFilter, afterId: number, limit: number) {
    return listDeleteLog(this.q, tenantId, filter, afterId, limit)
  }
  searchItems(
    visibility: TrashVisibility,
    filter: ItemSearchFilter,
    page: { limit: number; offset: number },
  ) {
    return searchItems(this.q, visibility, filter, page)
  }
  listItemsByIds(visibility: TrashVisibility, ids: number[], kind?: ItemSearchFilter['kind']) {
    return listItemsByIds(this.q, visibility, ids, kind)
  }
  viewableBrandIds(tenantId: number, userId: number) {
    return viewableBrandIds(this.q, tenantId, userId)
  }
}
