import type { DoorContext } from '../../context.js'
import { ErrorCodes } from '../../core/errors.js'
import * as policy from '../../core/policy.js'
import type { Actor, ItemKind, ItemResult, RestoreOptions, TrashFilter } from '../../core/types.js'
import { requireTicketActor } from '../kit/credentials.js'
import { itemErrorMap } from '../kit/errors.js'
import { asmxHandler } from '../kit/handles.js'
import { parseId } from '../kit/ids.js'
import { DOTNET, renderInChunks, streamElement, dotnet as w } from '../soap/writer.js'
import {
  type AsmxReply,
  DELETE_LOG_ACTIONS,
  deleteLogItem,
  failed,
  isoSeconds,
  logItems,
  ok,
  once,
  recycledItem,
} from './render.js'

/** The error strings infoRouter clients look for. */
export const Errors = {
  authenticationFailed: '[900] Authentication failed',
  sessionExpired: '[901] Session expired or Invalid ticket.',
  invalidHandler: 'Invalid ItemHandler',
  documentGone: 'Document is no longer in the recycle bin.',
  folderGone: 'Folder is no longer in the recycle bin.',
  adminOnly: 'Only the system administrator can perform this operation',
  accessDenied: 'Access denied.',
  topLevelFolder: 'Top-level domain cannot be deleted',
  originalLocationGone: 'The original location no longer exists.',
  targetNotFound: 'Target folder not found',
  documentNotFound: 'Document not found',
  folderNotFound: 'Folder not found',
  userNotFound: 'User not found',
  storageFailure: 'Unable to delete file from storage.',
  requiredPath: "[903]Required parameter.'Path'",
  invalidTicketFormat: 'invalid ticket format',
} as const

/** A method's own failure: answered as `<response success="false" error="...">`. */
export class MethodFailure extends Error {}

/** Parameter values by declared name; null when a SOAP request left the element out (or sent xsi:nil). */
export type Args = Record<string, string | null>

/** What a method may read of the request besides its parameters. */
export interface CallInfo {
  /** the `ticket` cookie, which the ticket methods fall back to */
  ticketCookie: string | null
}

export interface AsmxMethod {
  name: string
  summary: string
  /** parameter names as infoRouter declares them (their casing matters over SOAP only) */
  params: string[]
  /** parameters a GET/POST request may leave out (null then, as over SOAP) */
  optional?: string[]
  run(ctx: DoorContext, args: Args, call: CallInfo): Promise<AsmxReply>
}

async function sessionActor(ctx: DoorContext, ticket: string | null): Promise<Actor> {
  const value = ticket?.trim()
  if (!value) throw new MethodFailure(Errors.authenticationFailed)
  return requireTicketActor(ctx, 'asmx', value, () => new MethodFailure(Errors.sessionExpired))
}

function requireAdmin(actor: Actor) {
  if (policy.requireAdmin(actor)) throw new MethodFailure(Errors.adminOnly)
}

/** `\Library\Sub` or `/Library/Sub` → ['Library', 'Sub'] */
export function pathSegments(path: string): string[] {
  return path.split(/[\\/]/).filter((segment) => segment !== '')
}

/** A ticket parameter, or the `ticket` cookie when the parameter is missing or empty. */
function ticketOrCookie(value: string | null | undefined, call: CallInfo): string {
  const given = value?.trim() ?? ''
  return given !== '' ? given : (call.ticketCookie?.trim() ?? '')
}

const GUID = /^[{(]?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}[)}]?$/i

/** The user attributes AuthenticateUser, RenewTicket and isValidTicket answer with. */
async function userAttributes(
  ctx: DoorContext,
  actor: Actor,
  expiresAt: Date,
  ticket?: string,
): Promise<[string, string | number][]> {
  const user = await ctx.admin.findUserByLogin(actor.tenantId, actor.login)
  const fullName = actor.displayName?.trim() || actor.login
  const [firstName = '', ...lastNames] = (actor.displayName ?? '').trim().split(/\s+/)
  return [
    ...(ticket === undefined ? [] : [['ticket', ticket] as [string, string]]),
    ['userid', actor.userId],
    ['username', actor.login],
    ['firstName', firstName],
    ['lastName', lastNames.join(' ')],
    ['fullname', fullName],
    ['email', user?.email ?? ''],
    ['expireOn', isoSeconds(expiresAt)],
    ['isAuthenticated', 'True'],
  ]
}

const goneMessage = (kind: ItemKind) => (kind === 'folder' ? Errors.folderGone : Errors.documentGone)

/** The core's own message (or `Failed`): what infoRouter has no words of its own for. */
const coreMessage = (result: ItemResult) => result.message ?? 'Failed'

/** The infoRouter wording of each core outcome of a single-item operation. */
const ITEM_ERRORS = itemErrorMap<(result: ItemResult, kind: ItemKind) => string>(
  {
    ACCESS_DENIED: () => Errors.accessDenied,
    TOP_LEVEL_FOLDER: () => Errors.topLevelFolder,
    NOT_FOUND: (_result, kind) => goneMessage(kind),
    NOT_IN_TRASH: (_result, kind) => goneMessage(kind),
    NOT_RESTORABLE: (_result, kind) => goneMessage(kind),
    ALREADY_EMPTIED: (_result, kind) => goneMessage(kind),
    ORIGINAL_LOCATION_GONE: () => Errors.originalLocationGone,
    TARGET_NOT_FOUND: () => Errors.targetNotFound,
    ALREADY_TRASHED: coreMessage,
    STORAGE_FAILURE: coreMessage,
    LEGAL_HOLD: coreMessage,
  },
  coreMessage,
)

/** Maps a core result of a single-item operation to the infoRouter wording. */
function errorOf(result: ItemResult, kind: ItemKind): string {
  const answer = result.code && ITEM_ERRORS[result.code]
  return answer ? answer(result, kind) : coreMessage(result)
}

/** The trashed item a handler names, as the actor may see it; a failure when there is none. */
async function recycledItemOf(ctx: DoorContext, actor: Actor, handlerText: string | null) {
  const handler = asmxHandler.parse(handlerText)
  if (!handler) throw new MethodFailure(Errors.invalidHandler)
  const item = await ctx.trash.get(actor, handler.id)
  // D<id> names a document and F<id> a folder: the other kind with that id is not what was asked for
  if (!item || item.kind !== handler.kind || (item.state !== 'trashed' && item.state !== 'emptied')) {
    throw new MethodFailure(goneMessage(handler.kind))
  }
  return { item, handler }
}

/** Empty or missing: no bound. `yyyy-MM-dd` (a maximum covers the whole day) or `yyyy-MM-ddTHH:mm:ss`, UTC. */
export function parseDateBound(name: string, value: string | null, end: boolean): Date | undefined {
  const text = value?.trim() ?? ''
  if (text === '') return undefined
  let date: Date | null = null
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    date = new Date(`${text}T00:00:00.000Z`)
    if (end && !Number.isNaN(date.getTime())) date = new Date(date.getTime() + 86_400_000 - 1)
  } else if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:?\d{2})?$/.test(text)) {
    const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(text)
    date = new Date(`${text.replace(' ', 'T')}${zoned ? '' : 'Z'}`)
  }
  if (!date || Number.isNaN(date.getTime())) {
    throw new MethodFailure(`Invalid value for ${name}: '${text}'`)
  }
  return date
}

/** Empty, missing or 0: no bound. */
export function parseSizeBound(name: string, value: string | null): number | undefined {
  const text = value?.trim() ?? ''
  if (text === '' || /^0+$/.test(text)) return undefined
  const size = parseId(text)
  if (size === null) throw new MethodFailure(`Invalid value for ${name}: '${text}'`)
  return size
}

function recycledListing(ctx: DoorContext, actor: Actor, filter: TrashFilter): AsyncGenerator<string> {
  return renderInChunks(ctx.trash.iterate(actor, filter), recycledItem)
}

async function* deleteLogListing(
  ctx: DoorContext,
  actor: Actor,
  filter: Parameters<DoorContext['trash']['deleteLog']>[1],
): AsyncGenerator<string> {
  const pages = renderInChunks(ctx.trash.deleteLog(actor, filter), deleteLogItem)
  try {
    yield* streamElement('logs', w.open('logs'), await pages.next(), pages, DOTNET.empty)
  } finally {
    // a reader gone mid-listing closes this generator: the listing below it (and its slot) closes with it
    await pages.return(undefined)
  }
}

/** The unit failures of a purge as `<logitem>` entries (one per file that could not be removed). */
function purgeLog(results: ItemResult[]) {
  return results.flatMap((result) =>
    result.failures?.length
      ? result.failures.map((failure) => ({ name: failure.name, message: Errors.storageFailure }))
      : [
          {
            name: result.name ?? String(result.id),
            message:
              result.code === ErrorCodes.ACCESS_DENIED ? Errors.accessDenied : (result.message ?? 'Failed'),
          },
        ],
  )
}

/** An active item by path from the library root, or by infoRouter's short form `~D<id>` / `~F<id>`. */
async function itemAtPath(ctx: DoorContext, actor: Actor, segments: string[]) {
  const short = segments.length === 1 ? asmxHandler.parsePath(segments[0]!) : null
  if (!short) return ctx.trash.findByPath(actor, segments)
  const item = await ctx.trash.get(actor, short.id)
  return item?.state === 'active' && item.kind === short.kind ? item : null
}

async function deleteByPath(ctx: DoorContext, args: Args, kind: ItemKind): Promise<AsmxReply> {
  const actor = await sessionActor(ctx, args.authenticationTicket ?? null)
  const segments = pathSegments(args.Path ?? '')
  if (segments.length === 0) return failed(Errors.requiredPath)
  const notFound = kind === 'folder' ? Errors.folderNotFound : Errors.documentNotFound
  const short = segments.length === 1 ? asmxHandler.parsePath(segments[0]!) : null
  let result: ItemResult | null
  if (short) {
    const item = await itemAtPath(ctx, actor, segments)
    if (!item || item.kind !== kind) return failed(notFound)
    result = (await ctx.trash.trash(actor, [item.id])).results[0]!
  } else {
    result = await ctx.trash.trashAtPath(actor, segments, kind)
    if (!result) return failed(notFound)
  }
  if (result.status === 'ok') return ok()
  // a warning here means a racing call trashed it first: for this caller it is gone
  const gone = result.status === 'warning' || result.code === ErrorCodes.NOT_FOUND
  return failed(gone ? notFound : errorOf(result, kind))
}

export const methods: AsmxMethod[] = [
  {
    name: 'AuthenticateUser',
    summary: 'Signs in with a user name and password; answers a GUID ticket with a sliding expiry.',
    params: ['UID', 'PWD'],
    async run(ctx, args) {
      const actor = await ctx.auth.authenticate(args.UID ?? '', args.PWD ?? '', 'asmx')
      if (!actor) return failed(Errors.authenticationFailed)
      const session = await ctx.auth.openSession(actor, 'guid')
      return ok(await userAttributes(ctx, actor, session.expiresAt, session.ticket))
    },
  },
  {
    name: 'RenewTicket',
    summary:
      'Checks a user name and password and renews OldTicket (or the ticket cookie) when it is still valid; otherwise answers a new ticket.',
    params: ['UID', 'PWD', 'Lang', 'OldTicket'],
    optional: ['Lang', 'OldTicket'],
    async run(ctx, args, call) {
      const old = ticketOrCookie(args.OldTicket, call)
      if (old !== '' && !GUID.test(old)) return failed(Errors.invalidTicketFormat)
      const actor = await ctx.auth.authenticate(args.UID ?? '', args.PWD ?? '', 'asmx')
      if (!actor) return failed(Errors.authenticationFailed)
      // only the user's own live ticket is renewed; anything else gets a fresh one
      const live = old === '' ? null : await ctx.auth.peekSession(old, 'asmx')
      const renewed =
        live && live.actor.tenantId === actor.tenantId && live.actor.userId === actor.userId
          ? await ctx.auth.resolveSession(old, 'asmx')
          : null
      const session = renewed
        ? { ticket: old, expiresAt: renewed.expiresAt }
        : await ctx.auth.openSession(actor, 'guid')
      return ok(await userAttributes(ctx, actor, session.expiresAt, session.ticket))
    },
  },
  {
    name: 'isValidTicket',
    summary:
      'Tells whether a ticket (or the ticket cookie) is still valid, with its user; a passive check that does not extend it.',
    params: ['AuthenticationTicket'],
    optional: ['AuthenticationTicket'],
    async run(ctx, args, call) {
      const ticket = ticketOrCookie(args.AuthenticationTicket, call)
      const session = ticket === '' ? null : await ctx.auth.peekSession(ticket, 'asmx')
      if (!session) return failed(Errors.sessionExpired)
      return ok(await userAttributes(ctx, session.actor, session.expiresAt))
    },
  },
  {
    name: 'LogOut',
    summary: 'Ends the session of a ticket (or of the ticket cookie).',
    params: ['AuthenticationTicket'],
    optional: ['AuthenticationTicket'],
    async run(ctx, args, call) {
      const ticket = ticketOrCookie(args.AuthenticationTicket, call)
      if (!ticket) return failed(Errors.authenticationFailed)
      return (await ctx.auth.closeSession(ticket, 'asmx')) ? ok() : failed(Errors.sessionExpired)
    },
  },
  {
    name: 'GetUserStatistics',
    summary:
      "Counts the documents and folders in a user's recycle bin (RecycledDocuments, RecycledFolders); other users' for system administrators.",
    params: ['authenticationTicket', 'userName'],
    async run(ctx, args) {
      const actor = await sessionActor(ctx, args.authenticationTicket ?? null)
      const name = args.userName?.trim() || actor.login
      const user =
        name.toLowerCase() === actor.login.toLowerCase()
          ? { id: actor.userId }
          : await ctx.admin.findUserByLogin(actor.tenantId, name)
      if (!user) return failed(Errors.userNotFound)
      const own = user.id === actor.userId
      if (!own) requireAdmin(actor)
      // the bin as GetRecycleBinContent lists it: the units the user deleted, a folder once
      const bin: TrashFilter = own
        ? { scope: 'own', rootsOnly: true, states: ['trashed'] }
        : { scope: 'visible', deletedBy: user.id, rootsOnly: true, states: ['trashed'] }
      const [documents, folders] = await Promise.all([
        ctx.trash.count(actor, { ...bin, kind: 'file' }),
        ctx.trash.count(actor, { ...bin, kind: 'folder' }),
      ])
      return ok(
        undefined,
        once(
          w.element('UserStatistics', [
            w.text('RecycledDocuments', documents),
            w.text('RecycledFolders', folders),
          ]),
        ),
      )
    },
  },
  {
    name: 'DeleteDocument',
    summary: "Moves a document (backslash path from the library root) to the deleter's recycle bin.",
    params: ['authenticationTicket', 'Path'],
    run: (ctx, args) => deleteByPath(ctx, args, 'file'),
  },
  {
    name: 'DeleteFolder',
    summary: "Moves a folder and its contents to the deleter's recycle bin.",
    params: ['authenticationTicket', 'Path'],
    run: (ctx, args) => deleteByPath(ctx, args, 'folder'),
  },
  {
    name: 'GetRecycleBinContent',
    summary: 'Lists the documents and folders in the recycle bin of the ticket owner.',
    params: ['AuthenticationTicket'],
    async run(ctx, args) {
      const actor = await sessionActor(ctx, args.AuthenticationTicket ?? null)
      return ok(
        undefined,
        recycledListing(ctx, actor, { scope: 'own', rootsOnly: true, states: ['trashed'] }),
      )
    },
  },
  {
    name: 'SearchRecycledItems',
    summary: 'Searches the recycle bins of all users (system administrators only).',
    params: [
      'authenticationTicket',
      'objectName',
      'dateDeletedMinDate',
      'dateDeletedMaxDate',
      'minSize',
      'maxSize',
      'deletedByUsername',
    ],
    async run(ctx, args) {
      const actor = await sessionActor(ctx, args.authenticationTicket ?? null)
      requireAdmin(actor)
      const filter: TrashFilter = {
        scope: 'visible',
        rootsOnly: true,
        states: ['trashed', 'emptied'],
        deletedFrom: parseDateBound('dateDeletedMinDate', args.dateDeletedMinDate ?? null, false),
        deletedTo: parseDateBound('dateDeletedMaxDate', args.dateDeletedMaxDate ?? null, true),
        sizeMin: parseSizeBound('minSize', args.minSize ?? null),
        sizeMax: parseSizeBound('maxSize', args.maxSize ?? null),
      }
      const name = args.objectName?.trim()
      if (name) filter.name = name
      const deleter = args.deletedByUsername?.trim()
      if (deleter) {
        const user = await ctx.admin.findUserByLogin(actor.tenantId, deleter)
        if (!user) return failed(Errors.userNotFound)
        filter.deletedBy = user.id
      }
      return ok(undefined, recycledListing(ctx, actor, filter))
    },
  },
  {
    name: 'RestoreRecycleBinItem',
    summary:
      'Restores a recycled document or folder (with its contents) to its original folder or to RestorePath.',
    params: ['AuthenticationTicket', 'ItemHandler', 'RestorePath'],
    async run(ctx, args) {
      const actor = await sessionActor(ctx, args.AuthenticationTicket ?? null)
      const { item, handler } = await recycledItemOf(ctx, actor, args.ItemHandler ?? null)
      if (item.state !== 'trashed') return failed(goneMessage(handler.kind))
      const options: RestoreOptions = { onMissingParent: 'error' }
      const restorePath = args.RestorePath?.trim() ?? ''
      if (restorePath !== '') {
        const segments = pathSegments(restorePath)
        const folder = segments.length > 0 ? await ctx.trash.findByPath(actor, segments) : null
        if (folder?.kind !== 'folder') return failed(Errors.targetNotFound)
        options.targetFolderId = folder.id
      }
      const result = (await ctx.trash.restore(actor, [item.id], options)).results[0]!
      if (result.status === 'ok') return ok()
      // a warning means a racing call restored it first: it is no longer in the bin
      return failed(result.status === 'warning' ? goneMessage(handler.kind) : errorOf(result, handler.kind))
    },
  },
  {
    name: 'PurgeRecycleBinItem',
    summary:
      'Permanently deletes a recycled document or folder, a folder with everything in it (administrators).',
    params: ['AuthenticationTicket', 'ItemHandler'],
    async run(ctx, args) {
      const actor = await sessionActor(ctx, args.AuthenticationTicket ?? null)
      requireAdmin(actor)
      const { item, handler } = await recycledItemOf(ctx, actor, args.ItemHandler ?? null)
      const result = (await ctx.trash.purge(actor, [item.id])).results[0]!
      if (result.status === 'ok') return ok()
      if (result.status === 'warning') return failed(goneMessage(handler.kind))
      if (result.code === ErrorCodes.STORAGE_FAILURE) return failed('[log]', logItems(purgeLog([result])))
      return failed(errorOf(result, handler.kind))
    },
  },
  {
    name: 'EmptyRecycleBin',
    summary: 'Permanently deletes everything in the recycle bin of the ticket owner.',
    params: ['AuthenticationTicket'],
    async run(ctx, args) {
      const actor = await sessionActor(ctx, args.AuthenticationTicket ?? null)
      const { failed: failures } = await ctx.trash.emptyOwnBin(actor)
      return failures.length === 0 ? ok() : failed('[log]', logItems(purgeLog(failures)))
    },
  },
  {
    name: 'GetDeleteLog',
    summary: 'Lists recycle, restore, purge and empty events (system administrators only).',
    params: ['AuthenticationTicket', 'StartDate', 'EndDate', 'PathFilter'],
    async run(ctx, args) {
      const actor = await sessionActor(ctx, args.AuthenticationTicket ?? null)
      requireAdmin(actor)
      const segments = pathSegments(args.PathFilter ?? '')
      const filter = {
        actions: DELETE_LOG_ACTIONS,
        from: parseDateBound('StartDate', args.StartDate ?? null, false),
        to: parseDateBound('EndDate', args.EndDate ?? null, true),
        ...(segments.length > 0 ? { pathPrefix: `/${segments.join('/')}` } : {}),
      }
      return ok(undefined, deleteLogListing(ctx, actor, filter))
    },
  },
]

export const methodByName = new Map(methods.map((method) => [method.name, method]))
