import type { OperationStore } from './operation-store.js'
import type { PurgeStore } from './purge-store.js'
import type { SweepStore } from './sweep-store.js'
import type { LoginFailureStore, UserStore } from './user-store.js'

/** Every store the core keeps its state in, all on one connection (the pool, or one unit of work). */
export interface Stores {
  readonly operations: OperationStore
  readonly purge: PurgeStore
  readonly sweep: SweepStore
  readonly users: UserStore
  readonly loginFailures: LoginFailureStore
}
