import type { TrashEntry, TrashFilter, TrashPage } from '../core/types.js'

/** The keyset cursor of a trash listing: what a page's last entry sorted by, and how a client's cursor is checked. */

export type SortColumn = NonNullable<TrashPage['sort']>
export type Direction = 'asc' | 'desc'

/** The value an entry sorts by, as it goes into a cursor. */
function sortValue(entry: TrashEntry, sort: SortColumn): string | number | null {
  switch (sort) {
    case 'deletedAt':
      return entry.deletedAt?.toISOString() ?? null
    case 'name':
      return entry.name
    case 'size':
      return entry.size
    case 'type':
      return entry.type
    case 'deletedBy':
      return entry.deletedByLogin
    case 'path':
      return entry.originalPath
    case 'brand':
      return entry.brandName
    case 'id':
      return entry.id
    case 'modifiedAt':
      return entry.modifiedAt.toISOString()
    case 'expiresAt':
      return entry.expiresAt?.toISOString() ?? null
  }
}

export const SORT_CASTS: Record<SortColumn, string> = {
  deletedAt: 'timestamptz',
  name: 'text',
  size: 'bigint',
  type: 'text',
  deletedBy: 'text',
  path: 'text',
  brand: 'text',
  id: 'bigint',
  modifiedAt: 'timestamptz',
  expiresAt: 'timestamptz',
}

/**
 * The keyset cursor of the page after this entry. Newest-deleted-first (the default) keeps its compact
 * `deletedAt|id` form; other orders carry their column, direction and value.
 */
export function encodeCursor(
  entry: TrashEntry | { deletedAt: Date | null; id: number },
  sort: SortColumn = 'deletedAt',
  direction: Direction = 'desc',
): string {
  const exact = (entry as TrashEntry).sortKey
  if (sort === 'deletedAt' && direction === 'desc')
    return Buffer.from(`${exact ?? entry.deletedAt?.toISOString() ?? ''}|${entry.id}`).toString('base64url')
  const value = exact ?? sortValue(entry as TrashEntry, sort)
  return Buffer.from(JSON.stringify([sort, direction, value, entry.id])).toString('base64url')
}

/** Sort columns that can be null (trashed rows always have a deleted_at, a name, a type and a size). */
const NULLABLE_SORTS = new Set<SortColumn>(['deletedBy', 'path', 'brand', 'expiresAt'])

/** Whether a listing's sort column can be null: deleted_at only when active items are listed too. */
export const nullableIn = (sort: SortColumn, filter: TrashFilter) =>
  NULLABLE_SORTS.has(sort) || (sort === 'deletedAt' && (filter.states ?? ['trashed']).includes('active'))

/** A cursor value must have its column's type: a forged one is refused, never handed to SQL to fail. */
function valueFits(sort: SortColumn, value: unknown): boolean {
  const cast = SORT_CASTS[sort]
  if (cast === 'bigint') return Number.isSafeInteger(value)
  // text PostgreSQL can hold: no NUL character
  if (typeof value !== 'string' || value.length > 1000 || value.includes('\u0000')) return false
  return cast !== 'timestamptz' || isStoredTime(value)
}

/** Years 1 to 9999: what a row's time can be; PostgreSQL refuses some times JavaScript reads (year -271821). */
const FIRST_TIME = Date.parse('0001-01-01T00:00:00.000Z')
const LAST_TIME = Date.parse('9999-12-31T23:59:59.999Z')

/**
 * A time a cursor may carry. A forged one is refused here: handed to SQL it fails there, and on the embedded
 * database (one connection) other tenants' requests running at that moment were answered 503.
 */
function isStoredTime(text: string): boolean {
  const time = Date.parse(text)
  return time >= FIRST_TIME && time <= LAST_TIME
}

interface Cursor {
  sort: SortColumn
  direction: Direction
  value: string | number | null
  id: number
}

export function decodeCursor(cursor: string): Cursor | null {
  const text = Buffer.from(cursor, 'base64url').toString()
  if (text.startsWith('[')) {
    try {
      const [sort, direction, value, id] = JSON.parse(text) as unknown[]
      if (typeof sort !== 'string' || !(sort in SORT_CASTS)) return null
      if (direction !== 'asc' && direction !== 'desc') return null
      if (!Number.isSafeInteger(id)) return null
      const column = sort as SortColumn
      if (value === null ? !NULLABLE_SORTS.has(column) && column !== 'deletedAt' : !valueFits(column, value))
        return null
      return { sort: column, direction, value: value as string | number | null, id: id as number }
    } catch {
      return null
    }
  }
  const [deletedAt, id] = text.split('|')
  if (!deletedAt || !id || !/^\d{1,15}$/.test(id) || !isStoredTime(deletedAt)) return null
  return { sort: 'deletedAt', direction: 'desc', value: deletedAt, id: Number(id) }
}
