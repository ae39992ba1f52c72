import type { Item, ItemKind } from '../types.js'

/** Items one at a time, and where they stand in the folder tree. */

export interface RootPath {
  id: number
  /** full path of the item, '/'-separated, starting with '/' */
  path: string
  /** ids of the item's ancestors, nearest first */
  ancestorIds: number[]
}

export interface NewItem {
  tenantId: number
  kind: ItemKind
  type: string
  name: string
  parentId: number | null
  brandId?: number | null
  issueId?: number | null
  categoryId?: number | null
  size?: number
  blobKey?: string | null
  contentType?: string | null
  ownerId: number | null
}

export interface ItemStore {
  getItem(tenantId: number, id: number): Promise<Item | null>
  /** Full paths and ancestor chains of items, one walk for the whole batch. */
  pathsOf(tenantId: number, ids: number[]): Promise<Map<number, RootPath>>
  /** A new row; a name already taken among active siblings fails (the unit of work may retry on conflict). */
  insertItem(item: NewItem): Promise<Item>
}
