import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asmx, asmxTicket } from './helpers/asmx.js'
import { tenantFingerprint } from './helpers/hardening.js'
import { restApi } from './helpers/rest.js'
import { createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

/**
 * Undo of a trash operation: what is still in the trash as the operation left it comes back under the restore
 * rules (rename, folders made again, rights), as one operation of its own; the rest is reported. The preview
 * answers the same without changing a row.
 */

let server: TestServer
let fx: Fixture

const make = async (kind: 'file' | 'folder', name: string, parentId: number | null = null) =>
  (
    await server.ctx.admin.createItem(fx.tenantId, {
      kind,
      name,
      parentId,
      brandId: fx.brandId,
      ownerId: fx.users.editor!.id,
    })
  ).item.id

const api = restApi(
  () => server,
  () => fx,
)

const latestOperation = async (role: string) => {
  const answer = await api(role, 'GET', '/operations?limit=1')
  expect(answer.status, answer.text).toBe(200)
  return answer.json.operations[0] as { id: string; action: string }
}

const rows = async (ids: number[]) =>
  (
    await server.database.db.query(
      'select id, name, state, parent_id from items where tenant_id = $1 and id = any($2::bigint[]) order by id',
      [fx.tenantId, ids],
    )
  ).rows as { id: number; name: string; state: string; parent_id: number | null }[]

const ids = {
  library: 0,
  projects: 0,
  inProjects: [] as number[],
  restoredSince: 0,
  emptiedSince: 0,
  renamed: 0,
  docs: 0,
  inDocs: 0,
}
let trashOp = ''

beforeAll(async () => {
  server = await startTestServer()
  fx = await createFixture(server.ctx, 'undo')
  ids.library = await make('folder', 'Library')
  ids.projects = await make('folder', 'Projects', ids.library)
  ids.inProjects = [await make('file', 'a.txt', ids.projects), await make('file', 'b.txt', ids.projects)]
  ids.restoredSince = await make('file', 'restored.txt', ids.library)
  ids.emptiedSince = await make('file', 'emptied.txt', ids.library)
  ids.renamed = await make('file', 'report.pdf', ids.library)
  ids.docs = await make('folder', 'Docs', ids.library)
  ids.inDocs = await make('file', 'c.txt', ids.docs)

  // one request trashes five units
  const trashed = await api('editor', 'POST', '/items/trash', {
    ids: [ids.projects, ids.restoredSince, ids.emptiedSince, ids.renamed, ids.inDocs],
  })
  expect(trashed.json.successCount, trashed.text).toBe(5)
  trashOp = (await latestOperation('editor')).id
  // since then: one restored, one emptied, a new report.pdf where the old one was, c.txt's folder trashed
  expect((await api('editor', 'POST', '/trash/restore', { ids: [ids.restoredSince] })).status).toBe(200)
  expect((await api('admin', 'POST', '/trash/empty', { ids: [ids.emptiedSince] })).status).toBe(200)
  await make('file', 'report.pdf', ids.library)
  expect((await api('editor', 'POST', '/items/trash', { ids: [ids.docs] })).json.successCount).toBe(1)
})

afterAll(async () => {
  await server?.close()
})

describe('undo of an operation', () => {
  let preview: {
    results: { id: number; status: string; renamedTo?: string; recreatedFolders?: string[] }[]
    skipped: unknown[]
  }

  it('the preview says per unit what the undo would do and what it leaves alone, and changes nothing', async () => {
    const before = await tenantFingerprint(server.database.db, fx.tenantId, { operations: true })
    const answer = await api('editor', 'GET', `/operations/${trashOp}/undo/preview`)
    expect(answer.status, answer.text).toBe(200)
    expect(await tenantFingerprint(server.database.db, fx.tenantId, { operations: true })).toEqual(before)
    preview = answer.json
    expect(answer.json).toMatchObject({ preview: true, undoOf: trashOp, successCount: 3, skippedCount: 2 })
    expect(answer.json.operation).toBeUndefined()
    expect(
      answer.json.results.map((r: { id: number; status: string; affected: number }) => [
        r.id,
        r.status,
        r.affected,
      ]),
    ).toEqual([
      [ids.projects, 'ok', 3],
      [ids.renamed, 'ok', 1],
      [ids.inDocs, 'ok', 1],
    ])
    expect(answer.json.results[1].renamedTo).toBe('report (restored).pdf')
    expect(answer.json.results[2].recreatedFolders).toEqual(['/Library/Docs'])
    expect(answer.json.skipped).toEqual([
      { id: ids.restoredSince, name: 'restored.txt', kind: 'file', state: 'active', reason: 'restored' },
      { id: ids.emptiedSince, name: 'emptied.txt', kind: 'file', state: 'emptied', reason: 'emptied' },
    ])
  })

  it('only the actor (or an administrator) may undo: another user finds no such operation', async () => {
    const before = await tenantFingerprint(server.database.db, fx.tenantId, { operations: true })
    for (const role of ['viewer', 'purger', 'outsider']) {
      expect((await api(role, 'GET', `/operations/${trashOp}/undo/preview`)).status).toBe(404)
      expect((await api(role, 'POST', `/operations/${trashOp}/undo`, {})).status).toBe(404)
    }
    expect(await tenantFingerprint(server.database.db, fx.tenantId, { operations: true })).toEqual(before)
  })

  it('the undo does what the preview said, as one operation of its own', async () => {
    const answer = await api('editor', 'POST', `/operations/${trashOp}/undo`, {})
    expect(answer.status, answer.text).toBe(200)
    const { operation, ...rest } = answer.json
    expect(rest).toEqual({ ...preview, preview: undefined, undoOf: trashOp })
    // rows: the units are back, renamed and under a folder made again where the preview said
    const after = await rows([ids.projects, ...ids.inProjects, ids.renamed, ids.inDocs, ids.emptiedSince])
    expect(after.map((r) => [r.id, r.name, r.state])).toEqual([
      [ids.projects, 'Projects', 'active'],
      [ids.inProjects[0], 'a.txt', 'active'],
      [ids.inProjects[1], 'b.txt', 'active'],
      [ids.emptiedSince, 'emptied.txt', 'emptied'],
      [ids.renamed, 'report (restored).pdf', 'active'],
      [ids.inDocs, 'c.txt', 'active'],
    ])
    const docsAgain = after.find((r) => r.id === ids.inDocs)!.parent_id
    expect(docsAgain).not.toBe(ids.docs)
    expect((await rows([docsAgain!]))[0]).toMatchObject({
      name: 'Docs',
      state: 'active',
      parent_id: ids.library,
    })
    // the undo's own operation, naming the one it undid; its audit rows carry its id
    const op = await server.database.db.query('select * from operations where tenant_id = $1 and id = $2', [
      fx.tenantId,
      operation,
    ])
    expect(op.rows[0]).toMatchObject({
      action: 'undo',
      undo_of: trashOp,
      actor_id: fx.users.editor!.id,
      requested: 5,
      ok_count: 3,
      warning_count: 2,
      error_count: 0,
      items: 5,
    })
    const audit = await server.database.db.query(
      `select count(*)::int as n from audit where tenant_id = $1 and operation_id = $2 and action = 'restore'`,
      [fx.tenantId, operation],
    )
    expect(audit.rows[0].n).toBe(5)
  })

  it('a second undo finds nothing left to restore; only a trash operation can be undone', async () => {
    const again = await api('editor', 'POST', `/operations/${trashOp}/undo`, {})
    expect(again.status, again.text).toBe(200)
    expect(again.json).toMatchObject({ successCount: 0, results: [], skippedCount: 5 })
    const undoOp = await latestOperation('editor')
    expect(undoOp.action).toBe('undo')
    const refused = await api('editor', 'POST', `/operations/${undoOp.id}/undo`, {})
    expect(refused.status, refused.text).toBe(422)
  })

  it("an administrator may undo a user's operation", async () => {
    const file = await make('file', 'admin-undo.txt', ids.library)
    await api('editor', 'POST', '/items/trash', { ids: [file] })
    const op = (await latestOperation('editor')).id
    const answer = await api('admin', 'POST', `/operations/${op}/undo`, {})
    expect(answer.status, answer.text).toBe(200)
    expect(answer.json).toMatchObject({ successCount: 1, skippedCount: 0 })
    expect((await rows([file]))[0]!.state).toBe('active')
  })
})

describe('undo by filter', () => {
  it('a mass delete through srv.asmx, a folder and document after document, is found and undone in one call', async () => {
    const from = new Date().toISOString()
    const mass = await make('folder', 'Mass', ids.library)
    const big = await make('folder', 'Big', mass)
    const inBig = [await make('file', 'one.txt', big), await make('folder', 'Sub', big)]
    inBig.push(await make('file', 'two.txt', inBig[1]!))
    const docs: number[] = []
    for (let n = 0; n < 6; n++) docs.push(await make('file', `doc${n}.txt`, mass))
    const othersDoc = await make('file', 'others.txt', mass)

    const ticketOf = (role: string) => asmxTicket(server.baseUrl, fx.users[role]!)
    const editorTicket = await ticketOf('editor')
    const deleted = await asmx(server.baseUrl, 'POST', 'DeleteFolder', {
      authenticationTicket: editorTicket,
      Path: '\\Library\\Mass\\Big',
    })
    expect(deleted.success, deleted.text).toBe('true')
    for (let n = 0; n < 6; n++) {
      const answer = await asmx(server.baseUrl, 'GET', 'DeleteDocument', {
        authenticationTicket: editorTicket,
        Path: `\\Library\\Mass\\doc${n}.txt`,
      })
      expect(answer.success, answer.text).toBe('true')
    }
    // someone else's delete in the same minutes stays deleted
    const other = await asmx(server.baseUrl, 'GET', 'DeleteDocument', {
      authenticationTicket: await ticketOf('purger'),
      Path: '\\Library\\Mass\\others.txt',
    })
    expect(other.success, other.text).toBe('true')

    const filter = { actor: fx.users.editor!.id, door: 'asmx', from }
    // found by actor and time
    const listed = await api(
      'admin',
      'GET',
      `/operations?actor=${fx.users.editor!.id}&door=asmx&from=${from}`,
    )
    expect(listed.json.operations).toHaveLength(7)
    // a user who is not an administrator sees only their own: nothing of the editor's to undo
    const foreign = await api('viewer', 'POST', '/operations/undo/preview', filter)
    expect(foreign.json).toMatchObject({ operations: 0, results: [], skipped: [] })

    const before = await tenantFingerprint(server.database.db, fx.tenantId, { operations: true })
    const preview = await api('admin', 'POST', '/operations/undo/preview', filter)
    expect(preview.status, preview.text).toBe(200)
    expect(await tenantFingerprint(server.database.db, fx.tenantId, { operations: true })).toEqual(before)
    expect(preview.json).toMatchObject({
      preview: true,
      operations: 7,
      successCount: 7,
      errorCount: 0,
      skippedCount: 0,
    })
    expect(preview.json.results.map((r: { id: number; affected: number }) => [r.id, r.affected])).toEqual([
      [big, 4],
      ...docs.map((id) => [id, 1]),
    ])

    const undone = await api('admin', 'POST', '/operations/undo', filter)
    expect(undone.status, undone.text).toBe(200)
    const { operation, ...rest } = undone.json
    expect(rest).toEqual({ ...preview.json, preview: undefined })
    const after = await rows([big, ...inBig, ...docs, othersDoc])
    expect(after.filter((r) => r.state === 'active').map((r) => r.id)).toEqual([big, ...inBig, ...docs])
    expect(after.find((r) => r.id === othersDoc)!.state).toBe('trashed')
    const op = await server.database.db.query('select * from operations where tenant_id = $1 and id = $2', [
      fx.tenantId,
      operation,
    ])
    expect(op.rows[0]).toMatchObject({
      action: 'undo',
      actor_id: fx.users.admin!.id,
      undo_of: null,
      requested: 7,
      ok_count: 7,
      items: 10,
    })
    // the same filter again: everything reported as restored since, nothing touched
    const again = await api('admin', 'POST', '/operations/undo', filter)
    expect(again.json).toMatchObject({ operations: 7, successCount: 0, skippedCount: 7 })
    expect(new Set(again.json.skipped.map((u: { reason: string }) => u.reason))).toEqual(
      new Set(['restored']),
    )
    // a filter needs a start
    expect((await api('admin', 'POST', '/operations/undo', { actor: fx.users.editor!.id })).status).toBe(422)
  })

  it('an undo is undone only when asked to trash again: what it restored goes back to the trash', async () => {
    const folder = await make('folder', 'Again', ids.library)
    const files = [await make('file', 'x.txt', folder), await make('file', 'y.txt', folder)]
    const inside = await make('folder', 'Inner', folder)
    const deep = await make('file', 'z.txt', inside)
    expect((await api('editor', 'POST', '/items/trash', { ids: [...files, inside] })).json.successCount).toBe(
      3,
    )
    const deleted = (await latestOperation('editor')).id
    const undo = await api('editor', 'POST', `/operations/${deleted}/undo`, {})
    expect(undo.json.successCount, undo.text).toBe(3)
    // since the undo: y.txt was trashed again by hand
    expect((await api('editor', 'POST', '/items/trash', { ids: [files[1]] })).json.successCount).toBe(1)

    const refused = await api('editor', 'POST', `/operations/${undo.json.operation}/undo`, {})
    expect(refused.status, refused.text).toBe(422)
    expect(refused.json.detail).toMatch(/trashAgain/)
    expect((await rows([files[0]!, inside, deep])).map((r) => r.state)).toEqual([
      'active',
      'active',
      'active',
    ])

    const again = await api('editor', 'POST', `/operations/${undo.json.operation}/undo`, { trashAgain: true })
    expect(again.status, again.text).toBe(200)
    expect(again.json).toMatchObject({ undoOf: undo.json.operation, successCount: 2, skippedCount: 1 })
    expect(again.json.skipped).toEqual([
      { id: files[1], name: 'y.txt', kind: 'file', state: 'trashed', reason: 'trashed_again' },
    ])
    expect((await rows([files[0]!, inside, deep])).map((r) => r.state)).toEqual([
      'trashed',
      'trashed',
      'trashed',
    ])
    const op = await api('editor', 'GET', `/operations/${again.json.operation}`)
    expect(op.json).toMatchObject({ action: 'trash', undoOf: undo.json.operation, items: 3 })
    // and that trash is an ordinary trash operation: undoing it restores them
    const back = await api('editor', 'POST', `/operations/${again.json.operation}/undo`, {})
    expect(back.json.successCount, back.text).toBe(2)
  })

  it("a ticket's operations are found and undone by that ticket, not the same user's other sessions", async () => {
    const from = new Date().toISOString()
    const folder = await make('folder', 'Sync', ids.library)
    const bySync: number[] = []
    const byHand: number[] = []
    for (let n = 0; n < 3; n++) bySync.push(await make('file', `sync${n}.txt`, folder))
    for (let n = 0; n < 2; n++) byHand.push(await make('file', `hand${n}.txt`, folder))
    const ticketOf = () => asmxTicket(server.baseUrl, fx.users.editor!)
    const [syncTicket, handTicket] = [await ticketOf(), await ticketOf()]
    const remove = async (ticket: string, name: string) => {
      const answer = await asmx(server.baseUrl, 'GET', 'DeleteDocument', {
        authenticationTicket: ticket,
        Path: `\\Library\\Sync\\${name}`,
      })
      expect(answer.success, answer.text).toBe('true')
    }
    for (let n = 0; n < 3; n++) {
      await remove(syncTicket, `sync${n}.txt`)
      if (n < 2) await remove(handTicket, `hand${n}.txt`)
    }

    // the same user, the same door, the same minutes: only the ticket tells them apart
    const listed = await api('editor', 'GET', `/operations?door=asmx&from=${from}&ticket=${syncTicket}`)
    expect(listed.status, listed.text).toBe(200)
    expect(listed.json.operations).toHaveLength(3)
    const session = listed.json.operations[0].session as string
    expect(session).toMatch(/^[0-9a-f]{12}$/)
    expect(listed.text).not.toContain(syncTicket)
    expect(listed.json.operations.every((op: { session: string }) => op.session === session)).toBe(true)
    const bySession = await api('editor', 'GET', `/operations?door=asmx&from=${from}&session=${session}`)
    expect(bySession.json.operations.map((op: { id: string }) => op.id)).toEqual(
      listed.json.operations.map((op: { id: string }) => op.id),
    )

    const undone = await api('editor', 'POST', '/operations/undo', { ticket: syncTicket, from })
    expect(undone.status, undone.text).toBe(200)
    expect(undone.json).toMatchObject({ operations: 3, successCount: 3, skippedCount: 0 })
    expect((await rows(bySync)).map((r) => r.state)).toEqual(['active', 'active', 'active'])
    expect((await rows(byHand)).map((r) => r.state)).toEqual(['trashed', 'trashed'])
  })
})
