import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Logger } from 'pino'
import { CoreError, ErrorCodes } from './errors.js'
import type { Actor, ItemResult } from './types.js'

/**
 * Server plug-ins, after WoodWing Enterprise's WflDeleteObjects / WflRestoreObjects connectors: their hooks are
 * called once per request of any door, with the request flattened to ids (whatever the client sent, Params and
 * "everything" are resolved to the ids they stand for before a hook sees them). The types are named for what they
 * are, not after a door; the Enterprise-named ones of earlier releases remain as deprecated aliases at the end.
 */

/** The Enterprise connector a request stands for (its values are Enterprise's, kept for plug-ins that test them). */
export type OperationName = 'DeleteObjects' | 'RestoreObjects' | 'SetObjectProperties'
export type Area = 'Workflow' | 'Trash'

/**
 * What the core is asked to do, whatever the door: `trash`, `restore`, `purge` (a permanent delete), `empty`
 * (trashed to emptied: no longer restorable, purged by the next cleanup run), `emptyOwnBin` (the actor's own bin
 * purged), `undo` (a trash operation's units restored), `cleanup` (the cleanup job's purge of a tenant's due
 * units, a batch at a time), `move` (an administrator's move of objects to another issue or category).
 */
export type OperationAction =
  | 'trash'
  | 'restore'
  | 'purge'
  | 'empty'
  | 'emptyOwnBin'
  | 'undo'
  | 'cleanup'
  | 'move'

export interface OperationRequest {
  /** the Enterprise connector the request stands for (empty, cleanup: DeleteObjects permanent; undo: RestoreObjects) */
  operation: OperationName
  /** what the core is asked to do */
  action: OperationAction
  /**
   * A preview (a restore's or an undo's dry run): only the before-hooks run, as the decision the request would
   * meet; a veto refuses the preview as it would refuse the request, and nothing is changed either way.
   */
  dryRun?: boolean
  actor: Actor
  /** the objects addressed */
  ids: number[]
  /** DeleteObjects: delete permanently (true) or send to the Trash Can (false); RestoreObjects: false */
  permanent: boolean
  /**
   * DeleteObjects: where the objects are taken from; RestoreObjects: ['Trash']; SetObjectProperties: where the
   * object is (an admin move reaches objects in the Trash Can too)
   */
  areas: Area[]
}

export interface OperationResponse {
  /** the ids the operation handled */
  ids: number[]
  /** one result per addressed id */
  results: ItemResult[]
  /**
   * The handled objects as Enterprise hands them to its connectors (`$response->Objects[n-1]->MetaData`): after a
   * delete, a permanent delete or a restore, `MetaData.WorkflowMetaData` has `Deleted` and `Deletor` set (seed
   * 004). Absent for SetObjectProperties.
   */
  objects?: HandledObject[]
}

/** A handled object as the after-hooks see it: the MetaData parts Enterprise fills, with its property names. */
export interface HandledObject {
  MetaData: {
    BasicMetaData: {
      ID: string
      Name: string
      Type: string
      Publication: { Id: string; Name: string } | null
      Category: { Id: string; Name: string } | null
    }
    WorkflowMetaData: {
      Modified: string
      Modifier: string
      Version: string
      /** `YYYY-MM-DDTHH:MM:SS` of the last delete */
      Deleted: string | null
      /** who deleted the object last */
      Deletor: string | null
    }
  }
}

/** A before-hook refuses the whole request by returning a veto (or by throwing). */
export interface Veto {
  veto: string
}

export interface ServerPlugin {
  name: string
  /** Runs before anything is changed; a veto refuses the request and nothing happens. */
  before?(request: OperationRequest): Veto | undefined | Promise<Veto | undefined>
  /** Runs after the operation committed. */
  after?(request: OperationRequest, response: OperationResponse): void | Promise<void>
  /** Runs when the operation failed as a whole. */
  onError?(request: OperationRequest, error: unknown): void | Promise<void>
}

/** Runs the loaded plug-ins' hooks in load order. */
export class PluginHost {
  constructor(
    readonly plugins: readonly ServerPlugin[] = [],
    private readonly logger?: Logger,
  ) {}

  /** Throws CoreError VETOED (message: the plug-in's reason) when a before-hook refuses. */
  async before(request: OperationRequest): Promise<void> {
    for (const plugin of this.plugins) {
      if (!plugin.before) continue
      let outcome: Veto | undefined
      try {
        outcome = await plugin.before(request)
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error)
        throw new CoreError(ErrorCodes.VETOED, reason, { plugin: plugin.name })
      }
      if (outcome && typeof outcome.veto === 'string') {
        throw new CoreError(ErrorCodes.VETOED, outcome.veto, { plugin: plugin.name })
      }
    }
  }

  /** After-hooks cannot undo a committed operation: their failures are logged, not reported. */
  async after(request: OperationRequest, response: OperationResponse): Promise<void> {
    for (const plugin of this.plugins) {
      try {
        await plugin.after?.(request, response)
      } catch (error) {
        this.logger?.warn({ err: error, plugin: plugin.name }, 'plug-in after-hook failed')
      }
    }
  }

  async onError(request: OperationRequest, failure: unknown): Promise<void> {
    for (const plugin of this.plugins) {
      try {
        await plugin.onError?.(request, failure)
      } catch (error) {
        this.logger?.warn({ err: error, plugin: plugin.name }, 'plug-in error-hook failed')
      }
    }
  }
}

function isServerPlugin(value: unknown): value is ServerPlugin {
  if (!value || typeof value !== 'object') return false
  const candidate = value as Record<string, unknown>
  return (
    typeof candidate.name === 'string' &&
    ['before', 'after', 'onError'].every(
      (hook) => candidate[hook] === undefined || typeof candidate[hook] === 'function',
    )
  )
}

/**
 * Loads the plug-ins named in PLUGINS (comma-separated module files, relative to the working directory, or
 * package names). A module's default export is a plug-in object or a function returning one.
 */
export async function loadPlugins(list: string, cwd = process.cwd()): Promise<ServerPlugin[]> {
  const specifiers = list
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
  const plugins: ServerPlugin[] = []
  for (const specifier of specifiers) {
    const isPath = specifier.startsWith('.') || path.isAbsolute(specifier) || /\.[cm]?[jt]s$/.test(specifier)
    const target = isPath ? pathToFileURL(path.resolve(cwd, specifier)).href : specifier
    const loaded = (await import(target)) as { default?: unknown }
    const exported = typeof loaded.default === 'function' ? await loaded.default() : loaded.default
    if (!isServerPlugin(exported)) {
      throw new Error(`Plug-in ${specifier} does not export a plug-in (an object with a name and hooks)`)
    }
    plugins.push(exported)
  }
  return plugins
}

/** @deprecated the Enterprise-named alias of OperationRequest, kept for existing plug-ins */
export type ConnectorRequest = OperationRequest
/** @deprecated the Enterprise-named alias of OperationResponse, kept for existing plug-ins */
export type ConnectorResponse = OperationResponse
/** @deprecated the Enterprise-named alias of HandledObject, kept for existing plug-ins */
export type ConnectorObject = HandledObject
/** @deprecated the Enterprise-named alias of OperationName, kept for existing plug-ins */
export type ConnectorOperation = OperationName
