/** The purge protocol's steps 2 to 4 over the rows one token marked (core/purge-protocol.ts). */

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

export interface MarkedBlob {
  id: number
  name: string
  blobKey: string
}

export interface PurgeStore {
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
