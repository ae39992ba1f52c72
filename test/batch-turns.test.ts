import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { PIECE, Turns } from '../src/core/turns.js'
import { activeFiles } from './helpers/items.js'
import { createFixture, createTestContext, type Fixture, type TestContext } from './helpers/server.js'

/**
 * The core's per-item work on a batch (decisions, unit absorption, the restore's plan, results, rows decoded)
 * gives the event loop a turn every TURN_MS (src/core/turns.ts). Counted, not timed: on a loaded machine the
 * longest event-loop block of a 10,000-item request is set by garbage collection and by the driver decoding a
 * 10,000-row answer as much as by this work, and a bound on it (test/staying-up.test.ts holds 1.5 s) passed
 * with the turns taken out as well as with them. Here the turns themselves are counted: with them out, none.
 * Counted without the clock: a turn is made due at every look (Turns.due, every 64 items), so that the count
 * says whether the loops give turns, not how fast the machine is (once a batch decoded fewer columns of its
 * rows, a 10,000-item trash ran its per-item work in under three turns' worth on a loaded machine).
 */

let context: TestContext
let f: Fixture

beforeAll(async () => {
  context = await createTestContext()
  f = await createFixture(context.ctx, 'turns')
})

afterAll(async () => {
  await context?.close()
})

const files = (count: number, prefix: string) => activeFiles(context.ctx.db, f, count, prefix)

describe('batch work gives the event loop turns', () => {
  it('a 10,000-item trash and restore each give the loop turns while they work on their items', async () => {
    const editor = f.users.editor!.actor
    const ids = await files(10_000, 'turns')
    const turn = vi.spyOn(Turns.prototype, 'turn')
    // every look at the clock finds the turn due (each loop looks every 64 items)
    let looks = 0
    const due = vi.spyOn(Turns.prototype, 'due').mockImplementation(() => ++looks % 64 === 0)
    try {
      for (const [name, run] of [
        ['trash', () => context.ctx.trash.trash(editor, ids)],
        ['restore', () => context.ctx.trash.restore(editor, ids)],
      ] as const) {
        turn.mockClear()
        const started = performance.now()
        expect((await run()).successCount).toBe(10_000)
        const took = Math.round(performance.now() - started)
        console.log(`batch-turns ${name} of 10,000: ${turn.mock.calls.length} turns in ${took} ms`)
        // a loop over 10,000 items looks 156 times: each loop that gives turns gives them here
        expect(turn.mock.calls.length, name).toBeGreaterThanOrEqual(3)
      }
    } finally {
      turn.mockRestore()
      due.mockRestore()
    }
  }, 240_000)

  it('a 10,000-item trash, restore, empty and purge lock and change their rows in statements of at most 1,000, in one transaction', async () => {
    const editor = f.users.editor!.actor
    const ids = await files(10_000, 'pieces')
    for (const [name, run] of [
      ['trash', () => context.ctx.trash.trash(editor, ids)],
      ['restore', () => context.ctx.trash.restore(editor, ids)],
      ['trash again', () => context.ctx.trash.trash(editor, ids)],
      ['empty', () => context.ctx.trash.empty(f.users.admin!.actor, ids)],
      ['purge', () => context.ctx.trash.purge(f.users.admin!.actor, ids)],
    ] as const) {
      // the largest array parameter of each statement, and the connections the batch's statements went on
      const largest: number[] = []
      const clients = new Set<unknown>()
      const stop = context.ctx.db.watchStatements!((statement) => {
        // the statements that lock or change rows (a read answering few rows, such as the names a restore
        // finds taken, is one statement whatever the batch)
        if (!/\bfor update\b|\bupdate items\b/i.test(statement.text)) return
        const arrays = statement.values.filter(Array.isArray).map((value) => value.length)
        if (arrays.length === 0) return
        largest.push(Math.max(...arrays))
        clients.add(statement.client)
      })
      try {
        expect((await run()).successCount, name).toBe(10_000)
      } finally {
        stop()
      }
      console.log(
        `batch-turns ${name} of 10,000: ${largest.length} statements with ids, the largest ${Math.max(...largest)}`,
      )
      expect(Math.max(...largest), name).toBeLessThanOrEqual(PIECE)
      // a piece per 1,000, never a statement per item
      expect(largest.length, name).toBeLessThan(100)
      // one transaction: every statement on one connection
      expect(clients.size, name).toBe(1)
    }
  }, 240_000)

  it('an undo of 10,000 units reads its units, and an own bin of 10,000 units is emptied, in statements of at most 1,000', async () => {
    const admin = f.users.admin!.actor
    const ids = await files(10_000, 'more-pieces')
    const operationId = randomUUID()
    expect((await context.ctx.trash.trash(admin, ids, { operationId })).successCount).toBe(10_000)

    // the undo's units, read a page at a time: the limit of each read (its fourth value)
    const reads: number[] = []
    const stopReads = context.ctx.db.watchStatements!((statement) => {
      if (/with page as materialized/.test(statement.text)) reads.push(Number(statement.values[3]))
    })
    try {
      const undone = await context.ctx.trash.undoOperations(admin, f.tenantId, [operationId], {
        undoOf: operationId,
      })
      expect(undone.results.filter((result) => result.status === 'ok').length).toBe(10_000)
    } finally {
      stopReads()
    }
    // the first read asks whether the undo is a big batch (PIECE + 1 units at most), then the pages read theirs
    expect(reads[0]).toBe(PIECE + 1)
    const pages = reads.slice(1)
    console.log(`batch-turns undo of 10,000: ${pages.length} unit reads of at most ${Math.max(...pages)}`)
    expect(Math.max(...pages)).toBeLessThanOrEqual(PIECE)
    expect(pages.length).toBeGreaterThanOrEqual(10)

    // the own bin: its units marked a piece of roots at a time (the limit is the mark statement's fifth value)
    expect((await context.ctx.trash.trash(admin, ids)).successCount).toBe(10_000)
    const marks: number[] = []
    const stopMarks = context.ctx.db.watchStatements!((statement) => {
      if (/heads as materialized/.test(statement.text) && /r\.deleted_by = /.test(statement.text))
        marks.push(Number(statement.values[4]))
    })
    try {
      const emptied = await context.ctx.trash.emptyOwnBin(admin)
      expect(emptied.failed).toEqual([])
    } finally {
      stopMarks()
    }
    console.log(
      `batch-turns own bin of 10,000: ${marks.length} mark statements of at most ${Math.max(...marks)}`,
    )
    expect(Math.max(...marks)).toBeLessThanOrEqual(PIECE)
    expect(marks.length).toBeGreaterThanOrEqual(10)
    const left = await context.ctx.db.query<{ n: number }>(
      'select count(*)::int as n from items where id = any($1)',
      [ids],
    )
    expect(left.rows[0]!.n).toBe(0)
  }, 240_000)
})
