import { CoreError, ErrorCodes } from '../core/errors.js'
import type { TrashVisibility } from '../core/policy.js'
import type { Actor, Item, ItemFacts, ItemKind, TrashEntry, TrashFilter, TrashPage } from '../core/types.js'
import type { NewItem, RootPath } from '../core/ports/item-store.js'
import type { AuditActor, MarkedBlob, MarkResult, OwnBinBatch, PurgeUnit } from '../core/ports/purge-store.js'
import type { RestoreTarget, TrashFacets, TrashRoot } from '../core/ports/trash-store.js'
import type { Queryable } from './queryable.js'
import { ITEM_COLUMNS, toItem, toItemFacts, toTrashEntry } from './item-rows.js'
import { maySql } from './rights-sql.js'
import { UNIT_WALK } from './sql-fragments.js'

/**
 * SQL for the trash lifecycle. Every statement works on a whole batch (arrays of ids), and every transition
 * writes its audit rows in the same statement, so a transition and its audit row commit or vanish together.
 */

/**
 * audit columns filled from a changed `items` row aliased `x`; every select ends with AUDIT_ITEM_FACTS (the
 * object's brand, issue, category, Deleted/Deleter and owner, which events carry after the row itself is gone)
 */
const AUDIT_INSERT = `insert into audit (tenant_id, actor_id, actor_login, door, action, item_id, item_kind, item_type,
    item_name, item_path, unit_root, detail, item_brand_id, item_issue_id, item_category_id, item_deleted_at,
    item_deleted_by, item_owner_id, item_version, item_format)`
const AUDIT_ITEM_FACTS =
  'x.brand_id, x.issue_id, x.category_id, x.deleted_at, x.deleted_by, x.owner_id, x.version, x.content_type'

/**
 * Loads items for a decision and locks them (in id order, so racing batches queue instead of deadlocking). The
 * ids are joined as a set: with `= any(array)` a batch of 2,000 was answered by scanning the whole table.
 */
export async function lockItemFacts(q: Queryable, tenantId: number, userId: number, ids: number[]) {
  const result = await q.query(
    `select ${ITEM_COLUMNS('i')}, a.can_view, a.can_delete, a.can_purge, a.can_read, b.legal_hold as brand_legal_hold
       from items i
       left join access a on a.tenant_id = i.tenant_id and a.brand_id = i.brand_id and a.user_id = $2
       left join brands b on b.tenant_id = i.tenant_id and b.id = i.brand_id
      where i.tenant_id = $1 and i.id in (select unnest($3::bigint[]))
      order by i.id
        for update of i`,
    [tenantId, userId, ids],
  )
  return new Map<number, ItemFacts>(result.rows.map((row) => [row.id as number, toItemFacts(row)]))
}

/** Reads facts without locking (views, listings of single items). */
export async function readItemFacts(q: Queryable, tenantId: number, userId: number, ids: number[]) {
  const result = await q.query(
    `select ${ITEM_COLUMNS('i')}, a.can_view, a.can_delete, a.can_purge, a.can_read, b.legal_hold as brand_legal_hold
       from items i
       left join access a on a.tenant_id = i.tenant_id and a.brand_id = i.brand_id and a.user_id = $2
       left join brands b on b.tenant_id = i.tenant_id and b.id = i.brand_id
      where i.tenant_id = $1 and i.id in (select unnest($3::bigint[]))`,
    [tenantId, userId, ids],
  )
  return new Map<number, ItemFacts>(result.rows.map((row) => [row.id as number, toItemFacts(row)]))
}

/** Full paths and ancestor chains of items, one recursive walk for the whole batch. */
export async function pathsOf(q: Queryable, tenantId: number, ids: number[]): Promise<Map<number, RootPath>> {
  const result = await q.query<{ id: number; path: string; ancestor_ids: number[] }>(
    `with recursive up as (
        select i.id as start, i.parent_id as next, i.name::text as path, array[]::bigint[] as ancestors, 0 as depth
          from items i where i.tenant_id = $1 and i.id = any($2::bigint[])
        union all
        select up.start, p.parent_id, p.name || '/' || up.path, up.ancestors || p.id, up.depth + 1
          from up join items p on p.tenant_id = $1 and p.id = up.next
         where up.depth < 1000
      )
      select start as id, '/' || path as path, ancestors as ancestor_ids from up where next is null`,
    [tenantId, ids],
  )
  return new Map(
    result.rows.map((row) => [
      row.id,
      { id: row.id, path: row.path, ancestorIds: row.ancestor_ids.map(Number) },
    ]),
  )
}

/**
 * Of these active items, those whose active subtree (the item included) holds an item under legal hold, its own
 * flag or its brand's: a permanent delete from the workflow must refuse them before trashing anything.
 */
export async function activeSubtreesUnderHold(
  q: Queryable,
  tenantId: number,
  ids: number[],
): Promise<Set<number>> {
  if (ids.length === 0) return new Set()
  const result = await q.query<{ root: number }>(
    `with recursive sub as (
        select i.id, i.id as root from unnest($2::bigint[]) as a(id)
          join items i on i.tenant_id = $1 and i.id = a.id and i.state = 'active'
        union all
        select c.id, sub.root from sub join items c on c.tenant_id = $1 and c.parent_id = sub.id and c.state = 'active'
      )
      select distinct sub.root from sub join items i on i.tenant_id = $1 and i.id = sub.id
        left join brands b on b.tenant_id = $1 and b.id = i.brand_id
       where i.legal_hold or coalesce(b.legal_hold, false)`,
    [tenantId, ids],
  )
  return new Set(result.rows.map((row) => row.root))
}

/**
 * Moves each root and its active subtree to the trash as one unit. Returns the number of rows moved per root.
 * Only rows still active are touched, so a racing trash of the same items moves each row once.
 */
export async function trashUnits(
  q: Queryable,
  actor: Actor,
  roots: TrashRoot[],
  detail: Record<string, unknown> | null = null,
): Promise<Map<number, number>> {
  const moved = new Map<number, number>()
  // Files get a statement without the walk: the walk's row estimate comes from parent_id's statistics, and
  // with 190,000 files in one folder it made a one-file delete hash-join the tenant's whole table (90 ms).
  for (const [walk, group] of [
    [false, roots.filter((root) => !root.folder)],
    [true, roots.filter((root) => root.folder)],
  ] as const) {
    if (group.length === 0) continue
    const result = await q.query<{ root: number; n: number }>(
      `with recursive unit as (
          select i.id, r.root, r.path
            from unnest($6::bigint[], $7::text[]) as r(root, path)
            join items i on i.tenant_id = $1 and i.id = r.root and i.state = 'active'
          ${
            walk
              ? `union all
          select c.id, unit.root, unit.path || '/' || c.name
            from unit join items c on c.tenant_id = $1 and c.parent_id = unit.id and c.state = 'active'`
              : ''
          }
        ),
        moved as (
          update items x set state = 'trashed', deleted_at = date_trunc('milliseconds', now()), deleted_by = $2, deleted_via = $4,
                 trash_root = unit.root, original_parent_id = x.parent_id, original_path = unit.path,
                 emptied_at = null, purge_error = null
            from unit where x.tenant_id = $1 and x.id = unit.id
          returning x.*
        ),
        audited as (
          ${AUDIT_INSERT}
          select x.tenant_id, $2, $3, $4, $5, x.id, x.kind, x.type, x.name, x.original_path, x.trash_root, $8::jsonb,
                 ${AUDIT_ITEM_FACTS}
            from moved x
        )
        select trash_root as root, count(*)::int as n from moved group by trash_root`,
      [
        actor.tenantId,
        actor.userId,
        actor.login,
        actor.door,
        'trash',
        group.map((r) => r.id),
        group.map((r) => r.path),
        detail === null ? null : JSON.stringify(detail),
      ],
    )
    for (const row of result.rows) moved.set(row.root, row.n)
  }
  return moved
}

/** Brings units back: the addressed item (moved and renamed when asked) and its unit members become active. */
export async function restoreUnits(
  q: Queryable,
  actor: Actor,
  targets: RestoreTarget[],
): Promise<Map<number, number>> {
  if (targets.length === 0) return new Map()
  const result = await q.query<{ addressed: number; n: number }>(
    `with recursive ${UNIT_WALK("'trashed'")},
      target as (
        select * from unnest($7::bigint[], $8::boolean[], $9::bigint[], $10::text[])
          as t(id, move, parent_id, new_name)
      ),
      moved as (
        update items x set state = 'active', trash_root = null,
               parent_id = case when t.move then t.parent_id else x.parent_id end,
               name = coalesce(t.new_name, x.name),
               modified_at = now(), modified_by = $3, purge_error = null, purge_attempts = 0
          from unit left join target t on t.id = unit.id
         where x.tenant_id = $1 and x.id = unit.id and x.state not in ('active', 'emptied', 'purging')
        returning x.*, unit.addressed
      ),
      audited as (
        ${AUDIT_INSERT}
        select x.tenant_id, $3, $4, $5, $6, x.id, x.kind, x.type, x.name, x.original_path, x.addressed,
               case when x.id = x.addressed then jsonb_build_object('parentId', x.parent_id, 'name', x.name) end, ${AUDIT_ITEM_FACTS}
          from moved x
      )
      select addressed, count(*)::int as n from moved group by addressed`,
    [
      actor.tenantId,
      targets.map((t) => t.id),
      actor.userId,
      actor.login,
      actor.door,
      'restore',
      targets.map((t) => t.id),
      targets.map((t) => t.parentId !== undefined),
      targets.map((t) => t.parentId ?? null),
      targets.map((t) => t.newName ?? null),
    ],
  )
  return new Map(result.rows.map((row) => [row.addressed, row.n]))
}

/** Empties units from the trash (IPS): they leave every listing and wait for the cleanup job. */
export async function emptyUnits(q: Queryable, actor: Actor, ids: number[]): Promise<Map<number, number>> {
  if (ids.length === 0) return new Map()
  const result = await q.query<{ addressed: number; n: number }>(
    `with recursive ${UNIT_WALK("'trashed'")},
      changed as (
        update items x set state = 'emptied', emptied_at = now()
          from unit where x.tenant_id = $1 and x.id = unit.id and x.state not in ('active', 'emptied', 'purging')
        returning x.*, unit.addressed
      ),
      audited as (
        ${AUDIT_INSERT}
        select x.tenant_id, $3, $4, $5, $6, x.id, x.kind, x.type, x.name, x.original_path, x.addressed, null, ${AUDIT_ITEM_FACTS}
          from changed x
      )
      select addressed, count(*)::int as n from changed group by addressed`,
    [actor.tenantId, ids, actor.userId, actor.login, actor.door, 'empty'],
  )
  return new Map(result.rows.map((row) => [row.addressed, row.n]))
}

/**
 * Purge step 1, one statement for the whole batch. Units holding an item under legal hold (the item's own flag
 * or its brand's) are left alone. Units without stored files are deleted right away with their audit rows: no
 * file can be left behind, so the protocol's later steps have nothing to do for them. Units with stored files
 * are marked with the token (state 'purging'): from here on they are invisible and not restorable. Each marked
 * row keeps who purges it and the audit action, so that whoever finishes the purge (this process, or the
 * cleanup job after a crash) writes the audit row that was meant. Only rows still trashed or emptied when the
 * statement reaches them are touched: a member restored by a racing transaction stays restored. Children left
 * behind by a deleted folder (trashed separately before it) lose their parent in the same statement.
 */
export async function markForPurge(
  q: Queryable,
  actor: AuditActor,
  units: PurgeUnit[],
  token: string,
): Promise<MarkResult> {
  if (units.length === 0) return { marked: new Map(), deleted: new Map(), held: [] }
  const result = await q.query<MarkRow>(
    MARK_STATEMENT(
      `heads as materialized (
        select i.tenant_id, i.id, i.trash_root, i.state, i.kind, i.blob_key, i.legal_hold, i.brand_id, r.action,
               r.detail
          from unnest($2::bigint[], $4::text[], $5::jsonb[]) as r(id, action, detail)
          join items i on i.tenant_id = $1 and i.id = r.id
      )`,
    ),
    [
      actor.tenantId,
      units.map((u) => u.id),
      token,
      units.map((u) => u.action),
      units.map((u) => (u.detail ? JSON.stringify(u.detail) : null)),
      actor.userId,
      actor.login,
      actor.door,
    ],
  )
  return markResultOf(result.rows)
}

/** What the default mark statement answers: one row per addressed unit and outcome. */
interface MarkRow {
  tenant_id: number
  addressed: number
  n: number
  outcome: 'marked' | 'deleted' | 'held'
  name: string | null
  kind: ItemKind | null
}

function markResultOf(rows: MarkRow[]): MarkResult {
  const outcome: MarkResult = { marked: new Map(), deleted: new Map(), held: [] }
  for (const row of rows) {
    if (row.outcome === 'held') outcome.held.push(row.addressed)
    else if (row.outcome === 'marked' || row.outcome === 'deleted')
      outcome[row.outcome].set(row.addressed, row.n)
  }
  return outcome
}

/** Whether a unit row (alias `r`) is under legal hold, its own or its brand's. */
const HELD = (r: string) => `(${r}.legal_hold or (${r}.brand_id is not null and coalesce((
    select b.legal_hold from brands b where b.tenant_id = ${r}.tenant_id and b.id = ${r}.brand_id), false)))`

/**
 * Whether a unit row (alias `r`) has stored files. An item with versions always has a blob_key (its current
 * version's file, migrations/0009), so rows without one have neither files nor versions: deleting them at once
 * leaves nothing behind, and there are no version rows to delete with them.
 */
const HAS_BLOBS = (r: string) => `(${r}.blob_key is not null)`

/** MARK_STATEMENT's default answer: a row per addressed unit and outcome, with the names of held units. */
const MARK_ANSWER = `select tenant_id, addressed, count(*)::int as n, 'marked' as outcome, null as name, null as kind
        from marked group by tenant_id, addressed
      union all
      select tenant_id, addressed, count(*)::int, 'deleted', null, null
        from gone group by tenant_id, addressed
      union all
      select distinct u.tenant_id, u.addressed, 0, 'held', i.name, i.kind
        from planned u join items i on i.tenant_id = u.tenant_id and i.id = u.addressed
       where u.held`

/** Where MARK_STATEMENT finds the purge token and the auditing actor among the statement's parameters. */
export interface MarkParams {
  token: string
  userId: string
  login: string
  door: string
}

const MARK_PARAMS: MarkParams = { token: '$3', userId: '$6', login: '$7', door: '$8' }

/**
 * Purge step 1 as one statement. The caller's CTEs define `heads(tenant_id, id, trash_root, state, kind, blob_key,
 * legal_hold, brand_id, action, detail)`: the addressed items (of one tenant or several) with the audit action and detail their rows get.
 * From there every step reaches rows by key: a unit root's members through the trash-root index, an item inside
 * a unit by a walk down its folders, each row to change by its primary key. No step joins two CTEs, whose row
 * estimates are guesses (a batch estimated at one row was joined by nested loop, quadratic in its size).
 * `p` names the token and actor parameters; `answer` replaces the default answer (MARK_ANSWER) and may read
 * marked, gone, planned and the caller's CTEs.
 */
export const MARK_STATEMENT = (
  heads: string,
  p: MarkParams = MARK_PARAMS,
  answer = MARK_ANSWER,
) => `with recursive ${heads},
      walk as (
        select h.tenant_id, h.id, h.trash_root, h.id as addressed, h.blob_key, h.legal_hold, h.brand_id, h.action,
               h.detail
          from heads h where h.id <> h.trash_root and h.state in ('trashed', 'emptied')
        union all
        select c.tenant_id, c.id, c.trash_root, walk.addressed, c.blob_key, c.legal_hold, c.brand_id, walk.action,
               walk.detail
          from walk join items c on c.tenant_id = walk.tenant_id and c.parent_id = walk.id
                                and c.trash_root = walk.trash_root
         where c.state in ('trashed', 'emptied')
      ),
      -- units of several rows: a trashed folder with its members, or what is below an addressed member
      grouped as (
        select m.tenant_id, m.id, m.trash_root, h.id as addressed, m.blob_key, m.legal_hold, m.brand_id, h.action,
               h.detail
          from heads h join items m on m.tenant_id = h.tenant_id and m.trash_root = h.id
                                   and m.state in ('trashed', 'emptied')
         where h.id = h.trash_root and h.kind = 'folder' and h.state in ('trashed', 'emptied')
        union all
        select * from walk
      ),
      -- each unit row with its unit's verdict: a trashed file is a unit of its own row (no lookup, no window);
      -- a larger unit's rows share it (window, not a join with an aggregate)
      planned as materialized (
        select h.tenant_id, h.id, h.trash_root, h.id as addressed, h.blob_key, h.legal_hold, h.brand_id, h.action,
               h.detail, ${HELD('h')} as held, ${HAS_BLOBS('h')} as has_blobs
          from heads h where h.id = h.trash_root and h.kind <> 'folder' and h.state in ('trashed', 'emptied')
        union all
        select u.*, bool_or(${HELD('u')}) over w, bool_or(${HAS_BLOBS('u')}) over w
          from grouped u
        window w as (partition by u.tenant_id, u.addressed)
      ),
      marked as (
        update items x set state = 'purging', state_before_purge = x.state, purge_token = ${p.token},
               purge_started_at = now(), purge_action = u.action, purge_detail = u.detail,
               purge_actor_id = ${p.userId}, purge_actor_login = ${p.login}, purge_door = ${p.door}
          from planned u
         where u.has_blobs and not u.held
           and x.tenant_id = u.tenant_id and x.id = u.id and x.state not in ('active', 'purging')
        returning x.tenant_id, x.id, u.addressed
      ),
      gone as (
        delete from items x
         using planned u
         where not u.has_blobs and not u.held
           and x.tenant_id = u.tenant_id and x.id = u.id and x.state not in ('active', 'purging')
        returning x.*, u.addressed, u.action as purge_action_now, u.detail as purge_detail_now
      ),
      detached as (
        update items c set parent_id = null
          from gone
         -- only folders have children (items are created and restored under folders alone)
         where gone.kind = 'folder' and c.tenant_id = gone.tenant_id and c.parent_id = gone.id
           -- a child of the same unit is being deleted too; comparing trash roots avoids probing the unit CTE,
           -- which has no index (a 100,000-row folder made that anti-join quadratic)
           and c.trash_root is distinct from gone.trash_root
      ),
      audited as (
        ${AUDIT_INSERT}
        select x.tenant_id, ${p.userId}, ${p.login}, ${p.door}, x.purge_action_now, x.id, x.kind, x.type, x.name,
               x.original_path, x.trash_root, x.purge_detail_now, ${AUDIT_ITEM_FACTS}
          from gone x
      )
      ${answer}`

/**
 * Purge step 1 for the next batch of an actor's own bin (srv.asmx EmptyRecycleBin): the unit roots they deleted,
 * after `afterId` in id order, addressed straight from their index and marked or deleted in the same statement.
 * The caller's policy (policy.ownBinScope) names the deleter. Deleted units are answered as one count, not a
 * row each.
 */
export async function markOwnBinForPurge(
  q: Queryable,
  actor: Actor,
  scope: { deletedBy: number },
  afterId: number,
  limit: number,
  token: string,
  action: string,
): Promise<OwnBinBatch> {
  const result = await q.query<{
    what: 'seen' | 'deleted' | 'marked' | 'held'
    id: number | null
    n: number
    name: string | null
    kind: ItemKind | null
  }>(
    MARK_STATEMENT(
      `heads as materialized (
        select r.tenant_id, r.id, r.trash_root, r.state, r.kind, r.blob_key, r.legal_hold, r.brand_id,
               $4::text as action, null::jsonb as detail
          from items r
         where r.tenant_id = $1 and r.deleted_by = $2 and r.state in ('trashed', 'emptied') and r.id = r.trash_root
           and r.id > $5 and ${OWN_BIN_PURGEABLE(actor, '$6')}
         order by r.id limit $9
      )`,
      MARK_PARAMS,
      `select 'seen' as what, max(id) as id, count(*)::int as n, null as name, null as kind from heads
       union all
       select 'deleted', null, count(*)::int, null, null from gone
       union all
       select 'marked', addressed, count(*)::int, null, null from marked group by addressed
       union all
       select distinct 'held', u.addressed, 0, i.name, i.kind
         from planned u join items i on i.tenant_id = u.tenant_id and i.id = u.addressed
        where u.held`,
    ),
    [actor.tenantId, scope.deletedBy, token, action, afterId, actor.userId, actor.login, actor.door, limit],
  )
  const batch: OwnBinBatch = {
    roots: 0,
    lastRootId: afterId,
    deletedRows: 0,
    marked: new Map(),
    heldItems: new Map(),
  }
  for (const row of result.rows) {
    if (row.what === 'seen') {
      batch.roots = row.n
      batch.lastRootId = row.id ?? afterId
    } else if (row.what === 'deleted') batch.deletedRows = row.n
    else if (row.what === 'marked') batch.marked.set(row.id!, row.n)
    else batch.heldItems.set(row.id!, { name: row.name!, kind: row.kind! })
  }
  return batch
}

/**
 * Whether every member of the own-bin unit rooted at `r` (the root included) may be purged by the actor
 * ($6: the actor's user id): a unit holding anything the actor may not purge stays in the bin whole.
 */
const OWN_BIN_PURGEABLE = (actor: Actor, user: string) =>
  actor.admin
    ? 'true'
    : // a file is a unit of its own row: decided on the row, no probe of the unit
      `case when r.kind = 'file' then ${maySql(actor, 'purge', 'r', user)}
            else not exists (select 1 from items m where m.tenant_id = r.tenant_id and m.trash_root = r.id
                   and m.state in ('trashed', 'emptied') and not ${maySql(actor, 'purge', 'm', user)}) end`

/** The units of an actor's own bin that EmptyRecycleBin leaves: each holds something the actor may not purge. */
export async function ownBinUnpurgeable(
  q: Queryable,
  actor: Actor,
  scope: { deletedBy: number },
): Promise<{ id: number; name: string; kind: ItemKind }[]> {
  if (actor.admin) return []
  const result = await q.query<{ id: number; name: string; kind: ItemKind }>(
    `select r.id, r.name, r.kind from items r
      where r.tenant_id = $1 and r.deleted_by = $2 and r.state in ('trashed', 'emptied') and r.id = r.trash_root
        and not ${OWN_BIN_PURGEABLE(actor, '$3')}
      order by r.id`,
    [actor.tenantId, scope.deletedBy, actor.userId],
  )
  return result.rows
}

/** Purge step 2 input: the stored files of the rows a token marked, in id order, a page at a time. */
export async function markedBlobs(
  q: Queryable,
  tenantId: number,
  token: string,
  afterId: number,
  limit: number,
): Promise<MarkedBlob[]> {
  // a page of marked rows (by id, so the caller's afterId stays exact), then every file each row holds: its
  // blob and each version's native, thumb and preview files, each key once
  const result = await q.query<{ id: number; name: string; blob_key: string }>(
    `with page as (
        select i.id, i.name, i.blob_key from items i
         where i.tenant_id = $1 and i.purge_token = $2 and i.id > $3
           -- an item with versions has a blob_key too (migrations/0009)
           and i.blob_key is not null
         order by i.id limit $4
      )
      select distinct page.id, page.name, k.blob_key
        from page
        cross join lateral (
          select page.blob_key
          union all
          -- one probe of the versions per row, not one per kind of file
          select unnest(array[v.blob_key, v.thumb_blob_key, v.preview_blob_key])
            from item_versions v where v.tenant_id = $1 and v.item_id = page.id
        ) k(blob_key)
       where k.blob_key is not null
       order by page.id, k.blob_key`,
    [tenantId, token, afterId, limit],
  )
  return result.rows.map((row) => ({ id: row.id, name: row.name, blobKey: row.blob_key }))
}

/**
 * Purge step 2 heartbeat: a purge still removing files refreshes its rows' timestamp, so the cleanup job never
 * takes over a purge whose process is alive (it only finishes rows whose timestamp went stale).
 */
export async function touchPurge(q: Queryable, tenantId: number, token: string): Promise<void> {
  await q.query(
    `update items set purge_started_at = now()
      where tenant_id = $1 and purge_token = $2 and state = 'purging'`,
    [tenantId, token],
  )
}

/**
 * After a storage failure: the failed rows and their ancestors in the purge go back to the state they had,
 * with the error recorded, so nothing is left half-gone. Returns the ids put back.
 */
export async function revertPurge(
  q: Queryable,
  actor: AuditActor,
  token: string,
  failed: { id: number; message: string }[],
): Promise<{ id: number; parentId: number | null }[]> {
  if (failed.length === 0) return []
  const result = await q.query<{ id: number; parent_id: number | null }>(
    `with recursive failed as (
        select * from unnest($3::bigint[], $4::text[]) as f(id, message)
      ),
      anc as (
        select i.id, i.parent_id from items i join failed f on i.tenant_id = $1 and i.id = f.id
         where i.purge_token = $2
        union
        select p.id, p.parent_id from anc join items p on p.tenant_id = $1 and p.id = anc.parent_id
         where p.purge_token = $2
      ),
      reverted as (
        update items x set state = x.state_before_purge, purge_token = null, purge_started_at = null,
               state_before_purge = null, purge_attempts = x.purge_attempts + 1,
               purge_action = null, purge_detail = null, purge_actor_id = null, purge_actor_login = null,
               purge_door = null,
               purge_error = coalesce(f.message, 'A file in this folder could not be removed from storage')
          from anc left join failed f on f.id = anc.id
         where x.tenant_id = $1 and x.id = anc.id and x.purge_token = $2
        returning x.*, f.message
      ),
      audited as (
        ${AUDIT_INSERT}
        select x.tenant_id, $5, $6, $7, 'purge_failed', x.id, x.kind, x.type, x.name, x.original_path, x.trash_root,
               jsonb_build_object('error', x.message, 'attempts', x.purge_attempts), ${AUDIT_ITEM_FACTS}
          from reverted x where x.message is not null
      )
      select id, parent_id from reverted`,
    [
      actor.tenantId,
      token,
      failed.map((f) => f.id),
      failed.map((f) => f.message),
      actor.userId,
      actor.login,
      actor.door,
    ],
  )
  return result.rows.map((row) => ({ id: row.id, parentId: row.parent_id }))
}

/**
 * Purge step 3: deletes the rows still marked with the token and writes their audit rows, each with the actor
 * and action recorded when it was marked. A row is deleted once, so it is audited once.
 */
export async function finishPurge(q: Queryable, tenantId: number, token: string): Promise<number> {
  const result = await q.query<{ n: number }>(
    `with gone as (
        delete from items x where x.tenant_id = $1 and x.purge_token = $2 and x.state = 'purging'
        returning x.*
      ),
      detached as (
        update items c set parent_id = null
          from gone where c.tenant_id = $1 and c.parent_id = gone.id and c.purge_token is distinct from $2
      ),
      versions_gone as (
        delete from item_versions v using gone where v.tenant_id = $1 and v.item_id = gone.id
      ),
      audited as (
        ${AUDIT_INSERT}
        select x.tenant_id, x.purge_actor_id, x.purge_actor_login, coalesce(x.purge_door, 'cleanup'),
               coalesce(x.purge_action, 'purge'), x.id, x.kind, x.type, x.name, x.original_path, x.trash_root,
               x.purge_detail, ${AUDIT_ITEM_FACTS}
          from gone x
      )
      select count(*)::int as n from gone`,
    [tenantId, token],
  )
  return result.rows[0]?.n ?? 0
}

/** Active items with one of these names under a parent (null: top level). */
export async function activeNamesUnder(
  q: Queryable,
  tenantId: number,
  parentId: number | null,
  names: string[],
): Promise<Set<string>> {
  const result = await q.query<{ name: string }>(
    `select name from items
      where tenant_id = $1 and coalesce(parent_id, 0) = coalesce($2::bigint, 0) and state = 'active'
        and name = any($3::text[])`,
    [tenantId, parentId, names],
  )
  return new Set(result.rows.map((row) => row.name))
}

/** The active child of a parent (null: top level) with this name. */
export async function activeChild(q: Queryable, tenantId: number, parentId: number | null, name: string) {
  const result = await q.query<{ id: number; kind: string }>(
    `select id, kind from items where tenant_id = $1 and coalesce(parent_id, 0) = coalesce($2::bigint, 0)
        and name = $3 and state = 'active'`,
    [tenantId, parentId, name],
  )
  return result.rows[0] ?? null
}

/** Active names under a parent that start with a prefix (to pick a free "name (restored N)"). */
export async function activeNamesLike(
  q: Queryable,
  tenantId: number,
  parentId: number | null,
  prefix: string,
): Promise<Set<string>> {
  const result = await q.query<{ name: string }>(
    `select name from items
      where tenant_id = $1 and coalesce(parent_id, 0) = coalesce($2::bigint, 0) and state = 'active'
        and starts_with(name, $3)`,
    [tenantId, parentId, prefix],
  )
  return new Set(result.rows.map((row) => row.name))
}

/** Resolves a '/'-free segment list from the top level to an item in the given states. */
export async function resolvePath(
  q: Queryable,
  tenantId: number,
  segments: string[],
  states: string[] = ['active'],
): Promise<Item | null> {
  if (segments.length === 0) return null
  const result = await q.query(
    `with recursive walk as (
        select i.id, 1 as depth from items i
         where i.tenant_id = $1 and i.parent_id is null and i.name = ($2::text[])[1] and i.state = 'active'
        union all
        select c.id, walk.depth + 1 from walk
          join items c on c.tenant_id = $1 and c.parent_id = walk.id and c.name = ($2::text[])[walk.depth + 1]
         where walk.depth < cardinality($2::text[])
           and (c.state = 'active' or (walk.depth + 1 = cardinality($2::text[]) and c.state = any($3::text[])))
      )
      select ${ITEM_COLUMNS('i')} from walk join items i on i.tenant_id = $1 and i.id = walk.id
       where walk.depth = cardinality($2::text[]) and i.state = any($3::text[])
       order by i.state = 'active' desc, i.deleted_at desc nulls first limit 1`,
    [tenantId, segments, states],
  )
  return result.rows[0] ? toItem(result.rows[0]) : null
}

export async function insertItem(q: Queryable, item: NewItem): Promise<Item> {
  const result = await q.query(
    `insert into items (tenant_id, kind, type, name, parent_id, brand_id, issue_id, category_id, size, blob_key,
                        content_type, owner_id, created_by, modified_by)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $12)
     returning ${ITEM_COLUMNS('items')}`,
    [
      item.tenantId,
      item.kind,
      item.type,
      item.name,
      item.parentId,
      item.brandId ?? null,
      item.issueId ?? null,
      item.categoryId ?? null,
      item.size ?? 0,
      item.blobKey ?? null,
      item.contentType ?? null,
      item.ownerId,
    ],
  )
  return toItem(result.rows[0]!)
}

export async function getItem(q: Queryable, tenantId: number, id: number): Promise<Item | null> {
  const result = await q.query(
    `select ${ITEM_COLUMNS('i')} from items i where i.tenant_id = $1 and i.id = $2`,
    [tenantId, id],
  )
  return result.rows[0] ? toItem(result.rows[0]) : null
}

/** When the cleanup job will purge a row (null: never, under legal hold or retention 0); needs `b` and `t`. */
const EXPIRES_AT = `case when i.state = 'active' or i.legal_hold or coalesce(b.legal_hold, false)
                   or coalesce(b.auto_purge_days, t.retention_days) = 0 then null
                 when i.state = 'emptied' then i.emptied_at
                 else i.deleted_at + make_interval(days => coalesce(b.auto_purge_days, t.retention_days)) end`

const SORT_COLUMNS: Record<NonNullable<TrashPage['sort']>, string> = {
  deletedAt: 'i.deleted_at',
  name: 'i.name',
  size: 'i.size',
  type: 'i.type',
  deletedBy: 'u.login',
  path: 'i.original_path',
  brand: 'b.name',
  id: 'i.id',
  modifiedAt: 'i.modified_at',
  expiresAt: EXPIRES_AT,
}

/** The WHERE clauses and values of a trash listing ($1 is the tenant); shared with trash-listing.ts. */
export function trashWhere(visibility: TrashVisibility, filter: TrashFilter) {
  const values: unknown[] = [visibility.tenantId]
  const where = ['i.tenant_id = $1']
  const add = (clause: (p: string) => string, value: unknown) => {
    values.push(value)
    where.push(clause(`$${values.length}`))
  }
  add((p) => `i.state = any(${p}::text[])`, filter.states ?? ['trashed'])
  if (filter.scope === 'own') add((p) => `i.deleted_by = ${p}`, visibility.userId)
  else if (!visibility.everything && visibility.right === 'purge') {
    add((p) => maySql(visibility, 'purge', 'i', p), visibility.userId)
  } else if (!visibility.everything) {
    add(
      (p) => `(i.deleted_by = ${p} or i.owner_id = ${p} or (i.brand_id is not null and exists (
      select 1 from access a where a.tenant_id = i.tenant_id and a.brand_id = i.brand_id and a.user_id = ${p}
         and a.can_view)))`,
      visibility.userId,
    )
  }
  if (filter.rootsOnly) where.push('i.id = i.trash_root')
  if (filter.name !== undefined) {
    if (filter.nameExact) add((p) => `i.name = ${p}`, filter.name)
    else add((p) => `strpos(lower(i.name), lower(${p})) > 0`, filter.name)
  }
  if (filter.type !== undefined) add((p) => `i.type = ${p}`, filter.type)
  if (filter.kind !== undefined) add((p) => `i.kind = ${p}`, filter.kind)
  if (filter.brandId !== undefined) add((p) => `i.brand_id = ${p}`, filter.brandId)
  if (filter.issueId !== undefined) add((p) => `i.issue_id = ${p}`, filter.issueId)
  if (filter.categoryId !== undefined) add((p) => `i.category_id = ${p}`, filter.categoryId)
  if (filter.deletedBy !== undefined) add((p) => `i.deleted_by = ${p}`, filter.deletedBy)
  if (filter.deletedByLogin !== undefined) {
    add(
      (p) =>
        `i.deleted_by in (select id from users where tenant_id = $1 and (lower(login) = lower(${p}) or lower(display_name) = lower(${p})))`,
      filter.deletedByLogin,
    )
  }
  if (filter.deletedFrom !== undefined) add((p) => `i.deleted_at >= ${p}`, filter.deletedFrom)
  if (filter.deletedTo !== undefined) add((p) => `i.deleted_at <= ${p}`, filter.deletedTo)
  if (filter.sizeMin !== undefined) add((p) => `i.size >= ${p}`, filter.sizeMin)
  if (filter.sizeMax !== undefined) add((p) => `i.size <= ${p}`, filter.sizeMax)
  if (filter.ids !== undefined) add((p) => `i.id = any(${p}::bigint[])`, filter.ids)
  return { where, values }
}

type SortColumn = NonNullable<TrashPage['sort']>
type Direction = 'asc' | 'desc'

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

const SORT_CASTS: Record<SortColumn, string> = {
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
const nullableIn = (sort: SortColumn, filter: TrashFilter) =>
  NULLABLE_SORTS.has(sort) || (sort === 'deletedAt' && (filter.states ?? ['trashed']).includes('active'))

/** A cursor value must have its column's type: a forged one is refused, never handed to SQL to fail. */
function valueFits(sort: SortColumn, value: unknown): boolean {
  const cast = SORT_CASTS[sort]
  if (cast === 'bigint') return Number.isSafeInteger(value)
  if (typeof value !== 'string' || value.length > 1000) return false
  return cast !== 'timestamptz' || !Number.isNaN(Date.parse(value))
}

interface Cursor {
  sort: SortColumn
  direction: Direction
  value: string | number | null
  id: number
}

function decodeCursor(cursor: string): Cursor | null {
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
  if (!deletedAt || !id || !/^\d+$/.test(id) || Number.isNaN(Date.parse(deletedAt))) return null
  return { sort: 'deletedAt', direction: 'desc', value: deletedAt, id: Number(id) }
}

/**
 * One page of the trash an actor may see, with the actor's rights on each entry. Every order pages by keyset
 * (cursor: the sort value and id of the last row seen; nulls sort last) so a deep page costs what the first
 * does; `offset` remains for clients that jump. Default order: deleted newest first, id as tie-break.
 */
export async function listTrash(
  q: Queryable,
  visibility: TrashVisibility,
  filter: TrashFilter,
  page: TrashPage,
): Promise<TrashEntry[]> {
  const { where, values } = trashWhere(visibility, filter)
  const sort = page.sort ?? 'deletedAt'
  const direction: Direction = page.direction === 'asc' ? 'asc' : 'desc'
  const column = SORT_COLUMNS[sort]
  const nullable = nullableIn(sort, filter)
  if (page.cursor !== undefined) {
    const cursor = decodeCursor(page.cursor)
    if (!cursor || cursor.sort !== sort || cursor.direction !== direction)
      throw new CoreError(ErrorCodes.INVALID_INPUT, 'The cursor does not belong to this sort order')
    const after = direction === 'desc' ? '<' : '>'
    values.push(cursor.id)
    const id = `$${values.length}::bigint`
    if (cursor.value === null) {
      // only nullable columns reach here: the rest of the nulls, which sort last
      where.push(`(${column} is null and i.id ${after} ${id})`)
    } else {
      values.push(cursor.value)
      const v = `$${values.length}::${SORT_CASTS[sort]}`
      // a non-null column is a row comparison (the default order's is answered by an index)
      where.push(
        nullable
          ? `(${column} ${after} ${v} or (${column} = ${v} and i.id ${after} ${id}) or ${column} is null)`
          : `(${column}, i.id) ${after} (${v}, ${id})`,
      )
    }
  }
  values.push(visibility.userId, page.limit, page.offset ?? 0)
  const userParam = `$${values.length - 2}`
  const order = `${column} ${direction}${nullable ? ' nulls last' : ''}, i.id ${direction}`
  // The page's ids are chosen first, from items alone (joined only with what the sort needs), then the
  // few rows of the page get their names, rights and expiry: joins never run over the whole trash.
  const sortJoin =
    sort === 'deletedBy'
      ? 'left join users u on u.tenant_id = i.tenant_id and u.id = i.deleted_by'
      : sort === 'brand'
        ? 'left join brands b on b.tenant_id = i.tenant_id and b.id = i.brand_id'
        : sort === 'expiresAt'
          ? `join tenants t on t.id = i.tenant_id
             left join brands b on b.tenant_id = i.tenant_id and b.id = i.brand_id`
          : ''
  const result = await q.query(
    `with page as (
       select i.id, ${column} as sort_value${
         SORT_CASTS[sort] === 'timestamptz'
           ? `, to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as sort_key`
           : ''
       } from items i ${sortJoin}
        where ${where.join(' and ')}
        order by ${order}
        limit $${values.length - 1} offset $${values.length})
     select ${ITEM_COLUMNS('i')}, u.login as deleted_by_login, u.display_name as deleted_by_name,
            b.name as brand_name, b.legal_hold as brand_legal_hold, a.can_view, a.can_delete, a.can_purge,
            ${SORT_CASTS[sort] === 'timestamptz' ? 'p.sort_key,' : ''}
            ${EXPIRES_AT} as expires_at,
            case when i.kind = 'folder' and i.id = i.trash_root then
              (select count(*) from items m where m.tenant_id = i.tenant_id and m.trash_root = i.id
                  and m.state = i.state) end as unit_size,
            case when i.kind = 'folder' and i.id = i.trash_root then
              (select coalesce(sum(m.size), 0)::bigint from items m where m.tenant_id = i.tenant_id and m.trash_root = i.id
                  and m.state = i.state) end as unit_bytes,
            ${UNIT_REFUSES(visibility, 'restore', userParam)} as unit_refuses_restore,
            ${UNIT_REFUSES(visibility, 'purge', userParam)} as unit_refuses_purge
       from page p
       join items i on i.tenant_id = $1 and i.id = p.id
       join tenants t on t.id = i.tenant_id
       left join users u on u.tenant_id = i.tenant_id and u.id = i.deleted_by
       left join brands b on b.tenant_id = i.tenant_id and b.id = i.brand_id
       left join access a on a.tenant_id = i.tenant_id and a.brand_id = i.brand_id and a.user_id = ${userParam}
      order by p.sort_value ${direction}${nullable ? ' nulls last' : ''}, p.id ${direction}`,
    values,
  )
  return result.rows.map(toTrashEntry)
}

/**
 * Whether a listed folder unit (alias `i`) holds a member the actor may not restore or purge: a listing offers an
 * action on a unit only when the operation would accept the whole of it. Administrators may do everything.
 */
const UNIT_REFUSES = (visibility: TrashVisibility, right: 'restore' | 'purge', user: string) =>
  visibility.admin
    ? 'false'
    : `(i.kind = 'folder' and i.id = i.trash_root and exists (
         select 1 from items m where m.tenant_id = i.tenant_id and m.trash_root = i.id and m.state = i.state
            and not ${maySql(visibility, right, 'm', user)}))`

/** The brands, deleters and types present in the trash an actor may see (for filter choices). */
export async function trashFacets(
  q: Queryable,
  visibility: TrashVisibility,
  filter: TrashFilter,
): Promise<TrashFacets> {
  const { where, values } = trashWhere(visibility, filter)
  const result = await q.query<{
    facet: string
    id: number | null
    name: string | null
    label: string | null
  }>(
    `with visible as (select i.brand_id, i.deleted_by, i.type from items i where ${where.join(' and ')})
     select 'brand' as facet, b.id, b.name, null as label
       from brands b where b.tenant_id = $1 and b.id in (select brand_id from visible)
     union all
     select 'deleter', u.id, u.login, u.display_name
       from users u where u.tenant_id = $1 and u.id in (select deleted_by from visible)
     union all
     select 'type', null, v.type, null from (select distinct type from visible) v
     order by 1, 3`,
    values,
  )
  const rows = (facet: string) => result.rows.filter((row) => row.facet === facet)
  return {
    brands: rows('brand').map((row) => ({ id: row.id!, name: row.name! })),
    deleters: rows('deleter').map((row) => ({ id: row.id!, login: row.name!, name: row.label })),
    types: rows('type').map((row) => row.name!),
  }
}

export async function countTrash(
  q: Queryable,
  visibility: TrashVisibility,
  filter: TrashFilter,
): Promise<number> {
  const { where, values } = trashWhere(visibility, filter)
  const result = await q.query<{ n: number }>(
    `select count(*)::int as n from items i where ${where.join(' and ')}`,
    values,
  )
  return result.rows[0]?.n ?? 0
}
