import { MAX_BATCH_IDS } from '../../core/types.js'
import { buildEnvelope } from '../soap/envelope.js'
import { soapFault } from '../soap/fault.js'
import { type ReplyObject, renderElements } from '../soap/schema.js'
import { strict, TEXT, XSI_NS } from '../soap/writer.js'
import { child, isNil, type XmlElement } from '../soap/xml.js'
import {
  ENTERPRISE_SCHEMA,
  type EnterpriseOperation,
  type EnterpriseVersion,
  RESPONSES,
  SERVED_VERSION,
} from './schema.js'

/** WoodWing Enterprise workflow interface wire: urn:SmartConnection, document/literal, unqualified children. */
export const SC_NS = 'urn:SmartConnection'

/** The enUS server messages trashd answers with (config/resources/enUS.xml of Enterprise Server). */
export const S = {
  ARGUMENT: { code: 'S1000', message: 'Missing function parameter (S1000)' },
  AUTHORIZATION: { code: 'S1002', message: 'Access denied (S1002)' },
  DATABASE: { code: 'S1004', message: 'Database error (S1004)' },
  DELETE: { code: 'S1008', message: 'The following could not be deleted (S1008):' },
  ERROR: { code: 'S1012', message: 'Sorry, an unknown error occurred. (S1012)' },
  INVALID_OPERATION: { code: 'S1019', message: 'Invalid operation (S1019)' },
  INVALID_PROPERTY: { code: 'S1020', message: 'Invalid property (S1020)' },
  NOT_FOUND: { code: 'S1029', message: 'The database record could not be found. (S1029)' },
  TICKET: {
    code: 'S1043',
    message:
      'The system could not be accessed because the log-on ticket has become invalid or has expired. Please log in again. (S1043)',
  },
  WRONG_PASSWORD: { code: 'S1053', message: 'The user name or password is incorrect. (S1053)' },
  USER_DISABLED: { code: 'S1051', message: 'The account for this user has been deactivated. (S1051)' },
  PERFORM: { code: 'S1072', message: 'Not allowed to perform this operation. (S1072)' },
} as const

/** Enterprise's message for restores that had to take another name (ERR_ITEMS_RENAMED has no S-code). */
export const ITEMS_RENAMED =
  'The following restored items had to be renamed because the original name was occupied again:'

/** A SOAP fault as Enterprise sends it: faultcode Client|Server, localized faultstring, plain-text detail. */
export class EnterpriseFault extends Error {
  constructor(
    readonly faultcode: 'Client' | 'Server' | 'VersionMismatch',
    readonly faultstring: string,
    readonly detail = '',
  ) {
    super(faultstring)
    this.name = 'EnterpriseFault'
  }
}

export const argumentFault = (detail: string) => new EnterpriseFault('Server', S.ARGUMENT.message, detail)

// ---- reading requests

/** A child by local name in any namespace or none (clients differ in qualifying children). */
export function field(parent: XmlElement, name: string): XmlElement | undefined {
  return child(parent, name)
}

/** Text of an optional string field; null when absent or nil. */
export function optionalText(parent: XmlElement, name: string): string | null {
  const element = field(parent, name)
  if (!element || isNil(element)) return null
  return element.text.trim()
}

/**
 * An array parameter: its items whatever they are called (String, item, Area, AreaType, Param, QueryParam)
 * and whatever SOAP-ENC attributes it carries; null when absent or nil.
 */
export function arrayItems(parent: XmlElement, name: string): XmlElement[] | null {
  const element = field(parent, name)
  if (!element || isNil(element)) return null
  if (element.children.length > MAX_BATCH_IDS) {
    throw argumentFault(`At most ${MAX_BATCH_IDS} entries in ${name}`)
  }
  return element.children
}

export function stringArray(parent: XmlElement, name: string): string[] | null {
  const items = arrayItems(parent, name)
  return items ? items.filter((item) => !isNil(item)).map((item) => item.text.trim()) : null
}

export function parseBoolean(value: string, name: string): boolean {
  const normalized = value.trim().toLowerCase()
  if (normalized === 'true' || normalized === '1') return true
  if (normalized === 'false' || normalized === '0') return false
  throw argumentFault(`${name} must be true or false`)
}

export function optionalUnsigned(parent: XmlElement, name: string): number | null {
  const text = optionalText(parent, name)
  if (text === null || text === '') return null
  if (!/^\d{1,9}$/.test(text)) throw argumentFault(`${name} must be an unsigned integer`)
  return Number(text)
}

export interface QueryParam {
  property: string
  operation: string
  value: string
  value2: string | null
}

export function queryParams(parent: XmlElement, name: string): QueryParam[] | null {
  const items = arrayItems(parent, name)
  if (!items) return null
  return items
    .filter((item) => !isNil(item))
    .map((item) => ({
      property: optionalText(item, 'Property') ?? '',
      operation: optionalText(item, 'Operation') ?? '',
      value: optionalText(item, 'Value') ?? '',
      value2: optionalText(item, 'Value2'),
    }))
}

export interface QueryOrder {
  property: string
  ascending: boolean
}

export function queryOrders(parent: XmlElement, name: string): QueryOrder[] | null {
  const items = arrayItems(parent, name)
  if (!items) return null
  return items
    .filter((item) => !isNil(item))
    .map((item) => {
      const direction = optionalText(item, 'Direction')
      return {
        property: optionalText(item, 'Property') ?? '',
        // Direction false = descending, anything else ascending
        ascending: direction === null || direction === '' ? true : parseBoolean(direction, 'Direction'),
      }
    })
}

// ---- writing replies

const ENVELOPE = { version: '1.1', prefix: 'SOAP-ENV', namespaces: { ns1: SC_NS, xsi: XSI_NS } } as const

export function envelope(body: string): string {
  // the body first: a spread followed by a new key took 2-3 us per reply on Node.js 20 (ENVELOPE has no body)
  return buildEnvelope({ body, ...ENVELOPE })
}

/**
 * A response: `<ns1:XxxResponse>` with unqualified children, the reply object rendered by the Enterprise schema
 * (element values escaped in full, `<a/>`: PHP's SoapServer).
 */
export function renderResponse(
  operation: EnterpriseOperation,
  reply: ReplyObject = {},
  version: EnterpriseVersion = SERVED_VERSION,
): string {
  const children = renderElements(ENTERPRISE_SCHEMA, RESPONSES[operation].elements, reply, version)
  return envelope(strict.element(`ns1:${operation}Response`, children))
}

/** A fault as PHP's SoapServer writes it: quotes in text as they are, an empty faultactor, detail as text. */
export function faultEnvelope(fault: EnterpriseFault): string {
  return soapFault(
    { code: fault.faultcode, reason: fault.faultstring, detailText: fault.detail },
    { ...ENVELOPE, xml: TEXT, faultactor: true },
  )
}

export interface ReportEntry {
  message: string
  details: string
  errorCode: string
  level: 'Info' | 'Warning' | 'Error'
}

/** One ErrorReport for an object, as seed 004 shows it. */
export function errorReport(id: string, entries: ReportEntry[]): ReplyObject {
  return {
    BelongsTo: { Type: 'Object', ID: id },
    Entries: entries.map((entry) => ({
      Entities: [],
      Message: entry.message,
      Details: entry.details,
      ErrorCode: entry.errorCode,
      MessageLevel: entry.level,
    })),
  }
}
