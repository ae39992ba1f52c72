import { randomBytes, randomUUID } from 'node:crypto'
import { trashedFiles } from './datasets.js'
import {
  asmxTicket,
  benchUser,
  peakRssGrowth,
  percentile,
  restoreProbe,
  startBenchServer,
  timed,
  type Workload,
} from './lib.js'

const ITEMS = Number(process.env.BENCH_W1_ITEMS ?? 100_000)
const PROBE_ITEMS = 20_000

/**
 * W1: srv.asmx EmptyRecycleBin (over HTTP, as a client calls it) of a bin of 100,000 metadata-only items,
 * against one raw statement deleting the same kind of bin's rows and writing their audit rows. Meanwhile another
 * user of the tenant restores single items through the IPS door: their latency is reported.
 */
export const workload: Workload = {
  id: 'W1',
  title: `srv.asmx EmptyRecycleBin of ${ITEMS.toLocaleString('en')} metadata-only items`,
  target: '≤ 2.0, peak RSS growth ≤ 100 MB',
  meets: (ratio, extra) => ratio <= 2.0 && Number(extra['peak RSS growth MB']) <= 100,
  async run({ ctx, repetitions, log }) {
    const server = await startBenchServer(ctx)
    try {
      const tenantId = await ctx.admin.createTenant('w1')
      const prober = await benchUser(ctx, tenantId, 'w1-prober')
      const probeIds = await trashedFiles(ctx.db, {
        tenantId,
        userId: prober.userId,
        count: PROBE_ITEMS,
        prefix: 'probe',
      })
      let nextProbe = probeIds.first
      const ours: number[] = []
      const limit: number[] = []
      const rss: number[] = []
      const probeLatencies: { p50: number[]; p99: number[]; count: number; failures: number } = {
        p50: [],
        p99: [],
        count: 0,
        failures: 0,
      }
      for (let run = 0; run < repetitions; run++) {
        const owner = await benchUser(ctx, tenantId, `w1-ours-${run}`, false)
        await trashedFiles(ctx.db, { tenantId, userId: owner.userId, count: ITEMS, prefix: `ours${run}` })
        const rawOwner = await benchUser(ctx, tenantId, `w1-limit-${run}`, false)
        await trashedFiles(ctx.db, { tenantId, userId: rawOwner.userId, count: ITEMS, prefix: `raw${run}` })
        await ctx.db.query('analyze items')
        const ticket = await asmxTicket(server.baseUrl, owner)

        const ids = Array.from({ length: 5000 }, (_, i) => nextProbe + i).filter((id) => id <= probeIds.last)
        const probe = restoreProbe(server.baseUrl, prober, tenantId, ids)
        await probe.ready
        const emptied = await peakRssGrowth(() =>
          timed(async () => {
            const response = await fetch(
              `${server.baseUrl}/srv.asmx/EmptyRecycleBin?AuthenticationTicket=${ticket}`,
            )
            return response.text()
          }),
        )
        const probed = await probe.stop()
        nextProbe += probed.used
        if (!emptied.value.value.includes('success="true"'))
          throw new Error(emptied.value.value.slice(0, 300))
        const left = await ctx.db.query<{ n: number }>(
          "select count(*)::int as n from items where tenant_id = $1 and deleted_by = $2 and state = 'trashed'",
          [tenantId, owner.userId],
        )
        if (left.rows[0]!.n !== 0) throw new Error(`${left.rows[0]!.n} items left in the bin`)
        ours.push(emptied.value.ms)
        rss.push(emptied.mb)
        probeLatencies.p50.push(probed.p50)
        probeLatencies.p99.push(probed.p99)
        probeLatencies.count += probed.count
        probeLatencies.failures += probed.failures

        // the other user restores while the limit runs too, so that both sides share the machine with that load
        const limitIds = Array.from({ length: 5000 }, (_, i) => nextProbe + i).filter(
          (id) => id <= probeIds.last,
        )
        const limitProbe = restoreProbe(server.baseUrl, prober, tenantId, limitIds)
        await limitProbe.ready
        const raw = await timed(() =>
          ctx.db.query(
            `with gone as (
                delete from items x
                 where x.tenant_id = $1 and x.deleted_by = $2 and x.state in ('trashed', 'emptied')
                returning x.*
              )
              insert into audit (tenant_id, actor_id, actor_login, door, action, item_id, item_kind, item_type,
                                 item_name, item_path, unit_root, detail, item_brand_id, item_issue_id,
                                 item_category_id, item_deleted_at, item_deleted_by, item_owner_id, item_version,
                                 item_format, operation_id, event_ticket)
              select x.tenant_id, $2, $3, 'asmx', 'empty_bin', x.id, x.kind, x.type, x.name, x.original_path,
                     x.trash_root, null, x.brand_id, x.issue_id, x.category_id, x.deleted_at, x.deleted_by, x.owner_id,
                     x.version, x.content_type, $4::uuid, $5::text
                from gone x`,
            // the audit rows name the request's operation and the session's event tag, as ours do
            [tenantId, rawOwner.userId, rawOwner.login, randomUUID(), randomBytes(6).toString('hex')],
          ),
        )
        nextProbe += (await limitProbe.stop()).used
        if (raw.value.rowCount !== ITEMS) throw new Error(`raw emptied ${raw.value.rowCount}`)
        limit.push(raw.ms)
        log(
          `run ${run + 1}: ours ${emptied.value.ms.toFixed(0)} ms (RSS +${emptied.mb.toFixed(0)} MB), limit ${raw.ms.toFixed(0)} ms; ` +
            `restore probe p50 ${probed.p50.toFixed(1)} ms p99 ${probed.p99.toFixed(1)} ms over ${probed.count}`,
        )
      }
      return {
        ours,
        limit,
        extra: {
          'peak RSS growth MB': Math.max(...rss),
          'concurrent single restore p50 ms': percentile(probeLatencies.p50, 50),
          'concurrent single restore p99 ms (target ≤ 100)': Math.max(...probeLatencies.p99),
          'concurrent restores': probeLatencies.count,
          'concurrent restore failures': probeLatencies.failures,
        },
      }
    } finally {
      await server.close()
    }
  },
}
