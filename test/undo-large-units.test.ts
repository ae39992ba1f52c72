import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { JobService } from '../src/core/job-service.js'
import { needs, POSTGRES } from './helpers/requirements.js'
import { createFixture, createTestContext, type Fixture, type TestContext } from './helpers/server.js'

/**
 * A unit larger than one statement may restore (UNIT_ROWS_PER_STATEMENT, 4 here: a mass delete's folder of a
 * million files at the default) is restored a keyset range of its rows per statement, all in its transaction:
 * every row once, each with its audit row, the root renamed when its name is taken, the rights checked on every
 * member across the ranges; through an undo job and a plain restore.
 */

const ROWS = 4

interface RangeStatement {
  restored: number
}

/** The restoring statements the work sends (each a keyset range of one unit), with the rows each restored. */
async function rangeStatements<T>(work: () => Promise<T>): Promise<{ value: T; ranges: RangeStatement[] }> {
  const prototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown }
  const query = prototype.query
  const ranges: RangeStatement[] = []
  prototype.query = function (this: unknown, ...args: unknown[]) {
    const first = args[0] as string | { text?: string } | undefined
    const text = typeof first === 'string' ? first : (first?.text ?? '')
    const sent = query.apply(this, args)
    // recorded as it is sent (in order), its rows filled in when it answers
    if (text.includes('with range as materialized') && text.includes("update items x set state = 'active'")) {
      const range = { restored: -1 }
      ranges.push(range)
      void (sent as Promise<pg.QueryResult<{ restored: number }>>).then(
        (result) => {
          range.restored = result.rows[0]!.restored
        },
        () => {},
      )
    }
    return sent
  }
  try {
    return { value: await work(), ranges }
  } finally {
    prototype.query = query
  }
}

describe('a unit larger than one statement', () => {
  let context: TestContext
  let fx: Fixture

  beforeAll(async () => {
    context = await createTestContext({
      env: { JOB_THRESHOLD: '0', JOB_PAGE_SIZE: '2', UNIT_ROWS_PER_STATEMENT: String(ROWS) },
    })
    fx = await createFixture(context.ctx, 'large')
  })

  afterAll(async () => {
    await context?.close()
  })

  const make = async (kind: 'file' | 'folder', name: string, parentId: number | null, brandId = fx.brandId) =>
    (
      await context.ctx.admin.createItem(fx.tenantId, {
        kind,
        name,
        parentId,
        brandId,
        ownerId: fx.users.editor!.id,
      })
    ).item.id

  /** A folder of 9 files and a subfolder of 3: a unit of 14 rows once trashed. */
  async function bigFolder(name: string, parentId: number) {
    const folder = await make('folder', name, parentId)
    const files: number[] = []
    for (let n = 0; n < 9; n++) files.push(await make('file', `${name}-${n}.txt`, folder))
    const sub = await make('folder', 'sub', folder)
    for (let n = 0; n < 3; n++) files.push(await make('file', `sub-${n}.txt`, sub))
    return { folder, members: [sub, ...files] }
  }

  const rows = async (ids: number[]) =>
    (
      await context.database.db.query<{ id: string; name: string; state: string; trash_root: string | null }>(
        'select id, name, state, trash_root from items where tenant_id = $1 and id = any($2::bigint[]) order by id',
        [fx.tenantId, ids],
      )
    ).rows

  it('undoes a delete of a unit larger than one statement as a job, a range of rows per statement', async () => {
    const editor = fx.users.editor!.actor
    const library = (await context.ctx.admin.createItem(fx.tenantId, { kind: 'folder', name: 'Library' }))
      .item.id
    const { folder, members } = await bigFolder('Big', library)
    const loose = await make('file', 'loose.txt', library)
    // trashed on its own before: another unit, which the undo leaves in the trash
    const old = await make('file', 'old.txt', folder)
    expect((await context.ctx.trash.trash(editor, [old])).successCount).toBe(1)

    const trashed = await context.ctx.trash.trash(editor, [folder, loose])
    expect(trashed.results.map((result) => result.affected)).toEqual([14, 1])
    const op = (await context.ctx.operations.list(editor, { action: 'trash' }, { limit: 1 })).operations[0]!
    // meanwhile a new folder took the name: the unit comes back renamed
    await make('folder', 'Big', library)

    const job = (await context.ctx.operations.undo(editor, op.id)).job!
    expect(job).toMatchObject({ total: 2 })
    const { value: ran, ranges } = await rangeStatements(() => context.ctx.jobs.drain())
    expect(ran).toBe(1)
    // 14 rows, at most 4 per statement: 4 ranges (4, 4, 4, 2); the loose file went with no range of its own
    expect(ranges.map((range) => range.restored)).toEqual([4, 4, 4, 2])

    const ended = await context.ctx.jobs.get(editor, job.id)
    expect(ended).toMatchObject({ status: 'succeeded', done: 2, okCount: 2, errorCount: 0, items: 15 })
    const after = await rows([folder, loose, old, ...members])
    expect(after.filter((row) => row.state !== 'active').map((row) => Number(row.id))).toEqual([old])
    expect(after.every((row) => Number(row.id) === old || row.trash_root === null)).toBe(true)
    expect(after.find((row) => Number(row.id) === folder)!.name).toBe('Big (restored)')

    // every row restored once, under the job's operation; the root's audit row says where it went and as what
    const audit = await context.database.db.query<{ item_id: string; unit_root: string; detail: unknown }>(
      `select item_id, unit_root, detail from audit
        where tenant_id = $1 and operation_id = $2 and action = 'restore' order by item_id`,
      [fx.tenantId, job.operationId],
    )
    expect(audit.rows.map((row) => Number(row.item_id))).toEqual(
      [folder, loose, ...members].sort((a, b) => a - b),
    )
    for (const row of audit.rows)
      expect(Number(row.unit_root)).toBe(Number(row.item_id) === loose ? loose : folder)
    expect(audit.rows.find((row) => Number(row.item_id) === folder)!.detail).toEqual({
      parentId: library,
      name: 'Big (restored)',
    })

    const results = (await context.ctx.jobs.results(editor, job.id, 0, 10)).results
    expect(results).toEqual([
      expect.objectContaining({
        outcome: 'restore',
        id: folder,
        status: 'ok',
        affected: 14,
        renamedTo: 'Big (restored)',
      }),
      expect.objectContaining({ outcome: 'restore', id: loose, status: 'ok', affected: 1 }),
    ])
    expect(await context.ctx.operations.get(editor, job.operationId)).toMatchObject({
      action: 'undo',
      okCount: 2,
      items: 15,
    })
  })

  it('refuses a large unit whole when one member in a late range may not be restored, and restores it for an administrator', async () => {
    const editor = fx.users.editor!.actor
    const admin = fx.users.admin!.actor
    const other = await context.ctx.admin.createBrand(fx.tenantId, 'large other brand')
    const library = (await context.ctx.admin.createItem(fx.tenantId, { kind: 'folder', name: 'Library 2' }))
      .item.id
    const { folder, members } = await bigFolder('Mixed', library)
    // the unit's last row (by id), in its last range: a brand the editor has no rights on
    const foreign = await make('file', 'foreign.txt', folder, other)
    expect((await context.ctx.trash.trash(admin, [folder])).results[0]).toMatchObject({
      status: 'ok',
      affected: 15,
    })

    const refused = await context.ctx.trash.restore(editor, [folder])
    expect(refused.results[0]).toMatchObject({ status: 'error', code: 'ACCESS_DENIED' })
    expect(refused.results[0]!.message).toContain('1 item in it may not be restored')
    expect((await rows([folder, foreign, ...members])).every((row) => row.state === 'trashed')).toBe(true)

    const { value: restored, ranges } = await rangeStatements(() =>
      context.ctx.trash.restore(admin, [folder], { onMissingParent: 'recreate' }),
    )
    expect(restored.results[0]).toMatchObject({ status: 'ok', affected: 15 })
    expect(ranges.map((range) => range.restored)).toEqual([4, 4, 4, 3])
    expect((await rows([folder, foreign, ...members])).every((row) => row.state === 'active')).toBe(true)
  })

  it(
    "redoes a unit whole when the job's connection dies between two of its ranges: every row restored once",
    needs(POSTGRES, 'a server process of its own for the connection ended mid-unit'),
    async () => {
      const editor = fx.users.editor!.actor
      const library = (await context.ctx.admin.createItem(fx.tenantId, { kind: 'folder', name: 'Library 3' }))
        .item.id
      const { folder, members } = await bigFolder('Cut', library)
      await context.ctx.trash.trash(editor, [folder])
      const op = (await context.ctx.operations.list(editor, { action: 'trash' }, { limit: 1 })).operations[0]!
      const job = (await context.ctx.operations.undo(editor, op.id)).job!
      const settings = { threshold: 0, pageSize: 2, leaseSeconds: 1, pollSeconds: 60 }

      // the first runner's connection is ended as it sends the unit's third range (two restored, uncommitted)
      const admin = new pg.Client({ connectionString: context.database.url })
      await admin.connect()
      let seen = 0
      const stop = context.database.db.watchStatements!(async (event) => {
        if (!(event.text.includes('with range as materialized') && event.text.includes('update items x')))
          return
        if (++seen !== 3) return
        await admin.query('select pg_terminate_backend($1)', [event.processId])
      })
      try {
        await expect(
          new JobService(context.database.db, context.ctx.trash, settings).drain(),
        ).rejects.toThrow()
      } finally {
        stop()
        await admin.end()
      }
      expect(seen).toBe(3)
      // nothing of the unit was kept: the two ranges went with the transaction
      expect((await rows([folder, ...members])).every((row) => row.state === 'trashed')).toBe(true)
      expect(await context.ctx.jobs.get(editor, job.id)).toMatchObject({ status: 'running', done: 0 })

      // once its lease ran out, another runner does the unit again from its start
      await new Promise((resolve) => setTimeout(resolve, 1200))
      expect(await new JobService(context.database.db, context.ctx.trash, settings).drain()).toBe(1)
      expect(await context.ctx.jobs.get(editor, job.id)).toMatchObject({
        status: 'succeeded',
        attempts: 2,
        done: 1,
        okCount: 1,
        items: 14,
      })
      expect((await rows([folder, ...members])).every((row) => row.state === 'active')).toBe(true)
      const audit = await context.database.db.query<{ item_id: string; n: number }>(
        `select item_id, count(*)::int as n from audit
          where tenant_id = $1 and operation_id = $2 and action = 'restore' group by item_id order by item_id`,
        [fx.tenantId, job.operationId],
      )
      expect(audit.rows.map((row) => Number(row.item_id))).toEqual([folder, ...members].sort((x, y) => x - y))
      expect(audit.rows.every((row) => row.n === 1)).toBe(true)
    },
  )
})
