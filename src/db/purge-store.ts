import type { AuditActor, OwnBinScope, PurgeStore, PurgeUnit } from '../core/ports/purge-store.js'
import type { Actor } from '../core/types.js'
import type { Queryable } from './queryable.js'
import {
  finishPurge,
  markedBlobs,
  markForPurge,
  markOwnBinForPurge,
  ownBinRoots,
  ownBinUnpurgeable,
  revertPurge,
  touchPurge,
} from './purge-statements.js'

/** The purge protocol's statements (they live in purge-statements.ts) over the pool or one transaction. */
export class PgPurgeStore implements PurgeStore {
  constructor(private readonly q: Queryable) {}
  markForPurge(actor: AuditActor, units: PurgeUnit[], token: string) {
    return markForPurge(this.q, actor, units, token)
  }
  markOwnBinForPurge(
    actor: Actor,
    scope: OwnBinScope,
    afterId: number,
    limit: number,
    token: string,
    action: string,
  ) {
    return markOwnBinForPurge(this.q, actor, scope, afterId, limit, token, action)
  }
  ownBinRoots(actor: Actor, scope: OwnBinScope, limit?: number) {
    return ownBinRoots(this.q, actor, scope, limit)
  }
  ownBinUnpurgeable(actor: Actor, scope: { deletedBy: number }) {
    return ownBinUnpurgeable(this.q, actor, scope)
  }
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
