import type { TrashVisibility } from '../core/policy.js'
import type { Pace } from '../core/ports/trash-store.js'
import type { ItemKind, ItemState, TrashFilter, TrashListingEntry } from '../core/types.js'
import type { TextQueryable } from './queryable.js'
import { trashWhere } from './trash-page.js'

/**
 * A whole trash listing read in keyset pages, each one short statement on a pooled connection: a listing
 * however long, read by a client however slow, holds no connection and no transaction between its pages (a
 * server-side cursor would hold both for as long as the reader takes). Only the columns a bin listing shows
 * are read, and they are decoded here from their text form (no per-row Date parsing, no row objects of the
 * full item).
 */

/** the listed columns, then the key: deleted_at as PostgreSQL writes it (exact to the microsecond) */
const COLUMNS = 12

interface Key {
  deletedAt: string | null
  id: number
}

/**
 * A page of the listing's SELECT after `after`, newest deleted first (id as tie-break), as the keyset listing
 * orders it. Items never deleted (active ones, when asked for) come last with `nulls last`, else first (the
 * default of `desc`).
 */
function listingSelect(visibility: TrashVisibility, filter: TrashFilter, after: Key | null, limit: number) {
  const { where, values } = trashWhere(visibility, filter)
  const nullable = (filter.states ?? ['trashed']).includes('active')
  if (after) {
    values.push(after.id)
    const id = `$${values.length}`
    if (after.deletedAt === null) {
      where.push(
        nullable
          ? `i.deleted_at is null and i.id < ${id}`
          : `((i.deleted_at is null and i.id < ${id}) or i.deleted_at is not null)`,
      )
    } else {
      values.push(after.deletedAt)
      const at = `$${values.length}::timestamptz`
      where.push(
        nullable
          ? `((i.deleted_at, i.id) < (${at}, ${id}) or i.deleted_at is null)`
          : `(i.deleted_at, i.id) < (${at}, ${id})`,
      )
    }
  }
  values.push(limit)
  const text = `select i.id, i.kind, i.name, i.state, i.size,
         case when i.kind = 'folder' and i.id = i.trash_root then
           (select coalesce(sum(m.size), 0)::bigint from items m where m.tenant_id = i.tenant_id and m.trash_root = i.id
               and m.state = i.state) end as unit_bytes,
         floor(extract(epoch from i.deleted_at) * 1000)::bigint as deleted_ms,
         i.deleted_by, u.login, i.original_parent_id, i.original_path, i.deleted_at
    from items i
    left join users u on u.tenant_id = i.tenant_id and u.id = i.deleted_by
   where ${where.join(' and ')}
   order by i.deleted_at desc${nullable ? ' nulls last' : ''}, i.id desc
   limit $${values.length}`
  return { text, values }
}

const numberOrNull = (value: string | null) => (value === null ? null : Number(value))

function decode(rows: (string | null)[][]): TrashListingEntry[] {
  const entries: TrashListingEntry[] = new Array(rows.length)
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!
    if (row.length !== COLUMNS) throw new Error(`trash listing: ${row.length} columns, expected ${COLUMNS}`)
    const size = Number(row[4])
    entries[r] = {
      id: Number(row[0]),
      kind: row[1] as ItemKind,
      name: row[2] as string,
      state: row[3] as ItemState,
      size,
      unitBytes: row[5] === null ? size : Number(row[5]),
      deletedAt: row[6] === null ? null : new Date(Number(row[6])),
      deletedBy: numberOrNull(row[7] ?? null),
      deletedByLogin: row[8] ?? null,
      originalParentId: numberOrNull(row[9] ?? null),
      originalPath: row[10] ?? null,
    }
  }
  return entries
}

/**
 * Streams the trash an actor may see in batches of `batchSize`, each read by one statement on a pooled
 * connection that goes back to the pool at once. The next batch is fetched while the caller works on the
 * current one. Pages are not one snapshot: an item restored meanwhile may be left out, one trashed meanwhile
 * sorts before the page read and is not listed; none is listed twice.
 */
export async function* streamTrashListing(
  db: TextQueryable,
  visibility: TrashVisibility,
  filter: TrashFilter,
  batchSize = 1000,
  pace: Pace = (read) => read(),
): AsyncGenerator<TrashListingEntry[]> {
  let pending: Promise<{ entries: TrashListingEntry[]; last: Key | null }> | null = null
  const fetchBatch = (after: Key | null) => {
    const { text, values } = listingSelect(visibility, filter, after, batchSize)
    // values arrive as PostgreSQL's text, decoded below column by column
    const batch = pace(() => db.queryText(text, values)).then((rows) => {
      const lastRow = rows[rows.length - 1]
      const last = lastRow ? { deletedAt: lastRow[11] ?? null, id: Number(lastRow[0]) } : null
      return { entries: decode(rows), last }
    })
    // a prefetch may fail while its reader is still busy with the page before (or gone): it is awaited (and
    // its error thrown) only when the reader asks for it, never reported as unhandled meanwhile
    batch.catch(() => {})
    return batch
  }
  pending = fetchBatch(null)
  for (;;) {
    const { entries, last } = await pending
    pending = null
    if (entries.length === 0) break
    if (entries.length === batchSize) pending = fetchBatch(last)
    yield entries
    if (!pending) break
  }
}
