import type { Actor, ItemKind } from '../types.js'

/** The purge protocol's steps (core/purge-protocol.ts): marking, then steps 2 to 4 over the rows one token marked. */

/** Who a purge is recorded for in the audit: a user through a door, or the cleanup job (no user). */
export interface AuditActor {
  tenantId: number
  userId: number | null
  login: string | null
  door: string
  /** the session's tag in events (see Actor) */
  eventTicket?: string
  /** the operation the purge belongs to: the audit rows its later steps write keep it */
  operationId?: string
}

/** One unit to mark: the addressed id, the audit action its rows get when deleted, and optional detail. */
export interface PurgeUnit {
  id: number
  action: string
  detail?: Record<string, unknown> | null
}

export interface MarkResult {
  /** rows marked per addressed id (units with stored files: steps 2 to 4 finish them) */
  marked: Map<number, number>
  /** rows deleted at once per addressed id (units without stored files: nothing outside the database waits) */
  deleted: Map<number, number>
  /** addressed ids whose unit holds an item under legal hold (nothing of them was touched) */
  held: number[]
}

export interface OwnBinBatch {
  /** unit roots this batch addressed, and the last of them (the next batch starts after it) */
  roots: number
  lastRootId: number
  /** rows deleted at once (units without stored files) */
  deletedRows: number
  /** rows marked per addressed unit (units with stored files: the rest of the protocol finishes them) */
  marked: Map<number, number>
  /** the held roots, with their names for the failure report */
  heldItems: Map<number, { name: string; kind: ItemKind }>
}

export interface MarkedBlob {
  id: number
  name: string
  blobKey: string
}

/** Whose bin: the units `deletedBy` deleted; `only`: of those, these roots alone (what a plug-in was shown). */
export interface OwnBinScope {
  deletedBy: number
  only?: number[]
}

export interface PurgeStore {
  /**
   * Step 1 for the addressed units (trashed or emptied), one statement: units under legal hold are left alone,
   * units without stored files deleted at once with their audit rows, the others marked with `token`.
   */
  markForPurge(actor: AuditActor, units: PurgeUnit[], token: string): Promise<MarkResult>
  /** Step 1 for the next batch of the units the actor deleted (own bin), after `afterId`. */
  markOwnBinForPurge(
    actor: Actor,
    scope: OwnBinScope,
    afterId: number,
    limit: number,
    token: string,
    action: string,
  ): Promise<OwnBinBatch>
  /** The units of the own bin (their roots, in id order), those the actor may not purge too; the first `limit`. */
  ownBinRoots(actor: Actor, scope: OwnBinScope, limit?: number): Promise<number[]>
  /** The units of the own bin the actor may not purge (reported, left in the bin). */
  ownBinUnpurgeable(
    actor: Actor,
    scope: { deletedBy: number },
  ): Promise<{ id: number; name: string; kind: ItemKind }[]>
  /** Step 2 input: the stored files of the rows a token marked, in id order, a page at a time. */
  markedBlobs(tenantId: number, token: string, afterId: number, limit: number): Promise<MarkedBlob[]>
  /**
   * Step 2 heartbeat: a purge still removing files refreshes its rows' timestamp, so the cleanup job never takes
   * over a purge whose process is alive.
   */
  touchPurge(tenantId: number, token: string): Promise<void>
  /**
   * After a storage failure: the failed rows and their ancestors in the purge go back to the state they had,
   * with the error recorded. Answers the rows put back.
   */
  revertPurge(
    actor: AuditActor,
    token: string,
    failed: { id: number; message: string }[],
  ): Promise<{ id: number; parentId: number | null }[]>
  /** Step 4: deletes the rows still marked with the token, with their audit rows; answers how many. */
  finishPurge(tenantId: number, token: string): Promise<number>
}
