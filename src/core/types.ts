import type { ErrorCode } from './errors.js'

/** Which front door an operation came through; recorded in audit rows and sessions. */
export type Door = 'rest' | 'ips' | 'asmx' | 'enterprise' | 'cleanup' | 'cli' | 'web'

export interface Actor {
  tenantId: number
  userId: number
  login: string
  displayName: string | null
  admin: boolean
  ipsRole: string
  door: Door
  /** the session's tag in events (eventTicketOf its ticket); absent when the actor did not come with a ticket */
  eventTicket?: string
  /** the client as it named itself (user agent, Enterprise ClientName, IPS appName), for the operation log */
  client?: string
  /** the remote address the request came from, for the operation log */
  remoteAddress?: string
}

export type ItemState = 'active' | 'trashed' | 'emptied' | 'purging'
export type ItemKind = 'folder' | 'file'

export interface BrandRights {
  view: boolean
  delete: boolean
  purge: boolean
  /** open or download an object's file (Enterprise "Read"); absent where a door has no such right: granted */
  read?: boolean
}

/** An item as the core sees it when deciding: its row plus the actor's rights on its brand. */
export interface Item {
  tenantId: number
  id: number
  kind: ItemKind
  type: string
  name: string
  parentId: number | null
  brandId: number | null
  issueId: number | null
  categoryId: number | null
  size: number
  blobKey: string | null
  contentType: string | null
  ownerId: number | null
  createdAt: Date
  createdBy: number | null
  modifiedAt: Date
  modifiedBy: number | null
  state: ItemState
  deletedAt: Date | null
  deletedBy: number | null
  deletedVia: string | null
  trashRoot: number | null
  originalParentId: number | null
  originalPath: string | null
  emptiedAt: Date | null
  legalHold: boolean
  purgeError: string | null
}

export interface ItemFacts extends Item {
  rights: BrandRights | null
  brandLegalHold: boolean
}

/**
 * What a batch's checks, plan and results read of each item (TrashStore.lockItemFacts reads these alone): a
 * 10,000-item batch holds them until it ends, and the rest of a row (its dates above all) cost as much again to
 * decode and keep.
 */
export type BatchFacts = Pick<
  ItemFacts,
  | 'tenantId'
  | 'id'
  | 'kind'
  | 'name'
  | 'parentId'
  | 'state'
  | 'ownerId'
  | 'deletedBy'
  | 'brandId'
  | 'rights'
  | 'legalHold'
  | 'brandLegalHold'
  | 'trashRoot'
  | 'originalParentId'
  | 'originalPath'
>

/** A trash listing row: the item, the actor's rights on it, and names the doors display. */
export interface TrashEntry extends ItemFacts {
  deletedByLogin: string | null
  deletedByName: string | null
  brandName: string | null
  /** when the cleanup job will purge it; null = never (retention 0 or legal hold) */
  expiresAt: Date | null
  /** number of items in the unit (1 for a file, the subtree size for a trashed folder) */
  unitSize: number
  /** bytes in the unit */
  unitBytes: number
  /** a trashed folder unit holding a member the actor may not restore / purge (the whole unit is refused then) */
  unitRefuses?: { restore: boolean; purge: boolean }
  /** a timestamp the listing sorted by, to the microsecond (a Date keeps milliseconds): for cursors */
  sortKey?: string
}

export type ResultStatus = 'ok' | 'warning' | 'error'

export interface ItemResult {
  id: number
  status: ResultStatus
  code?: ErrorCode
  message?: string
  /** the item's name at the time of the operation, when it exists */
  name?: string
  kind?: ItemKind
  /** restore: the name the item was given because its own was taken */
  renamedTo?: string
  /** restore: the folders made again for it because its original path was gone ('/'-separated paths) */
  recreatedFolders?: string[]
  /** how many rows the operation touched for this id (a folder unit counts its subtree) */
  affected?: number
  /** purge: the files of the unit that could not be removed from storage */
  failures?: { id: number; name: string; message: string }[]
}

export interface BatchResult {
  results: ItemResult[]
  successCount: number
  warningCount: number
  errorCount: number
}

export type MissingParentChoice = 'recreate' | 'error'

export interface RestoreOptions {
  /** restore into this active folder instead of the original one (null: library root) */
  targetFolderId?: number | null
  /** what to do when the original folder is gone and no target is given */
  onMissingParent?: MissingParentChoice
}

export interface TrashFilter {
  /** own: what the actor deleted; visible: everything the actor may see (admins: the whole tenant) */
  scope: 'own' | 'visible'
  /** default trashed; 'active' lists the workflow (Enterprise QueryObjects over the Workflow area) */
  states?: ('trashed' | 'emptied' | 'active')[]
  /** only unit roots (a trashed folder is listed once, not with its subtree) */
  rootsOnly?: boolean
  name?: string
  nameExact?: boolean
  type?: string
  kind?: ItemKind
  brandId?: number
  issueId?: number
  categoryId?: number
  deletedBy?: number
  deletedByLogin?: string
  deletedFrom?: Date
  deletedTo?: Date
  sizeMin?: number
  sizeMax?: number
  ids?: number[]
  /** only what the actor may purge (Enterprise: empty the Trash Can) */
  purgeable?: boolean
}

export type TrashSortColumn =
  | 'deletedAt'
  | 'name'
  | 'size'
  | 'type'
  | 'deletedBy'
  | 'path'
  | 'brand'
  | 'id'
  | 'modifiedAt'
  | 'expiresAt'

export interface TrashPage {
  limit: number
  offset?: number
  /** opaque keyset cursor from a previous page (default sort only) */
  cursor?: string
  sort?: TrashSortColumn
  direction?: 'asc' | 'desc'
}

/** Items in any lifecycle state (IPS searchAssets/getAssets list active and trashed assets alike). */
export interface ItemSearchFilter {
  states: ('active' | 'trashed' | 'emptied')[]
  kind?: ItemKind
  /**
   * Folder names from the top level ([] = the top level itself); undefined searches the whole tenant. Active
   * items match by where they are, trashed and emptied ones by the folder they were deleted from.
   */
  folder?: string[]
  includeSubfolders?: boolean
  types?: string[]
  excludeTypes?: string[]
}

/** An item with its folder path and the users who created and last changed it. */
export interface ItemListing extends Item {
  /** 'Library/images/' ('' at the top level): where an active item is, or where a trashed one was */
  folderPath: string
  /** e-mail of the creator, else their login */
  createdByUser: string | null
  modifiedByUser: string | null
}

/** What a streamed bin listing (srv.asmx) shows of a trashed unit: the few columns of a TrashEntry it renders. */
export type TrashListingEntry = Pick<
  TrashEntry,
  | 'id'
  | 'kind'
  | 'name'
  | 'state'
  | 'size'
  | 'unitBytes'
  | 'deletedAt'
  | 'deletedBy'
  | 'deletedByLogin'
  | 'originalParentId'
  | 'originalPath'
>

/** The most ids (or handles, paths) one request may name, at every door: bigger batches are refused whole. */
export const MAX_BATCH_IDS = 10_000
