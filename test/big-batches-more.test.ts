import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOperation } from '../src/core/trash-service.js'
import { PIECE } from '../src/core/turns.js'
import { activeFiles } from './helpers/items.js'
import { createFixture, createTestContext, type Fixture, type TestContext } from './helpers/server.js'
import { takeGate, withGateTaken } from './helpers/work-gate.js'

/**
 * The BIG_BATCHES gate (test/big-batches.test.ts) holds the big requests that do not name their items one by one
 * too: the own bin's empty (srv.asmx EmptyRecycleBin) of more than 1,000 units and an undo of more than 1,000
 * units wait for a place, then are refused as busy with nothing done, while smaller ones do not wait; a bulk
 * job's page of more than 1,000 waits for a place however long it takes (a job is never refused) and runs when
 * one is free.
 */
describe('big batches at a time: own bin, undo and job pages', () => {
  let context: TestContext
  let f: Fixture

  beforeAll(async () => {
    context = await createTestContext({ env: { BIG_BATCHES: '1', BIG_BATCH_WAIT: '0.5' } })
    f = await createFixture(context.ctx, 'gated')
  }, 120_000)

  afterAll(async () => {
    await context?.close()
  })

  /** `count` trashed files of `userId` (each its own unit), set-based; their ids. */
  async function trashed(count: number, prefix: string, userId: number): Promise<number[]> {
    const result = await context.ctx.db.query<{ id: number }>(
      `insert into items (tenant_id, kind, type, name, brand_id, size, state, owner_id, deleted_at, deleted_by,
                          deleted_via, original_path)
       select $1, 'file', 'Document', $4 || '-' || g || '.pdf', $2, 10, 'trashed', $3, now(), $3, 'rest',
              '/' || $4 || '-' || g || '.pdf'
         from generate_series(1, $5::int) g
       returning id::int`,
      [f.tenantId, f.brandId, userId, prefix, count],
    )
    const ids = result.rows.map((row) => row.id)
    await context.ctx.db.query('update items set trash_root = id where id = any($1)', [ids])
    return ids
  }

  const active = (count: number, prefix: string) => activeFiles(context.ctx.db, f, count, prefix)

  const inState = async (ids: number[], state: string) =>
    (
      await context.ctx.db.query<{ n: number }>(
        'select count(*)::int as n from items where id = any($1) and state = $2',
        [ids, state],
      )
    ).rows[0]!.n

  /** Runs `fn` with every place of the gate taken by work that runs until `fn` is done. */
  const withBigBatchesTaken = <T>(fn: () => Promise<T>): Promise<T> =>
    withGateTaken(context.ctx.trash.bigBatches, async () => {
      expect(context.ctx.trash.bigBatches.load.running).toBe(1)
      return await fn()
    })

  it('an own bin of more than 1,000 units is refused as busy with nothing done; one of 1,000 does not wait', async () => {
    // the purger may purge what it deleted; the admin's bin holds exactly PIECE units
    const big = await trashed(PIECE + 1, 'bin-big', f.users.purger!.id)
    const small = await trashed(PIECE, 'bin-small', f.users.admin!.id)
    await withBigBatchesTaken(async () => {
      const started = performance.now()
      await expect(context.ctx.trash.emptyOwnBin(f.users.purger!.actor)).rejects.toMatchObject({
        code: 'BUSY',
      })
      expect(performance.now() - started).toBeGreaterThanOrEqual(450)
      expect(await inState(big, 'trashed')).toBe(big.length)
      const done = await context.ctx.trash.emptyOwnBin(f.users.admin!.actor)
      expect(done.failed).toEqual([])
      expect(await inState(small, 'trashed')).toBe(0)
    })
    const done = await context.ctx.trash.emptyOwnBin(f.users.purger!.actor)
    expect(done.failed).toEqual([])
    expect(await inState(big, 'trashed')).toBe(0)
  }, 120_000)

  it('an undo of more than 1,000 units is refused as busy with nothing done; an undo of one unit does not wait', async () => {
    const editor = f.users.editor!.actor
    const many = await active(PIECE + 1, 'undo-many')
    const one = await active(1, 'undo-one')
    const manyOp = randomUUID()
    const oneOp = randomUUID()
    expect((await context.ctx.trash.trash(editor, many, { operationId: manyOp })).successCount).toBe(
      many.length,
    )
    expect((await context.ctx.trash.trash(editor, one, { operationId: oneOp })).successCount).toBe(1)
    await withBigBatchesTaken(async () => {
      await expect(
        context.ctx.trash.undoOperations(editor, f.tenantId, [manyOp], { undoOf: manyOp }),
      ).rejects.toMatchObject({ code: 'BUSY' })
      expect(await inState(many, 'trashed')).toBe(many.length)
      const undone = await context.ctx.trash.undoOperations(editor, f.tenantId, [oneOp], { undoOf: oneOp })
      expect(undone.results.map((result) => result.status)).toEqual(['ok'])
    })
    const undone = await context.ctx.trash.undoOperations(editor, f.tenantId, [manyOp], { undoOf: manyOp })
    expect(undone.results.length).toBe(many.length)
    expect(await inState(many, 'active')).toBe(many.length)
  }, 120_000)

  it("a job's page of more than 1,000 waits for a place however long it takes, and runs when one is free", async () => {
    const editor = f.users.editor!.actor
    const ids = await trashed(PIECE + 1, 'job-page', f.users.editor!.id)
    const gate = context.ctx.trash.bigBatches
    const { release, holding } = takeGate(gate)
    let settled = false
    const page = context.ctx.trash
      .idsJobPage(startOperation(editor, 'restore'), 'restore', { ids }, 0, 5000, async () => {})
      .finally(() => {
        settled = true
      })
    try {
      // twice BIG_BATCH_WAIT: a request would have been refused by now
      await new Promise((resolve) => setTimeout(resolve, 1000))
      expect(settled).toBe(false)
      expect(gate.load).toEqual({ running: 1, waiting: 1 })
      expect(await inState(ids, 'trashed')).toBe(ids.length)
    } finally {
      release()
      await holding
    }
    const done = await page
    expect(done.page.results.filter((result) => result.status === 'ok').length).toBe(ids.length)
    expect(await inState(ids, 'active')).toBe(ids.length)
    expect(gate.load).toEqual({ running: 0, waiting: 0 })
  }, 120_000)
})
