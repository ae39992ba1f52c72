import { enterpriseDateTime } from '../../core/events.js'
import type { Area } from '../../core/plugins.js'
import { MAX_BATCH_IDS, type TrashEntry, type TrashFilter, type TrashSortColumn } from '../../core/types.js'
import { parseId } from '../kit/ids.js'
import { argumentFault, EnterpriseFault, type QueryOrder, type QueryParam, S } from './wire.js'

/**
 * Enterprise query vocabulary → the core's filter: QueryParams (DeleteObjects and QueryObjects), Order and the
 * result columns of QueryObjects.
 */

const invalidProperty = (property: string) =>
  new EnterpriseFault('Client', S.INVALID_PROPERTY.message, property)
const invalidOperation = (param: QueryParam) =>
  new EnterpriseFault('Client', S.INVALID_OPERATION.message, `${param.property} ${param.operation}`)
const invalidValue = (param: QueryParam) =>
  new EnterpriseFault('Client', S.ARGUMENT.message, `Invalid value for ${param.property}: ${param.value}`)

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$/

/**
 * A date or date-time as Enterprise clients send it: `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS` (no zone: UTC, the
 * zone trashd writes in). A date alone stands for its whole day.
 */
function dayRange(param: QueryParam, value: string): { from: Date; to: Date } {
  const trimmed = value.trim()
  if (DATE_ONLY.test(trimmed)) {
    const from = new Date(`${trimmed}T00:00:00.000Z`)
    if (Number.isNaN(from.getTime())) throw invalidValue(param)
    return { from, to: new Date(from.getTime() + 86_400_000 - 1) }
  }
  if (!DATE_TIME.test(trimmed)) throw invalidValue(param)
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(trimmed) ? trimmed : `${trimmed}Z`
  const at = new Date(zoned)
  if (Number.isNaN(at.getTime())) throw invalidValue(param)
  return { from: at, to: at }
}

function id(param: QueryParam): number {
  const value = parseId(param.value.trim())
  if (value === null) throw invalidValue(param)
  return value
}

const later = (a: Date | undefined, b: Date) => (a && a > b ? a : b)
const earlier = (a: Date | undefined, b: Date) => (a && a < b ? a : b)

/** Params (ANDed) → filter fields. Unknown properties: S1020; operations a property does not take: S1019. */
export function paramsToFilter(params: QueryParam[]): Partial<TrashFilter> {
  const filter: Partial<TrashFilter> = {}
  const equalsOnly = (param: QueryParam) => {
    if (param.operation !== '=') throw invalidOperation(param)
  }
  for (const param of params) {
    switch (param.property) {
      case 'ID':
        equalsOnly(param)
        filter.ids ??= []
        if (filter.ids.length >= MAX_BATCH_IDS) {
          throw argumentFault(`At most ${MAX_BATCH_IDS} ID parameters per query`)
        }
        filter.ids.push(id(param))
        break
      case 'Name':
        if (param.operation === '=') {
          filter.name = param.value
          filter.nameExact = true
        } else if (param.operation === 'contains') {
          filter.name = param.value
          filter.nameExact = false
        } else throw invalidOperation(param)
        break
      case 'Type':
        equalsOnly(param)
        filter.type = param.value
        break
      case 'PublicationId':
        equalsOnly(param)
        filter.brandId = id(param)
        break
      case 'IssueId':
        equalsOnly(param)
        filter.issueId = id(param)
        break
      case 'CategoryId':
      case 'SectionId':
        equalsOnly(param)
        filter.categoryId = id(param)
        break
      // Deletor is the WSDL's name, Deleter the guide's: both mean the user who deleted the object
      case 'Deletor':
      case 'Deleter':
        equalsOnly(param)
        filter.deletedByLogin = param.value
        break
      case 'Deleted': {
        const range = dayRange(param, param.value)
        switch (param.operation) {
          case '=':
            filter.deletedFrom = later(filter.deletedFrom, range.from)
            filter.deletedTo = earlier(filter.deletedTo, range.to)
            break
          // deleted_at is kept to milliseconds: strict comparisons are one millisecond inside
          case '<':
            filter.deletedTo = earlier(filter.deletedTo, new Date(range.from.getTime() - 1))
            break
          case '<=':
            filter.deletedTo = earlier(filter.deletedTo, range.to)
            break
          case '>':
            filter.deletedFrom = later(filter.deletedFrom, new Date(range.to.getTime() + 1))
            break
          case '>=':
            filter.deletedFrom = later(filter.deletedFrom, range.from)
            break
          case 'between': {
            if (param.value2 === null) throw invalidValue(param)
            const end = dayRange(param, param.value2)
            filter.deletedFrom = later(filter.deletedFrom, range.from)
            filter.deletedTo = earlier(filter.deletedTo, end.to)
            break
          }
          default:
            throw invalidOperation(param)
        }
        break
      }
      default:
        throw invalidProperty(param.property)
    }
  }
  return filter
}

/** The core filter for an area: the Trash lists trash units (a trashed folder once), the Workflow active items. */
export function areaFilter(area: Area, params: QueryParam[]): TrashFilter {
  return {
    scope: 'visible',
    ...(area === 'Trash' ? { states: ['trashed'], rootsOnly: true } : { states: ['active'] }),
    ...paramsToFilter(params),
  }
}

interface Column {
  displayName: string
  type: 'string' | 'list' | 'int' | 'datetime'
  value(entry: TrashEntry): string
}

const idOrEmpty = (value: number | null) => (value === null ? '' : String(value))

/** The properties QueryObjects can show. */
export const COLUMNS: Record<string, Column> = {
  ID: { displayName: 'ID', type: 'string', value: (e) => String(e.id) },
  Type: { displayName: 'Type', type: 'list', value: (e) => e.type },
  Name: { displayName: 'Name', type: 'string', value: (e) => e.name },
  Deleted: { displayName: 'Deleted On', type: 'datetime', value: (e) => enterpriseDateTime(e.deletedAt) },
  Deletor: { displayName: 'Deleted By', type: 'string', value: (e) => e.deletedByLogin ?? '' },
  PublicationId: { displayName: 'Brand ID', type: 'string', value: (e) => idOrEmpty(e.brandId) },
  Publication: { displayName: 'Brand', type: 'list', value: (e) => e.brandName ?? '' },
  IssueId: { displayName: 'Issue ID', type: 'string', value: (e) => idOrEmpty(e.issueId) },
  CategoryId: { displayName: 'Category ID', type: 'string', value: (e) => idOrEmpty(e.categoryId) },
  FileSize: { displayName: 'File Size', type: 'int', value: (e) => String(e.unitBytes) },
  Format: { displayName: 'Format', type: 'string', value: (e) => e.contentType ?? '' },
  Modified: { displayName: 'Modified On', type: 'datetime', value: (e) => enterpriseDateTime(e.modifiedAt) },
  Created: { displayName: 'Created On', type: 'datetime', value: (e) => enterpriseDateTime(e.createdAt) },
}

const ALIASES: Record<string, string> = { Deleter: 'Deletor', SectionId: 'CategoryId' }

/**
 * Columns: always ID, Type, Name first; the Trash adds Deleted and Deletor; then RequestProps (which overrule
 * the defaults and MinimalProps) or the defaults plus MinimalProps. Properties trashd does not know are left out.
 */
export function columnsFor(
  area: Area,
  requestProps: string[] | null,
  minimalProps: string[] | null,
  /** the tenant's Trash Can columns (Dialog Setup), when it set its own */
  configuredTrash: string[] | null = null,
): string[] {
  if (area === 'Trash' && configuredTrash && requestProps === null) {
    const names = ['ID', 'Type', 'Name']
    for (const requested of [...configuredTrash, ...(minimalProps ?? [])]) {
      const name = ALIASES[requested] ?? requested
      if (COLUMNS[name] && !names.includes(name)) names.push(name)
    }
    return names
  }
  const names = ['ID', 'Type', 'Name', ...(area === 'Trash' ? ['Deleted', 'Deletor'] : [])]
  const extra =
    requestProps ??
    (area === 'Trash'
      ? ['PublicationId', 'Publication', 'IssueId', 'CategoryId', 'FileSize', ...(minimalProps ?? [])]
      : [
          'PublicationId',
          'Publication',
          'IssueId',
          'CategoryId',
          'FileSize',
          'Modified',
          ...(minimalProps ?? []),
        ])
  for (const requested of extra) {
    const name = ALIASES[requested] ?? requested
    if (COLUMNS[name] && !names.includes(name)) names.push(name)
  }
  return names
}

const ORDER_COLUMNS: Record<string, TrashSortColumn> = {
  ID: 'id',
  Name: 'name',
  Type: 'type',
  Deleted: 'deletedAt',
  Deletor: 'deletedBy',
  Deleter: 'deletedBy',
  Modified: 'modifiedAt',
  FileSize: 'size',
  Publication: 'brand',
}

/** The first Order entry trashd can sort by; default Deleted descending (Trash) or Modified descending. */
export function sortFor(
  area: Area,
  orders: QueryOrder[] | null,
): { sort: TrashSortColumn; direction: 'asc' | 'desc' } {
  for (const order of orders ?? []) {
    const sort = ORDER_COLUMNS[order.property]
    if (sort) return { sort, direction: order.ascending ? 'asc' : 'desc' }
  }
  return { sort: area === 'Trash' ? 'deletedAt' : 'modifiedAt', direction: 'desc' }
}
