import { randomUUID } from 'node:crypto'
import { mkdir, unlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { CleanupJob } from '../src/core/cleanup-job.js'
import type { Actor } from '../src/core/types.js'
import type { Database } from '../src/db/database.js'
import type { FsBlobStore } from '../src/storage/fs-blob-store.js'
import { type BenchContext, benchTenant, peakRssGrowth, percentile, timed, type Workload } from './lib.js'

/**
 * W2-memory: one cleanup run over BENCH_W2_FILES (default 100,000) expired items with stored files in one tenant,
 * with its peak RSS growth at that size and at a tenth of it (flat memory: the two stay alike) and the latency of
 * a user's restore in that tenant while the job runs; against the limit (one raw statement deleting the rows and
 * writing the same audit rows, then unlinking the files). W2 and W2-files (w2-cleanup.bench.ts) measure the
 * speed over many tenants. Datasets are built set-based; BENCH_W2_REPETITIONS caps the repetitions (default 1).
 */
const FILES = Number(process.env.BENCH_W2_FILES ?? 100_000)
const W2_REPETITIONS = Number(process.env.BENCH_W2_REPETITIONS ?? 1)

/**
 * The expired rows of the given tenants gone with their audit rows (the facts and the run's operation id the job's
 * carry), in one statement; returns the blob keys.
 */
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
                           detail, item_brand_id, item_issue_id, item_category_id, item_deleted_at, item_deleted_by,
                           item_owner_id, item_version, item_format, operation_id)
        select tenant_id, 'cleanup', 'expire', id, kind, type, name, original_path, trash_root,
               jsonb_build_object('reason', 'expired', 'retentionDays', 7), brand_id, issue_id, category_id,
               deleted_at, deleted_by, owner_id, version, content_type, $2::uuid
          from gone
      )
      select blob_key from gone`,
    [tenantIds, randomUUID()],
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

function job(ctx: BenchContext) {
  return new CleanupJob(ctx.db, ctx.blobs, {
    batchSize: ctx.config.CLEANUP_BATCH_SIZE,
    staleAfterSeconds: ctx.config.CLEANUP_STALE_AFTER,
  })
}

/**
 * The tenant's admin restoring (and trashing again) an item of its own, every 20 ms until stopped; answers the
 * restore latencies. Each restore is checked to have succeeded.
 */
async function restoreAlong(ctx: BenchContext, tenant: { tenantId: number; admin: Actor }) {
  const actor = tenant.admin
  const { item } = await ctx.admin.createItem(tenant.tenantId, {
    kind: 'file',
    name: 'kept.jpg',
    ownerId: actor.userId,
  })
  const itemId = item.id
  await ctx.trash.trash(actor, [itemId])
  const latencies: number[] = []
  let running = true
  const loop = (async () => {
    while (running) {
      const restore = await timed(() => ctx.trash.restore(actor, [itemId]))
      if (restore.value.successCount !== 1) throw new Error('the concurrent restore failed')
      latencies.push(restore.ms)
      await ctx.trash.trash(actor, [itemId])
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })()
  return {
    async stop() {
      running = false
      await loop
      return latencies
    },
  }
}

export const workloads: Workload[] = [
  {
    id: 'W2-memory',
    title: `cleanup run over ${FILES.toLocaleString('en')} expired items with files: memory at N and N/10, restore latency`,
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
        const restorer = await restoreAlong(ctx, a)
        const measured = await peakRssGrowth(() =>
          timed(() => job(ctx).run({ trigger: 'cli', tenantId: a.tenantId })),
        )
        const latencies = await restorer.stop()
        const report = measured.value.value
        if (report?.run.status !== 'succeeded')
          throw new Error(`run ${report?.run.status}: ${report?.run.error}`)
        await expectPurged(ctx.db, [a.tenantId], FILES)
        ours.push(measured.value.ms)

        const b = await benchTenant(ctx, `w2b-limit-${run}`)
        await expiredFiles(ctx.db, blobs, b.tenantId, FILES)
        // the same restores go on while the limit runs, so that both sides share the machine with that load
        const limitRestorer = await restoreAlong(ctx, b)
        const raw = await timed(async () => {
          const keys = await rawExpire(ctx.db, [b.tenantId])
          for (let i = 0; i < keys.length; i += 16) {
            await Promise.all(keys.slice(i, i + 16).map((key) => unlink(blobs.pathOf(key))))
          }
          return keys.length
        })
        await limitRestorer.stop()
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
