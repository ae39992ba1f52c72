import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Queryable } from '../src/db/database.js'

/**
 * A folder chain `depth` deep with `total` items below its top (folders included), files spread over the
 * levels, made with set-based SQL. Returns the top folder's id.
 */
export async function folderTree(
  q: Queryable,
  tenantId: number,
  ownerId: number,
  name: string,
  total: number,
  depth: number,
): Promise<number> {
  const chain: number[] = []
  for (let level = 0; level < depth; level++) {
    const result = await q.query<{ id: number }>(
      `insert into items (tenant_id, kind, type, name, parent_id, owner_id) values ($1, 'folder', 'Folder', $2, $3, $4)
       returning id`,
      [tenantId, level === 0 ? name : `level-${level}`, chain[level - 1] ?? null, ownerId],
    )
    chain.push(result.rows[0]!.id)
  }
  await q.query(
    `insert into items (tenant_id, kind, type, name, parent_id, owner_id, size)
     select $1, 'file', 'Document', 'file-' || g, ($2::bigint[])[1 + g % $3], $4, 1000
       from generate_series(1, $5::int) as g`,
    [tenantId, chain, depth, ownerId, total - depth],
  )
  await q.query('analyze items')
  return chain[0]!
}

/** Trashes a subtree with raw SQL (for limit datasets): the same columns the core sets. */
export async function rawTrashSubtree(q: Queryable, tenantId: number, rootId: number, userId: number) {
  await q.query(
    `with recursive sub as (
        select id from items where tenant_id = $1 and id = $2
        union all
        select c.id from items c join sub on c.tenant_id = $1 and c.parent_id = sub.id
      )
      update items i set state = 'trashed', deleted_at = now(), deleted_by = $3, trash_root = $2,
             original_parent_id = i.parent_id, original_path = '/' || i.name
        from sub where i.tenant_id = $1 and i.id = sub.id`,
    [tenantId, rootId, userId],
  )
}

export interface TrashedFiles {
  tenantId: number
  /** the deleter (and owner); null: nobody (rows made for the cleanup job) */
  userId: number | null
  count: number
  /** how long ago the newest was trashed, as a PostgreSQL interval ('30 days') */
  ago?: string
  /** give every row a stored-file key (the caller writes the files) */
  withBlobs?: boolean
  prefix?: string
}

/**
 * `count` trashed file units (each its own unit, as a single-item delete leaves them), metadata-only unless
 * withBlobs, in one set-based statement. Ids are taken from the identity sequence in the same statement, so
 * trash_root = id needs no second pass. Returns the ids' range (contiguous unless others insert meanwhile).
 */
export async function trashedFiles(
  q: Queryable,
  options: TrashedFiles,
): Promise<{ first: number; last: number }> {
  const result = await q.query<{ first: number; last: number }>(
    `with n as (
        select nextval(pg_get_serial_sequence('items', 'id')) as id, g from generate_series(1, $3::int) g
      ),
      made as (
        insert into items (tenant_id, id, kind, type, name, size, blob_key, owner_id, state, deleted_at, deleted_by,
                           deleted_via, trash_root, original_path)
        select $1, n.id, 'file', 'Document', $4 || '-' || n.g || '.pdf', 100,
               case when $6 then gen_random_uuid()::text end, $2, 'trashed',
               date_trunc('milliseconds', now() - $5::interval - n.g * interval '1 millisecond'), $2, 'rest', n.id,
               '/' || $4 || '-' || n.g || '.pdf'
          from n
        returning id
      )
      select min(id)::bigint as first, max(id)::bigint as last from made`,
    [
      options.tenantId,
      options.userId,
      options.count,
      options.prefix ?? 'doc',
      options.ago ?? '0',
      !!options.withBlobs,
    ],
  )
  return { first: Number(result.rows[0]!.first), last: Number(result.rows[0]!.last) }
}

/**
 * `tenants` tenants (default retention, 7 days) with `perTenant` trashed metadata-only file units each, trashed
 * `ago`, made set-based. Returns the tenant ids.
 */
export async function tenantsWithTrash(
  q: Queryable,
  prefix: string,
  tenants: number,
  perTenant: number,
  ago: string,
  withBlobs = false,
): Promise<number[]> {
  const made = await q.query<{ id: number }>(
    `insert into tenants (name) select $1 || '-' || g from generate_series(1, $2::int) g returning id`,
    [prefix, tenants],
  )
  const ids = made.rows.map((row) => Number(row.id))
  await q.query(
    `insert into items (tenant_id, kind, type, name, size, blob_key, state, deleted_at, deleted_via, original_path)
     select t.id, 'file', 'Document', 'doc-' || g || '.pdf', 100, case when $4 then gen_random_uuid()::text end,
            'trashed', date_trunc('milliseconds', now() - $3::interval - g * interval '1 millisecond'), 'rest',
            '/doc-' || g || '.pdf'
       from unnest($1::bigint[]) t(id) cross join generate_series(1, $2::int) g`,
    [ids, perTenant, ago, withBlobs],
  )
  await q.query(
    'update items set trash_root = id where tenant_id = any($1::bigint[]) and trash_root is null',
    [ids],
  )
  return ids
}

/** Writes a small file for every stored-file key of these tenants' rows, where the blob store looks for it. */
export async function writeBlobFiles(q: Queryable, root: string, tenantIds: number[]): Promise<string[]> {
  const result = await q.query<{ blob_key: string }>(
    'select blob_key from items where tenant_id = any($1::bigint[]) and blob_key is not null',
    [tenantIds],
  )
  const keys = result.rows.map((row) => row.blob_key)
  const content = Buffer.alloc(100, 120)
  const dirs = new Set(keys.map((key) => path.join(root, key.slice(0, 2), key.slice(2, 4))))
  await inParallel([...dirs], 32, (dir) => mkdir(dir, { recursive: true }))
  await inParallel(keys, 32, (key) =>
    writeFile(path.join(root, key.slice(0, 2), key.slice(2, 4), key), content),
  )
  return keys
}

/** Runs fn over the values, `limit` at a time. */
export async function inParallel<T>(values: T[], limit: number, fn: (value: T) => Promise<unknown>) {
  let next = 0
  const worker = async () => {
    while (next < values.length) await fn(values[next++]!)
  }
  await Promise.all(Array.from({ length: Math.min(limit, values.length) }, worker))
}

/**
 * `count` active metadata-only files owned by `ownerId` in the folder `parentId`, named `<prefix>-<id>.pdf` (a
 * client addressing them by path can work the name out from the id), in one set-based statement. Returns the
 * ids' range (contiguous unless others insert meanwhile).
 */
export async function activeFiles(
  q: Queryable,
  options: { tenantId: number; ownerId: number; parentId: number; count: number; prefix: string },
): Promise<{ first: number; last: number }> {
  const result = await q.query<{ first: number; last: number }>(
    `with n as (select nextval(pg_get_serial_sequence('items', 'id')) as id from generate_series(1, $4::int)),
      made as (
        insert into items (tenant_id, id, kind, type, name, size, parent_id, owner_id, created_by, modified_by)
        select $1, n.id, 'file', 'Document', $5 || '-' || n.id || '.pdf', 100, $3, $2, $2, $2 from n
        returning id
      )
      select min(id)::bigint as first, max(id)::bigint as last from made`,
    [options.tenantId, options.ownerId, options.parentId, options.count, options.prefix],
  )
  return { first: Number(result.rows[0]!.first), last: Number(result.rows[0]!.last) }
}
