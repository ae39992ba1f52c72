import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AppContext } from '../src/context.js'
import { sweep } from '../src/core/sweep.js'
import type { FsBlobStore } from '../src/storage/fs-blob-store.js'
import { ageTrash, type Created, createFile, createFolder } from './helpers/cleanup.js'
import type { TestDatabase } from './helpers/db.js'
import { runCli, waitForOutput } from './helpers/processes.js'
import { needs, POSTGRES } from './helpers/requirements.js'
import {
  ADMIN_TOKEN,
  createFixture,
  createTestContext,
  type Fixture,
  type TestContext,
} from './helpers/server.js'

const withPostgres = needs(POSTGRES, 'a child process on the same database')

/**
 * kill -9 of a process running the cleanup job (the real CLI, `trashd purge`) at each point of the purge
 * protocol, then a rerun: rows and files stay consistent and nothing is purged twice. The child stops at the
 * point named by TRASHD_TEST_CRASH_AT (test-only, see core/cleanup-job.ts) and this test kills it there.
 * Needs PostgreSQL: the child and this process use the database at once.
 */
describe('cleanup job killed with SIGKILL, then rerun', withPostgres, () => {
  let context: TestContext
  let database: TestDatabase
  let dataDir: string
  let ctx: AppContext
  let blobs: FsBlobStore

  beforeAll(async () => {
    context = await createTestContext()
    ;({ database, dataDir, ctx } = context)
    blobs = ctx.blobs as FsBlobStore
  })

  afterAll(async () => {
    await context?.close()
  })

  const childEnv = (extra: Record<string, string> = {}) => ({
    DATABASE_URL: database.url,
    DATA_DIR: dataDir,
    ADMIN_TOKEN,
    CLEANUP_BATCH_SIZE: '4',
    CLEANUP_STALE_AFTER: '1',
    ...extra,
  })

  const onDisk = (item: Created) => item.blobKey !== null && existsSync(blobs.pathOf(item.blobKey))

  const clock = async () =>
    (await database.db.query<{ at: string }>('select clock_timestamp()::text as at')).rows[0]!.at

  /**
   * Waits (bounded) until the sessions a killed process opened between `from` and `to` are gone: a statement it
   * had sent (the next batch's marking runs while files are removed) still commits or rolls back on the server,
   * and its session ends only after that. This process's own session is not one of them: its pool drops idle
   * connections after 10 s, so the connection asking may itself have been opened inside the window.
   */
  async function settled(from: string, to: string) {
    for (let i = 0; i < 100; i++) {
      const left = await database.db.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity
          where datname = current_database() and backend_start between $1::timestamptz and $2::timestamptz
            and pid <> pg_backend_pid()`,
        [from, to],
      )
      if (left.rows[0]!.n === 0) return
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error('sessions of the killed process still open after 10 s')
  }

  async function states(ids: number[]) {
    const result = await database.db.query('select id, state from items where id = any($1::bigint[])', [ids])
    return new Map<number, string>(result.rows.map((row) => [row.id, row.state]))
  }

  /** Due: a trashed folder of 10 files and 13 loose files past retention, 5 emptied. Kept: young trash, active. */
  async function scenario(f: Fixture) {
    const folder = await createFolder(ctx, f, 'Campaign')
    const inFolder: Created[] = []
    for (let i = 0; i < 10; i++) inFolder.push(await createFile(ctx, f, `c${i}.jpg`, { parentId: folder.id }))
    const loose: Created[] = []
    for (let i = 0; i < 13; i++) loose.push(await createFile(ctx, f, `old${i}.jpg`))
    const emptied: Created[] = []
    for (let i = 0; i < 5; i++) emptied.push(await createFile(ctx, f, `emptied${i}.jpg`))
    const young: Created[] = []
    for (let i = 0; i < 4; i++) young.push(await createFile(ctx, f, `young${i}.jpg`))
    const active: Created[] = []
    for (let i = 0; i < 3; i++) active.push(await createFile(ctx, f, `active${i}.jpg`))
    const admin = f.users.admin!.actor
    await ctx.trash.trash(admin, [folder.id, ...loose.map((i) => i.id), ...emptied.map((i) => i.id)])
    await ctx.trash.trash(
      admin,
      young.map((i) => i.id),
    )
    await ctx.trash.empty(
      admin,
      emptied.map((i) => i.id),
    )
    await ageTrash(database.db, [folder.id, ...inFolder.map((i) => i.id), ...loose.map((i) => i.id)], 10)
    return { due: [folder, ...inFolder, ...loose, ...emptied], kept: [...young, ...active] }
  }

  /** Row present ⟺ its file present, for every item of the scenario (folders have no file). */
  async function expectRowsAndFilesConsistent(items: Created[], allowPurging: boolean) {
    const byId = await states(items.map((item) => item.id))
    for (const item of items) {
      const state = byId.get(item.id)
      if (state === 'purging') {
        // inside the window the protocol records: the file may be gone already, the row is invisible
        expect(allowPurging).toBe(true)
        continue
      }
      if (item.blobKey)
        expect({ id: item.id, file: onDisk(item) }).toEqual({ id: item.id, file: state !== undefined })
    }
  }

  for (const point of ['after-mark', 'mid-blobs', 'after-blobs', 'after-batch'] as const) {
    it(`killed ${point}: the rerun finishes the purge, rows and files consistent, each item purged once`, async () => {
      const f = await createFixture(ctx, `crash-${point}-${randomUUID().slice(0, 4)}`)
      const { due, kept } = await scenario(f)
      const all = [...due, ...kept]

      const startedAt = await clock()
      const crashing = runCli(
        ['purge', '--tenant', String(f.tenantId)],
        childEnv({ TRASHD_TEST_CRASH_AT: point }),
      )
      await waitForOutput(crashing.child, new RegExp(`TRASHD_TEST_CRASH_AT reached ${point}`), 60_000)
      crashing.child.kill('SIGKILL')
      expect((await crashing.exited).signal).toBe('SIGKILL')
      await settled(startedAt, await clock())

      const afterCrash = await states(all.map((item) => item.id))
      const purging = [...afterCrash.values()].filter((state) => state === 'purging').length
      expect(purging).toBeGreaterThan(0)
      const dueFiles = due.filter((item) => afterCrash.get(item.id) === 'purging' && item.blobKey)
      // the next batch may be marked while a batch's files are removed: it still has all of its files
      if (point === 'after-mark') expect(dueFiles.every(onDisk)).toBe(true)
      if (point === 'mid-blobs') {
        expect(dueFiles.some(onDisk)).toBe(true)
        expect(dueFiles.some((item) => !onDisk(item))).toBe(true)
      }
      if (point === 'after-blobs') expect(dueFiles.some((item) => !onDisk(item))).toBe(true)
      if (point === 'after-batch') {
        // the first batch is done (its rows and files gone), the next one marked with its files in place
        expect(due.some((item) => !afterCrash.has(item.id))).toBe(true)
        expect(dueFiles.every(onDisk)).toBe(true)
      }
      await expectRowsAndFilesConsistent(all, true)
      // marked rows are gone for users: not listed, not restorable
      const listed = await ctx.trash.list(
        f.users.admin!.actor,
        { scope: 'visible', states: ['trashed', 'emptied'] },
        { limit: 1000 },
      )
      expect(listed.some((entry) => afterCrash.get(entry.id) === 'purging')).toBe(false)
      const markedIds = all.filter((item) => afterCrash.get(item.id) === 'purging').map((item) => item.id)
      if (markedIds.length > 0) {
        const restore = await ctx.trash.restore(f.users.admin!.actor, markedIds)
        expect(restore.successCount).toBe(0)
      }

      // the killed run stops refreshing its row and its marks; once they are stale the next run takes over
      await new Promise((resolve) => setTimeout(resolve, 1100))
      const rerun = runCli(['purge', '--tenant', String(f.tenantId)], childEnv())
      const exit = await rerun.exited
      expect(rerun.output.stderr).toBe('')
      expect(exit.code).toBe(0)
      expect(rerun.output.stdout).toMatch(
        new RegExp(`succeeded: purged \\d+ item\\(s\\).*recovered ${purging}\\)`),
      )

      const final = await states(all.map((item) => item.id))
      for (const item of due) expect(final.has(item.id)).toBe(false)
      for (const item of kept) expect(final.has(item.id)).toBe(true)
      await expectRowsAndFilesConsistent(all, false)
      const audit = await database.db.query(
        `select item_id, count(*)::int as n from audit
          where item_id = any($1::bigint[]) and action in ('purge', 'expire') group by item_id`,
        [all.map((item) => item.id)],
      )
      expect(audit.rows).toHaveLength(due.length)
      expect(audit.rows.every((row) => row.n === 1)).toBe(true)
      const runs = await database.db.query(
        'select status, recovered from cleanup_runs where tenant_id = $1 order by id',
        [f.tenantId],
      )
      expect(runs.rows).toEqual([
        { status: 'abandoned', recovered: 0 },
        { status: 'succeeded', recovered: purging },
      ])
      // nothing left behind anywhere: no file without its row, no row without its file
      const swept = await sweep(database.db, blobs, { dryRun: true, limit: 100_000, minAgeSeconds: 0 })
      expect([swept.objects.found, swept.rows.found]).toEqual([0, 0])
      expect([swept.objects.complete, swept.rows.complete]).toEqual([true, true])
    })
  }

  it('purge --dry-run prints per tenant what would go and why, and changes nothing; bad arguments are refused', async () => {
    const f = await createFixture(ctx, `dry-${randomUUID().slice(0, 4)}`)
    const { due } = await scenario(f)
    const before = await database.db.query(
      `select (select count(*) from items)::int as items, (select count(*) from audit)::int as audit,
              (select count(*) from cleanup_runs)::int as runs`,
    )
    const dry = runCli(['purge', '--dry-run', '--tenant', String(f.tenantId)], childEnv())
    expect((await dry.exited).code).toBe(0)
    const lines = dry.output.stdout.trim().split('\n')
    expect(lines[0]).toBe('dry run: nothing is changed')
    expect(lines.filter((line) => line.startsWith(`tenant ${f.tenantId}\t`))).toHaveLength(1 + 13 + 5)
    expect(dry.output.stdout).toMatch(
      /folder \d+ \/Campaign \(11 item\(s\), \d+ bytes\): trashed on .*, past the 7-day retention of its tenant/,
    )
    expect(dry.output.stdout).toMatch(
      /file \d+ \/emptied0\.jpg \(1 item\(s\), \d+ bytes\): emptied from the trash/,
    )
    expect(lines.at(-1)).toMatch(
      new RegExp(
        `^tenant ${f.tenantId}: would purge 19 unit\\(s\\), 29 item\\(s\\), \\d+ bytes \\(emptied 5, expired 14, failed before 0\\)`,
      ),
    )
    const after = await database.db.query(
      `select (select count(*) from items)::int as items, (select count(*) from audit)::int as audit,
              (select count(*) from cleanup_runs)::int as runs`,
    )
    expect(after.rows).toEqual(before.rows)
    expect(due.filter((item) => item.blobKey).every(onDisk)).toBe(true)

    const bad = runCli(['purge', '--tenant', 'x1'], childEnv())
    expect((await bad.exited).code).toBe(2)
    expect(bad.output.stderr).toContain('--tenant needs a tenant id')
    const missing = runCli(['purge', '--tenant', '987654321'], childEnv())
    expect((await missing.exited).code).toBe(1)
    expect(missing.output.stderr).toContain('Tenant not found')
  })
})
