import type { Stores } from './stores.js'

export interface UnitOfWorkOptions {
  /**
   * Run the whole unit again when it lost a race for a unique key (another unit committed the same name
   * first): what the unit read is stale, so it decides again. Deadlocks and serialization failures are always
   * run again.
   */
  retryOnConflict?: boolean
  /** attempts in all, the first included (8 when left out) */
  maxAttempts?: number
  /** the acting session's event tag (Ticket of Enterprise events): kept by the audit rows the unit writes */
  eventTicket?: string
  /** the operation the unit acts for: kept by the audit rows it writes */
  operationId?: string
}

/**
 * Where the core keeps its state. `stores` answer outside any transaction (each call stands alone);
 * `unitOfWork` runs `work` with stores bound to one transaction: all of it is kept, or none of it.
 */
export interface Persistence {
  readonly stores: Stores
  unitOfWork<T>(work: (tx: Stores) => Promise<T>, options?: UnitOfWorkOptions): Promise<T>
}
