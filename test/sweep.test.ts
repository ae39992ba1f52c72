import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { completePurge } from '../src/core/purge-protocol.js'
import { sweep } from '../src/core/sweep.js'
import * as purges from '../src/db/purge-statements.js'
import { createFile } from './helpers/cleanup.js'
import { runCli } from './helpers/processes.js'
import { needs, POSTGRES } from './helpers/requirements.js'
import { startS3Server, type TestS3Server } from './helpers/s3.js'
import { createFixture, createTestContext, type Fixture, type TestContext } from './helpers/server.js'

let s3: TestS3Server
const contexts: Record<'fs' | 's3', { t: TestContext; f: Fixture; env: Record<string, string> }> = {} as never

beforeAll(async () => {
  s3 = await startS3Server()
  for (const [name, env] of [
    ['fs', {}],
    ['s3', { ...s3.env, S3_PREFIX: 'sweep/' }],
  ] as const) {
    const t = await createTestContext({ env })
    contexts[name] = { t, f: await createFixture(t.ctx, `sw${name}`), env: { ...env, DATA_DIR: t.dataDir } }
  }
})

afterAll(async () => {
  for (const { t } of Object.values(contexts)) await t.close()
  await s3?.stop()
})

const NOW = { dryRun: false, limit: 100_000, minAgeSeconds: 0 }

describe.each(['fs', 's3'] as const)('trashd sweep (BLOB_STORE=%s)', (name) => {
  const ctxOf = () => contexts[name].t.ctx
  const all = async () => (await ctxOf().blobs.list(null, 100_000)).map((entry) => entry.key)

  it('finds stored files without a row and rows without their file; a dry run changes nothing', async () => {
    const { t, f } = contexts[name]
    const ctx = t.ctx
    // a clean start: a walk to the end, so that both walks begin at the start
    await sweep(ctx.db, ctx.blobs, NOW)
    const kept = await createFile(ctx, f, 'kept.txt')
    const lost = await createFile(ctx, f, 'lost.txt')
    const versioned = await createFile(ctx, f, 'versioned.txt')
    await ctx.objects.addVersion(f.tenantId, versioned.id, { content: Buffer.from('v0.2') })
    const orphans = await Promise.all([1, 2, 3].map((i) => ctx.blobs.put(Buffer.from(`orphan ${i}`))))
    await ctx.blobs.delete(lost.blobKey!)
    // the first version's file (the item's is now 0.2's)
    await ctx.blobs.delete(versioned.blobKey!)

    // young files are uploads in progress: kept whatever the walk finds
    const young = await sweep(ctx.db, ctx.blobs, { ...NOW, dryRun: true, minAgeSeconds: 3600 })
    expect(young.objects.found).toBe(0)

    const dry = await sweep(ctx.db, ctx.blobs, { ...NOW, dryRun: true })
    expect(dry.objects).toMatchObject({ found: 3, removed: 0, failed: 0, complete: true })
    expect(dry.objects.examples.sort()).toEqual([...orphans].sort())
    expect(dry.rows).toMatchObject({ found: 2, removed: 0, failed: 0, complete: true })
    expect(dry.rows.examples.sort()).toEqual(
      [
        `tenant ${f.tenantId} item ${lost.id}: file ${lost.blobKey} missing`,
        `tenant ${f.tenantId} item ${versioned.id} version 0.1: file ${versioned.blobKey} missing`,
      ].sort(),
    )
    for (const key of orphans) expect(await ctx.blobs.exists(key)).toBe(true)
    expect((await ctx.db.query('select 1 from items where id = $1', [lost.id])).rowCount).toBe(1)

    const done = await sweep(ctx.db, ctx.blobs, NOW)
    expect(done.objects).toMatchObject({ found: 3, removed: 3, failed: 0 })
    expect(done.rows).toMatchObject({ found: 2, removed: 2, failed: 0 })
    for (const key of orphans) expect(await ctx.blobs.exists(key)).toBe(false)
    // the item without its file is purged (an audit row says why), the version without its file is gone
    expect((await ctx.db.query('select 1 from items where id = $1', [lost.id])).rowCount).toBe(0)
    const audit = await ctx.db.query<{ action: string; door: string; detail: Record<string, unknown> }>(
      'select action, door, detail from audit where item_id = $1 order by id desc limit 1',
      [lost.id],
    )
    expect(audit.rows[0]).toMatchObject({
      action: 'purge',
      door: 'cleanup',
      detail: { reason: 'file missing from storage' },
    })
    const versions = await ctx.db.query<{ v: string }>(
      `select major || '.' || minor as v from item_versions where item_id = $1 order by major, minor`,
      [versioned.id],
    )
    expect(versions.rows.map((row) => row.v)).toEqual(['0.2'])
    // what is whole stays
    expect(await ctx.blobs.exists(kept.blobKey!)).toBe(true)
    expect((await ctx.db.query('select 1 from items where id = $1', [versioned.id])).rowCount).toBe(1)

    const again = await sweep(ctx.db, ctx.blobs, NOW)
    expect([again.objects.found, again.rows.found]).toEqual([0, 0])
  })

  it('keeps the row of an item whose file is missing when it or its brand is under legal hold', async () => {
    const { t, f } = contexts[name]
    const ctx = t.ctx
    await sweep(ctx.db, ctx.blobs, NOW)
    const brandId = Number(await ctx.admin.createBrand(f.tenantId, `held-${name}`))
    await ctx.admin.updateBrand(f.tenantId, brandId, { legalHold: true })
    const inHeldBrand = await createFile(ctx, f, 'in-held-brand.txt', { brandId })
    const heldItself = await createFile(ctx, f, 'held-itself.txt')
    await ctx.db.query('update items set legal_hold = true where id = $1', [heldItself.id])
    for (const item of [inHeldBrand, heldItself]) await ctx.blobs.delete(item.blobKey!)

    const done = await sweep(ctx.db, ctx.blobs, NOW)
    expect(done.rows).toMatchObject({ found: 2, removed: 0, failed: 2 })
    for (const item of [inHeldBrand, heldItself]) {
      const row = await ctx.db.query('select state from items where id = $1', [item.id])
      expect(row.rows, `item ${item.id}`).toEqual([{ state: 'active' }])
    }
    await ctx.admin.updateBrand(f.tenantId, brandId, { legalHold: false })
    await ctx.db.query('update items set legal_hold = false where id = $1', [heldItself.id])
    const released = await sweep(ctx.db, ctx.blobs, NOW)
    expect(released.rows).toMatchObject({ found: 2, removed: 2, failed: 0 })
  })

  it('leaves the files of rows being purged to their purge, which may still put a row back', async () => {
    const { t, f } = contexts[name]
    const ctx = t.ctx
    await sweep(ctx.db, ctx.blobs, NOW)
    const marked = await createFile(ctx, f, 'being-purged.txt')
    const actor = f.users.admin!.actor
    await ctx.trash.trash(actor, [marked.id])
    const token = randomUUID()
    // a purge marked the row (step 1), and its process has not removed the file yet
    await ctx.db.transaction((tx) =>
      purges.markForPurge(tx, actor, [{ id: marked.id, action: 'purge' }], token),
    )
    const state = await ctx.db.query('select state from items where id = $1', [marked.id])
    expect(state.rows).toEqual([{ state: 'purging' }])

    const done = await sweep(ctx.db, ctx.blobs, NOW)
    expect(done.objects).toMatchObject({ found: 0, removed: 0 })
    expect(await ctx.blobs.exists(marked.blobKey!)).toBe(true)

    // the purge goes on and removes the file with its row
    const completed = await completePurge(ctx.db, ctx.blobs, actor, token)
    expect(completed).toMatchObject({ purged: 1, failures: [] })
    expect(await ctx.blobs.exists(marked.blobKey!)).toBe(false)
  })

  it(
    '`trashd sweep --dry-run` prints the counts',
    needs(POSTGRES, 'the CLI in a child process on the same database'),
    async () => {
      const { t } = contexts[name]
      const ctx = t.ctx
      await sweep(ctx.db, ctx.blobs, NOW)
      await Promise.all([1, 2].map((i) => ctx.blobs.put(Buffer.from(`cli orphan ${i}`))))
      const cli = runCli(['sweep', '--dry-run', '--min-age', '0'], {
        ...contexts[name].env,
        DATABASE_URL: t.database.url,
      })
      expect((await cli.exited).code, cli.output.stderr).toBe(0)
      expect(cli.output.stdout).toContain('dry run: nothing is changed')
      expect(cli.output.stdout).toMatch(
        /stored files: scanned \d+, without a row 2, would remove 2, failed 0 \(walked to the end/,
      )
      expect(cli.output.stdout).toMatch(/rows: scanned \d+, without their file 0, would remove 0, failed 0/)
      const refused = runCli(['sweep', '--limit', '0'], {
        ...contexts[name].env,
        DATABASE_URL: t.database.url,
      })
      expect((await refused.exited).code).toBe(2)
      expect(refused.output.stderr).toContain('--limit needs a number of at least 1')
      const done = runCli(['sweep', '--min-age', '0'], {
        ...contexts[name].env,
        DATABASE_URL: t.database.url,
      })
      expect((await done.exited).code, done.output.stderr).toBe(0)
      expect(done.output.stdout).toMatch(/stored files: scanned \d+, without a row 2, removed 2, failed 0/)
    },
  )

  it('goes a bounded step per run and the next run goes on from there, through to the end', async () => {
    const { t, f } = contexts[name]
    const ctx = t.ctx
    await sweep(ctx.db, ctx.blobs, NOW)
    for (let i = 0; i < 4; i++) await createFile(ctx, f, `walk-${i}.txt`)
    const orphans = await Promise.all(
      Array.from({ length: 5 }, (_, i) => ctx.blobs.put(Buffer.from(`o${i}`))),
    )
    const stored = (await all()).length
    const rows = Number(
      (await ctx.db.query('select count(*) as n from items where blob_key is not null')).rows[0].n,
    )
    let removed = 0
    let objectRuns = 0
    let scanned = 0
    for (let run = 0; run < 100; run++) {
      const report = await sweep(ctx.db, ctx.blobs, { ...NOW, limit: 3 })
      expect(report.objects.scanned).toBeLessThanOrEqual(3)
      expect(report.rows.scanned).toBeLessThanOrEqual(3)
      removed += report.objects.removed
      scanned += report.objects.scanned
      objectRuns++
      if (report.objects.complete) break
    }
    expect(removed).toBe(5)
    expect(scanned).toBe(stored)
    expect(objectRuns).toBe(Math.floor(stored / 3) + 1)
    for (const key of orphans) expect(await ctx.blobs.exists(key)).toBe(false)
    const position = await ctx.db.query<{ walk: string; position: string | null }>(
      'select walk, position from sweep_progress order by walk',
    )
    // the objects walk reached the end: the next starts over; the rows walk is somewhere in its table
    expect(position.rows[0]).toEqual({ walk: 'objects', position: null })
    expect(rows).toBeGreaterThan(3)
  })
})
