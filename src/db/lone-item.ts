import type { NewOperation } from '../core/ports/operation-store.js'
import type { LoneOutcome, LoneTarget } from '../core/ports/trash-store.js'
import type { Actor } from '../core/types.js'
import { INSERT_OPERATION } from './operation-repository.js'
import * as policySql from './policy-sql.js'
import { planNeutral } from './prepared-statements.js'
import { isPgError, type Queryable, UNIQUE_VIOLATION } from './queryable.js'
import { AUDIT_INSERT, AUDIT_ITEM_FACTS } from './sql-fragments.js'
import { SqlParams } from './sql-params.js'

/**
 * The common single-item requests as one statement each, outside any transaction: the decision (policy.may's SQL
 * twin on the row being changed), the change, its audit row and the operation's row commit together in one round
 * trip. A one-item request otherwise sends four (begin, lock and read the facts, change, operation row with the
 * commit). Anything else (a folder, a unit with members, a refusal, a gone folder, a taken name, a race) changes
 * nothing and answers null: the caller then runs the general path, which decides and explains.
 *
 * The audit rows name their operation and session in their own columns here: with no transaction there are no
 * transaction settings for the columns' defaults to read.
 */

const AUDIT_INSERT_WITH_OPERATION = AUDIT_INSERT.replace(/\)$/, ', operation_id, event_ticket)')

/** The operation row's values as parameters; its item count is the rows the statement changed. */
function operationParams(params: SqlParams, op: NewOperation) {
  return {
    id: params.add(op.id),
    client: params.add(op.client),
    remoteAddress: params.add(op.remoteAddress),
    startedAt: params.add(op.startedAt),
    undoOf: params.add(op.undoOf),
    session: params.add(op.session),
    counts: [op.requested, op.okCount, op.warningCount, op.errorCount].map((n) => `${params.add(n)}::int`),
  }
}

/**
 * What the change hands on of each changed row: the columns its audit row and the reply read, not `x.*` (every
 * column of the row, copied into the CTE's store and read out again). With the audit insert as the statement's
 * own (recordedAs), a lone restore or trash took 10-15 us less backend CPU (of ~240 us) in a lab database of
 * 800,000 items, 1.2M audit rows and 1M operations.
 */
const MOVED_COLUMNS = `x.tenant_id, x.id, x.kind, x.type, x.name, x.original_path, x.parent_id, x.trash_root,
               ${AUDIT_ITEM_FACTS}`

function recordedAs(params: SqlParams, op: NewOperation, changed: string, tenant: string, user: string) {
  const o = operationParams(params, op)
  const login = params.add(op.actorLogin)
  const door = params.add(op.door)
  const action = params.add(op.action)
  return {
    door,
    /**
     * The statement's last part: the audit row of each changed row `x`, with its unit root and detail as SQL, as
     * the statement's own insert, its RETURNING the reply. A final SELECT over the changed rows instead made the
     * insert a CTE run after it and added a scan of them (figures at MOVED_COLUMNS).
     */
    audit: (unitRoot: string, detail: string) => `${AUDIT_INSERT_WITH_OPERATION}
        select x.tenant_id, ${user}, ${login}, ${door}, ${action}, x.id, x.kind, x.type, x.name, x.original_path,
               ${unitRoot}, ${detail}, ${AUDIT_ITEM_FACTS}, ${o.id}::uuid, ${o.session}::text
          from ${changed} x
      returning item_id as id, item_name as name, item_kind as kind, 1 as n`,
    /** the operation's row, one per changed row: the change is by key, so one at most, and `items` is 1 */
    statement: `${INSERT_OPERATION}
      select ${tenant}::bigint, ${o.id}::uuid, ${user}::bigint, ${login}::text, ${door}::text, ${action}::text,
             ${o.client}::text, ${o.remoteAddress}::text, ${o.startedAt}::timestamptz, ${o.counts.join(', ')},
             1, ${o.undoOf}::uuid, ${o.session}::text
        from ${changed}`,
  }
}

type LoneRow = { id: number; name: string; kind: 'file' | 'folder'; n: number }

/**
 * The text of each lone statement by what shapes it (which statement, how it names the item, policySql.mayShape),
 * kept from its first request: each request builds it again with its values, but sends the kept string. A
 * string built anew is hashed and compared whole, character by character, wherever it is looked up (the
 * prepared-statement table, the driver's check of a named statement's text): 15-30 us a request for these
 * 2-3 KB texts. Bounded by the shapes: two statements, two ways to name the item, three actor shapes.
 */
const keptTexts = new Map<string, string>()

function keptText(shape: string, text: string): string {
  const kept = keptTexts.get(shape)
  // a text unlike the kept one (a shape this key does not tell apart) is sent as it was built: never the other
  if (kept === text) return kept
  keptTexts.set(shape, text)
  return text
}

async function loneStatement(
  q: Queryable,
  shape: string,
  text: string,
  values: unknown[],
): Promise<LoneOutcome | null> {
  try {
    const result = await q.query<LoneRow>(keptText(shape, text), values)
    const row = result.rows[0]
    return row ? { id: Number(row.id), name: row.name, kind: row.kind, affected: row.n } : null
  } catch (error) {
    // a taken name: the general path asks which names are in use and renames
    if (isPgError(error, UNIQUE_VIOLATION)) return null
    throw error
  }
}

/**
 * The id of the active item at a path of names, walked down from the top level by the active-name key (as
 * resolvePath does), as a CTE named `at` and the expression that reads it.
 */
function pathWalk(params: SqlParams, tenant: string, path: string[]) {
  // walked a name at a time by key whatever its length: the statement is named (prepared) like a one-id one
  const names = params.add(planNeutral([...path]))
  return {
    cte: `at as (
        select i.id, 1 as depth from items i
         where i.tenant_id = ${tenant} and coalesce(i.parent_id, 0) = 0 and i.name = (${names}::text[])[1]
           and i.state = 'active'
        union all
        select c.id, at.depth + 1 from at
          join items c on c.tenant_id = ${tenant} and coalesce(c.parent_id, 0) = at.id
                      and c.name = (${names}::text[])[at.depth + 1] and c.state = 'active'
         where at.depth < cardinality(${names}::text[])
      ),`,
    id: `(select at.id from at where at.depth = cardinality(${names}::text[]))`,
  }
}

/**
 * active → trashed for one item that is not a folder, when the actor may trash it: its path worked out by walking
 * up its folders by key, as trashUnits does for a lone root. Addressed by path, the walk down to it is part of
 * the same statement (a DeleteDocument otherwise sent one statement to find the item and one to trash it).
 */
export function trashLoneItem(q: Queryable, actor: Actor, target: LoneTarget, op: NewOperation) {
  const params = new SqlParams()
  const tenant = params.add(actor.tenantId)
  const user = params.add(actor.userId)
  const walk = 'path' in target ? pathWalk(params, tenant, target.path) : null
  const item = 'id' in target ? `${params.add(target.id)}::bigint` : walk!.id
  const recorded = recordedAs(params, op, 'moved', tenant, user)
  return loneStatement(
    q,
    `trash ${walk ? 'path' : 'id'} ${policySql.mayShape(actor)}`,
    `with recursive ${walk?.cte ?? ''} up as (
        select i.parent_id as next, i.name::text as path, 0 as depth
          from items i where i.tenant_id = ${tenant} and i.id = ${item}
        union all
        select p.parent_id, p.name || '/' || up.path, up.depth + 1
          from up join items p on p.tenant_id = ${tenant} and p.id = up.next
         where up.depth < 1000
      ),
      moved as (
        update items x set state = 'trashed', deleted_at = date_trunc('milliseconds', now()), deleted_by = ${user},
               deleted_via = ${recorded.door}, trash_root = x.id, original_parent_id = x.parent_id,
               original_path = (select '/' || up.path from up where up.next is null), emptied_at = null,
               purge_error = null
         where x.tenant_id = ${tenant} and x.id = ${item} and x.state = 'active' and x.kind <> 'folder'
           and ${policySql.may(actor, 'trash', 'x', user)}
        returning ${MOVED_COLUMNS}
      ),
      recorded as (${recorded.statement})
      ${recorded.audit('x.trash_root', 'null')}`,
    params.values,
  )
}

/**
 * trashed → active for a unit of one item (no members), when the actor may restore it and it goes back where it
 * was: into its folder, still active, or to the top level it was trashed from. Whether its name is free is left
 * to the unique index on active names, which answers it by key whatever the statistics say (a search for the
 * name chose another index and read every active item of the tenant when statistics were taken while they were
 * all trashed); a conflict answers null.
 */
export function restoreLoneUnit(q: Queryable, actor: Actor, id: number, op: NewOperation) {
  const params = new SqlParams()
  const tenant = params.add(actor.tenantId)
  const user = params.add(actor.userId)
  const item = params.add(id)
  const recorded = recordedAs(params, op, 'moved', tenant, user)
  return loneStatement(
    q,
    `restore ${policySql.mayShape(actor)}`,
    `with moved as (
        update items x set state = 'active', trash_root = null, modified_at = now(), modified_by = ${user},
               purge_error = null, purge_attempts = 0
         where x.tenant_id = ${tenant} and x.id = ${item} and x.state = 'trashed' and x.trash_root = x.id
           and ${policySql.may(actor, 'restore', 'x', user)}
           and not exists (select 1 from items m where m.tenant_id = ${tenant} and m.trash_root = ${item} and m.id <> ${item})
           and (case when x.parent_id is null then x.original_parent_id is null
                     else exists (select 1 from items p
                                   where p.tenant_id = ${tenant} and p.id = x.parent_id and p.state = 'active') end)
        returning ${MOVED_COLUMNS}
      ),
      recorded as (${recorded.statement})
      ${recorded.audit('x.id', "jsonb_build_object('parentId', x.parent_id, 'name', x.name)")}`,
    params.values,
  )
}
