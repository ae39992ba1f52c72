import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Actor } from '../src/core/types.js'
import { createFixture, createTestContext, type Fixture, type TestContext } from './helpers/server.js'

/**
 * The common single-item request (one file trashed, one lone unit restored where it was) is one statement: its
 * decision, change, audit row and operation row in one round trip. Everything else takes the general path,
 * which decides and explains. Both must leave the same rows behind.
 */

let context: TestContext
let f: Fixture

beforeAll(async () => {
  context = await createTestContext()
  f = await createFixture(context.ctx, 'lone')
})

afterAll(async () => {
  await context?.close()
})

const db = () => context.ctx.db

async function item(name: string, options: { parentId?: number | null; kind?: 'file' | 'folder' } = {}) {
  const result = await db().query<{ id: number }>(
    `insert into items (tenant_id, kind, type, name, brand_id, size, state, owner_id, parent_id)
     values ($1, $2, $3, $4, $5, 10, 'active', $6, $7) returning id::int`,
    [
      f.tenantId,
      options.kind ?? 'file',
      options.kind === 'folder' ? 'Folder' : 'Document',
      name,
      f.brandId,
      f.users.editor!.id,
      options.parentId ?? null,
    ],
  )
  return result.rows[0]!.id
}

/** The statements `work` sends, transaction control left out (the embedded database wraps each in its own). */
async function statementsOf<T>(work: () => Promise<T>): Promise<{ value: T; statements: string[] }> {
  const statements: string[] = []
  const stop = db().watchStatements!((statement) => {
    const text = statement.text.replace(/\s+/g, ' ').trim()
    if (!/^(begin|commit|rollback)$/i.test(text)) statements.push(text.slice(0, 80))
  })
  try {
    return { value: await work(), statements }
  } finally {
    stop()
  }
}

const editor = (): Actor => ({
  ...f.users.editor!.actor,
  eventTicket: 'lone-session',
  client: 'lone-test 1.0',
})

async function auditOf(id: number) {
  const result = await db().query(
    `select action, actor_id::int, door, item_path, unit_root::int, detail, operation_id::text, event_ticket
       from audit where tenant_id = $1 and item_id = $2 order by id`,
    [f.tenantId, id],
  )
  return result.rows
}

async function operationRow(id: string) {
  const result = await db().query(
    `select action, door, actor_id::int, client, requested, ok_count, warning_count, error_count, items, session
       from operations where tenant_id = $1 and id = $2::uuid`,
    [f.tenantId, id],
  )
  return result.rows[0]
}

describe('a single item in one statement', () => {
  it('trashes one file and restores it where it was, each in one round trip, with every row the general path writes', async () => {
    const folder = await item('Lone folder', { kind: 'folder' })
    const file = await item('lone.pdf', { parentId: folder })

    const trashed = await statementsOf(() => context.ctx.trash.trash(editor(), [file]))
    expect(trashed.value.results).toEqual([
      { id: file, status: 'ok', name: 'lone.pdf', kind: 'file', affected: 1 },
    ])
    expect(trashed.statements).toHaveLength(1)
    const row = await db().query(
      `select state, trash_root::int, deleted_by::int, deleted_via, original_parent_id::int, original_path
         from items where tenant_id = $1 and id = $2`,
      [f.tenantId, file],
    )
    expect(row.rows[0]).toEqual({
      state: 'trashed',
      trash_root: file,
      deleted_by: f.users.editor!.id,
      deleted_via: 'rest',
      original_parent_id: folder,
      original_path: '/Lone folder/lone.pdf',
    })

    const restored = await statementsOf(() => context.ctx.trash.restore(editor(), [file]))
    expect(restored.value.results).toEqual([
      { id: file, status: 'ok', name: 'lone.pdf', kind: 'file', affected: 1 },
    ])
    expect(restored.statements).toHaveLength(1)
    const back = await db().query(
      'select state, trash_root, parent_id::int, name, modified_by::int from items where tenant_id = $1 and id = $2',
      [f.tenantId, file],
    )
    expect(back.rows[0]).toEqual({
      state: 'active',
      trash_root: null,
      parent_id: folder,
      name: 'lone.pdf',
      modified_by: f.users.editor!.id,
    })

    const audit = await auditOf(file)
    expect(audit).toHaveLength(2)
    expect(audit[0]).toMatchObject({
      action: 'trash',
      actor_id: f.users.editor!.id,
      door: 'rest',
      item_path: '/Lone folder/lone.pdf',
      unit_root: file,
      detail: null,
      event_ticket: 'lone-session',
    })
    expect(audit[1]).toMatchObject({
      action: 'restore',
      unit_root: file,
      detail: { parentId: folder, name: 'lone.pdf' },
      event_ticket: 'lone-session',
    })
    for (const [index, action] of [
      [0, 'trash'],
      [1, 'restore'],
    ] as const) {
      expect(audit[index]!.operation_id).toMatch(/^[0-9a-f-]{36}$/)
      expect(await operationRow(audit[index]!.operation_id)).toEqual({
        action,
        door: 'rest',
        actor_id: f.users.editor!.id,
        client: 'lone-test 1.0',
        requested: 1,
        ok_count: 1,
        warning_count: 0,
        error_count: 0,
        items: 1,
        session: 'lone-session',
      })
    }
  })

  it('leaves to the general path what one statement does not decide, which answers as before', async () => {
    // a folder takes its subtree along (a top-level folder is never trashed)
    const root = await item('Lone root', { kind: 'folder' })
    const folder = await item('Lone tree', { kind: 'folder', parentId: root })
    const inside = await item('inside.pdf', { parentId: folder })
    const tree = await statementsOf(() => context.ctx.trash.trash(editor(), [folder]))
    expect(tree.value.results[0]).toMatchObject({ status: 'ok', affected: 2 })
    expect(tree.statements.length).toBeGreaterThan(1)

    // a name taken since: restored under another name
    const taken = await item('taken.pdf')
    await context.ctx.trash.trash(editor(), [taken])
    await item('taken.pdf')
    const renamed = await context.ctx.trash.restore(editor(), [taken])
    expect(renamed.results[0]).toMatchObject({ status: 'ok', renamedTo: 'taken (restored).pdf' })

    // its folder trashed since: refused, or made again when asked
    const gone = await item('Gone folder', { kind: 'folder', parentId: root })
    const orphan = await item('orphan.pdf', { parentId: gone })
    await context.ctx.trash.trash(editor(), [orphan])
    await context.ctx.trash.trash(editor(), [gone])
    const refused = await context.ctx.trash.restore(editor(), [orphan])
    expect(refused.results[0]).toMatchObject({ status: 'error', code: 'ORIGINAL_LOCATION_GONE' })
    const remade = await context.ctx.trash.restore(editor(), [orphan], { onMissingParent: 'recreate' })
    expect(remade.results[0]).toMatchObject({ status: 'ok', recreatedFolders: ['/Lone root/Gone folder'] })

    // a member of a trashed folder, addressed on its own, comes back without the rest
    const member = await context.ctx.trash.restore(editor(), [inside])
    expect(member.results[0]).toMatchObject({ status: 'error', code: 'ORIGINAL_LOCATION_GONE' })

    // rights: a viewer may not trash, and nobody restores what another user deleted outside a brand's rights
    const kept = await item('kept.pdf')
    const denied = await context.ctx.trash.trash(f.users.viewer!.actor, [kept])
    expect(denied.results[0]).toMatchObject({ status: 'error', code: 'ACCESS_DENIED' })
    expect((await db().query('select state from items where id = $1', [kept])).rows[0]).toEqual({
      state: 'active',
    })
    await context.ctx.trash.trash(editor(), [kept])
    const notTheirs = await context.ctx.trash.restore(f.users.viewer!.actor, [kept])
    expect(notTheirs.results[0]).toMatchObject({ status: 'error', code: 'ACCESS_DENIED' })

    // twice: a warning, and nothing written for it
    const again = await context.ctx.trash.trash(editor(), [kept])
    expect(again.results[0]).toMatchObject({ status: 'warning', code: 'ALREADY_TRASHED' })
    expect((await auditOf(kept)).map((row) => row.action)).toEqual(['trash'])
  })
})

describe('a single item addressed by its path, in one statement', () => {
  it("trashes a file found by its path of names (srv.asmx's DeleteDocument) in one round trip, the walk to it included", async () => {
    const top = await item('Path top', { kind: 'folder' })
    const sub = await item('Path sub', { kind: 'folder', parentId: top })
    const file = await item('by-path.pdf', { parentId: sub })

    const trashed = await statementsOf(() =>
      context.ctx.trash.trashAtPath(editor(), ['Path top', 'Path sub', 'by-path.pdf'], 'file'),
    )
    expect(trashed.value).toEqual({ id: file, status: 'ok', name: 'by-path.pdf', kind: 'file', affected: 1 })
    expect(trashed.statements).toHaveLength(1)
    const row = await db().query(
      `select state, trash_root::int, deleted_by::int, original_parent_id::int, original_path
         from items where tenant_id = $1 and id = $2`,
      [f.tenantId, file],
    )
    expect(row.rows[0]).toEqual({
      state: 'trashed',
      trash_root: file,
      deleted_by: f.users.editor!.id,
      original_parent_id: sub,
      original_path: '/Path top/Path sub/by-path.pdf',
    })
    const audit = await auditOf(file)
    expect(audit).toHaveLength(1)
    expect(audit[0]).toMatchObject({
      action: 'trash',
      item_path: '/Path top/Path sub/by-path.pdf',
      unit_root: file,
    })
    expect(await operationRow(audit[0]!.operation_id)).toMatchObject({
      action: 'trash',
      requested: 1,
      ok_count: 1,
      items: 1,
    })
  })

  it('answers what the general path answers when the one statement does not decide', async () => {
    const top = await item('Path top 2', { kind: 'folder' })
    const folder = await item('Path folder', { kind: 'folder', parentId: top })
    await item('in-folder.pdf', { parentId: folder })
    const kept = await item('viewer-may-not.pdf', { parentId: top })

    // nothing there, or not a file: none
    expect(await context.ctx.trash.trashAtPath(editor(), ['Path top 2', 'missing.pdf'], 'file')).toBeNull()
    expect(await context.ctx.trash.trashAtPath(editor(), ['Path top 2', 'Path folder'], 'file')).toBeNull()
    expect(
      await context.ctx.trash.trashAtPath(editor(), ['Path top 2', 'viewer-may-not.pdf'], 'folder'),
    ).toBeNull()
    // a refusal is explained, and changes nothing
    const denied = await context.ctx.trash.trashAtPath(
      f.users.viewer!.actor,
      ['Path top 2', 'viewer-may-not.pdf'],
      'file',
    )
    expect(denied).toMatchObject({ id: kept, status: 'error', code: 'ACCESS_DENIED' })
    expect((await db().query('select state from items where id = $1', [kept])).rows[0]).toEqual({
      state: 'active',
    })
    // a folder takes its subtree along
    const tree = await context.ctx.trash.trashAtPath(editor(), ['Path top 2', 'Path folder'], 'folder')
    expect(tree).toMatchObject({ id: folder, status: 'ok', affected: 2 })
    // gone since: none
    expect(await context.ctx.trash.trashAtPath(editor(), ['Path top 2', 'Path folder'], 'folder')).toBeNull()
  })
})

describe('a failed statement outside a transaction', () => {
  it('leaves the next statement served at once (a conflict, a value out of range)', async () => {
    for (let round = 0; round < 3; round++) {
      await expect(
        db().query('insert into tenants (id, name) select id, name from tenants where id = $1', [f.tenantId]),
      ).rejects.toMatchObject({ code: '23505' })
      expect((await db().query('select 1 as x')).rows).toEqual([{ x: 1 }])
      await expect(db().query('select 1 / $1::int', [0])).rejects.toMatchObject({ code: 'INVALID_INPUT' })
      expect((await db().query('select 2 as x')).rows).toEqual([{ x: 2 }])
    }
  })
})
