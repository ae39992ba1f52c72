import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AppContext } from '../src/context.js'
import type { FsBlobStore } from '../src/storage/fs-blob-store.js'
import { ageTrash } from './helpers/cleanup.js'
import type { TestDatabase } from './helpers/db.js'
import { runCli, waitForOutput } from './helpers/processes.js'
import { needs, POSTGRES } from './helpers/requirements.js'
import {
  ADMIN_TOKEN,
  basicAuth,
  createFixture,
  createTestContext,
  type Fixture,
  type TestContext,
} from './helpers/server.js'

const DUE = 600
const YOUNG = 40

const withPostgres = needs(POSTGRES, 'two server processes on one database')

/**
 * Two server processes on one database and one blob directory, each with the cleanup schedule firing every
 * second: every due item is purged exactly once (the audit proves it), each tick is run by one instance, users
 * keep restoring meanwhile, and no error is logged.
 */
describe('two server instances with the cleanup schedule firing', withPostgres, () => {
  let context: TestContext
  let database: TestDatabase
  let dataDir: string
  let ctx: AppContext
  let f: Fixture

  beforeAll(async () => {
    context = await createTestContext()
    ;({ database, dataDir, ctx } = context)
    f = await createFixture(ctx, 'inst')
  })

  afterAll(async () => {
    await context?.close()
  })

  /** Files with real stored content, inserted set-based; returns ids and keys. */
  async function files(prefix: string, count: number) {
    const keys: string[] = []
    for (let i = 0; i < count; i += 50) {
      const slice = Array.from({ length: Math.min(50, count - i) }, (_, j) =>
        Buffer.from(`${prefix}-${i + j}`),
      )
      keys.push(...(await Promise.all(slice.map((content) => ctx.blobs.put(content)))))
    }
    const result = await database.db.query<{ id: number; blob_key: string }>(
      `insert into items (tenant_id, kind, type, name, size, blob_key, owner_id)
       select $1, 'file', 'Image', $2 || '-' || n, 10, key, $3
         from unnest($4::text[]) with ordinality as k(key, n)
       returning id, blob_key`,
      [f.tenantId, prefix, f.users.admin!.id, keys],
    )
    return result.rows.map((row) => ({ id: row.id, blobKey: row.blob_key }))
  }

  it('purges every expired and emptied item exactly once, one run per tick, no error logged', async () => {
    const blobs = ctx.blobs as FsBlobStore
    const expired = await files('expired', DUE - 200)
    const emptied = await files('emptied', 200)
    const young = await files('young', YOUNG)
    const admin = f.users.admin!.actor
    for (const batch of [expired, emptied, young]) {
      expect(
        (
          await ctx.trash.trash(
            admin,
            batch.map((item) => item.id),
          )
        ).errorCount,
      ).toBe(0)
    }
    expect(
      (
        await ctx.trash.empty(
          admin,
          emptied.map((item) => item.id),
        )
      ).errorCount,
    ).toBe(0)
    await ageTrash(
      database.db,
      expired.map((item) => item.id),
      8,
    )
    const due = [...expired, ...emptied]

    const env = {
      DATABASE_URL: database.url,
      DATA_DIR: dataDir,
      ADMIN_TOKEN,
      PORT: '0',
      HOST: '127.0.0.1',
      SEED_DEMO: 'false',
      CLEANUP_SCHEDULE: '* * * * * *',
      CLEANUP_BATCH_SIZE: '10',
      LOG_LEVEL: 'debug',
    }
    const servers = [runCli(['start'], env), runCli(['start'], env)]
    try {
      const listening = /listening on (http:\/\/127\.0\.0\.1:\d+)/
      const banners = await Promise.all(
        servers.map((server) => waitForOutput(server.child, listening, 60_000)),
      )
      const addresses = banners.map((banner) => listening.exec(banner)![1]!)

      // a user restores items while both instances purge
      const restored: number[] = []
      for (const [index, item] of young.slice(0, 10).entries()) {
        const response = await fetch(`${addresses[index % 2]}/api/v1/trash/${item.id}/restore`, {
          method: 'POST',
          headers: { authorization: basicAuth(f.users.admin!), 'x-requested-with': 'test' },
        })
        expect(response.status).toBe(200)
        restored.push(item.id)
      }

      const deadline = Date.now() + 180_000
      for (;;) {
        const left = await database.db.query<{ n: number }>(
          'select count(*)::int as n from items where id = any($1::bigint[])',
          [due.map((item) => item.id)],
        )
        if (left.rows[0]!.n === 0) break
        if (Date.now() > deadline) throw new Error(`${left.rows[0]!.n} due items were not purged in time`)
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
      // let a few more ticks fire on both, with nothing left to do
      const ticks = await database.db.query('select count(*)::int as n from cleanup_runs')
      for (;;) {
        const now = await database.db.query('select count(*)::int as n from cleanup_runs')
        if (now.rows[0].n >= ticks.rows[0].n + 3) break
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    } finally {
      for (const server of servers) server.child.kill('SIGTERM')
    }
    for (const server of servers) expect((await server.exited).code).toBe(0)

    // every due item: row gone, file gone, exactly one audit row of its purge
    for (const item of due) expect(existsSync(blobs.pathOf(item.blobKey))).toBe(false)
    const audit = await database.db.query<{ item_id: number; actions: string[] }>(
      `select item_id, array_agg(action order by id) as actions from audit
        where item_id = any($1::bigint[]) and action in ('purge', 'expire', 'purge_failed') group by item_id`,
      [due.map((item) => item.id)],
    )
    expect(audit.rows).toHaveLength(DUE)
    const expiredIds = new Set(expired.map((item) => item.id))
    for (const row of audit.rows)
      expect(row.actions).toEqual([expiredIds.has(row.item_id) ? 'expire' : 'purge'])
    // young items untouched (restored ones active again), files in place
    const left = await database.db.query<{ id: number; state: string }>(
      'select id, state from items where id = any($1::bigint[]) order by id',
      [young.map((item) => item.id)],
    )
    expect(left.rows).toHaveLength(YOUNG)
    for (const row of left.rows) expect(row.state).toBe(row.id <= young[9]!.id ? 'active' : 'trashed')
    for (const item of young) expect(existsSync(blobs.pathOf(item.blobKey))).toBe(true)

    // one run per tick; each instance saw ticks the other ran
    const runs = await database.db.query<{
      scheduled_for: Date
      instance: string
      status: string
      purged: number
    }>(
      "select scheduled_for, instance, status, purged from cleanup_runs where trigger = 'schedule' order by id",
    )
    const ticks = runs.rows.map((run) => run.scheduled_for.getTime())
    expect(new Set(ticks).size).toBe(ticks.length)
    expect(runs.rows.reduce((sum, run) => sum + run.purged, 0)).toBe(DUE)
    for (const run of runs.rows) expect(['succeeded', 'failed']).toContain(run.status)
    const ranBy = (pid: number) => runs.rows.filter((run) => run.instance.split(':')[1] === String(pid))
    const logs = servers.map((server) =>
      server.output.stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map(
          (line) => JSON.parse(line) as { level: number; msg: string; pid: number; scheduledFor?: string },
        ),
    )
    // the process serving, as its log lines name it
    const pids = logs.map((lines) => lines[0]!.pid)
    // an instance skipped a tick because the other one had claimed it
    const skipped = logs.map(
      (lines) =>
        new Set(
          lines
            .filter((l) => l.msg === 'cleanup tick already run by another instance')
            .map((l) => l.scheduledFor),
        ),
    )
    expect(skipped[0]!.size + skipped[1]!.size).toBeGreaterThan(0)
    const seenByBoth = pids.flatMap((pid, index) =>
      ranBy(pid).filter((run) => skipped[1 - index]!.has(run.scheduled_for.toISOString())),
    )
    expect(seenByBoth.length).toBeGreaterThan(0)
    // no error logged by either instance
    for (const lines of logs) expect(lines.filter((line) => line.level >= 50)).toEqual([])
    for (const server of servers) expect(server.output.stderr).toBe('')
  }, 300_000)
})
