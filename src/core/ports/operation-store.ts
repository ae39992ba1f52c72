/** The operation log: one row per request that changed the trash, one per cleanup run in a tenant. */

/** One recorded operation: a request that trashed, restored, emptied or purged, or a cleanup run in a tenant. */
export interface OperationRow {
  tenantId: number
  id: string
  actorId: number | null
  actorLogin: string | null
  door: string
  action: string
  client: string | null
  remoteAddress: string | null
  startedAt: Date
  finishedAt: Date
  requested: number
  okCount: number
  warningCount: number
  errorCount: number
  items: number
  undoOf: string | null
}

export type NewOperation = Omit<OperationRow, 'finishedAt'>

export interface OperationFilter {
  /** only this actor's operations (a user who is not an administrator sees only their own) */
  actorId?: number
  actorLogin?: string
  door?: string
  action?: string
  from?: Date
  to?: Date
  minItems?: number
}

/** The keyset position of a page of operations, newest first. */
export interface OperationCursor {
  startedAt: string
  id: string
}

/** A unit an operation changed (a trashed folder once, with how many of its members went along), as of now. */
export interface OperationUnit {
  auditId: number
  at: Date
  action: string
  itemId: number
  kind: string | null
  name: string | null
  path: string | null
  /** rows of the unit the operation changed, the unit's own row included (1 when not counted) */
  items: number
  /** the item's state now; null when it is gone (purged) */
  state: string | null
  /** the unit is still in the trash as this operation left it (trashed by it, not restored or deleted since) */
  stillTrashed: boolean
}

export interface OperationStore {
  insertOperation(op: NewOperation): Promise<void>
  /** A purge whose stored files could not all be removed: the units that failed move from ok to error. */
  recordLateFailures(tenantId: number, id: string, failedUnits: number): Promise<void>
  /**
   * A cleanup run's operation, one row per tenant it changed, counted from the audit rows it wrote under its id.
   */
  insertRunOperations(id: string, startedAt: Date, failedByTenant: Map<number, number>): Promise<void>
  /** A page of a tenant's operations, newest first, after a keyset cursor. */
  listOperations(
    tenantId: number,
    filter: OperationFilter,
    after: OperationCursor | null,
    limit: number,
  ): Promise<OperationRow[]>
  getOperation(tenantId: number, id: string): Promise<OperationRow | null>
  /**
   * A page of the units some operations changed, in the order they changed them (audit id keyset);
   * `countMembers` (default true): with how many rows of each unit the operation changed.
   */
  listOperationUnits(
    tenantId: number,
    operationIds: string[],
    afterAuditId: number,
    limit: number,
    countMembers?: boolean,
  ): Promise<OperationUnit[]>
}
