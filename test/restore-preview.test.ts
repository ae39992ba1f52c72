import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tenantFingerprint } from './helpers/hardening.js'
import { restApi } from './helpers/rest.js'
import { createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

/**
 * POST /trash/restore/preview: per requested id, what the restore of the same body would do (outcome, target
 * folder, new name, folders made again, items), with nothing changed; the restore that follows answers the same.
 */

let server: TestServer
let fx: Fixture
/** a brand the editor may see but not delete or restore in */
let viewOnlyBrand = 0

const MISSING_ID = 2_000_000_000

const api = restApi(
  () => server,
  () => fx,
)

const make = async (
  kind: 'file' | 'folder',
  name: string,
  parentId: number | null,
  brandId: number | null = fx.brandId,
  ownerId = fx.users.editor!.id,
) => (await server.ctx.admin.createItem(fx.tenantId, { kind, name, parentId, brandId, ownerId })).item.id

const trash = async (role: string, ids: number[]) => {
  const answer = await api(role, 'POST', '/items/trash', { ids })
  expect(answer.json.errorCount, answer.text).toBe(0)
}

interface Mix {
  library: number
  plain: number
  taken: number
  lost: number
  forbidden: number
  unit: number
}

/** A fresh library with every kind of unit the preview must answer for, trashed. */
async function makeMix(tag: string): Promise<Mix> {
  const library = await make('folder', `Library ${tag}`, null)
  const plain = await make('file', 'plain.txt', library)
  const taken = await make('file', 'taken.txt', library)
  const gone = await make('folder', 'Gone', library)
  const lost = await make('file', 'lost.txt', gone)
  const forbidden = await make('file', 'forbidden.txt', library, viewOnlyBrand, fx.users.admin!.id)
  const unit = await make('folder', 'Unit', library)
  await make('file', 'one.txt', unit)
  await make('file', 'two.txt', unit)
  await trash('editor', [plain, taken, lost, unit])
  // the original folder of lost.txt goes after it (a unit of its own), and taken.txt's name is taken again
  await trash('editor', [gone])
  await make('file', 'taken.txt', library)
  await trash('admin', [forbidden])
  return { library, plain, taken, lost, forbidden, unit }
}

const fingerprint = () => tenantFingerprint(server.database.db, fx.tenantId, { operations: true })

const stateOf = async (ids: number[]) =>
  (
    await server.database.db.query(
      'select id, name, state, parent_id from items where tenant_id = $1 and id = any($2::bigint[]) order by id',
      [fx.tenantId, ids],
    )
  ).rows

/** The fields a restore answers per id; the preview answers them too, and adds where the unit goes. */
const restoreFields = (result: Record<string, unknown>) => {
  const { targetFolder: _targetFolder, ...rest } = result
  return rest
}

beforeAll(async () => {
  server = await startTestServer()
  fx = await createFixture(server.ctx, 'rp')
  viewOnlyBrand = await server.ctx.admin.createBrand(fx.tenantId, 'rp view only')
  await server.ctx.admin.setAccess(fx.tenantId, viewOnlyBrand, fx.users.editor!.id, {
    view: true,
    delete: false,
    purge: false,
  })
}, 120_000)

afterAll(async () => {
  await server?.close()
})

describe('POST /trash/restore/preview', () => {
  it.each([
    'recreate',
    'error',
  ] as const)('answers per id what the restore would do (onMissingParent %s), changes nothing, and the restore then does it', async (onMissingParent) => {
    const mix = await makeMix(onMissingParent)
    const ids = [mix.plain, mix.taken, mix.lost, mix.forbidden, MISSING_ID, mix.unit]
    const body = { ids, onMissingParent }
    const before = await fingerprint()
    const rowsBefore = await stateOf(ids)

    const preview = await api('editor', 'POST', '/trash/restore/preview', body)
    expect(preview.status, preview.text).toBe(200)
    expect(await fingerprint()).toEqual(before)
    expect(await stateOf(ids)).toEqual(rowsBefore)

    const byId = new Map(preview.json.results.map((result: { id: number }) => [result.id, result]))
    expect(preview.json.results.map((result: { id: number }) => result.id)).toEqual(ids)
    expect(preview.json.preview).toBe(true)
    const libraryFolder = { id: mix.library, path: `/Library ${onMissingParent}` }
    expect(byId.get(mix.plain)).toEqual({
      id: mix.plain,
      status: 'ok',
      name: 'plain.txt',
      kind: 'file',
      affected: 1,
      targetFolder: libraryFolder,
    })
    expect(byId.get(mix.taken)).toEqual({
      id: mix.taken,
      status: 'ok',
      name: 'taken.txt',
      kind: 'file',
      affected: 1,
      renamedTo: 'taken (restored).txt',
      message: 'Restored as taken (restored).txt',
      targetFolder: libraryFolder,
    })
    if (onMissingParent === 'recreate')
      expect(byId.get(mix.lost)).toEqual({
        id: mix.lost,
        status: 'ok',
        name: 'lost.txt',
        kind: 'file',
        affected: 1,
        recreatedFolders: [`/Library ${onMissingParent}/Gone`],
        // a folder the restore would make has no id yet
        targetFolder: { id: null, path: `/Library ${onMissingParent}/Gone` },
      })
    else
      expect(byId.get(mix.lost)).toMatchObject({
        id: mix.lost,
        status: 'error',
        code: 'ORIGINAL_LOCATION_GONE',
      })
    expect(byId.get(mix.forbidden)).toMatchObject({ status: 'error', code: 'ACCESS_DENIED' })
    expect(byId.get(mix.forbidden)).not.toHaveProperty('targetFolder')
    expect(byId.get(MISSING_ID)).toMatchObject({ status: 'error', code: 'NOT_FOUND' })
    expect(byId.get(mix.unit)).toEqual({
      id: mix.unit,
      status: 'ok',
      name: 'Unit',
      kind: 'folder',
      affected: 3,
      targetFolder: libraryFolder,
    })
    const errors = onMissingParent === 'error' ? 3 : 2
    expect(preview.json).toMatchObject({ successCount: 6 - errors, warningCount: 0, errorCount: errors })

    // the restore of the same body: the same answer, field by field, less where the units went
    const restore = await api('editor', 'POST', '/trash/restore', body)
    expect(restore.status, restore.text).toBe(200)
    const { preview: _preview, ...previewBatch } = preview.json
    expect(restore.json).toEqual({
      ...previewBatch,
      results: preview.json.results.map(restoreFields),
    })
    // and the units are where the preview said
    const restored = await stateOf([mix.plain, mix.taken, mix.unit, mix.lost])
    const parentOf = new Map(restored.map((row) => [row.id, row]))
    for (const id of [mix.plain, mix.taken, mix.unit])
      expect(parentOf.get(id)).toMatchObject({ state: 'active', parent_id: mix.library })
    expect(parentOf.get(mix.taken)!.name).toBe('taken (restored).txt')
    if (onMissingParent === 'recreate') {
      const lost = parentOf.get(mix.lost)!
      expect(lost.state).toBe('active')
      // in a Gone made again in the library
      expect(await stateOf([lost.parent_id])).toEqual([
        { id: lost.parent_id, name: 'Gone', state: 'active', parent_id: mix.library },
      ])
    } else expect(parentOf.get(mix.lost)!.state).toBe('trashed')
  })

  it('into a target folder: the target is the one named; a target the user may not change refuses every id', async () => {
    const mix = await makeMix('target')
    const target = await make('folder', 'Target', mix.library)
    const ids = [mix.plain, mix.lost]
    const body = { ids, targetFolderId: target }
    const before = await fingerprint()
    const preview = await api('editor', 'POST', '/trash/restore/preview', body)
    expect(preview.status, preview.text).toBe(200)
    expect(await fingerprint()).toEqual(before)
    for (const result of preview.json.results)
      expect(result).toMatchObject({
        status: 'ok',
        targetFolder: { id: target, path: '/Library target/Target' },
      })

    const closed = await make('folder', 'Closed', mix.library, viewOnlyBrand, fx.users.admin!.id)
    const refused = await api('editor', 'POST', '/trash/restore/preview', { ids, targetFolderId: closed })
    expect(refused.json.results.map((result: { code: string }) => result.code)).toEqual([
      'ACCESS_DENIED',
      'ACCESS_DENIED',
    ])

    const restore = await api('editor', 'POST', '/trash/restore', body)
    const { preview: _preview, ...previewBatch } = preview.json
    expect(restore.json).toEqual({ ...previewBatch, results: preview.json.results.map(restoreFields) })
  })

  it('is refused for a malformed body as the restore is, and without credentials', async () => {
    const malformed = await api('editor', 'POST', '/trash/restore/preview', { ids: 'x' })
    expect(malformed.status).toBe(422)
    expect(malformed.status).toBe((await api('editor', 'POST', '/trash/restore', { ids: 'x' })).status)
    const anonymous = await fetch(`${server.baseUrl}/api/v1/trash/restore/preview`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ids: [1] }),
    })
    expect(anonymous.status).toBe(401)
  })
})
