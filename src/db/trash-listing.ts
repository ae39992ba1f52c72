import type { TrashVisibility } from '../core/policy.js'
import type { ItemKind, ItemState, TrashFilter, TrashListingEntry } from '../core/types.js'
import type { Database } from './database.js'
import { trashWhere } from './trash-repository.js'

/**
 * A whole trash listing read through one server-side cursor: one SELECT (planned once, one snapshot) serves
 * the listing however long it is, fetched in batches so that it is never held in memory at once. Only the
 * columns a bin listing shows are read, and they are decoded here from their text form (no per-row Date
 * parsing, no row objects of the full item).
 */

const COLUMNS = 11

/** Values arrive as PostgreSQL's text; decoded below, column by column. */
const RAW_TEXT = { getTypeParser: () => (value: string) => value }

/** The listing's SELECT, newest deleted first (id as tie-break), as the keyset listing orders it. */
function listingSelect(visibility: TrashVisibility, filter: TrashFilter) {
  const { where, values } = trashWhere(visibility, filter)
  const nullable = (filter.states ?? ['trashed']).includes('active')
  const text = `select i.id, i.kind, i.name, i.state, i.size,
         case when i.kind = 'folder' and i.id = i.trash_root then
           (select coalesce(sum(m.size), 0)::bigint from items m where m.tenant_id = i.tenant_id and m.trash_root = i.id
               and m.state = i.state) end as unit_bytes,
         floor(extract(epoch from i.deleted_at) * 1000)::bigint as deleted_ms,
         i.deleted_by, u.login, i.original_parent_id, i.original_path
    from items i
    left join users u on u.tenant_id = i.tenant_id and u.id = i.deleted_by
   where ${where.join(' and ')}
   order by i.deleted_at desc${nullable ? ' nulls last' : ''}, i.id desc`
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
 * Streams the trash an actor may see in batches of `batchSize`, in one read-only transaction on a dedicated
 * connection that is released when the listing ends (read to the end, failed, or abandoned by its reader).
 * The next batch is fetched while the caller works on the current one.
 */
export async function* streamTrashListing(
  db: Database,
  visibility: TrashVisibility,
  filter: TrashFilter,
  batchSize = 1000,
): AsyncGenerator<TrashListingEntry[]> {
  const { text, values } = listingSelect(visibility, filter)
  const client = await db.connect()
  let open = false
  let unusable: Error | undefined
  let pending: Promise<TrashListingEntry[]> | null = null
  const fetchBatch = () =>
    client
      .query<(string | null)[]>({
        text: `fetch forward ${batchSize} from trash_listing`,
        rowMode: 'array',
        types: RAW_TEXT,
      })
      .then((result) => decode(result.rows))
  try {
    await client.query('begin read only')
    open = true
    await client.query(`declare trash_listing no scroll cursor for ${text}`, values)
    pending = fetchBatch()
    for (;;) {
      const batch = await pending
      pending = null
      if (batch.length === 0) break
      if (batch.length === batchSize) pending = fetchBatch()
      yield batch
      if (!pending) break
    }
    open = false
    await client.query('commit')
  } finally {
    // abandoned early (or failed): let a fetch in flight settle before the transaction is ended
    if (pending) await pending.catch(() => {})
    if (open) {
      await client.query('rollback').catch((error: unknown) => {
        unusable = error instanceof Error ? error : new Error(String(error))
      })
    }
    client.release(unusable)
  }
}
