import { CoreError, ErrorCodes } from './errors.js'
import { enterpriseDateTime, FIRST_VERSION } from './events.js'
import { type HandledObject, type OperationRequest, PluginHost } from './plugins.js'
import type { ObjectRow, ObjectStore } from './ports/object-store.js'
import type { ItemResult } from './types.js'

/** The plug-ins as they are now: a process may swap its host after the services were made. */
export type PluginsOf = () => PluginHost

const NONE = new PluginHost()
/** No plug-ins: services made without a host (tests, the CLI's own contexts). */
export const noPlugins: PluginsOf = () => NONE

/** An object as a connector sees it (Enterprise's MetaData names), Deleted and Deletor as given. */
function handledObject(object: ObjectRow, deleted: Date | null, deletor: string | null): HandledObject {
  const idName = (id: number | null, name: string | null) =>
    id === null ? null : { Id: String(id), Name: name ?? '' }
  return {
    MetaData: {
      BasicMetaData: {
        ID: String(object.id),
        Name: object.name,
        Type: object.type,
        Publication: idName(object.brandId, object.brandName),
        Category: idName(object.categoryId, object.categoryName),
      },
      WorkflowMetaData: {
        Modified: enterpriseDateTime(object.modifiedAt),
        Modifier: object.modifierLogin ?? '',
        Version: object.version ?? FIRST_VERSION,
        Deleted: deleted ? enterpriseDateTime(deleted) : null,
        Deletor: deletor,
      },
    },
  }
}

export async function readObjects(objects: ObjectStore, request: OperationRequest, ids: number[]) {
  const rows = await objects.readObjects(request.actor.tenantId, request.actor.userId, ids)
  return ids.flatMap((id) => {
    const row = rows.get(id)
    return row && row.state !== 'purging' ? [row] : []
  })
}

/**
 * Runs the plug-ins' hooks around one request's operation, whatever the door. The after-hooks get the handled
 * objects with Deleted and Deletor set: read after the operation, or, for a permanent delete, before it (the rows
 * are gone after), where an object purged straight from the Workflow was deleted by the actor at that moment.
 */
export async function withHooks(
  host: PluginHost,
  objects: ObjectStore,
  request: OperationRequest,
  run: () => Promise<ItemResult[]>,
): Promise<ItemResult[]> {
  // no plug-in: no hook and no read (the single-item paths of every door)
  if (host.plugins.length === 0) return run()
  await host.before(request)
  const purged = request.permanent ? await readObjects(objects, request, request.ids) : null
  const at = new Date()
  let results: ItemResult[]
  try {
    results = await run()
  } catch (error) {
    await host.onError(request, error)
    throw error
  }
  await afterHooks(host, objects, request, results, { purged, at })
  return results
}

/**
 * The after-hooks of a request whose work committed (`results`, one per id handled), for the paths whose before-
 * hook ran elsewhere (an undo job's pages). `before.purged`: the objects read before a permanent delete.
 */
export async function afterHooks(
  host: PluginHost,
  objects: ObjectStore,
  request: OperationRequest,
  results: ItemResult[],
  before: { purged: ObjectRow[] | null; at: Date } = { purged: null, at: new Date() },
): Promise<void> {
  if (host.plugins.length === 0) return
  const { purged, at } = before
  const ids = results.filter((r) => r.status !== 'error').map((r) => r.id)
  const rows = purged ?? (await readObjects(objects, request, ids))
  const byId = new Map(rows.map((row) => [row.id, row]))
  const handled = ids.flatMap((id) => {
    const row = byId.get(id)
    if (!row) return []
    const trashedBefore = row.deletedAt !== null && (purged === null || row.state !== 'active')
    return [
      handledObject(
        row,
        trashedBefore ? row.deletedAt : at,
        trashedBefore ? row.deletorLogin : request.actor.login,
      ),
    ]
  })
  await host.after(request, { ids, results, objects: handled })
}

/**
 * The before-hooks alone, as a decision: a preview's (nothing is changed, so no after-hook follows), or a request
 * recorded to run later (an undo job), refused before it is recorded. No plug-in: nothing runs.
 */
export async function beforeHooks(host: PluginHost, request: OperationRequest): Promise<void> {
  if (host.plugins.length === 0) return
  await host.before(request)
}

/**
 * Runs an operation a transaction of `size` ids at a time. When a batch fails after others committed, the
 * request does not fail as a whole: what was done stays reported as done, and every id of the failed and the
 * remaining batches is reported as not processed, with the reason. A failure of the first batch (nothing done)
 * is the request's.
 */
export async function inBatches(
  ids: number[],
  size: number,
  run: (batch: number[]) => Promise<ItemResult[]>,
): Promise<ItemResult[]> {
  const results: ItemResult[] = []
  for (let i = 0; i < ids.length; i += size) {
    try {
      for (const result of await run(ids.slice(i, i + size))) results.push(result)
    } catch (error) {
      if (i === 0) throw error
      const reason = error instanceof CoreError ? error.message : 'Not processed: the server failed part-way'
      for (const id of ids.slice(i))
        results.push({ id, status: 'error', code: ErrorCodes.UNAVAILABLE, message: reason })
      return results
    }
  }
  return results
}
