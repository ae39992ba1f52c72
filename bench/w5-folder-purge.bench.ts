import { randomUUID } from 'node:crypto'
import { folderTree, rawTrashSubtree } from './datasets.js'
import { benchTenant, timed, type Workload } from './lib.js'

const DESCENDANTS = Number(process.env.BENCH_W5_ITEMS ?? 100_000)
const DEPTH = 20

/** W5: purge of one trashed folder with 100,000 descendants, 20 deep, against one raw recursive-CTE delete. */
export const workload: Workload = {
  id: 'W5',
  title: `purge of one folder with ${DESCENDANTS.toLocaleString('en')} descendants, depth ${DEPTH}`,
  target: '≤ 2.0',
  meets: (ratio) => ratio <= 2.0,
  async run({ ctx, repetitions, log }) {
    const ours: number[] = []
    const limit: number[] = []
    for (let run = 0; run < repetitions; run++) {
      const a = await benchTenant(ctx, `w5-ours-${run}`)
      const top = await folderTree(ctx.db, a.tenantId, a.admin.userId, 'Big', DESCENDANTS + 1, DEPTH)
      await ctx.trash.trash(a.admin, [top])
      const purge = await timed(() => ctx.trash.purge(a.admin, [top]))
      if (purge.value.results[0]?.affected !== DESCENDANTS + 1)
        throw new Error(`purged ${purge.value.results[0]?.affected}`)
      ours.push(purge.ms)

      const b = await benchTenant(ctx, `w5-limit-${run}`)
      const rawTop = await folderTree(ctx.db, b.tenantId, b.admin.userId, 'Big', DESCENDANTS + 1, DEPTH)
      await rawTrashSubtree(ctx.db, b.tenantId, rawTop, b.admin.userId)
      const raw = await timed(() =>
        ctx.db.query(
          `with recursive sub as (
              select id from items where tenant_id = $1 and id = $2
              union all
              select c.id from items c join sub on c.tenant_id = $1 and c.parent_id = sub.id
            ),
            gone as (delete from items i using sub where i.tenant_id = $1 and i.id = sub.id returning i.*)
            insert into audit (tenant_id, actor_id, actor_login, door, action, item_id, item_kind, item_type, item_name,
                               item_path, unit_root, item_brand_id, item_issue_id, item_category_id, item_deleted_at,
                               item_deleted_by, item_owner_id, item_version, item_format, operation_id)
            select tenant_id, $3, 'bench', 'rest', 'purge', id, kind, type, name, original_path, trash_root, brand_id,
                   issue_id, category_id, deleted_at, deleted_by, owner_id, version, content_type, $4::uuid
              from gone`,
          // the audit rows carry the item's facts and the request's operation id, as ours do
          [b.tenantId, rawTop, b.admin.userId, randomUUID()],
        ),
      )
      if (raw.value.rowCount !== DESCENDANTS + 1) throw new Error(`raw purged ${raw.value.rowCount}`)
      limit.push(raw.ms)
      log(`run ${run + 1}: ours ${purge.ms.toFixed(0)} ms, limit ${raw.ms.toFixed(0)} ms`)
    }
    return { ours, limit }
  },
}
