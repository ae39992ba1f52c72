import type { ItemStore, NewItem } from '../core/ports/item-store.js'
import type { Queryable } from './queryable.js'
import { getItem, insertItem, pathsOf } from './item-repository.js'

/** Items one at a time over the pool or one transaction (the statements live in item-repository.ts). */
export class PgItemStore implements ItemStore {
  constructor(private readonly q: Queryable) {}
  getItem(tenantId: number, id: number) {
    return getItem(this.q, tenantId, id)
  }
  pathsOf(tenantId: number, ids: number[]) {
    return pathsOf(this.q, tenantId, ids)
  }
  insertItem(item: NewItem) {
    return insertItem(this.q, item)
  }
}
