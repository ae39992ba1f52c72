import type { ComplexTypeSpec, ElementSpec, ReplySchema } from '../soap/schema.js'
import { strict } from '../soap/writer.js'

/**
 * The reply side of the workflow interface this server answers (wsdl/SCEnterprise.wsdl): every type and response
 * element in schema order, with the Enterprise version that introduced it. Replies are reply objects rendered
 * from it (soap/schema.ts), so an element is written only where the schema puts it.
 */

/** An Enterprise interface version, `major.minor` (8.0 brought the Trash Can). */
export type EnterpriseVersion = string

/**
 * The interface version replies are written in: the one the WSDL describes. A v7 client (a DeleteObjects without
 * Areas) is answered in the same schema, as Enterprise 8+ servers answer it: one fault, or Reports nil.
 */
export const SERVED_VERSION: EnterpriseVersion = '10.5'

function parts(version: EnterpriseVersion): [number, number] {
  const [major = '0', minor = '0'] = version.split('.')
  return [Number(major), Number(minor)]
}

/** a < b, by major then minor (10.13 comes after 10.5). */
function before(a: EnterpriseVersion, b: EnterpriseVersion): boolean {
  const [aMajor, aMinor] = parts(a)
  const [bMajor, bMinor] = parts(b)
  return aMajor < bMajor || (aMajor === bMajor && aMinor < bMinor)
}

/** Whether an element or type exists in a version: introduced in `since`, dropped from `until` on. */
export function definesSpec(version: EnterpriseVersion, spec: { since?: string; until?: string }): boolean {
  return (
    (spec.since === undefined || !before(version, spec.since)) &&
    (spec.until === undefined || before(version, spec.until))
  )
}

export type EnterpriseTypeName =
  | 'ArrayOfString'
  | 'ErrorReportEntity'
  | 'ArrayOfErrorReportEntity'
  | 'ErrorReportEntry'
  | 'ArrayOfErrorReportEntry'
  | 'ErrorReport'
  | 'ArrayOfErrorReport'
  | 'IssueInfo'
  | 'ArrayOfIssueInfo'
  | 'CategoryInfo'
  | 'ArrayOfCategoryInfo'
  | 'FeatureAccess'
  | 'ArrayOfFeatureAccess'
  | 'PublicationInfo'
  | 'ArrayOfPublicationInfo'
  | 'Feature'
  | 'ArrayOfFeature'
  | 'ServerInfo'
  | 'AppFeature'
  | 'ArrayOfAppFeature'
  | 'FeatureProfile'
  | 'ArrayOfFeatureProfile'
  | 'MessageQueueConnection'
  | 'ArrayOfMessageQueueConnection'
  | 'User'
  | 'Property'
  | 'ArrayOfProperty'
  | 'Row'
  | 'ArrayOfRow'
  | 'Publication'
  | 'ArrayOfPublication'
  | 'Category'
  | 'Issue'
  | 'BasicMetaData'
  | 'RightsMetaData'
  | 'SourceMetaData'
  | 'ContentMetaData'
  | 'WorkflowMetaData'
  | 'MetaData'
  | 'Attachment'
  | 'ArrayOfAttachment'
  | 'Target'
  | 'ArrayOfTarget'
  | 'Object'
  | 'ArrayOfObject'
  | 'VersionInfo'
  | 'ArrayOfVersionInfo'
  | 'MetaDataValue'
  | 'ArrayOfMetaDataValue'
  | 'PropertyInfo'
  | 'PropertyUsage'
  | 'DialogWidget'
  | 'ArrayOfDialogWidget'
  | 'DialogTab'
  | 'ArrayOfDialogTab'
  | 'Dialog'
  | 'GetStatesResponse'

type Spec = ElementSpec<EnterpriseTypeName>

const string = (name: string, more: Partial<Spec> = {}): Spec => ({ name, type: 'xsd:string', ...more })
const nillable = (name: string, type: Spec['type'] = 'xsd:string', more: Partial<Spec> = {}): Spec => ({
  name,
  type,
  nillable: true,
  ...more,
})
/** nillable and minOccurs="0", as most metadata members are */
const member = (name: string, type: Spec['type'] = 'xsd:string', more: Partial<Spec> = {}): Spec =>
  nillable(name, type, { optional: true, ...more })
/** ArrayOfX: a sequence of items named after their type (WS-I style) */
const arrayOf = (
  item: Spec['type'],
  name = item as string,
  more: Partial<Spec> = {},
): ComplexTypeSpec<EnterpriseTypeName> => ({
  elements: [{ name, type: item, optional: true, many: true }],
  ...more,
})
const idName: ComplexTypeSpec<EnterpriseTypeName> = { elements: [string('Id'), string('Name')] }

export const TYPES: Record<EnterpriseTypeName, ComplexTypeSpec<EnterpriseTypeName>> = {
  ArrayOfString: arrayOf('xsd:string', 'String'),

  // v8.0 error reporting for operations on many objects
  ErrorReportEntity: {
    since: '8.0',
    elements: [string('Type'), nillable('ID'), nillable('Name'), nillable('Role')],
  },
  ArrayOfErrorReportEntity: arrayOf('ErrorReportEntity', 'ErrorReportEntity', { since: '8.0' }),
  ErrorReportEntry: {
    since: '8.0',
    elements: [
      { name: 'Entities', type: 'ArrayOfErrorReportEntity' },
      string('Message'),
      string('Details'),
      string('ErrorCode'),
      string('MessageLevel'),
    ],
  },
  ArrayOfErrorReportEntry: arrayOf('ErrorReportEntry', 'ErrorReportEntry', { since: '8.0' }),
  ErrorReport: {
    since: '8.0',
    elements: [
      { name: 'BelongsTo', type: 'ErrorReportEntity' },
      { name: 'Entries', type: 'ArrayOfErrorReportEntry' },
    ],
  },
  ArrayOfErrorReport: arrayOf('ErrorReport', 'ErrorReport', { since: '8.0' }),

  // LogOn: brands (publications) with the user's feature access, server info, current user
  IssueInfo: idName,
  ArrayOfIssueInfo: arrayOf('IssueInfo'),
  CategoryInfo: idName,
  ArrayOfCategoryInfo: arrayOf('CategoryInfo'),
  FeatureAccess: { elements: [string('Profile'), nillable('Issue'), nillable('Section'), nillable('State')] },
  ArrayOfFeatureAccess: arrayOf('FeatureAccess'),
  PublicationInfo: {
    elements: [
      string('Id'),
      string('Name'),
      nillable('Issues', 'ArrayOfIssueInfo'),
      nillable('FeatureAccessList', 'ArrayOfFeatureAccess'),
      nillable('Categories', 'ArrayOfCategoryInfo'),
    ],
  },
  ArrayOfPublicationInfo: arrayOf('PublicationInfo'),
  Feature: { elements: [string('Key'), nillable('Value')] },
  ArrayOfFeature: arrayOf('Feature'),
  ServerInfo: {
    elements: [
      string('Name'),
      string('URL'),
      string('Developer'),
      string('Implementation'),
      string('Technology'),
      string('Version'),
      { name: 'FeatureSet', type: 'ArrayOfFeature' },
      nillable('CryptKey'),
      member('EnterpriseSystemId'),
    ],
  },
  AppFeature: { elements: [string('Name'), string('Value')] },
  ArrayOfAppFeature: arrayOf('AppFeature'),
  // a profile lists the features it does NOT grant, with Value No (Purge is off unless granted)
  FeatureProfile: { elements: [string('Name'), { name: 'Features', type: 'ArrayOfAppFeature' }] },
  ArrayOfFeatureProfile: arrayOf('FeatureProfile'),
  // 10.0: where a client consumes the server's RabbitMQ messages
  MessageQueueConnection: {
    since: '10.0',
    elements: [
      string('Instance'),
      string('Protocol'),
      string('Url'),
      { name: 'Public', type: 'xsd:boolean' },
      string('User'),
      nillable('Password'),
      nillable('VirtualHost'),
    ],
  },
  ArrayOfMessageQueueConnection: arrayOf('MessageQueueConnection', 'MessageQueueConnection', {
    since: '10.0',
  }),
  User: {
    elements: [string('UserID'), string('FullName'), string('TrackChangesColor'), member('EmailAddress')],
  },

  // QueryObjects
  Property: { elements: [string('Name'), string('DisplayName'), string('Type')] },
  ArrayOfProperty: arrayOf('Property'),
  Row: arrayOf('xsd:string', 'String'),
  ArrayOfRow: arrayOf('Row'),

  // objects, versions and dialogs
  Publication: idName,
  ArrayOfPublication: arrayOf('Publication'),
  Category: idName,
  Issue: idName,
  BasicMetaData: {
    elements: [
      member('ID'),
      member('DocumentID'),
      member('Name'),
      member('Type'),
      member('Publication', 'Publication'),
      member('Category', 'Category'),
      member('ContentSource'),
    ],
  },
  RightsMetaData: {
    elements: [member('CopyrightMarked', 'xsd:boolean'), member('Copyright'), member('CopyrightURL')],
  },
  SourceMetaData: { elements: [member('Credit'), member('Source'), member('Author')] },
  ContentMetaData: {
    elements: [member('Description'), member('Format'), member('FileSize', 'xsd:unsignedInt')],
  },
  WorkflowMetaData: {
    elements: [
      member('Deadline', 'xsd:dateTime'),
      member('Modifier'),
      member('Modified', 'xsd:dateTime'),
      member('Creator'),
      member('Created', 'xsd:dateTime'),
      member('Comment'),
      member('State', 'xsd:anyType'),
      member('RouteTo'),
      member('LockedBy'),
      // major.minor
      member('Version'),
      // v8.0: who deleted the object last and when (read-only; kept when the object is restored)
      member('Deletor', 'xsd:string', { since: '8.0' }),
      member('Deleted', 'xsd:dateTime', { since: '8.0' }),
    ],
  },
  MetaData: {
    elements: [
      member('BasicMetaData', 'BasicMetaData'),
      member('RightsMetaData', 'RightsMetaData'),
      member('SourceMetaData', 'SourceMetaData'),
      member('ContentMetaData', 'ContentMetaData'),
      member('WorkflowMetaData', 'WorkflowMetaData'),
      member('ExtraMetaData', 'xsd:anyType'),
    ],
  },
  Attachment: {
    elements: [
      string('Rendition'),
      string('Type'),
      member('Content', 'xsd:base64Binary'),
      member('FilePath'),
      // GET it with the ticket added (&ticket=...) or sent as the ticket cookie
      member('FileUrl'),
      member('EditionId'),
    ],
  },
  ArrayOfAttachment: arrayOf('Attachment'),
  Target: {
    elements: [
      member('PubChannel', 'xsd:anyType'),
      member('Issue', 'Issue'),
      member('Editions', 'xsd:anyType'),
      member('PublishedDate', 'xsd:dateTime'),
      member('PublishedVersion'),
    ],
  },
  ArrayOfTarget: arrayOf('Target'),
  Object: {
    elements: [
      { name: 'MetaData', type: 'MetaData' },
      member('Relations', 'xsd:anyType'),
      member('Pages', 'xsd:anyType'),
      member('Files', 'ArrayOfAttachment'),
      member('Messages', 'xsd:anyType'),
      member('Elements', 'xsd:anyType'),
      member('Targets', 'ArrayOfTarget'),
    ],
  },
  ArrayOfObject: arrayOf('Object'),
  VersionInfo: {
    elements: [
      string('Version'),
      string('User'),
      string('Comment'),
      string('Slugline'),
      { name: 'Created', type: 'xsd:dateTime' },
      string('Object'),
      nillable('State', 'xsd:anyType'),
      nillable('File', 'Attachment'),
    ],
  },
  ArrayOfVersionInfo: arrayOf('VersionInfo'),
  MetaDataValue: {
    elements: [
      string('Property'),
      nillable('Values', 'ArrayOfString'),
      member('PropertyValues', 'xsd:anyType'),
    ],
  },
  ArrayOfMetaDataValue: arrayOf('MetaDataValue'),
  PropertyInfo: {
    elements: [
      string('Name'),
      string('DisplayName'),
      nillable('Category'),
      string('Type'),
      nillable('DefaultValue'),
      nillable('ValueList', 'ArrayOfString'),
      nillable('MinValue'),
      nillable('MaxValue'),
      nillable('MaxLength', 'xsd:unsignedInt'),
    ],
  },
  PropertyUsage: {
    elements: [
      string('Name'),
      { name: 'Editable', type: 'xsd:boolean' },
      { name: 'Mandatory', type: 'xsd:boolean' },
      { name: 'Restricted', type: 'xsd:boolean' },
      { name: 'RefreshOnChange', type: 'xsd:boolean' },
    ],
  },
  DialogWidget: {
    elements: [
      { name: 'PropertyInfo', type: 'PropertyInfo' },
      { name: 'PropertyUsage', type: 'PropertyUsage' },
    ],
  },
  ArrayOfDialogWidget: arrayOf('DialogWidget'),
  DialogTab: {
    elements: [string('Title'), { name: 'Widgets', type: 'ArrayOfDialogWidget' }, string('DefaultFocus')],
  },
  ArrayOfDialogTab: arrayOf('DialogTab'),
  Dialog: {
    elements: [
      string('Title'),
      { name: 'Tabs', type: 'ArrayOfDialogTab' },
      { name: 'MetaData', type: 'ArrayOfMetaDataValue' },
      member('ButtonBar', 'xsd:anyType'),
    ],
  },
  GetStatesResponse: {
    elements: [
      nillable('States', 'xsd:anyType'),
      nillable('RouteToUsers', 'xsd:anyType'),
      nillable('RouteToGroups', 'xsd:anyType'),
    ],
  },
}

/** The operations answered with a reply (NamedQuery only ever answers with a fault). */
export type EnterpriseOperation =
  | 'LogOn'
  | 'LogOff'
  | 'DeleteObjects'
  | 'RestoreObjects'
  | 'QueryObjects'
  | 'GetObjects'
  | 'ListVersions'
  | 'GetVersion'
  | 'GetDialog'
  | 'GetDialog2'
  | 'SetObjectProperties'

/** Each operation's `<Operation>Response` element: the version that introduced it, and its children. */
export const RESPONSES: Record<EnterpriseOperation, { since?: string; elements: Spec[] }> = {
  LogOn: {
    elements: [
      string('Ticket'),
      nillable('Publications', 'ArrayOfPublicationInfo'),
      nillable('NamedQueries', 'xsd:anyType'),
      nillable('FeatureSet', 'ArrayOfFeature'),
      nillable('LimitationSet', 'ArrayOfString'),
      nillable('ServerInfo', 'ServerInfo'),
      nillable('Settings', 'xsd:anyType'),
      nillable('Users', 'xsd:anyType'),
      nillable('UserGroups', 'xsd:anyType'),
      nillable('Membership', 'xsd:anyType'),
      nillable('ObjectTypeProperties', 'xsd:anyType'),
      nillable('ActionProperties', 'xsd:anyType'),
      nillable('Terms', 'xsd:anyType'),
      nillable('FeatureProfiles', 'ArrayOfFeatureProfile'),
      member('CurrentUser', 'User'),
      member('MessageQueueConnections', 'ArrayOfMessageQueueConnection', { since: '10.0' }),
      member('MessageQueue', 'xsd:string', { since: '10.0' }),
    ],
  },
  LogOff: { elements: [] },
  DeleteObjects: {
    elements: [
      { name: 'IDs', type: 'ArrayOfString' },
      nillable('Reports', 'ArrayOfErrorReport', { since: '8.0' }),
    ],
  },
  // v8.0: bring objects back from the Trash Can into the workflow, under the same IDs
  RestoreObjects: {
    since: '8.0',
    elements: [{ name: 'IDs', type: 'ArrayOfString' }, nillable('Reports', 'ArrayOfErrorReport')],
  },
  QueryObjects: {
    elements: [
      { name: 'Columns', type: 'ArrayOfProperty' },
      { name: 'Rows', type: 'ArrayOfRow' },
      nillable('ChildColumns', 'ArrayOfProperty'),
      nillable('ChildRows', 'xsd:anyType'),
      nillable('ComponentColumns', 'ArrayOfProperty'),
      nillable('ComponentRows', 'xsd:anyType'),
      nillable('FirstEntry', 'xsd:unsignedInt'),
      nillable('ListedEntries', 'xsd:unsignedInt'),
      nillable('TotalEntries', 'xsd:unsignedInt'),
      nillable('UpdateID'),
      nillable('Facets', 'xsd:anyType'),
      nillable('SearchFeatures', 'ArrayOfFeature'),
    ],
  },
  GetObjects: { elements: [{ name: 'Objects', type: 'ArrayOfObject' }] },
  ListVersions: { elements: [{ name: 'Versions', type: 'ArrayOfVersionInfo' }] },
  GetVersion: { elements: [{ name: 'VersionInfo', type: 'VersionInfo' }] },
  GetDialog: {
    elements: [
      nillable('Dialog', 'Dialog'),
      nillable('Publications', 'ArrayOfPublication'),
      nillable('PublicationInfo', 'PublicationInfo'),
      nillable('MetaData', 'MetaData'),
      nillable('GetStatesResponse', 'GetStatesResponse'),
      nillable('Targets', 'ArrayOfTarget'),
      nillable('RelatedTargets', 'xsd:anyType'),
      nillable('Dossiers', 'xsd:anyType'),
    ],
  },
  GetDialog2: {
    elements: [
      { name: 'Dialog', type: 'Dialog' },
      nillable('PubChannels', 'xsd:anyType'),
      { name: 'MetaData', type: 'ArrayOfMetaDataValue' },
      nillable('Targets', 'ArrayOfTarget'),
      nillable('RelatedTargets', 'xsd:anyType'),
      nillable('Dossiers', 'xsd:anyType'),
    ],
  },
  SetObjectProperties: {
    elements: [{ name: 'MetaData', type: 'MetaData' }, nillable('Targets', 'ArrayOfTarget')],
  },
}

/** The Enterprise schema as the renderer reads it: element values escaped in full, `<a/>` (PHP's SoapServer). */
export const ENTERPRISE_SCHEMA: ReplySchema<EnterpriseVersion, EnterpriseTypeName> = {
  door: 'Enterprise',
  types: TYPES,
  defines: definesSpec,
  writer: strict,
}
