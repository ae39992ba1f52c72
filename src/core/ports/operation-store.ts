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
  /** the session the request came with, as events tag it (null: none, e.g. IPS, HTTP Basic, the cleanup job) */
  session: string | null
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
  /** the session tag of the operations' requests */
  session?: string
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

/** A request's answer kept under its Idempotency-Key. */
export interface KeptAnswer {
  status: number
  contentType: string
  body: string
}

/** What a request naming a key finds: the key is its own now, or an earlier request of the same user had it. */
export type KeyClaim =
  | { claimed: true }
  | { claimed: false; fingerprint: string; answer: KeptAnswer | null }
  /** another request took the key in the same moment and has not committed its claim yet */
  | { claimed: false; fingerprint: null; answer: null }

export interface OperationStore {
  /**
   * Takes the key for a request unless the user's earlier request holds it: answered within `keepSeconds`, or
   * still being answered and started within `staleSeconds`. The user's keys older than `keepSeconds` go.
   */
  claimKey(
    tenantId: number,
    userId: number,
    key: string,
    fingerprint: string,
    limits: { keepSeconds: number; staleSeconds: number },
  ): Promise<KeyClaim>
  /** Keeps the answer of the request that holds the key. */
  keepAnswer(tenantId: number, userId: number, key: string, answer: KeptAnswer): Promise<void>
  /** Gives the key back (the request failed before acting), so that a retry acts. */
  releaseKey(tenantId: number, userId: number, key: string): Promise<void>
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
  /** How many units some operations trashed (what undoing them goes through), and how many rows in all. */
  countTrashed(tenantId: number, operationIds: string[]): Promise<{ units: number; items: number }>
  listOperationUnits(
    tenantId: number,
    operationIds: string[],
    afterAuditId: number,
    limit: number,
    countMembers?: boolean,
  ): Promise<OperationUnit[]>
}
