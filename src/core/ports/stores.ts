import type { AdminStore } from './admin-store.js'
import type { CleanupStore } from './cleanup-store.js'
import type { ItemStore } from './item-store.js'
import type { JobStore } from './job-store.js'
import type { ObjectStore } from './object-store.js'
import type { OperationStore } from './operation-store.js'
import type { PurgeStore } from './purge-store.js'
import type { SweepStore } from './sweep-store.js'
import type { TrashListingStore, TrashStore } from './trash-store.js'
import type { LoginFailureStore, UserStore } from './user-store.js'

/** Every store the core keeps its state in, all on one connection (the pool, or one unit of work). */
export interface Stores {
  readonly admin: AdminStore
  readonly cleanup: CleanupStore
  readonly items: ItemStore
  readonly jobs: JobStore
  /** listings and search; a whole listing streams outside any unit of work */
  readonly listing: TrashListingStore
  readonly loginFailures: LoginFailureStore
  readonly objects: ObjectStore
  readonly operations: OperationStore
  readonly purge: PurgeStore
  readonly sweep: SweepStore
  readonly trash: TrashStore
  readonly users: UserStore
}
