import { CoreError, ErrorCodes } from '../../core/errors.js'
import { enterpriseDateTime } from '../../core/events.js'
import {
  type ObjectRow,
  RENDITIONS,
  type Rendition,
  renditionBlob,
  renditionType,
  type VersionRow,
  versionNumber,
} from '../../core/object-service.js'
import type { Area } from '../../core/plugins.js'
import * as policy from '../../core/policy.js'
import { enterpriseId } from '../kit/handles.js'
import { parseId } from '../kit/ids.js'
import type { ReplyObject } from '../soap/schema.js'
import { isNil, type XmlElement } from '../soap/xml.js'
import { type OperationInput, publicationInfo, readAreas, requireActor } from './operations.js'
import {
  argumentFault,
  arrayItems,
  EnterpriseFault,
  field,
  optionalText,
  parseBoolean,
  renderResponse,
  S,
  stringArray,
} from './wire.js'

/**
 * GetObjects, ListVersions, GetVersion, GetDialog2, SetObjectProperties and NamedQuery: the services seed 004
 * gave an Areas parameter so that a Trash Can client can look at what it is about to restore or purge.
 * Files travel as Enterprise's HTTP transfer does: an Attachment with a FileUrl (fileindex.php on this server).
 */

const notFoundFault = (id: string | number) =>
  new EnterpriseFault('Client', S.NOT_FOUND.message, `SCEntError_ObjectNotFound: ${id}`)

/** Denied reads name the object and the Read right flag, as BizAccess does. */
const deniedFault = (id: string | number) =>
  new EnterpriseFault('Client', S.AUTHORIZATION.message, `${id}(R)`)

function refusal(error: unknown, id: string | number): never {
  if (error instanceof CoreError) {
    if (error.code === ErrorCodes.NOT_FOUND) throw notFoundFault(id)
    if (error.code === ErrorCodes.ACCESS_DENIED) throw deniedFault(id)
  }
  throw error
}

/** nil Areas = Workflow (a v7 client, BizQuery::queryObjects2). */
const areaOf = (body: XmlElement): Area => readAreas(body)?.[0] ?? 'Workflow'

function objectId(text: string | null): number {
  if (text === null || text === '') throw argumentFault('ID is required')
  const id = enterpriseId.parse(text)
  if (id === null) throw notFoundFault(text)
  return id
}

function readRendition(body: XmlElement): Rendition {
  const value = optionalText(body, 'Rendition') ?? 'none'
  const rendition = (value === '' ? 'none' : value) as Rendition
  if (!RENDITIONS.includes(rendition)) throw argumentFault(`Unknown rendition: ${value}`)
  return rendition
}

/** The download address of a rendition: fileindex.php next to the SOAP entry point (the client adds its ticket). */
export function fileUrl(
  endpoint: string,
  id: number,
  rendition: Rendition,
  area: Area,
  version: string | null,
): string {
  const base = endpoint.replace(/index\.php$/, 'fileindex.php')
  const query = new URLSearchParams({ objectid: String(id), rendition, areas: area })
  if (version !== null) query.set('version', version)
  return `${base}?${query.toString()}`
}

/** An Attachment whose file is fetched from fileindex.php; null when the rendition is none or not stored. */
function attachment(
  endpoint: string,
  object: ObjectRow,
  version: VersionRow,
  rendition: Rendition,
  area: Area,
  pinned: boolean,
): ReplyObject | null {
  if (rendition === 'none' || renditionBlob(version, rendition) === null) return null
  return {
    Rendition: rendition,
    Type: renditionType(version, rendition),
    Content: null,
    FilePath: '',
    FileUrl: fileUrl(endpoint, object.id, rendition, area, pinned ? versionNumber(version) : null),
    EditionId: null,
  }
}

const idName = (id: number | null, label: string | null) =>
  id === null ? null : { Id: id, Name: label ?? '' }

/** MetaData as Enterprise sends it: Basic, Rights, Source, Content, Workflow (with Deletor/Deleted), Extra. */
export function metaData(object: ObjectRow, current: VersionRow | undefined): ReplyObject {
  // seed 004: Deleted and Deletor describe the last delete and stay untouched on restore
  const deleted = object.deletedAt !== null
  return {
    BasicMetaData: {
      ID: object.id,
      DocumentID: '',
      Name: object.name,
      Type: object.type,
      Publication: idName(object.brandId, object.brandName),
      Category: idName(object.categoryId, object.categoryName),
      ContentSource: '',
    },
    RightsMetaData: { CopyrightMarked: 'false', Copyright: '', CopyrightURL: '' },
    SourceMetaData: null,
    ContentMetaData: { Description: null, Format: object.contentType ?? '', FileSize: object.size },
    WorkflowMetaData: {
      Deadline: null,
      Modifier: object.modifierLogin ?? '',
      Modified: enterpriseDateTime(object.modifiedAt),
      Creator: object.creatorLogin ?? '',
      Created: enterpriseDateTime(object.createdAt),
      Comment: current?.comment ?? '',
      State: null,
      RouteTo: '',
      LockedBy: '',
      Version: current ? versionNumber(current) : '0.1',
      Deletor: deleted ? (object.deletorLogin ?? '') : null,
      Deleted: deleted ? enterpriseDateTime(object.deletedAt) : null,
    },
    ExtraMetaData: '',
  }
}

/** The issue an object is assigned to, as Targets (Enterprise's print channel targets). */
function targets(object: ObjectRow): ReplyObject[] {
  if (object.issueId === null) return []
  return [
    {
      PubChannel: null,
      Issue: idName(object.issueId, object.issueName),
      Editions: null,
      PublishedDate: null,
      PublishedVersion: null,
    },
  ]
}

// ---- GetObjects

export async function getObjects(input: OperationInput): Promise<string> {
  const { ctx, body } = input
  const actor = await requireActor(input)
  const area = areaOf(body)
  const written = stringArray(body, 'IDs')
  if (written === null || written.length === 0) throw argumentFault('IDs is required')
  const lock = optionalText(body, 'Lock')
  if (lock !== null && lock !== '' && parseBoolean(lock, 'Lock')) {
    // nothing in the Trash Can can be checked out; trashd does not check objects out in the workflow either
    throw area === 'Trash'
      ? new EnterpriseFault('Client', S.ARGUMENT.message, 'Objects in the Trash Can cannot be locked.')
      : new EnterpriseFault('Client', S.PERFORM.message, 'Objects are not checked out by this server.')
  }
  const rendition = readRendition(body)
  const ids = [...new Set(written.map((id) => objectId(id)))]
  // HaveVersions: the client holds these versions already, so their files are not sent again
  const have = new Map<number, string>()
  for (const item of arrayItems(body, 'HaveVersions') ?? []) {
    if (isNil(item)) continue
    const id = optionalText(item, 'ID')
    const version = optionalText(item, 'Version')
    if (id && version) have.set(Number(id), version)
  }
  const read = await ctx.objects.read(actor, ids, area)
  const first = read.refused[0]
  if (first) throw first.code === ErrorCodes.ACCESS_DENIED ? deniedFault(first.id) : notFoundFault(first.id)
  const byId = new Map(read.objects.map((object) => [object.id, object]))
  const objects = ids.map((id) => {
    const object = byId.get(id)!
    const versions = read.versions.get(id) ?? []
    const current = versions[versions.length - 1]
    const upToDate = current !== undefined && have.get(id) === versionNumber(current)
    const file =
      current && !upToDate ? attachment(input.endpoint, object, current, rendition, area, false) : null
    return {
      MetaData: metaData(object, current),
      Relations: null,
      Pages: null,
      Files: file ? [file] : [],
      Messages: null,
      Elements: null,
      Targets: targets(object),
    }
  })
  return renderResponse('GetObjects', { Objects: objects })
}

// ---- ListVersions / GetVersion

function versionInfo(
  endpoint: string,
  object: ObjectRow,
  version: VersionRow,
  rendition: Rendition,
  area: Area,
): ReplyObject {
  return {
    Version: versionNumber(version),
    User: version.creatorLogin ?? '',
    Comment: version.comment,
    Slugline: '',
    Created: enterpriseDateTime(version.createdAt),
    Object: object.name,
    State: null,
    File: attachment(endpoint, object, version, rendition, area, true),
  }
}

export async function listVersions(input: OperationInput): Promise<string> {
  const { ctx, body } = input
  const actor = await requireActor(input)
  const area = areaOf(body)
  const written = optionalText(body, 'ID')
  const id = objectId(written)
  const rendition = readRendition(body)
  const { object, versions } = await ctx.objects.readOne(actor, id, area).catch((e) => refusal(e, id))
  return renderResponse('ListVersions', {
    Versions: versions.map((version) => versionInfo(input.endpoint, object, version, rendition, area)),
  })
}

export async function getVersion(input: OperationInput): Promise<string> {
  const { ctx, body } = input
  const actor = await requireActor(input)
  const area = areaOf(body)
  const id = objectId(optionalText(body, 'ID'))
  const wanted = optionalText(body, 'Version')
  if (wanted === null || wanted === '') throw argumentFault('Version is required')
  const rendition = readRendition(body)
  const { object, versions } = await ctx.objects.readOne(actor, id, area).catch((e) => refusal(e, id))
  // "1" and "1.0" name the same version
  const normalized = /^\d+$/.test(wanted) ? `${wanted}.0` : wanted
  const version = versions.find((v) => versionNumber(v) === normalized)
  if (!version) throw new EnterpriseFault('Client', S.NOT_FOUND.message, `${id} ${wanted}`)
  return renderResponse('GetVersion', {
    VersionInfo: versionInfo(input.endpoint, object, version, rendition, area),
  })
}

// ---- GetDialog2

interface DialogProperty {
  name: string
  displayName: string
  type: 'string' | 'int' | 'datetime' | 'list'
  value(object: ObjectRow, current: VersionRow | undefined): string
}

const DIALOG_PROPERTIES: DialogProperty[] = [
  { name: 'ID', displayName: 'ID', type: 'string', value: (o) => String(o.id) },
  { name: 'Name', displayName: 'Name', type: 'string', value: (o) => o.name },
  { name: 'Type', displayName: 'Type', type: 'list', value: (o) => o.type },
  { name: 'Publication', displayName: 'Brand', type: 'list', value: (o) => o.brandName ?? '' },
  { name: 'Issue', displayName: 'Issue', type: 'list', value: (o) => o.issueName ?? '' },
  { name: 'Category', displayName: 'Category', type: 'list', value: (o) => o.categoryName ?? '' },
  { name: 'Format', displayName: 'Format', type: 'string', value: (o) => o.contentType ?? '' },
  { name: 'FileSize', displayName: 'File Size', type: 'int', value: (o) => String(o.size) },
  {
    name: 'Version',
    displayName: 'Version',
    type: 'string',
    value: (_o, v) => (v ? versionNumber(v) : '0.1'),
  },
  { name: 'Creator', displayName: 'Created By', type: 'string', value: (o) => o.creatorLogin ?? '' },
  {
    name: 'Created',
    displayName: 'Created On',
    type: 'datetime',
    value: (o) => enterpriseDateTime(o.createdAt),
  },
  { name: 'Modifier', displayName: 'Modified By', type: 'string', value: (o) => o.modifierLogin ?? '' },
  {
    name: 'Modified',
    displayName: 'Modified On',
    type: 'datetime',
    value: (o) => enterpriseDateTime(o.modifiedAt),
  },
]

const TRASH_DIALOG_PROPERTIES: DialogProperty[] = [
  {
    name: 'Deleted',
    displayName: 'Deleted On',
    type: 'datetime',
    value: (o) => enterpriseDateTime(o.deletedAt),
  },
  { name: 'Deletor', displayName: 'Deleted By', type: 'string', value: (o) => o.deletorLogin ?? '' },
]

/** The object id of a GetDialog2 request: MetaData/MetaDataValue with Property ID (or GetDialog's ID). */
function dialogObjectId(body: XmlElement): string | null {
  for (const value of arrayItems(body, 'MetaData') ?? []) {
    if (optionalText(value, 'Property') !== 'ID') continue
    const values = stringArray(value, 'Values')
    if (values?.[0]) return values[0]
    const propertyValues = arrayItems(value, 'PropertyValues')
    const first = propertyValues?.[0]
    if (first) return optionalText(first, 'Value')
  }
  return optionalText(body, 'ID')
}

/** The dialog actions of the Trash Can (v8 BizWorkflow::getDialog): its properties are shown, never edited. */
const TRASH_DIALOG_ACTIONS = ['', 'Preview', 'SetProperties']
const DIALOG_TITLES: Record<string, string> = {
  '': 'Preview',
  Preview: 'Preview',
  SetProperties: 'Set Properties',
}

interface DialogParts {
  object: ObjectRow
  current: VersionRow | undefined
  properties: DialogProperty[]
  title: string
}

/** GetDialog and GetDialog2 alike: the object's properties as the dialog of an action shows them, read-only. */
async function dialogParts(input: OperationInput, operation: string): Promise<DialogParts> {
  const { ctx, body } = input
  const actor = await requireActor(input)
  const area = areaOf(body)
  const action = optionalText(body, 'Action') ?? ''
  if (area === 'Trash' && !TRASH_DIALOG_ACTIONS.includes(action)) {
    throw new EnterpriseFault(
      'Client',
      S.AUTHORIZATION.message,
      `${operation} service: When the object is from Trash area, only Preview and Set Properties are allowed.`,
    )
  }
  const id = objectId(dialogObjectId(body))
  const { object, versions } = await ctx.objects.readOne(actor, id, area).catch((e) => refusal(e, id))
  // Deleted and Deletor are the system's: shown (read-only) for an object deleted once, in the Trash or restored
  const properties = [...DIALOG_PROPERTIES, ...(object.deletedAt !== null ? TRASH_DIALOG_PROPERTIES : [])]
  return {
    object,
    current: versions[versions.length - 1],
    properties,
    title: DIALOG_TITLES[action] ?? action,
  }
}

/** The dialog: one General tab with a read-only widget per property (nil: what a widget leaves undefined). */
function dialog(parts: DialogParts, values: ReplyObject[]): ReplyObject {
  const widgets = parts.properties.map((p) => ({
    PropertyInfo: { Name: p.name, DisplayName: p.displayName, Type: p.type },
    PropertyUsage: {
      Name: p.name,
      Editable: 'false',
      Mandatory: 'false',
      Restricted: 'false',
      RefreshOnChange: 'false',
    },
  }))
  return {
    Title: parts.title,
    Tabs: [{ Title: 'General', Widgets: widgets, DefaultFocus: 'Name' }],
    MetaData: values,
    ButtonBar: null,
  }
}

const metaDataValue = (parts: DialogParts, p: DialogProperty, withPropertyValues: boolean) => ({
  Property: p.name,
  Values: [p.value(parts.object, parts.current)],
  PropertyValues: withPropertyValues ? null : undefined,
})

export async function getDialog2(input: OperationInput): Promise<string> {
  const parts = await dialogParts(input, 'GetDialog2')
  const values = parts.properties.map((p) => metaDataValue(parts, p, true))
  return renderResponse('GetDialog2', {
    Dialog: dialog(parts, values),
    MetaData: values,
    Targets: targets(parts.object),
  })
}

/**
 * GetDialog, the v7 form GetDialog2 superseded and v8 still answers: the Request* flags choose the parts; the
 * dialog's MetaData carries Values only and leaves ID out (as v8's conversion for v7 clients does).
 */
export async function getDialog(input: OperationInput): Promise<string> {
  const { ctx, body } = input
  const parts = await dialogParts(input, 'GetDialog')
  const flag = (name: string) => {
    const value = optionalText(body, name)
    return value !== null && value !== '' && parseBoolean(value, name)
  }
  const object = parts.object
  let publications: ReplyObject[] | null = null
  let ownPublication: ReplyObject | null = null
  if (flag('RequestPublication')) {
    const actor = await requireActor(input)
    const brands = await ctx.admin.brandsOf(actor)
    publications = brands.map((brand) => ({ Id: brand.id, Name: brand.name }))
    const own = brands.find((brand) => Number(brand.id) === object.brandId)
    if (own) ownPublication = publicationInfo(own)
  }
  const values = parts.properties.filter((p) => p.name !== 'ID').map((p) => metaDataValue(parts, p, false))
  const withTargets = flag('RequestTargets')
  return renderResponse('GetDialog', {
    Dialog: flag('RequestDialog') ? dialog(parts, values) : null,
    Publications: publications,
    PublicationInfo: ownPublication,
    MetaData: flag('RequestMetaData') ? metaData(object, parts.current) : null,
    GetStatesResponse: flag('RequestStates') ? { States: '', RouteToUsers: '', RouteToGroups: '' } : null,
    Targets: withTargets ? targets(object) : null,
    RelatedTargets: withTargets ? '' : null,
  })
}

// ---- SetObjectProperties (admin clean-up moves)

/**
 * An Id/Name child (Category, Issue): undefined when not given, absent or nil alike (.NET's XmlSerializer sends
 * every unset nillable member as xsi:nil="true"), so a client that sends back what GetObjects gave moves nothing;
 * null when it asks for none (an empty or 0 Id).
 */
function childId(parent: XmlElement | undefined, name: string): number | null | undefined {
  const element = parent ? field(parent, name) : undefined
  if (!element || isNil(element)) return undefined
  const text = optionalText(element, 'Id')
  if (text === null) return undefined
  if (text === '' || text === '0') return null
  const id = parseId(text)
  if (id === null) throw argumentFault(`${name} Id must be a number`)
  return id
}

export async function setObjectProperties(input: OperationInput): Promise<string> {
  const { ctx, body } = input
  const actor = await requireActor(input)
  const area = areaOf(body)
  const id = objectId(optionalText(body, 'ID'))
  // moving objects between issues and categories is the clean-up before those are removed: admins only
  if (policy.requireAdmin(actor)) throw deniedFault(id)
  const { object } = await ctx.objects.readOne(actor, id, area).catch((e) => refusal(e, id))

  const meta = field(body, 'MetaData')
  const basic = meta && !isNil(meta) ? field(meta, 'BasicMetaData') : undefined
  const name = basic ? optionalText(basic, 'Name') : null
  if (name !== null && name !== '' && name !== object.name) {
    throw new EnterpriseFault(
      'Client',
      S.PERFORM.message,
      'Only the issue and category of an object are changed here',
    )
  }
  const categoryId = childId(basic, 'Category')
  let issueId: number | null | undefined
  const targetList = arrayItems(body, 'Targets')
  if (targetList !== null) {
    const issues = targetList.map((target) => childId(target, 'Issue')).filter((value) => value != null)
    if (issues.length > 1) throw argumentFault('An object is assigned to one issue here')
    issueId = issues[0] ?? null
  }
  if (categoryId === null) throw argumentFault('An object keeps a category')
  // an object stays in its brand: the issue and category it moves to must be the brand's own
  for (const [table, target] of [
    ['issues', issueId],
    ['categories', categoryId],
  ] as const) {
    if (target == null) continue
    const brand = await ctx.admin.brandOf(table, actor.tenantId, target)
    if (brand === null) throw new EnterpriseFault('Client', S.NOT_FOUND.message, String(target))
    if (Number(brand) !== object.brandId) {
      throw argumentFault(`${table === 'issues' ? 'Issue' : 'Category'} ${target} belongs to another brand`)
    }
  }

  try {
    await ctx.admin.moveObject(actor, id, area, { issueId, categoryId })
  } catch (error) {
    if (error instanceof CoreError && error.code === ErrorCodes.NOT_FOUND)
      throw new EnterpriseFault('Client', S.NOT_FOUND.message, error.message)
    throw error
  }
  const { object: moved, versions } = await ctx.objects.readOne(actor, id, area)
  return renderResponse('SetObjectProperties', {
    MetaData: metaData(moved, versions[versions.length - 1]),
    Targets: targets(moved),
  })
}

// ---- NamedQuery

export async function namedQuery(input: OperationInput): Promise<string> {
  const { body } = input
  await requireActor(input)
  const query = optionalText(body, 'Query') ?? ''
  // seed 004: queries for the Trash Can do not travel through named queries
  if (readAreas(body)?.includes('Trash')) {
    throw new EnterpriseFault(
      'Client',
      S.ARGUMENT.message,
      'Named queries do not search the Trash Can. Use QueryObjects with Areas=Trash.',
    )
  }
  // LogOn lists no named queries: every name is unknown here
  throw new EnterpriseFault('Client', S.NOT_FOUND.message, query)
}
