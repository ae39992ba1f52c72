import type { AuditActor, PurgeStore } from '../core/ports/purge-store.js'
import type { Queryable } from './queryable.js'
import { finishPurge, markedBlobs, revertPurge, touchPurge } from './trash-repository.js'

/** The purge protocol's later steps (the statements live in trash-repository.ts beside step 1). */
export class PgPurgeStore implements PurgeStore {
  constructor(private readonly q: Queryable) {}
  markedBlobs(tenantId: number, token: string, afterId: number, limit: number) {
    return markedBlobs(this.q, tenantId, token, afterId, limit)
  }
  touchPurge(tenantId: number, token: string) {
    return touchPurge(this.q, tenantId, token)
  }
  revertPurge(actor: AuditActor, token: string, failed: { id: number; message: string }[]) {
    return revertPurge(this.q, actor, token, failed)
  }
  finishPurge(tenantId: number, token: string) {
    return finishPurge(this.q, tenantId, token)
  }
}
