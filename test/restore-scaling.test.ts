import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RestoreOptions } from '../src/core/types.js'
import { activeFiles } from './helpers/items.js'
import { createFixture, createTestContext, type Fixture, type TestContext } from './helpers/server.js'

/**
 * A restore's database work is set-based: the statements it sends do not grow with the number of ids up to
 * 1,000 and grow by one piece per 1,000 beyond (src/core/turns.ts PIECE; a statement per item would make a
 * 10,000-id restore 10,000 round trips in one transaction), whether the items go
 * back to their folders or their folders are made again; and each statement reads in proportion to the ids
 * (a search per item, or a plan that scans the batch per row, would read 10 times more per id for 10 times more
 * ids). Counted statement by statement and in database buffers, not timed.
 */

let context: TestContext
let f: Fixture

beforeAll(async () => {
  context = await createTestContext()
  f = await createFixture(context.ctx, 'scaling')
})

afterAll(async () => {
  await context?.close()
})

const files = (count: number, prefix: string, parentId: number | null = null) =>
  activeFiles(context.ctx.db, f, count, prefix, parentId)

/** The statements a restore of `ids` sends (their first words), checking that every id is restored. */
async function restoreStatements(ids: number[], options: RestoreOptions = {}): Promise<string[]> {
  const statements: string[] = []
  const stop = context.ctx.db.watchStatements!((statement) => {
    statements.push(
      statement.text
        .replace(/'[^']*'/g, "'…'")
        .replace(/\s+/g, ' ')
        .slice(0, 60),
    )
  })
  try {
    const result = await context.ctx.trash.restore(f.users.editor!.actor, ids, options)
    expect(result.successCount).toBe(ids.length)
  } finally {
    stop()
  }
  return statements
}

describe('restore: statements that do not grow with the ids', () => {
  it('top-level files back to where they were: the same statements for 100 and for 1,000 ids, each sent once per 1,000 for 2,500', async () => {
    const counts: Record<number, string[]> = {}
    for (const n of [100, 1000, 2500]) {
      const ids = await files(n, `top${n}`)
      await context.ctx.trash.trash(f.users.editor!.actor, ids)
      counts[n] = await restoreStatements(ids)
    }
    expect(counts[1000]).toEqual(counts[100])
    expect(counts[100]!.length).toBeLessThan(20)
    // a batch's statements carry at most PIECE (1,000) rows each: 2,500 ids send each one three times in a row
    expect(counts[2500]!.filter((statement, i, all) => statement !== all[i - 1])).toEqual(counts[100])
    expect(counts[2500]!.length).toBeLessThanOrEqual(3 * counts[100]!.length)
  })

  it('files whose folder is gone, its folder made again: the same statements for 20 and for 400 ids', async () => {
    const editor = f.users.editor!.actor
    const counts: Record<number, string[]> = {}
    for (const n of [20, 400]) {
      const folder = await context.ctx.db.query<{ id: number }>(
        `insert into items (tenant_id, kind, type, name, brand_id, state, owner_id)
         values ($1, 'folder', 'Folder', $2, $3, 'active', $4) returning id::int`,
        [f.tenantId, `gone${n}`, f.brandId, f.users.editor!.id],
      )
      const folderId = folder.rows[0]!.id
      const ids = await files(n, `inside${n}`, folderId)
      // each file a unit of its own, then the folder: the files' folder is no longer there
      await context.ctx.trash.trash(editor, ids)
      // (a top-level folder: only an administrator may trash it)
      const gone = await context.ctx.trash.trash(f.users.admin!.actor, [folderId])
      expect(gone.successCount).toBe(1)
      counts[n] = await restoreStatements(ids, { onMissingParent: 'recreate' })
    }
    expect(counts[400]).toEqual(counts[20])
  })

  it('each statement reads in proportion to the ids: 10,000 ids read at most 20 times what 1,000 do', async () => {
    const reads: Record<number, Map<string, number>> = {}
    for (const n of [1000, 10_000]) {
      const ids = await files(n, `big${n}`)
      await context.ctx.trash.trash(f.users.editor!.actor, ids)
      reads[n] = await restoreReads(ids)
    }
    const lines: string[] = []
    for (const [statement, small] of reads[1000]!) {
      const big = reads[10_000]!.get(statement)
      lines.push(`${statement}: ${small} -> ${big} buffers`)
      expect(big, statement).toBeDefined()
      expect(big!, lines.join('\n')).toBeLessThanOrEqual(20 * Math.max(small, 10))
    }
    console.log(`restore-scaling\n${lines.join('\n')}`)
  }, 240_000)
})

/**
 * The restore of `ids`, each of its statements explained (EXPLAIN ANALYZE, in a savepoint rolled back) right
 * before it runs on its connection: the buffers each one reads (hits and reads), by the statement's start.
 */
async function restoreReads(ids: number[]): Promise<Map<string, number>> {
  const reads = new Map<string, number>()
  let explaining = false
  const stop = context.ctx.db.watchStatements!(async (statement) => {
    // (the operation's row goes with the COMMIT in one statement: explaining that would commit)
    if (
      explaining ||
      !/^\s*(select|with|insert|update)\b/i.test(statement.text) ||
      /\bcommit\s*$/i.test(statement.text)
    )
      return
    explaining = true
    try {
      const client = statement.client
      await client.query('savepoint scaling')
      const plan = await client.query<{ 'QUERY PLAN': [{ Plan: Record<string, number> }] }>(
        `explain (analyze, buffers, format json) ${statement.text}`,
        statement.values,
      )
      await client.query('rollback to savepoint scaling')
      const top = plan.rows[0]!['QUERY PLAN'][0].Plan
      const key = statement.text
        .replace(/'[^']*'/g, "'…'")
        .replace(/\s+/g, ' ')
        .slice(0, 50)
      reads.set(key, (reads.get(key) ?? 0) + top['Shared Hit Blocks']! + top['Shared Read Blocks']!)
    } finally {
      explaining = false
    }
  })
  try {
    const result = await context.ctx.trash.restore(f.users.editor!.actor, ids)
    expect(result.successCount).toBe(ids.length)
  } finally {
    stop()
  }
  return reads
}
