import { spawn } from 'node:child_process'
import { ITEM_COLUMNS } from '../src/db/item-rows.js'
import { trashedFiles } from './datasets.js'
import { asmxTicket, benchUser, peakRssGrowth, startBenchServer, timed, type Workload } from './lib.js'

const ITEMS = Number(process.env.BENCH_W4_ITEMS ?? 100_000)

/** The listing's SELECT without its keyset paging: the bin's unit roots with their names, rights and expiry. */
const LISTING_SELECT = (tenantId: number, userId: number) => `
  select ${ITEM_COLUMNS('i')}, u.login as deleted_by_login, u.display_name as deleted_by_name,
         b.name as brand_name, b.legal_hold as brand_legal_hold, a.can_view, a.can_delete, a.can_purge,
         case when i.legal_hold or coalesce(b.legal_hold, false) or coalesce(b.auto_purge_days, t.retention_days) = 0
              then null else i.deleted_at + make_interval(days => coalesce(b.auto_purge_days, t.retention_days)) end
           as expires_at
    from items i
    join tenants t on t.id = i.tenant_id
    left join users u on u.tenant_id = i.tenant_id and u.id = i.deleted_by
    left join brands b on b.tenant_id = i.tenant_id and b.id = i.brand_id
    left join access a on a.tenant_id = i.tenant_id and a.brand_id = i.brand_id and a.user_id = ${userId}
   where i.tenant_id = ${tenantId} and i.state = 'trashed' and i.deleted_by = ${userId} and i.id = i.trash_root
   order by i.deleted_at desc, i.id desc`

/** psql's COPY of a query to stdout, read and dropped; resolves with the bytes received. */
function psqlCopy(url: string, select: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'psql',
      [url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `copy (${select}) to stdout`],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    let bytes = 0
    child.stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.length
    })
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve(bytes) : reject(new Error(`psql exited with ${code}`))))
  })
}

/**
 * W4: srv.asmx GetRecycleBinContent of a 100,000-item bin over HTTP, the reply read as a client reads it (and
 * checked to be streamed: chunked, whole), against COPY (the same SELECT) TO STDOUT through psql.
 */
export const workload: Workload = {
  id: 'W4',
  title: `srv.asmx GetRecycleBinContent of a bin with ${ITEMS.toLocaleString('en')} items`,
  target: '≤ 3.0, streamed, peak RSS growth ≤ 100 MB',
  meets: (ratio, extra) =>
    ratio <= 3.0 && Number(extra['peak RSS growth MB']) <= 100 && extra.streamed === 'yes',
  async run({ ctx, url, repetitions, log }) {
    const server = await startBenchServer(ctx)
    try {
      const tenantId = await ctx.admin.createTenant('w4')
      const owner = await benchUser(ctx, tenantId, 'w4-owner', false)
      await trashedFiles(ctx.db, { tenantId, userId: owner.userId, count: ITEMS, prefix: 'listed' })
      await ctx.db.query('analyze items')
      const ticket = await asmxTicket(server.baseUrl, owner)
      const ours: number[] = []
      const limit: number[] = []
      const rss: number[] = []
      let streamed = true
      for (let run = 0; run < repetitions; run++) {
        const listed = await peakRssGrowth(() =>
          timed(async () => {
            const response = await fetch(
              `${server.baseUrl}/srv.asmx/GetRecycleBinContent?AuthenticationTicket=${ticket}`,
            )
            streamed &&= response.headers.get('transfer-encoding') === 'chunked'
            let units = 0
            let tail = ''
            const decoder = new TextDecoder()
            for await (const chunk of response.body!) {
              const text = tail + decoder.decode(chunk as Uint8Array, { stream: true })
              units += text.split('<document ').length - 1
              // one character short of the tag, so that a tag ending a chunk is not counted again with the next
              tail = text.slice(-('<document '.length - 1))
            }
            return units
          }),
        )
        if (listed.value.value !== ITEMS) throw new Error(`listed ${listed.value.value} documents`)
        ours.push(listed.value.ms)
        rss.push(listed.mb)
        const copied = await timed(() => psqlCopy(url, LISTING_SELECT(tenantId, owner.userId)))
        limit.push(copied.ms)
        log(
          `run ${run + 1}: ours ${listed.value.ms.toFixed(0)} ms (RSS +${listed.mb.toFixed(0)} MB), limit ${copied.ms.toFixed(0)} ms (${copied.value} bytes)`,
        )
      }
      return {
        ours,
        limit,
        extra: { 'peak RSS growth MB': Math.max(...rss), streamed: streamed ? 'yes' : 'no' },
      }
    } finally {
      await server.close()
    }
  },
}
