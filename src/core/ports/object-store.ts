import type { ItemFacts } from '../types.js'

/** Object reads (Enterprise GetObjects, versions, renditions), the version history of items, Trash Can columns. */

export interface ObjectRow extends ItemFacts {
  brandName: string | null
  issueName: string | null
  categoryName: string | null
  creatorLogin: string | null
  modifierLogin: string | null
  deletorLogin: string | null
  /** the current version number; null: a file without history (0.1) */
  version: string | null
}

export interface VersionRow {
  itemId: number
  major: number
  minor: number
  blobKey: string
  size: number
  contentType: string | null
  thumbBlobKey: string | null
  previewBlobKey: string | null
  comment: string
  createdAt: Date
  creatorLogin: string | null
}

export interface NewVersion {
  tenantId: number
  itemId: number
  blobKey: string
  size: number
  contentType: string | null
  thumbBlobKey: string | null
  previewBlobKey: string | null
  comment: string
  createdBy: number | null
  /** true: the next major version (x+1.0); false: the next minor one (x.y+1) */
  major: boolean
}

export interface ObjectStore {
  /** Items with the actor's rights and the names their metadata shows, one statement for the batch. */
  readObjects(tenantId: number, userId: number, ids: number[]): Promise<Map<number, ObjectRow>>
  /** The version history of items, oldest first (a file without history has one version, 0.1: its file). */
  listVersions(tenantId: number, itemIds: number[]): Promise<VersionRow[]>
  /**
   * Adds a version to an active file and makes it the current one; answers the number given, or null when there
   * is no such active file.
   */
  insertVersion(version: NewVersion): Promise<{ major: number; minor: number } | null>
  /** The columns the tenant's Trash Can query shows (null: the standard set). */
  trashColumns(tenantId: number): Promise<string[] | null>
  /** false: no such tenant */
  setTrashColumns(tenantId: number, columns: string[] | null): Promise<boolean>
}
