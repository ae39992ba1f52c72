import { randomUUID } from 'node:crypto'
import { loadavg } from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { TrashService } from '../src/core/trash-service.js'
import { connectPostgres } from '../src/db/database.js'
import { activeFiles } from './datasets.js'
import {
  benchUser,
  clockWindow,
  peakRssGrowth,
  percentile,
  restoreProber,
  settleDatabase,
  slowRestores,
  startBenchServer,
  timed,
  type Workload,
} from './lib.js'

const ITEMS = Number(process.env.BENCH_W7_ITEMS ?? 1_000_000)

/**
 * W7: undo of a mass delete. A folder of 1,000,000 metadata-only files is trashed through the core (one
 * operation), then undone over HTTP (`POST /api/v1/operations/:id/undo`, as a client calls it): more items than JOB_THRESHOLD,
 * so a bulk job, timed until the job reports it has succeeded. The limit, measured
 * in the same run on a twin folder trashed the same way: one hand-written statement that restores the unit's rows
 * as the undo leaves them and writes their audit rows. Meanwhile another user restores single items through the
 * IPS door: their latency is reported (target p99 ≤ 100 ms).
 */
export const workload: Workload = {
  id: 'W7',
  title: `undo of a trash operation of ${ITEMS.toLocaleString('en')} metadata-only items (one folder)`,
  target: '≤ 2.0, peak RSS growth ≤ 100 MB',
  meets: (ratio, extra) => ratio <= 2.0 && Number(extra['peak RSS growth MB']) <= 100,
  async run({ ctx, url, repetitions, log }) {
    const server = await startBenchServer(ctx)
    // the set-up's trash of a folder of a million files is one statement, which on a loaded machine runs past the
    // server's statement timeout: it goes through the core on connections without one (the undo does not)
    const setupDb = connectPostgres(url, { max: 2, statementTimeoutMs: 0, idleInTransactionTimeoutMs: 0 })
    const setupTrash = new TrashService(setupDb, ctx.blobs)
    try {
      const tenantId = await ctx.admin.createTenant('w7')
      const prober = await restoreProber(ctx, tenantId, 'w7-prober')
      // top-level folders are the administrators'; the deleting user works in one below
      const admin = await benchUser(ctx, tenantId, 'w7-admin')
      const library = (
        await ctx.admin.createItem(tenantId, { kind: 'folder', name: 'lib', ownerId: admin.userId })
      ).item.id

      /** A folder of ITEMS files, trashed by `user` through the core: one trash operation. */
      const trashedFolder = async (user: Awaited<ReturnType<typeof benchUser>>, name: string) => {
        const folder = (
          await ctx.admin.createItem(tenantId, {
            kind: 'folder',
            name,
            parentId: library,
            ownerId: user.userId,
          })
        ).item.id
        await activeFiles(ctx.db, {
          tenantId,
          ownerId: user.userId,
          parentId: folder,
          count: ITEMS,
          prefix: name,
        })
        const trashed = await setupTrash.trash(user.actor, [folder])
        if (trashed.results[0]?.affected !== ITEMS + 1)
          throw new Error(`trashed ${JSON.stringify(trashed.results[0])}`)
        const [op] = (await ctx.operations.list(user.actor, { action: 'trash' }, { limit: 1 })).operations
        return { folder, operationId: op!.id }
      }
      const activeUnder = async (folder: number) =>
        (
          await ctx.db.query<{ n: number }>(
            "select count(*)::int as n from items where tenant_id = $1 and (id = $2 or parent_id = $2) and state = 'active'",
            [tenantId, folder],
          )
        ).rows[0]!.n

      log(`database ${new URL(url).pathname.slice(1)}`)
      const ours: number[] = []
      const limit: number[] = []
      const rss: number[] = []
      const probes = { p50: [] as number[], p99: [] as number[], count: 0, failures: 0 }
      const limitProbes = { p50: [] as number[], p99: [] as number[], count: 0, failures: 0 }
      /** the longest the server's event loop was blocked during each side (ms) */
      const blocks = { ours: [] as number[], limit: [] as number[] }
      for (let run = 0; run < repetitions; run++) {
        const owner = await benchUser(ctx, tenantId, `w7-ours-${run}`, false)
        const mine = await trashedFolder(owner, `ours${run}`)
        const rawOwner = await benchUser(ctx, tenantId, `w7-limit-${run}`, false)
        const theirs = await trashedFolder(rawOwner, `raw${run}`)
        await ctx.db.query('analyze items')
        await ctx.db.query('analyze audit')

        // each side starts with the set-up's (or the other side's) writes checkpointed, so that neither is timed,
        // nor has its probe slowed, by the other's background writes
        await settleDatabase()
        const probe = prober.start(server.baseUrl)
        await probe.ready
        const oursLoop = monitorEventLoopDelay({ resolution: 10 })
        oursLoop.enable()
        const oursFrom = Date.now()
        const authorization = `Basic ${Buffer.from(`${owner.login}:${owner.password}`).toString('base64')}`
        const undone = await peakRssGrowth(() =>
          timed(async () => {
            const response = await fetch(`${server.baseUrl}/api/v1/operations/${mine.operationId}/undo`, {
              method: 'POST',
              headers: { authorization, 'x-requested-with': 'bench' },
            })
            const answer = { status: response.status, body: await response.text() }
            if (response.status !== 202) return answer
            // a bulk job (more items than JOB_THRESHOLD): done when the job says so (bounded: one hour)
            const location = response.headers.get('location')!
            for (let i = 0; i < 36_000; i++) {
              const job = (await (
                await fetch(`${server.baseUrl}${location}`, { headers: { authorization } })
              ).json()) as { status: string; error: string | null }
              if (job.status === 'succeeded') return { status: 200, body: '' }
              if (job.status !== 'queued' && job.status !== 'running')
                return { status: 500, body: JSON.stringify(job) }
              await new Promise((resolve) => setTimeout(resolve, 100))
            }
            return { status: 504, body: 'the job did not end within an hour' }
          }),
        )
        const oursTo = Date.now()
        oursLoop.disable()
        const probed = await probe.stop()
        if (undone.value.value.status !== 200) throw new Error(undone.value.value.body.slice(0, 300))
        const restored = await activeUnder(mine.folder)
        if (restored !== ITEMS + 1) throw new Error(`undo left ${ITEMS + 1 - restored} items in the trash`)
        ours.push(undone.value.ms)
        rss.push(undone.mb)
        probes.p50.push(probed.p50)
        probes.p99.push(probed.p99)
        probes.count += probed.count
        probes.failures += probed.failures

        // the other user restores while the limit runs too, so that both sides share the machine with that load
        await settleDatabase()
        const limitProbe = prober.start(server.baseUrl)
        await limitProbe.ready
        const limitLoop = monitorEventLoopDelay({ resolution: 10 })
        limitLoop.enable()
        const limitFrom = Date.now()
        const raw = await timed(() =>
          setupDb.query(
            `with moved as (
                update items x set state = 'active', trash_root = null, modified_at = now(), modified_by = $3,
                                   purge_error = null, purge_attempts = 0
                 where x.tenant_id = $1 and x.trash_root = $2 and x.state = 'trashed'
                returning x.*
              )
              insert into audit (tenant_id, actor_id, actor_login, door, action, item_id, item_kind, item_type,
                                 item_name, item_path, unit_root, detail, item_brand_id, item_issue_id,
                                 item_category_id, item_deleted_at, item_deleted_by, item_owner_id, item_version,
                                 item_format, operation_id)
              select x.tenant_id, $3, $4, 'rest', 'restore', x.id, x.kind, x.type, x.name, x.original_path, $2,
                     null, x.brand_id, x.issue_id, x.category_id, x.deleted_at, x.deleted_by, x.owner_id, x.version,
                     x.content_type, $5::uuid
                from moved x`,
            // the audit rows name the undo's operation, as ours do
            [tenantId, theirs.folder, rawOwner.userId, rawOwner.login, randomUUID()],
          ),
        )
        const limitTo = Date.now()
        limitLoop.disable()
        const limitProbed = await limitProbe.stop()
        if (raw.value.rowCount !== ITEMS + 1) throw new Error(`raw restored ${raw.value.rowCount}`)
        limit.push(raw.ms)
        limitProbes.p50.push(limitProbed.p50)
        limitProbes.p99.push(limitProbed.p99)
        limitProbes.count += limitProbed.count
        limitProbes.failures += limitProbed.failures
        blocks.ours.push(oursLoop.max / 1e6)
        blocks.limit.push(limitLoop.max / 1e6)
        log(
          `run ${run + 1}: ours ${undone.value.ms.toFixed(0)} ms (RSS +${undone.mb.toFixed(0)} MB), limit ${raw.ms.toFixed(0)} ms; ` +
            `restore probe p50 ${probed.p50.toFixed(1)} ms p99 ${probed.p99.toFixed(1)} ms over ${probed.count}; ` +
            `during the limit p50 ${limitProbed.p50.toFixed(1)} ms p99 ${limitProbed.p99.toFixed(1)} ms over ${limitProbed.count}; ` +
            `longest event-loop block ${(oursLoop.max / 1e6).toFixed(0)} ms (during the limit ${(limitLoop.max / 1e6).toFixed(0)} ms); ` +
            `load average ${loadavg()
              .map((v) => v.toFixed(1))
              .join(' ')}`,
        )
        log(`   ours ${clockWindow(oursFrom, oursTo)}: ${slowRestores(probed.slow, oursFrom)}`)
        log(`   limit ${clockWindow(limitFrom, limitTo)}: ${slowRestores(limitProbed.slow, limitFrom)}`)
      }
      return {
        ours,
        limit,
        extra: {
          'peak RSS growth MB': Math.max(...rss),
          'concurrent single restore p50 ms': percentile(probes.p50, 50),
          'concurrent single restore p99 ms (target ≤ 100)': Math.max(...probes.p99),
          'concurrent restores': probes.count,
          'concurrent restore failures': probes.failures,
          'during the limit: single restore p50 ms': percentile(limitProbes.p50, 50),
          'during the limit: single restore p99 ms': Math.max(...limitProbes.p99),
          'during the limit: restore failures': limitProbes.failures,
          'longest event-loop block ms': Math.max(...blocks.ours),
          'load average at the end': loadavg()
            .map((v) => v.toFixed(1))
            .join(' '),
        },
      }
    } finally {
      await server.close()
      await setupDb.close()
    }
  },
}
