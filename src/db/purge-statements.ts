import type { Actor, ItemKind } from '../core/types.js'
import type {
  AuditActor,
  MarkedBlob,
  MarkResult,
  OwnBinBatch,
  OwnBinScope,
  PurgeUnit,
} from '../core/ports/purge-store.js'
import type { Queryable } from './queryable.js'
import { AUDIT_INSERT, AUDIT_ITEM_FACTS } from './sql-fragments.js'
import { SqlParams } from './sql-params.js'
import * as policySql from './policy-sql.js'

/**
 * SQL of the purge protocol: mark (step 1), the marked rows' files (step 2, with its heartbeat and the revert
 * after a storage failure), delete what is still marked (step 3). Every purge goes through these, the cleanup
 * job's included.
 */

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
  const params = new SqlParams()
  const tenant = params.add(actor.tenantId)
  const ids = params.add(units.map((u) => u.id))
  const actions = params.add(units.map((u) => u.action))
  const details = params.add(units.map((u) => (u.detail ? JSON.stringify(u.detail) : null)))
  const result = await q.query<MarkRow>(
    MARK_STATEMENT(
      `heads as materialized (
        select i.tenant_id, i.id, i.trash_root, i.state, i.kind, i.blob_key, i.legal_hold, i.brand_id, r.action,
               r.detail
          from unnest(${ids}::bigint[], ${actions}::text[], ${details}::jsonb[]) as r(id, action, detail)
          join items i on i.tenant_id = ${tenant} and i.id = r.id
      )`,
      markParams(params, token, actor),
    ),
    params.values,
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

/** Whether a unit row (alias `r`) is under legal hold (policy.isUnderLegalHold); the brand is read only for rows in one. */
const HELD = (r: string) =>
  policySql.isUnderLegalHold(
    r,
    `case when ${r}.brand_id is not null then (
       select b.legal_hold from brands b where b.tenant_id = ${r}.tenant_id and b.id = ${r}.brand_id) end`,
  )

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
      select u.tenant_id, u.addressed, 0, 'held', i.name, i.kind
        from held u join items i on i.tenant_id = u.tenant_id and i.id = u.addressed`

/** The placeholders of the purge token and the auditing actor among a mark statement's parameters. */
export interface MarkParams {
  token: string
  userId: string
  login: string
  door: string
}

/** Adds the purge token and the auditing actor to a mark statement's parameters. */
export function markParams(
  params: SqlParams,
  token: string,
  actor: Pick<AuditActor, 'userId' | 'login' | 'door'>,
): MarkParams {
  return {
    token: params.add(token),
    userId: params.add(actor.userId),
    login: params.add(actor.login),
    door: params.add(actor.door),
  }
}

/**
 * Purge step 1 as one statement. The caller's CTEs define `heads(tenant_id, id, trash_root, state, kind, blob_key,
 * legal_hold, brand_id, action, detail)`: the addressed items (of one tenant or several) with the audit action and
 * detail their rows get. A lone head (a trashed file: a unit of its own row, the common case) is deleted or marked
 * straight from `heads` by its primary key, without being copied into a unit CTE first. The rows of larger units
 * are reached by key too: a unit root's members through the trash-root index, an item inside a unit by a walk down
 * its folders; they share their unit's verdict and are changed by their primary key. No step joins two CTEs, whose
 * row estimates are guesses (a batch estimated at one row was joined by nested loop, quadratic in its size).
 * `p` names the token and actor parameters; `answer` replaces the default answer (MARK_ANSWER) and may read
 * marked, gone, held (tenant_id, addressed, detail: a row per held unit) and the caller's CTEs.
 */
export const MARK_STATEMENT = (heads: string, p: MarkParams, answer = MARK_ANSWER) => {
  const LONE = `h.id = h.trash_root and h.kind <> 'folder' and h.state in ('trashed', 'emptied')`
  const LONE_ROW = `x.tenant_id = h.tenant_id and x.id = h.id and x.state not in ('active', 'purging')`
  // A marked row whose folder this statement deletes leaves it here (as detached does for the rows it leaves
  // alone): an update of each row once, since a second update of a row in the same statement is skipped.
  const MARK_SET = (u: string) => `state = 'purging', state_before_purge = x.state, purge_token = ${p.token},
               purge_started_at = now(), purge_action = ${u}.action, purge_detail = ${u}.detail,
               purge_actor_id = ${p.userId}, purge_actor_login = ${p.login}, purge_door = ${p.door},
               parent_id = case when x.parent_id in (select g.id from unit_gone g where g.kind = 'folder') then null
                                else x.parent_id end`
  return `with recursive ${heads},
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
      -- each row of a larger unit with its unit's verdict (a window, not a join with an aggregate)
      planned as materialized (
        select u.*, bool_or(${HELD('u')}) over w as held, bool_or(${HAS_BLOBS('u')}) over w as has_blobs
          from grouped u
        window w as (partition by u.tenant_id, u.addressed)
      ),
      lone_marked as (
        update items x set ${MARK_SET('h')}
          from heads h
         where ${LONE} and ${HAS_BLOBS('h')} and not ${HELD('h')} and ${LONE_ROW}
        returning x.tenant_id, x.id, h.id as addressed
      ),
      unit_marked as (
        update items x set ${MARK_SET('u')}
          from planned u
         where u.has_blobs and not u.held
           and x.tenant_id = u.tenant_id and x.id = u.id and x.state not in ('active', 'purging')
        returning x.tenant_id, x.id, u.addressed
      ),
      marked as not materialized (select * from lone_marked union all select * from unit_marked),
      lone_gone as (
        delete from items x
         using heads h
         where ${LONE} and not ${HAS_BLOBS('h')} and not ${HELD('h')} and ${LONE_ROW}
        returning ${GONE_COLUMNS}, h.id as addressed, h.action as purge_action_now, h.detail as purge_detail_now
      ),
      unit_gone as (
        delete from items x
         using planned u
         where not u.has_blobs and not u.held
           and x.tenant_id = u.tenant_id and x.id = u.id and x.state not in ('active', 'purging')
        returning ${GONE_COLUMNS}, u.addressed, u.action as purge_action_now, u.detail as purge_detail_now
      ),
      gone as not materialized (select * from lone_gone union all select * from unit_gone),
      detached as (
        update items c set parent_id = null
          -- only folders have children (items are created and restored under folders alone), and a lone unit is
          -- never a folder
          from unit_gone gone
         where gone.kind = 'folder' and c.tenant_id = gone.tenant_id and c.parent_id = gone.id
           -- a child of the same unit is being deleted too; comparing trash roots avoids probing the unit CTE,
           -- which has no index (a 100,000-row folder made that anti-join quadratic)
           and c.trash_root is distinct from gone.trash_root
           -- a row this statement marks is detached by its mark (one hashed look-up, not a join)
           and c.id not in (select m.id from marked m)
      ),
      audited as (
        ${AUDIT_INSERT}
        select x.tenant_id, ${p.userId}, ${p.login}, ${p.door}, x.purge_action_now, x.id, x.kind, x.type, x.name,
               x.original_path, x.trash_root, x.purge_detail_now, ${AUDIT_ITEM_FACTS}
          from gone x
      ),
      held as (
        select distinct tenant_id, addressed, detail from (
          select h.tenant_id, h.id as addressed, h.detail from heads h where ${LONE} and ${HELD('h')}
          union all
          select tenant_id, addressed, detail from planned where held
        ) as u
      )
      ${answer}`
}

/** The columns of a deleted row that its audit row and the statement's answer read. */
const GONE_COLUMNS = `x.tenant_id, x.id, x.kind, x.type, x.name, x.original_path, x.trash_root, x.brand_id, x.issue_id,
               x.category_id, x.deleted_at, x.deleted_by, x.owner_id, x.version, x.content_type`

/**
 * Purge step 1 for the next batch of an actor's own bin (srv.asmx EmptyRecycleBin): the unit roots they deleted,
 * after `afterId` in id order, addressed straight from their index and marked or deleted in the same statement.
 * The caller's policy (policy.ownBinScope) names the deleter. Deleted units are answered as one count, not a
 * row each.
 */
export async function markOwnBinForPurge(
  q: Queryable,
  actor: Actor,
  scope: OwnBinScope,
  afterId: number,
  limit: number,
  token: string,
  action: string,
): Promise<OwnBinBatch> {
  const params = new SqlParams()
  const tenant = params.add(actor.tenantId)
  const deletedBy = params.add(scope.deletedBy)
  const actionParam = params.add(action)
  const after = params.add(afterId)
  const limitParam = params.add(limit)
  const mark = markParams(params, token, actor)
  const only = scope.only ? ` and r.id = any(${params.add(scope.only)}::bigint[])` : ''
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
               ${actionParam}::text as action, null::jsonb as detail
          from items r
         where r.tenant_id = ${tenant} and r.deleted_by = ${deletedBy} and r.state in ('trashed', 'emptied')
           and r.id = r.trash_root and r.id > ${after}${only} and ${OWN_BIN_PURGEABLE(actor, mark.userId)}
         order by r.id limit ${limitParam}
      )`,
      mark,
      `select 'seen' as what, max(id) as id, count(*)::int as n, null as name, null as kind from heads
       union all
       select 'deleted', null, count(*)::int, null, null from gone
       union all
       select 'marked', addressed, count(*)::int, null, null from marked group by addressed
       union all
       select 'held', u.addressed, 0, i.name, i.kind
         from held u join items i on i.tenant_id = u.tenant_id and i.id = u.addressed`,
    ),
    params.values,
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
 * (`user`: the placeholder of the actor's user id): a unit holding anything the actor may not purge stays in the bin whole.
 */
const OWN_BIN_PURGEABLE = (actor: Actor, user: string) =>
  actor.admin
    ? 'true'
    : // a file is a unit of its own row: decided on the row, no probe of the unit
      `case when r.kind = 'file' then ${policySql.may(actor, 'purge', 'r', user)}
            else not exists (select 1 from items m where m.tenant_id = r.tenant_id and m.trash_root = r.id
                   and m.state in ('trashed', 'emptied') and not ${policySql.may(actor, 'purge', 'm', user)}) end`

/** The roots of an actor's own bin's units, in id order (what EmptyRecycleBin addresses); the first `limit`. */
export async function ownBinRoots(
  q: Queryable,
  actor: Actor,
  scope: OwnBinScope,
  limit?: number,
): Promise<number[]> {
  const params = new SqlParams()
  const tenant = params.add(actor.tenantId)
  const deletedBy = params.add(scope.deletedBy)
  const first = limit === undefined ? '' : ` limit ${params.add(limit)}`
  const result = await q.query<{ id: number }>(
    `select r.id from items r
      where r.tenant_id = ${tenant} and r.deleted_by = ${deletedBy} and r.state in ('trashed', 'emptied')
        and r.id = r.trash_root
      order by r.id${first}`,
    params.values,
  )
  return result.rows.map((row) => row.id)
}

/** The units of an actor's own bin that EmptyRecycleBin leaves: each holds something the actor may not purge. */
export async function ownBinUnpurgeable(
  q: Queryable,
  actor: Actor,
  scope: { deletedBy: number },
): Promise<{ id: number; name: string; kind: ItemKind }[]> {
  if (actor.admin) return []
  const params = new SqlParams()
  const tenant = params.add(actor.tenantId)
  const deletedBy = params.add(scope.deletedBy)
  const user = params.add(actor.userId)
  const result = await q.query<{ id: number; name: string; kind: ItemKind }>(
    `select r.id, r.name, r.kind from items r
      where r.tenant_id = ${tenant} and r.deleted_by = ${deletedBy} and r.state in ('trashed', 'emptied')
        and r.id = r.trash_root and not ${OWN_BIN_PURGEABLE(actor, user)}
      order by r.id`,
    params.values,
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
          -- only folders have children (see MARK_STATEMENT's detached): a file is not looked up as a parent
          from gone where gone.kind = 'folder' and c.tenant_id = $1 and c.parent_id = gone.id
                      and c.purge_token is distinct from $2
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
