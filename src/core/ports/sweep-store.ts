/** The orphan sweep's state and questions (core/sweep.ts). */

export type SweepWalk = 'objects' | 'rows'

export interface StoredFileRow {
  tenantId: number
  itemId: number
  /** the item's own file (its current version's) */
  itemKey: string
  /** older versions whose native file is not the item's */
  versions: { major: number; minor: number; key: string }[]
}

export interface SweepStore {
  /** where the walk stopped last (null: at the start) */
  position(walk: SweepWalk): Promise<string | null>
  savePosition(walk: SweepWalk, position: string | null): Promise<void>
  /** The keys among `keys` that some row holds (an item's file, a version's file or rendition), in any tenant. */
  referencedKeys(keys: string[]): Promise<Set<string>>
  /**
   * A page of file rows after (tenantId, itemId), in that order, with the native files of their versions. Rows
   * being purged are left out: their purge removes their files.
   */
  storedFileRows(after: { tenantId: number; itemId: number } | null, limit: number): Promise<StoredFileRow[]>
  /**
   * Purge step 1 for items whose file is gone from the store: marked like any purge (by the cleanup job, the
   * reason recorded), whatever their state, unless it changed file or state meanwhile or is under legal hold.
   * Answers how many were marked.
   */
  markItemsWithoutFile(tenantId: number, items: { id: number; key: string }[], token: string): Promise<number>
  /** Removes version rows whose native file is gone from the store (never the item's current one). */
  deleteVersionsWithoutFile(
    tenantId: number,
    versions: { itemId: number; major: number; minor: number; key: string }[],
  ): Promise<number>
}
