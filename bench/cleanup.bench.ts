import { mkdir, unlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { AppContext } from '../src/context.js'
import { CleanupJob } from '../src/core/cleanup-job.js'
import type { Database } from '../src/db/database.js'
import type { FsBlobStore } from '../src/storage/fs-blob-store.js'
import { benchTenant, peakRssGrowth, percentile, timed, type Workload } from './lib.js'

/**
 * W2: the cleanup job against its limit, the minimal raw SQL reaching the same end state (the expired rows gone,
 * one `expire` audit row each) in one statement, plus, with files, removing the same files.
 *   W2a: metadata-only items spread over many tenants (BENCH_W2_ITEMS, BENCH_W2_TENANTS).
 *   W2b: items with stored files in one tenant (BENCH_W2_FILES), with the peak RSS growth at that size and at a
 *        tenth of it (flat memory: the two stay alike), and the latency of a user's restore while the job runs.
 * Datasets are built set-based; each repetition builds fresh ones (BENCH_W2_REPETITIONS caps them, default 1).
 */
const ITEMS = Number(process.env.BENCH_W2_ITEMS ?? 1_000_000)
const TENANTS = Number(process.env.BENCH_W2_TENANTS ?? 1000)
const FILES = Number(process.env.BENCH_W2_FILES ?? 100_000)
const W2_REPETITIONS = Number(process.env.BENCH_W2_REPETITIONS ?? 1)

/** `perTenant` expired trashed metadata-only items in each of `tenants` new tenants (7-day retention). */
async function expiredItems(
  db: Database,
  tenants: number,
  perTenant: number,
  label: string,
): Promise<number[]> {
  const created = await db.query<{ id: number }>(
    `insert into tenants (name, retention_days) select $1 || '-' || n, 7 from generate_series(1, $2::int) as n
     returning id`,
    [label, tenants],
  )
  const ids = created.rows.map((row) => row.id)
  await db.query(
    `insert into items (tenant_id, kind, type, name, size, state, deleted_at, deleted_via, original_path)
     select t.id, 'file', 'Article', 'doc-' || n, 0, 'trashed', now() - interval '30 days', 'bench', '/doc-' || n
       from unnest($1::bigint[]) as t(id) cross join generate_series(1, $2::int) as n`,
    [ids, perTenant],
  )
  await db.query(
    "update items set trash_root = id where tenant_id = any($1::bigint[]) and state = 'trashed'",
    [ids],
  )
  await db.query('analyze items')
  return ids
}

/** The expired rows of the given tenants gone with their audit rows, in one statement; returns the blob keys. */
async function rawExpire(db: Database, tenantIds: number[]): Promise<string[]> {
  const gone = await db.query<{ blob_key: string | null }>(
    `with gone as (
        delete from items i using tenants t
         where i.tenant_id = t.id and t.id = any($1::bigint[]) and i.state = 'trashed' and t.retention_days > 0
           and i.deleted_at <= now() - make_interval(days => t.retention_days)
        returning i.*
      ),
      audited as (
        insert into audit (tenant_id, door, action, item_id, item_kind, item_type, item_name, item_path, unit_root,
                           detail)
        select tenant_id, 'cleanup', 'expire', id, kind, type, name, original_path, trash_root,
               jsonb_build_object('reason', 'expired', 'retentionDays', 7)
          from gone
      )
      select blob_key from gone`,
    [tenantIds],
  )
  return gone.rows.flatMap((row) => (row.blob_key ? [row.blob_key] : []))
}

/** `count` expired trashed files in the tenant, each with a small stored file. */
async function expiredFiles(db: Database, blobs: FsBlobStore, tenantId: number, count: number) {
  await db.query(
    `insert into items (tenant_id, kind, type, name, size, blob_key, state, deleted_at, deleted_via, original_path)
     select $1, 'file', 'Image', 'img-' || n || '.jpg', 16, gen_random_uuid()::text, 'trashed',
            now() - interval '30 days', 'bench', '/img-' || n || '.jpg'
       from generate_series(1, $2::int) as n`,
    [tenantId, count],
  )
  await db.query("update items set trash_root = id where tenant_id = $1 and state = 'trashed'", [tenantId])
  const dirs = new Set<string>()
  let afterId = 0
  for (;;) {
    const page = await db.query<{ id: number; blob_key: string }>(
      'select id, blob_key from items where tenant_id = $1 and blob_key is not null and id > $2 order by id limit 5000',
      [tenantId, afterId],
    )
    if (page.rows.length === 0) break
    afterId = page.rows[page.rows.length - 1]!.id
    for (let i = 0; i < page.rows.length; i += 64) {
      await Promise.all(
        page.rows.slice(i, i + 64).map(async (row) => {
          const file = blobs.pathOf(row.blob_key)
          const dir = path.dirname(file)
          if (!dirs.has(dir)) {
            await mkdir(dir, { recursive: true })
            dirs.add(dir)
          }
          await writeFile(file, 'sixteen bytes...')
        }),
      )
    }
  }
  await db.query('analyze items')
}

async function expectPurged(db: Database, tenantIds: number[], expected: number) {
  const left = await db.query<{ n: number }>(
    `select count(*)::int as n from items where tenant_id = any($1::bigint[]) and state in ('trashed', 'purging')
        and deleted_at < now() - interval '1 day'`,
    [tenantIds],
  )
  const audited = await db.query<{ n: number }>(
    "select count(*)::int as n from audit where tenant_id = any($1::bigint[]) and action = 'expire'",
    [tenantIds],
  )
  if (left.rows[0]!.n !== 0 || audited.rows[0]!.n !== expected) {
    throw new Error(`end state not reached: ${left.rows[0]!.n} rows left, ${audited.rows[0]!.n} audit rows`)
  }
}

function job(ctx: AppContext) {
  return new CleanupJob(ctx.db, ctx.blobs, {
    batchSize: ctx.config.CLEANUP_BATCH_SIZE,
    staleAfterSeconds: ctx.config.CLEANUP_STALE_AFTER,
  })
}

export const workloads: Workload[] = [
  {
    id: 'W2a',
    title: `cleanup run over ${ITEMS.toLocaleString('en')} expired metadata-only items in ${TENANTS.toLocaleString('en')} tenants`,
    target: '≤ 2.0',
    meets: (ratio) => ratio <= 2.0,
    async run({ ctx, repetitions, log }) {
      const ours: number[] = []
      const limit: number[] = []
      const perTenant = Math.ceil(ITEMS / TENANTS)
      let rss = 0
      for (let run = 0; run < Math.min(repetitions, W2_REPETITIONS); run++) {
        const oursTenants = await expiredItems(ctx.db, TENANTS, perTenant, `w2a-ours-${run}`)
        const cleanup = job(ctx)
        const measured = await peakRssGrowth(() => timed(() => cleanup.run({ trigger: 'cli' })))
        const report = measured.value.value
        if (report?.run.status !== 'succeeded')
          throw new Error(`run ${report?.run.status}: ${report?.run.error}`)
        await expectPurged(ctx.db, oursTenants, TENANTS * perTenant)
        ours.push(measured.value.ms)
        rss = Math.max(rss, measured.mb)

        const limitTenants = await expiredItems(ctx.db, TENANTS, perTenant, `w2a-limit-${run}`)
        const raw = await timed(() => rawExpire(ctx.db, limitTenants))
        await expectPurged(ctx.db, limitTenants, TENANTS * perTenant)
        limit.push(raw.ms)
        log(
          `run ${run + 1}: ours ${measured.value.ms.toFixed(0)} ms (peak RSS +${measured.mb.toFixed(1)} MB), limit ${raw.ms.toFixed(0)} ms`,
        )
      }
      return { ours, limit, extra: { 'peak RSS growth MB': rss } }
    },
  },
  {
    id: 'W2b',
    title: `cleanup run over ${FILES.toLocaleString('en')} expired items with files`,
    target: '≤ 1.5',
    meets: (ratio) => ratio <= 1.5,
    async run({ ctx, repetitions, log }) {
      const blobs = ctx.blobs as FsBlobStore
      const ours: number[] = []
      const limit: number[] = []
      const small = Math.max(1000, Math.floor(FILES / 10))
      const extra: Record<string, number> = {}
      for (let run = 0; run < Math.min(repetitions, W2_REPETITIONS); run++) {
        // memory at a tenth of the size, for comparison
        const tenth = await benchTenant(ctx, `w2b-small-${run}`)
        await expiredFiles(ctx.db, blobs, tenth.tenantId, small)
        const smallRun = await peakRssGrowth(() => job(ctx).run({ trigger: 'cli', tenantId: tenth.tenantId }))
        await expectPurged(ctx.db, [tenth.tenantId], small)

        const a = await benchTenant(ctx, `w2b-ours-${run}`)
        await expiredFiles(ctx.db, blobs, a.tenantId, FILES)
        // a user restores (and trashes again) an item of the tenant being cleaned up, all along the run
        const kept = await ctx.admin.createItem(a.tenantId, {
          kind: 'file',
          name: 'kept.jpg',
          ownerId: a.admin.userId,
        })
        await ctx.trash.trash(a.admin, [kept.item.id])
        const latencies: number[] = []
        let running = true
        const restorer = (async () => {
          while (running) {
            const restore = await timed(() => ctx.trash.restore(a.admin, [kept.item.id]))
            if (restore.value.successCount !== 1) throw new Error('the concurrent restore failed')
            latencies.push(restore.ms)
            await ctx.trash.trash(a.admin, [kept.item.id])
            await new Promise((resolve) => setTimeout(resolve, 20))
          }
        })()
        const measured = await peakRssGrowth(() =>
          timed(() => job(ctx).run({ trigger: 'cli', tenantId: a.tenantId })),
        )
        running = false
        await restorer
        const report = measured.value.value
        if (report?.run.status !== 'succeeded')
          throw new Error(`run ${report?.run.status}: ${report?.run.error}`)
        await expectPurged(ctx.db, [a.tenantId], FILES)
        ours.push(measured.value.ms)

        const b = await benchTenant(ctx, `w2b-limit-${run}`)
        await expiredFiles(ctx.db, blobs, b.tenantId, FILES)
        const raw = await timed(async () => {
          const keys = await rawExpire(ctx.db, [b.tenantId])
          for (let i = 0; i < keys.length; i += 16) {
            await Promise.all(keys.slice(i, i + 16).map((key) => unlink(blobs.pathOf(key))))
          }
          return keys.length
        })
        if (raw.value !== FILES) throw new Error(`raw removed ${raw.value} files`)
        limit.push(raw.ms)

        extra[`peak RSS growth MB at ${FILES}`] = measured.mb
        extra[`peak RSS growth MB at ${small}`] = smallRun.mb
        extra['restore p50 ms'] = percentile(latencies, 50)
        extra['restore p99 ms'] = percentile(latencies, 99)
        extra['restore max ms'] = Math.max(...latencies)
        extra.restores = latencies.length
        log(
          `run ${run + 1}: ours ${measured.value.ms.toFixed(0)} ms, limit ${raw.ms.toFixed(0)} ms; peak RSS +${measured.mb.toFixed(1)} MB at ${FILES}, +${smallRun.mb.toFixed(1)} MB at ${small}; ${latencies.length} restores meanwhile, p99 ${percentile(latencies, 99).toFixed(1)} ms`,
        )
      }
      return { ours, limit, extra }
    },
  },
]
