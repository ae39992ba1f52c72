import type { StoredFileRow, SweepStore, SweepWalk } from '../core/ports/sweep-store.js'
import * as policySql from './policy-sql.js'
import type { Queryable } from './queryable.js'

/** The orphan sweep's SQL (core/sweep.ts): where each walk stopped, which keys rows hold, rows to check. */

export async function sweepPosition(q: Queryable, walk: SweepWalk): Promise<string | null> {
  const result = await q.query<{ position: string | null }>(
    'select position from sweep_progress where walk = $1',
    [walk],
  )
  return result.rows[0]?.position ?? null
}

export async function saveSweepPosition(q: Queryable, walk: SweepWalk, position: string | null) {
  await q.query(
    `insert into sweep_progress (walk, position) values ($1, $2)
     on conflict (walk) do update set position = excluded.position, updated_at = now()`,
    [walk, position],
  )
}

/**
 * The keys among `keys` that some row holds (an item's file, a version's file or rendition), in any tenant. A
 * row being purged holds its file until the purge deletes the row: its purge may still fail and put it back.
 * items_blob_key_idx leaves those rows out (migrations/0051), so they are asked apart, and only about the keys
 * nothing else holds (most pages have none): one pass over the rows being purged, whatever their number, where
 * a look-up per key could scan them all once per key.
 */
export async function referencedKeys(q: Queryable, keys: string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set()
  const result = await q.query<{ key: string }>(
    `select k.key from unnest($1::text[]) as k(key)
      where exists (select 1 from items i where i.blob_key = k.key and i.state <> 'purging')
         or exists (select 1 from item_versions v where v.blob_key = k.key)
         or exists (select 1 from item_versions v where v.thumb_blob_key = k.key)
         or exists (select 1 from item_versions v where v.preview_blob_key = k.key)`,
    [keys],
  )
  const held = new Set(result.rows.map((row) => row.key))
  const others = keys.filter((key) => !held.has(key))
  if (others.length === 0) return held
  const purging = await q.query<{ key: string }>(
    `select distinct p.blob_key as key from items p
      where p.state = 'purging' and p.blob_key = any($1::text[])`,
    [others],
  )
  for (const row of purging.rows) held.add(row.key)
  return held
}

/**
 * A page of file rows after (tenantId, itemId), in that order, with the native files of their versions. Rows
 * being purged are left out: their purge removes their files.
 */
export async function storedFileRows(
  q: Queryable,
  after: { tenantId: number; itemId: number } | null,
  limit: number,
): Promise<StoredFileRow[]> {
  const result = await q.query<{
    tenant_id: string
    id: string
    blob_key: string
    versions: { major: number; minor: number; key: string }[] | null
  }>(
    `select i.tenant_id, i.id, i.blob_key,
            (select json_agg(json_build_object('major', v.major, 'minor', v.minor, 'key', v.blob_key)
                             order by v.major, v.minor)
               from item_versions v
              where v.tenant_id = i.tenant_id and v.item_id = i.id and v.blob_key <> i.blob_key) as versions
       from items i
      where i.blob_key is not null and i.state <> 'purging'
        and (i.tenant_id, i.id) > ($1::bigint, $2::bigint)
      order by i.tenant_id, i.id
      limit $3`,
    [after?.tenantId ?? 0, after?.itemId ?? 0, limit],
  )
  return result.rows.map((row) => ({
    tenantId: Number(row.tenant_id),
    itemId: Number(row.id),
    itemKey: row.blob_key,
    versions: row.versions ?? [],
  }))
}

/**
 * Purge step 1 for items whose file is gone from the store: marked like any purge (by the cleanup job, audit
 * action 'purge', the reason in the detail), whatever their state, unless it changed file or state meanwhile.
 */
export async function markItemsWithoutFile(
  q: Queryable,
  tenantId: number,
  items: { id: number; key: string }[],
  token: string,
): Promise<number> {
  const result = await q.query(
    `update items i
        set state = 'purging', state_before_purge = i.state, deleted_at = coalesce(i.deleted_at, now()),
            purge_token = $4, purge_started_at = now(), purge_action = 'purge',
            purge_door = 'cleanup', purge_actor_id = null, purge_actor_login = null,
            purge_detail = '{"reason":"file missing from storage"}'::jsonb
       from unnest($2::bigint[], $3::text[]) as m(id, key)
      where i.tenant_id = $1 and i.id = m.id and i.blob_key = m.key and i.state <> 'purging'
        and not ${policySql.isUnderLegalHold('i', '(select b.legal_hold from brands b where b.tenant_id = i.tenant_id and b.id = i.brand_id)')}`,
    [tenantId, items.map((item) => item.id), items.map((item) => item.key), token],
  )
  return result.rowCount ?? 0
}

/** Removes version rows whose native file is gone from the store (never the item's current one). */
export async function deleteVersionsWithoutFile(
  q: Queryable,
  tenantId: number,
  versions: { itemId: number; major: number; minor: number; key: string }[],
): Promise<number> {
  const result = await q.query(
    `delete from item_versions v
      using unnest($2::bigint[], $3::int[], $4::int[], $5::text[]) as m(item_id, major, minor, key), items i
      where v.tenant_id = $1 and v.item_id = m.item_id and v.major = m.major and v.minor = m.minor
        and v.blob_key = m.key and i.tenant_id = $1 and i.id = v.item_id and i.blob_key <> v.blob_key
        and i.state <> 'purging'`,
    [
      tenantId,
      versions.map((v) => v.itemId),
      versions.map((v) => v.major),
      versions.map((v) => v.minor),
      versions.map((v) => v.key),
    ],
  )
  return result.rowCount ?? 0
}

/** The sweep store over the pool or one transaction. */
export class PgSweepStore implements SweepStore {
  constructor(private readonly q: Queryable) {}
  position(walk: SweepWalk) {
    return sweepPosition(this.q, walk)
  }
  savePosition(walk: SweepWalk, position: string | null) {
    return saveSweepPosition(this.q, walk, position)
  }
  referencedKeys(keys: string[]) {
    return referencedKeys(this.q, keys)
  }
  storedFileRows(after: { tenantId: number; itemId: number } | null, limit: number) {
    return storedFileRows(this.q, after, limit)
  }
  markItemsWithoutFile(tenantId: number, items: { id: number; key: string }[], token: string) {
    return markItemsWithoutFile(this.q, tenantId, items, token)
  }
  deleteVersionsWithoutFile(
    tenantId: number,
    versions: { itemId: number; major: number; minor: number; key: string }[],
  ) {
    return deleteVersionsWithoutFile(this.q, tenantId, versions)
  }
}
