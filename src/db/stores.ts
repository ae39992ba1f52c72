import type { OperationStore } from '../core/ports/operation-store.js'
import type { PurgeStore } from '../core/ports/purge-store.js'
import type { Stores } from '../core/ports/stores.js'
import type { SweepStore } from '../core/ports/sweep-store.js'
import type { LoginFailureStore, UserStore } from '../core/ports/user-store.js'
import { PgLoginFailureStore } from './login-failure-repository.js'
import { PgOperationStore } from './operation-repository.js'
import { PgPurgeStore } from './purge-store.js'
import type { Queryable } from './queryable.js'
import { PgSweepStore } from './sweep-repository.js'
import { PgUserStore } from './user-repository.js'

/** The core's stores over the pool or one transaction's client; each store is made when first asked for. */
export class PgStores implements Stores {
  #operations?: OperationStore
  #purge?: PurgeStore
  #sweep?: SweepStore
  #users?: UserStore
  #loginFailures?: LoginFailureStore
  constructor(private readonly q: Queryable) {}
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
  get users() {
    this.#users ??= new PgUserStore(this.q)
    return this.#users
  }
  get loginFailures() {
    this.#loginFailures ??= new PgLoginFailureStore(this.q)
    return this.#loginFailures
  }
}
