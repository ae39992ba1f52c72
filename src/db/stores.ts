import type { AdminStore } from '../core/ports/admin-store.js'
import type { CleanupStore } from '../core/ports/cleanup-store.js'
import type { ItemStore } from '../core/ports/item-store.js'
import type { JobStore } from '../core/ports/job-store.js'
import type { ObjectStore } from '../core/ports/object-store.js'
import type { OperationStore } from '../core/ports/operation-store.js'
import type { PurgeStore } from '../core/ports/purge-store.js'
import type { Stores } from '../core/ports/stores.js'
import type { SweepStore } from '../core/ports/sweep-store.js'
import type { TrashListingStore, TrashStore } from '../core/ports/trash-store.js'
import type { LoginFailureStore, UserStore } from '../core/ports/user-store.js'
import { PgAdminStore } from './admin-repository.js'
import { PgCleanupStore } from './cleanup-repository.js'
import { PgItemStore } from './item-store.js'
import { PgJobStore } from './job-repository.js'
import { PgLoginFailureStore } from './login-failure-repository.js'
import { PgObjectStore } from './object-repository.js'
import { PgOperationStore } from './operation-repository.js'
import { PgPurgeStore } from './purge-store.js'
import type { Queryable, TextQueryable } from './queryable.js'
import { PgSweepStore } from './sweep-repository.js'
import { PgTrashListingStore, PgTrashStore } from './trash-store.js'
import { PgUserStore } from './user-repository.js'

/**
 * The core's stores over the pool or one transaction's client. A unit of work makes one of these per
 * transaction, so each store is made only when first asked for.
 */
export class PgStores implements Stores {
  #admin?: AdminStore
  #cleanup?: CleanupStore
  #items?: ItemStore
  #jobs?: JobStore
  #listing?: TrashListingStore
  #loginFailures?: LoginFailureStore
  #objects?: ObjectStore
  #operations?: OperationStore
  #purge?: PurgeStore
  #sweep?: SweepStore
  #trash?: TrashStore
  #users?: UserStore

  /** `q`: the pool (which also streams listings) or one transaction's client */
  constructor(private readonly q: Queryable & Partial<TextQueryable>) {}

  get admin() {
    this.#admin ??= new PgAdminStore(this.q)
    return this.#admin
  }
  get cleanup() {
    this.#cleanup ??= new PgCleanupStore(this.q)
    return this.#cleanup
  }
  get items() {
    this.#items ??= new PgItemStore(this.q)
    return this.#items
  }
  get jobs() {
    this.#jobs ??= new PgJobStore(this.q)
    return this.#jobs
  }
  get listing() {
    this.#listing ??= new PgTrashListingStore(this.q)
    return this.#listing
  }
  get loginFailures() {
    this.#loginFailures ??= new PgLoginFailureStore(this.q)
    return this.#loginFailures
  }
  get objects() {
    this.#objects ??= new PgObjectStore(this.q)
    return this.#objects
  }
  get operations() {
    this.#operations ??= new PgOperationStore(this.q)
    return this.#operations
  }
  get purge() {
    this.#purge ??= new PgPurgeStore(this.q)
    return this.#purge
  }
  get sweep() {
    this.#sweep ??= new PgSweepStore(this.q)
    return this.#sweep
  }
  get trash() {
    this.#trash ??= new PgTrashStore(this.q)
    return this.#trash
  }
  get users() {
    this.#users ??= new PgUserStore(this.q)
    return this.#users
  }
}
