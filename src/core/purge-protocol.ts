import { defaultMessage, ErrorCodes } from './errors.js'
import type { BlobStore } from './ports/blob-store.js'
import type { AuditActor, MarkedBlob } from './ports/purge-store.js'
import type { Persistence } from './ports/unit-of-work.js'

/**
 * The one purge protocol, shared by every purge path (user purge, own-bin empty, the cleanup job, recovery of a
 * crashed purge):
 *
 * 1. mark: the rows get state 'purging' and a token, in one transaction with the caller's checks
 *    (TrashStore.markForPurge). From then on they are invisible and not restorable. Units without stored files are
 *    deleted by that same statement, with their audit rows: nothing outside the database is left to remove.
 * 2. remove the stored files of the marked rows (deleting a missing file succeeds, so this step can be redone).
 * 3. put back the rows whose file could not be removed, with their ancestors in the purge, the error recorded
 *    (PurgeStore.revertPurge): nothing is left half-gone, and the cleanup job retries them.
 * 4. delete the rows still marked, with their audit rows (PurgeStore.finishPurge).
 *
 * A crash after step 1 leaves rows in 'purging' whose files may or may not exist yet; their timestamp stops being
 * refreshed, and the cleanup job takes them over under a new token and runs steps 2 to 4 for them. So outside
 * that recorded window there is never a row without its file nor a file without its row.
 */

const BLOB_PAGE = 2000
/** well below the cleanup job's stale-after time (CLEANUP_STALE_AFTER, 900 s by default) */
const TOUCH_EVERY_MS = 30_000

export interface PurgeFailure {
  id: number
  name: string
  message: string
}

/** Points between the steps, for the crash tests (see cleanup-job.ts). */
export type PurgeCheckpoint = 'after-mark' | 'mid-blobs' | 'after-blobs'

export interface CompletedPurge {
  /** rows deleted */
  purged: number
  /** files that could not be removed (their rows were put back with the error) */
  failures: PurgeFailure[]
  /** rows put back (the failed ones and their ancestors in the purge), for mapping failures to units */
  reverted: { id: number; parentId: number | null }[]
}

/** Steps 2 to 4 for the rows marked with `token` (step 1 is the caller's, inside its own transaction). */
export async function completePurge(
  persistence: Persistence,
  blobs: BlobStore,
  actor: AuditActor,
  token: string,
  checkpoint?: (point: PurgeCheckpoint) => Promise<void>,
): Promise<CompletedPurge> {
  await checkpoint?.('after-mark')
  const failures = await removeMarkedBlobs(persistence, blobs, actor.tenantId, token, checkpoint)
  await checkpoint?.('after-blobs')
  const reverted =
    failures.length > 0
      ? await persistence.unitOfWork((tx) => tx.purge.revertPurge(actor, token, failures), {
          operationId: actor.operationId,
        })
      : []
  const purged = await persistence.unitOfWork((tx) => tx.purge.finishPurge(actor.tenantId, token), {
    eventTicket: actor.eventTicket,
    operationId: actor.operationId,
  })
  return { purged, failures, reverted }
}

async function removeMarkedBlobs(
  persistence: Persistence,
  blobs: BlobStore,
  tenantId: number,
  token: string,
  checkpoint?: (point: PurgeCheckpoint) => Promise<void>,
): Promise<PurgeFailure[]> {
  const store = persistence.stores.purge
  const failures: PurgeFailure[] = []
  let afterId = 0
  let touchedAt = Date.now()
  for (let page = 0; ; page++) {
    const marked = await store.markedBlobs(tenantId, token, afterId, BLOB_PAGE)
    if (marked.length === 0) break
    // a long purge keeps its rows fresh so that no cleanup run mistakes it for a crashed one (rewriting every
    // row per page of files doubled the cost of a short purge, so only every half minute)
    if (Date.now() - touchedAt >= TOUCH_EVERY_MS) {
      await store.touchPurge(tenantId, token)
      touchedAt = Date.now()
    }
    afterId = marked[marked.length - 1]!.id
    // the first file alone, so that the crash tests can stop between two removals of one purge
    const first = page === 0 && checkpoint ? 1 : 0
    if (first) {
      await removeBatch(blobs, marked.slice(0, 1), failures)
      await checkpoint?.('mid-blobs')
    }
    // the whole page in one call: an S3 store deletes it with DeleteObjects, 1,000 keys at a time
    await removeBatch(blobs, marked.slice(first), failures)
  }
  return failures
}

/** Removes the files of `marked`; each file the store could not remove fails the row holding it. */
async function removeBatch(blobs: BlobStore, marked: MarkedBlob[], failures: PurgeFailure[]) {
  if (marked.length === 0) return
  let failed: Set<string>
  try {
    failed = new Set(
      (await blobs.deleteMany(marked.map((blob) => blob.blobKey))).map((failure) => failure.key),
    )
  } catch {
    // a store that failed as a whole removed nothing we can vouch for: every row stays
    failed = new Set(marked.map((blob) => blob.blobKey))
  }
  for (const blob of marked) {
    if (failed.has(blob.blobKey))
      failures.push({ id: blob.id, name: blob.name, message: defaultMessage(ErrorCodes.STORAGE_FAILURE) })
  }
}

/** Groups failed files under the addressed unit they belong to, walking up the rows that were put back. */
export function failuresByUnit(
  unitIds: ReadonlySet<number>,
  completed: CompletedPurge,
): Map<number, PurgeFailure[]> {
  const parentOf = new Map(completed.reverted.map((row) => [row.id, row.parentId]))
  const byUnit = new Map<number, PurgeFailure[]>()
  for (const failure of completed.failures) {
    let id: number | null | undefined = failure.id
    while (id != null && !unitIds.has(id)) id = parentOf.get(id)
    if (id == null) continue
    byUnit.set(id, [...(byUnit.get(id) ?? []), failure])
  }
  return byUnit
}
