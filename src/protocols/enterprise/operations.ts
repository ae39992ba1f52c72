import type { DoorContext } from '../../context.js'
import { eventTicketOf } from '../../core/auth-service.js'
import { ErrorCodes } from '../../core/errors.js'
import type { Area } from '../../core/plugins.js'
import type { Actor, BrandRights, ItemResult, TrashFilter } from '../../core/types.js'
import { requireTicketActor } from '../kit/credentials.js'
import { itemErrorMap } from '../kit/errors.js'
import { enterpriseId } from '../kit/handles.js'
import { firstOfEach } from '../kit/ids.js'
import type { ReplyObject } from '../soap/schema.js'
import type { XmlElement } from '../soap/xml.js'
import { areaFilter, COLUMNS, columnsFor, sortFor } from './query.js'
import {
  argumentFault,
  EnterpriseFault,
  errorReport,
  ITEMS_RENAMED,
  optionalText,
  optionalUnsigned,
  parseBoolean,
  queryOrders,
  queryParams,
  type ReportEntry,
  renderResponse,
  S,
  stringArray,
} from './wire.js'

/** What an operation gets: the Body's first element, the context, and where the request came in. */
export interface OperationInput {
  ctx: DoorContext
  body: XmlElement
  /** e.g. http://host:port/Enterprise/index.php */
  endpoint: string
}

/** Enterprise's DBMAXQUERY default, and the most rows one QueryObjects answers (MaxEntries 0 = "all"). */
export const DEFAULT_MAX_ENTRIES = 50
export const MAX_ENTRIES = 10_000
/** objects per transaction (a failing batch leaves the committed ones done, see outcomesOf) */
const BATCH = 1000

export const SERVER_VERSION = '10.5.0 Build 1'

const ticketFault = () => new EnterpriseFault('Client', S.TICKET.message, 'SCEntError_InvalidTicket')

export async function requireActor(input: OperationInput): Promise<Actor> {
  const ticket = optionalText(input.body, 'Ticket') ?? ''
  return requireTicketActor(input.ctx, 'enterprise', ticket, ticketFault)
}

/** Areas: null when absent, nil or empty (a v7 client); else Workflow or Trash, one at a time. */
export function readAreas(body: XmlElement): Area[] | null {
  const values = stringArray(body, 'Areas')
  if (!values || values.length === 0) return null
  const areas = [...new Set(values)]
  for (const area of areas) {
    if (area !== 'Workflow' && area !== 'Trash') throw argumentFault(`Unknown area: ${area}`)
  }
  if (areas.length > 1) throw argumentFault('Can only have one of the two areas: Workflow OR Trash')
  return areas as Area[]
}

// ---- LogOn / LogOff

const FEATURES: [keyof BrandRights, string, string][] = [
  ['view', 'View', 'View'],
  ['delete', 'Delete', 'Delete'],
  ['purge', 'Purge', 'Delete Permanently'],
]

function profileName(rights: BrandRights): string {
  const granted = FEATURES.filter(([key]) => rights[key]).map(([, , label]) => label)
  if (granted.length === FEATURES.length) return 'Full Control'
  return granted.length === 0 ? 'No Access' : granted.join(', ')
}

/** A profile lists the file-access features it does not grant, with Value No (as Enterprise 10 does). */
function featureProfile(rights: BrandRights): ReplyObject {
  const denied = FEATURES.filter(([key]) => !rights[key]).map(([, name]) => ({ Name: name, Value: 'No' }))
  return { Name: profileName(rights), Features: denied }
}

/** A brand as LogOn and GetDialog describe it: issues, the user's access profile (Issue, Section, State nil), categories. */
export function publicationInfo(
  brand: Awaited<ReturnType<DoorContext['admin']['brandsOf']>>[number],
): ReplyObject {
  return {
    Id: brand.id,
    Name: brand.name,
    Issues: brand.issues.map((i) => ({ Id: i.id, Name: i.name })),
    FeatureAccessList: [{ Profile: profileName(brand.rights) }],
    Categories: brand.categories.map((c) => ({ Id: c.id, Name: c.name })),
  }
}

/**
 * The server features that tell clients where live updates arrive, as Enterprise's SERVERFEATURES do: the UDP
 * port (EventPort) and either Broadcasting or the MulticastGroup to join. The port is the multicast group's, else
 * the first n-cast target's.
 */
function serverFeatures(config: DoorContext['config']): ReplyObject[] {
  const feature = (key: string, value: string | number | null) => ({ Key: key, Value: value })
  const multicast = config.NCAST_MULTICAST
  if (multicast) return [feature('MulticastGroup', multicast.host), feature('EventPort', multicast.port)]
  const first = config.NCAST_TARGETS?.[0]
  return first ? [feature('Broadcasting', null), feature('EventPort', first.port)] : []
}

export async function logOn(input: OperationInput): Promise<string> {
  const { ctx, body } = input
  const login = optionalText(body, 'User') ?? ''
  const password = optionalText(body, 'Password') ?? ''
  const given = optionalText(body, 'Ticket') ?? ''
  let actor: Actor | null
  let ticket: string
  if (password === '' && given !== '') {
    // silent re-logon: a client that still holds a ticket logs on with it instead of a password
    const session = await ctx.auth.resolveSession(given, 'enterprise')
    if (!session || (login !== '' && session.actor.login.toLowerCase() !== login.toLowerCase())) {
      throw ticketFault()
    }
    actor = session.actor
    ticket = given
  } else {
    const signedIn = await ctx.auth.signIn(login, password, 'enterprise')
    if (!signedIn.ok) {
      // a deactivated account is named only to whoever knows its password (as Enterprise does)
      throw new EnterpriseFault(
        'Client',
        signedIn.reason === 'disabled' ? S.USER_DISABLED.message : S.WRONG_PASSWORD.message,
      )
    }
    // the operations of the session name the client as it named itself
    const client = [optionalText(body, 'ClientName'), optionalText(body, 'ClientAppName')]
      .filter((part) => part)
      .join(' / ')
    actor = client ? { ...signedIn.actor, client } : signedIn.actor
    ticket = (await ctx.auth.openSession(actor, 'hex40')).ticket
  }

  const requested = stringArray(body, 'RequestInfo')
  const wants = (part: string) => requested === null || requested.includes(part)
  const brands = wants('Publications') || wants('FeatureProfiles') ? await ctx.admin.brandsOf(actor) : []

  const profiles = new Map<string, ReplyObject>()
  for (const brand of brands) profiles.set(profileName(brand.rights), featureProfile(brand.rights))

  // every other nillable member of the response is nil
  return renderResponse('LogOn', {
    Ticket: ticket,
    Publications: wants('Publications') ? brands.map(publicationInfo) : null,
    ServerInfo: wants('ServerInfo')
      ? {
          Name: 'trashd',
          URL: input.endpoint,
          Developer: 'trashd',
          Implementation: 'trashd',
          Technology: 'Node.js',
          Version: SERVER_VERSION,
          FeatureSet: serverFeatures(ctx.config),
        }
      : null,
    FeatureProfiles: wants('FeatureProfiles') ? [...profiles.values()] : null,
    CurrentUser: wants('CurrentUser')
      ? { UserID: actor.login, FullName: actor.displayName ?? actor.login, TrackChangesColor: '#FF0000' }
      : undefined,
    // only a 10.0+ client that names it gets it (as Enterprise), and not on a re-logon (it is connected already)
    ...(requested?.includes('MessageQueueConnections') && password !== ''
      ? await messageQueue(ctx, actor, ticket)
      : {}),
  })
}

/**
 * LogOnResponse MessageQueueConnections and MessageQueue (Enterprise 10): where the client connects and the queue
 * it consumes, made for this session and bound to the exchanges of the brands the user may view. Nothing when no
 * broker is configured or it cannot be reached (Enterprise then leaves both out too).
 */
async function messageQueue(ctx: DoorContext, actor: Actor, ticket: string): Promise<ReplyObject> {
  const broker = ctx.messageQueue
  if (!broker) return {}
  const brandIds = (await ctx.admin.brandsOf(actor)).filter((b) => b.rights.view).map((b) => b.id)
  const queue = broker.clientQueueName(actor.userId, eventTicketOf(ticket))
  if (!(await broker.prepareClientQueue(queue, brandIds, ctx.config.SESSION_TTL))) return {}
  const connection = broker.clientConnection
  const announced = {
    Instance: 'RabbitMQ',
    Protocol: 'AMQP',
    Url: connection.url,
    Public: 'true',
    User: connection.user,
    Password: null,
    VirtualHost: connection.virtualHost,
  }
  return { MessageQueueConnections: [announced], MessageQueue: queue }
}

/** LogOff does not check the ticket (as Enterprise); it ends the session when there is one. */
export async function logOff(input: OperationInput): Promise<string> {
  const ticket = optionalText(input.body, 'Ticket')
  if (ticket) await input.ctx.auth.closeSession(ticket, 'enterprise')
  return renderResponse('LogOff')
}

// ---- per-object outcomes

interface Outcome {
  /** the id as the client wrote it */
  id: string
  handled: boolean
  /** an ErrorReport entry (v8) / a fault line (v7); a handled object may carry a warning */
  report?: ReportEntry
  /** the v7 detail line: the id, with the right flag when access was denied */
  detailLine?: string
}

type ReportOf = (result: ItemResult, permanent: boolean) => ReportEntry

// seed 004 shows access denied as a Warning
const denied: ReportOf = () => ({
  message: S.AUTHORIZATION.message,
  details: '',
  errorCode: S.AUTHORIZATION.code,
  level: 'Warning',
})
const notFoundReport: ReportOf = (result) => ({
  message: S.NOT_FOUND.message,
  details: String(result.id),
  errorCode: S.NOT_FOUND.code,
  level: 'Error',
})
const failed: ReportOf = (result, permanent) => ({
  message: permanent ? `${S.DELETE.message} ${result.name ?? result.id}` : S.ERROR.message,
  details: result.message ?? '',
  errorCode: permanent ? S.DELETE.code : S.ERROR.code,
  level: 'Error',
})

const REPORTS = itemErrorMap<ReportOf>(
  {
    ACCESS_DENIED: denied,
    TOP_LEVEL_FOLDER: denied,
    NOT_FOUND: notFoundReport,
    NOT_RESTORABLE: notFoundReport,
    NOT_IN_TRASH: notFoundReport,
    LEGAL_HOLD: (result) => ({
      message: S.PERFORM.message,
      details: result.message ?? '',
      errorCode: S.PERFORM.code,
      level: 'Error',
    }),
    STORAGE_FAILURE: (result) => ({
      message: `${S.DELETE.message} ${result.name ?? result.id}`,
      details: (result.failures ?? []).map((failure) => `${failure.name}: ${failure.message}`).join('\n'),
      errorCode: S.DELETE.code,
      level: 'Error',
    }),
    ALREADY_TRASHED: failed,
    ALREADY_EMPTIED: failed,
    ORIGINAL_LOCATION_GONE: failed,
    TARGET_NOT_FOUND: failed,
  },
  failed,
)

function reportEntry(result: ItemResult, permanent: boolean): ReportEntry {
  return ((result.code && REPORTS[result.code]) || failed)(result, permanent)
}

/** An id as written, its record id (null: not a number, an unknown record) and the key it counts once by. */
function writtenIds(raw: string[]) {
  const ids = raw.map((id) => {
    const numeric = enterpriseId.parse(id)
    return { id, numeric, key: numeric === null ? id : String(numeric) }
  })
  return firstOfEach(ids, (id) => id.key)
}

/** The record ids among ids as written, once each in request order; the others go no further. */
const recordIds = (raw: string[]) =>
  writtenIds(raw).flatMap(({ numeric }) => (numeric === null ? [] : [numeric]))

/** The ids as written, then those the core found besides them (Params, "everything"), in its order. */
const resultIds = (written: string[], results: ItemResult[]) => [
  ...written,
  ...results.map((result) => String(result.id)),
]

const notFound = (id: string): Outcome => ({
  id,
  handled: false,
  report: { message: S.NOT_FOUND.message, details: id, errorCode: S.NOT_FOUND.code, level: 'Error' },
  detailLine: id,
})

function outcomesOf(
  raw: string[],
  results: ItemResult[],
  mode: { operation: 'delete' | 'restore'; permanent: boolean },
): Outcome[] {
  const byId = new Map(results.map((result) => [result.id, result]))
  const flag = mode.permanent ? 'U' : 'D'
  const outcomes: Outcome[] = []
  for (const { id, numeric, key } of writtenIds(raw)) {
    const result = numeric === null ? undefined : byId.get(numeric)
    if (!result) {
      outcomes.push(notFound(id))
      continue
    }
    if (result.status === 'ok') {
      const outcome: Outcome = { id: key, handled: true }
      if (result.renamedTo !== undefined) {
        outcome.report = {
          message: `${ITEMS_RENAMED} ${result.renamedTo}`,
          details: `${result.name ?? ''} → ${result.renamedTo}`,
          errorCode: '',
          level: 'Warning',
        }
      }
      outcomes.push(outcome)
    } else if (result.status === 'warning') {
      // trash of an object already in the Trash Can: done; restore of one in the workflow: nothing to report
      if (mode.operation === 'delete') outcomes.push({ id: key, handled: true })
    } else {
      const report = reportEntry(result, mode.permanent)
      outcomes.push({
        id: key,
        handled: false,
        report,
        detailLine:
          result.code === ErrorCodes.ACCESS_DENIED || result.code === ErrorCodes.TOP_LEVEL_FOLDER
            ? `${key} (${flag})`
            : key,
      })
    }
  }
  return outcomes
}

function v8Reply(operation: 'DeleteObjects' | 'RestoreObjects', outcomes: Outcome[]): string {
  return renderResponse(operation, {
    IDs: outcomes.filter((o) => o.handled).map((o) => o.id),
    Reports: outcomes.filter((o) => o.report).map((o) => errorReport(o.id, [o.report!])),
  })
}

/** v7 clients know SOAP faults only: every failure in one fault, messages and ids one per line (seed 004). */
function v7Reply(outcomes: Outcome[]): string {
  const failed = outcomes.filter((o) => !o.handled && o.report)
  if (failed.length > 0) {
    throw new EnterpriseFault(
      'Client',
      failed.map((o) => o.report!.message).join('\n'),
      failed.map((o) => o.detailLine ?? o.id).join('\n'),
    )
  }
  return renderResponse('DeleteObjects', { IDs: [], Reports: null })
}

// ---- DeleteObjects / RestoreObjects

export async function deleteObjects(input: OperationInput): Promise<string> {
  const { ctx, body } = input
  const actor = await requireActor(input)
  const permanentText = optionalText(body, 'Permanent')
  if (permanentText === null || permanentText === '') throw argumentFault('Permanent is required')
  const permanent = parseBoolean(permanentText, 'Permanent')
  const givenAreas = readAreas(body)
  const v7 = givenAreas === null
  const area: Area = givenAreas?.[0] ?? 'Workflow'
  if (!permanent && area === 'Trash')
    throw argumentFault('Cannot have Area=Trash and Permanent=False combination')

  const rawIds = stringArray(body, 'IDs')
  const params = queryParams(body, 'Params')
  const noParams = params === null || params.length === 0
  const emptyTrash = rawIds === null && noParams && permanent && area === 'Trash'
  if (rawIds === null && noParams && !emptyTrash) {
    throw argumentFault('Empty Param and Empty IDs are not allowed on Workflow area.')
  }

  // IDs joined with what Params (or "everything") find: the core flattens them, so plug-ins always see ids
  const written = rawIds ?? []
  const select: TrashFilter | undefined = emptyTrash
    ? { ...areaFilter('Trash', []), purgeable: true }
    : noParams
      ? undefined
      : areaFilter(area, params)
  const request = { ...(select ? { select } : {}), perTransaction: BATCH }
  const { results } = permanent
    ? await ctx.trash.purge(actor, recordIds(written), { ...request, includeActive: area === 'Workflow' })
    : await ctx.trash.trash(actor, recordIds(written), request)
  const outcomes = outcomesOf(resultIds(written, results), results, { operation: 'delete', permanent })
  return v7 ? v7Reply(outcomes) : v8Reply('DeleteObjects', outcomes)
}

export async function restoreObjects(input: OperationInput): Promise<string> {
  const { ctx, body } = input
  const actor = await requireActor(input)
  const written = stringArray(body, 'IDs')
  if (written === null) throw argumentFault('IDs is required')
  // objects come back where they were; a folder that is gone meanwhile is recreated
  const { results } = await ctx.trash.restore(actor, recordIds(written), {
    onMissingParent: 'recreate',
    perTransaction: BATCH,
  })
  return v8Reply('RestoreObjects', outcomesOf(written, results, { operation: 'restore', permanent: false }))
}

// ---- QueryObjects

export async function queryObjects(input: OperationInput): Promise<string> {
  const { ctx, body } = input
  const actor = await requireActor(input)
  const params = queryParams(body, 'Params') ?? []
  const area: Area = readAreas(body)?.[0] ?? 'Workflow'
  const firstEntry = Math.max(1, optionalUnsigned(body, 'FirstEntry') ?? 1)
  const maxEntries = optionalUnsigned(body, 'MaxEntries')
  const limit =
    maxEntries === null
      ? DEFAULT_MAX_ENTRIES
      : maxEntries === 0
        ? MAX_ENTRIES
        : Math.min(maxEntries, MAX_ENTRIES)
  const configured = area === 'Trash' ? await ctx.objects.configuredTrashColumns(actor.tenantId) : null
  const columns = columnsFor(
    area,
    stringArray(body, 'RequestProps'),
    stringArray(body, 'MinimalProps'),
    configured,
  )
  const { sort, direction } = sortFor(area, queryOrders(body, 'Order'))

  const filter = areaFilter(area, params)
  const [entries, total] = await Promise.all([
    ctx.trash.list(actor, filter, { limit, offset: firstEntry - 1, sort, direction }),
    ctx.trash.count(actor, filter),
  ])
  const counted = total > 0
  return renderResponse('QueryObjects', {
    Columns: columns.map((name) => ({
      Name: name,
      DisplayName: COLUMNS[name]!.displayName,
      Type: COLUMNS[name]!.type,
    })),
    Rows: entries.map((entry) => columns.map((name) => COLUMNS[name]!.value(entry))),
    FirstEntry: counted ? firstEntry : null,
    ListedEntries: counted ? entries.length : null,
    TotalEntries: counted ? total : null,
  })
}
