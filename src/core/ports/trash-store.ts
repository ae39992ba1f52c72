import type { Right, TrashVisibility } from '../policy.js'
import type {
  Actor,
  BatchFacts,
  Item,
  ItemFacts,
  ItemListing,
  ItemSearchFilter,
  TrashEntry,
  TrashFilter,
  TrashListingEntry,
  TrashPage,
} from '../types.js'
import type { RootPath } from './item-store.js'
import type { NewOperation } from './operation-store.js'

/** Runs a read when its turn comes (see UserQueue). */
export type Pace = <T>(read: () => Promise<T>) => Promise<T>

/**
 * The trash lifecycle (core/trash-service.ts). Every statement works on a whole batch, and every transition
 * writes its audit rows with it, so a transition and its audit row are kept or lost together.
 */

export interface RestoreTarget {
  id: number
  /** move the unit root under this parent (null: top level); undefined keeps the current parent */
  parentId?: number | null
  newName?: string
}

/** A single-item request done in one statement: the item as it was, and the rows it changed. */
export interface LoneOutcome {
  id: number
  name: string
  kind: 'file' | 'folder'
  affected: number
}

/** The item a lone trash addresses: by id, or by its path of names from the top level (srv.asmx's Path). */
export type LoneTarget = { id: number } | { path: string[] }

export interface TrashStore {
  /**
   * The common single-item trash in one statement outside any unit of work: an active item that is not a folder,
   * which the actor may trash, moved with its audit row and `op`'s row. Null: nothing changed, the general path
   * decides (and says why).
   */
  trashLoneItem(actor: Actor, target: LoneTarget, op: NewOperation): Promise<LoneOutcome | null>
  /**
   * The common single-item restore likewise: a unit of one item the actor may restore, going back into its
   * folder (still active) under its name (still free). Null: nothing changed, the general path decides.
   */
  restoreLoneUnit(actor: Actor, id: number, op: NewOperation): Promise<LoneOutcome | null>
  /**
   * Loads what a batch decides on (BatchFacts, not the whole row) and locks the items until the unit of work ends
   * (racing batches queue).
   */
  lockItemFacts(tenantId: number, userId: number, ids: number[]): Promise<Map<number, BatchFacts>>
  /** Reads facts without locking. */
  readItemFacts(tenantId: number, userId: number, ids: number[]): Promise<Map<number, ItemFacts>>
  /** Of these active items, those whose active subtree holds an item under legal hold (its own or its brand's). */
  activeSubtreesUnderHold(tenantId: number, ids: number[]): Promise<Set<number>>
  /**
   * active → trashed, each root with its active subtree as one unit; answers the rows moved per root. A root
   * without its path has it worked out by the same statement (a lone item: no round trip for pathsOf).
   */
  trashUnits(
    actor: Actor,
    roots: (Pick<RootPath, 'id'> & { path: string | null })[],
    detail?: Record<string, unknown> | null,
  ): Promise<Map<number, number>>
  /** trashed → active, each unit where its target says; answers the rows restored per unit. */
  restoreUnits(actor: Actor, targets: RestoreTarget[]): Promise<Map<number, number>>
  /** How many rows the units of these ids hold between them, counted up to `cap` at most. */
  countUnitRows(tenantId: number, ids: number[], cap: number): Promise<number>
  /**
   * How many rows each unit root's unit holds, counted up to `cap` at most (which units are too large for one
   * statement).
   */
  unitSizes(tenantId: number, rootIds: number[], cap: number): Promise<Map<number, number>>
  /**
   * restoreUnits for one keyset range of a large unit (its rows after `afterId` in id order, at most `limit`);
   * `read` < `limit`: it was the last range; `last`: where the next one starts.
   */
  restoreUnitRange(
    actor: Actor,
    target: RestoreTarget,
    afterId: number,
    limit: number,
  ): Promise<{ read: number; restored: number; last: number | null }>
  /** trashed → emptied; answers the rows emptied per unit. */
  emptyUnits(actor: Actor, ids: number[]): Promise<Map<number, number>>
  /** Active items with one of these names under a parent (null: top level). */
  activeNamesUnder(tenantId: number, parentId: number | null, names: string[]): Promise<Set<string>>
  activeChild(
    tenantId: number,
    parentId: number | null,
    name: string,
  ): Promise<{ id: number; kind: string } | null>
  /** Names of active items under a parent that start with `prefix`. */
  activeNamesLike(tenantId: number, parentId: number | null, prefix: string): Promise<Set<string>>
  /** Resolves a path of names from the top level; the last segment may be in one of `states`. */
  resolvePath(tenantId: number, segments: string[], states?: string[]): Promise<Item | null>
  /**
   * policy.may's twin over sets: per folder among `ids`, how many members of its active subtree (itself
   * included) the actor may not act on with `right`.
   */
  forbiddenInActiveSubtrees(actor: Actor, right: Right, ids: number[]): Promise<Map<number, number>>
  /** The same over trashed units (members in `states`). */
  forbiddenInUnits(
    actor: Actor,
    right: Right,
    ids: number[],
    states: readonly ('trashed' | 'emptied')[],
  ): Promise<Map<number, number>>
  /** forbiddenInUnits over one keyset range of a large unit (as restoreUnitRange goes through it). */
  forbiddenInUnitRange(
    actor: Actor,
    right: Right,
    rootId: number,
    afterId: number,
    limit: number,
    states: readonly ('trashed' | 'emptied')[],
  ): Promise<{ read: number; forbidden: number; last: number | null }>
}

export interface TrashFacets {
  brands: { id: number; name: string }[]
  deleters: { id: number; login: string; name: string | null }[]
  types: string[]
}

export interface DeleteLogRow {
  id: number
  at: Date
  action: string
  itemId: number
  itemKind: string | null
  itemName: string | null
  /** full '/'-separated path the item had when it was trashed */
  itemPath: string | null
  actorId: number | null
  actorName: string | null
  /** the active top-level folder (library) the path starts in, when it still exists */
  libraryId: number | null
  libraryName: string | null
}

export interface DeleteLogFilter {
  actions: string[]
  from?: Date
  to?: Date
  /** '/'-separated folder path: only items at or under it */
  pathPrefix?: string
}

/** What the trash and the items look like to a reader: listings, counts, search, the delete log. */
export interface TrashListingStore {
  listTrash(visibility: TrashVisibility, filter: TrashFilter, page: TrashPage): Promise<TrashEntry[]>
  countTrash(visibility: TrashVisibility, filter: TrashFilter): Promise<number>
  /** The brands, deleters and types present in the visible trash. */
  trashFacets(visibility: TrashVisibility, filter: TrashFilter): Promise<TrashFacets>
  /** The keyset cursor of the page that follows this entry in the given order. */
  cursorAfter(
    entry: TrashEntry | { deletedAt: Date | null; id: number },
    sort?: TrashPage['sort'],
    direction?: TrashPage['direction'],
  ): string
  /**
   * A whole listing in batches, each read on its own (nothing is held between batches); `pace`, when given,
   * runs each batch's read (and decides when it starts).
   */
  streamTrash(
    visibility: TrashVisibility,
    filter: TrashFilter,
    batchSize?: number,
    pace?: Pace,
  ): AsyncGenerator<TrashListingEntry[]>
  /** A page of the tenant's trash history, a unit at a time, oldest first after an audit id. */
  listDeleteLog(
    tenantId: number,
    filter: DeleteLogFilter,
    afterId: number,
    limit: number,
  ): Promise<DeleteLogRow[]>
  searchItems(
    visibility: TrashVisibility,
    filter: ItemSearchFilter,
    page: { limit: number; offset: number },
  ): Promise<{ total: number; items: ItemListing[] }>
  listItemsByIds(
    visibility: TrashVisibility,
    ids: number[],
    kind?: ItemSearchFilter['kind'],
  ): Promise<ItemListing[]>
  /** The brands a user may view (whose events the user may receive). */
  viewableBrandIds(tenantId: number, userId: number): Promise<Set<number>>
}
