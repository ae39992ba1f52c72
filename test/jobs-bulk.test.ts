import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createJobContext, finishedJob, type JobJson, jobResults, startJobServer } from './helpers/jobs.js'
import { restApi } from './helpers/rest.js'
import type { Fixture, TestContext, TestServer } from './helpers/server.js'

/**
 * A restore, empty or purge over more items than JOB_THRESHOLD (5 here), or asked with `Prefer: respond-async`,
 * runs as a bulk job like an undo: 202 with the job's URL, progress, results paged in the request's order, one
 * operation of the request's action; a smaller one answers inline as before. The job acts with the user's rights
 * as they are when each page runs.
 */

describe('restore, empty and purge as bulk jobs over REST', () => {
  let server: TestServer
  let fx: Fixture

  const api = restApi(
    () => server,
    () => fx,
  )

  const make = async (
    kind: 'file' | 'folder',
    name: string,
    parentId: number | null = null,
    brandId = fx.brandId,
  ) =>
    (
      await server.ctx.admin.createItem(fx.tenantId, {
        kind,
        name,
        parentId,
        brandId,
        ownerId: fx.users.editor!.id,
        ...(kind === 'file' ? { content: Buffer.from(name) } : {}),
      })
    ).item.id

  /** `count` files trashed one request each (so that each is a unit of its own) by the editor. */
  async function trashedFiles(prefix: string, count: number) {
    const ids: number[] = []
    for (let n = 0; n < count; n++) ids.push(await make('file', `${prefix}-${n}.txt`))
    expect((await api('editor', 'POST', '/items/trash', { ids })).json.successCount).toBe(count)
    return ids
  }

  const finished = (role: string, id: string) => finishedJob(api, role, id)

  const results = (role: string, id: string) => jobResults(api, role, id, 4)

  const states = async (ids: number[]) =>
    (
      await server.database.db.query<{ id: string; state: string }>(
        'select id, state from items where tenant_id = $1 and id = any($2::bigint[]) order by id',
        [fx.tenantId, ids],
      )
    ).rows.map((row) => row.state)

  beforeAll(async () => {
    ;({ server, fx } = await startJobServer(3, 'bulk'))
  })

  afterAll(async () => {
    await server?.close()
  })

  it('restores more ids than the threshold as a job: 202, pages, results in the order asked, one restore operation', async () => {
    const ids = await trashedFiles('r', 7)
    // one the editor may not restore: a brand without rights, trashed by an administrator
    const other = await server.ctx.admin.createBrand(fx.tenantId, 'bulk other brand')
    const foreign = await make('file', 'foreign.txt', null, other)
    await server.ctx.trash.trash(fx.users.admin!.actor, [foreign])
    const asked = [...ids, foreign]

    const answer = await api('editor', 'POST', '/trash/restore', { ids: asked })
    expect(answer.status, answer.text).toBe(202)
    const job = answer.json.job as JobJson
    expect(answer.headers.get('location')).toBe(`/api/v1/jobs/${job.id}`)
    expect(job).toMatchObject({ kind: 'restore', total: 8 })

    const done = await finished('editor', job.id)
    expect(done).toMatchObject({
      kind: 'restore',
      status: 'succeeded',
      done: 8,
      outcomes: { ok: 7, warning: 0, error: 1 },
      items: 7,
    })
    expect(await states(ids)).toEqual(ids.map(() => 'active'))
    expect(await states([foreign])).toEqual(['trashed'])
    const seen = await results('editor', job.id)
    expect(seen.map((result) => result.id)).toEqual(asked)
    expect(seen.every((result) => result.outcome === 'restore')).toBe(true)
    expect(seen[7]).toMatchObject({ status: 'error', code: 'ACCESS_DENIED' })

    const operation = await api('editor', 'GET', `/operations/${done.operation}`)
    expect(operation.status, operation.text).toBe(200)
    expect(operation.json).toMatchObject({
      action: 'restore',
      door: 'rest',
      requested: 8,
      outcomes: { ok: 7, warning: 0, error: 1 },
      items: 7,
    })
    const audit = await server.database.db.query<{ n: number }>(
      "select count(*)::int as n from audit where tenant_id = $1 and operation_id = $2 and action = 'restore'",
      [fx.tenantId, done.operation],
    )
    expect(audit.rows[0]!.n).toBe(7)
  })

  it('counts the items of the units asked for: one folder of more items than the threshold is a job, two files are not', async () => {
    // top-level folders are the administrators': the editor's folder is in one
    const library = (await server.ctx.admin.createItem(fx.tenantId, { kind: 'folder', name: 'lib' })).item.id
    const folder = await make('folder', 'big', library)
    const inside: number[] = []
    for (let n = 0; n < 6; n++) inside.push(await make('file', `in-${n}.txt`, folder))
    expect((await api('editor', 'POST', '/items/trash', { ids: [folder] })).json.successCount).toBe(1)
    const answer = await api('editor', 'POST', '/trash/restore', { ids: [folder] })
    expect(answer.status, answer.text).toBe(202)
    expect(await finished('editor', answer.json.job.id)).toMatchObject({
      status: 'succeeded',
      done: 1,
      items: 7,
    })
    expect(await states([folder, ...inside])).toEqual([folder, ...inside].map(() => 'active'))

    const small = await trashedFiles('small', 2)
    const inline = await api('editor', 'POST', '/trash/restore', { ids: small })
    expect(inline.status, inline.text).toBe(200)
    expect(inline.json.successCount).toBe(2)
  })

  it('empties and purges as jobs when asked with Prefer: respond-async', async () => {
    // emptying, like purging, needs the purge right: the purger's files
    const emptied: number[] = []
    for (let n = 0; n < 2; n++) emptied.push(await make('file', `e-${n}.txt`))
    await server.ctx.trash.trash(fx.users.purger!.actor, emptied)
    const empty = await api('purger', 'POST', '/trash/empty', { ids: emptied }, { prefer: 'respond-async' })
    expect(empty.status, empty.text).toBe(202)
    expect(empty.headers.get('preference-applied')).toBe('respond-async')
    expect(await finished('purger', empty.json.job.id)).toMatchObject({
      kind: 'empty',
      status: 'succeeded',
      outcomes: { ok: 2, warning: 0, error: 0 },
    })
    expect(await states(emptied)).toEqual(['emptied', 'emptied'])
    expect((await results('purger', empty.json.job.id)).map((result) => result.outcome)).toEqual([
      'empty',
      'empty',
    ])

    // the purger's files, with stored content
    const purged: number[] = []
    for (let n = 0; n < 4; n++) purged.push(await make('file', `p-${n}.txt`))
    await server.ctx.trash.trash(fx.users.purger!.actor, purged)
    const purge = await api('purger', 'POST', '/trash/purge', { ids: purged }, { prefer: 'respond-async' })
    expect(purge.status, purge.text).toBe(202)
    const done = await finished('purger', purge.json.job.id)
    expect(done).toMatchObject({
      kind: 'purge',
      status: 'succeeded',
      outcomes: { ok: 4, warning: 0, error: 0 },
    })
    expect(await states(purged)).toEqual([])
    expect((await results('purger', purge.json.job.id)).map((result) => result.outcome)).toEqual(
      purged.map(() => 'purge'),
    )
    const operation = await api('purger', 'GET', `/operations/${done.operation}`)
    expect(operation.json).toMatchObject({ action: 'purge', outcomes: { ok: 4, error: 0 } })

    // without the right, a purge job refuses every id and changes nothing
    const kept = await trashedFiles('k', 2)
    const refused = await api('editor', 'POST', '/trash/purge', { ids: kept }, { prefer: 'respond-async' })
    expect(refused.status, refused.text).toBe(202)
    expect(await finished('editor', refused.json.job.id)).toMatchObject({ outcomes: { ok: 0, error: 2 } })
    expect(await states(kept)).toEqual(['trashed', 'trashed'])
  })
})

describe('a bulk job re-checks the rights on every page', () => {
  let context: TestContext
  let fx: Fixture

  beforeAll(async () => {
    ;({ context, fx } = await createJobContext(2, 'bulkrights'))
  })

  afterAll(async () => {
    await context?.close()
  })

  it('refuses the pages after the user lost the right, keeping what the pages before did', async () => {
    const editor = fx.users.editor!.actor
    const ids: number[] = []
    for (let n = 0; n < 5; n++)
      ids.push(
        (
          await context.ctx.admin.createItem(fx.tenantId, {
            kind: 'file',
            name: `lost-${n}.txt`,
            brandId: fx.brandId,
            ownerId: fx.users.admin!.id,
          })
        ).item.id,
      )
    await context.ctx.trash.trash(fx.users.admin!.actor, ids)
    const job = (await context.ctx.jobs.enqueueIfLarge(editor, 'restore', ids, {}, false))!
    expect(job).toMatchObject({ kind: 'restore', total: 5 })
    const original = context.ctx.trash.idsJobPage.bind(context.ctx.trash)
    let pages = 0
    const spy = vi.spyOn(context.ctx.trash, 'idsJobPage').mockImplementation(async (...args) => {
      const page = await original(...args)
      // after the first page an administrator takes the brand's delete right away
      if (++pages === 1)
        await context.ctx.admin.setAccess(fx.tenantId, fx.brandId, editor.userId, {
          view: true,
          delete: false,
          purge: false,
        })
      return page
    })
    try {
      expect(await context.ctx.jobs.drain()).toBe(1)
    } finally {
      spy.mockRestore()
    }
    expect(pages).toBe(3)
    expect(await context.ctx.jobs.get(editor, job.id)).toMatchObject({
      status: 'succeeded',
      done: 5,
      okCount: 2,
      errorCount: 3,
    })
    const codes = (await context.ctx.jobs.results(editor, job.id, 0, 10)).results.map((result) =>
      'status' in result ? result.status === 'ok' || result.code : null,
    )
    expect(codes).toEqual([true, true, 'ACCESS_DENIED', 'ACCESS_DENIED', 'ACCESS_DENIED'])
    const rows = await context.database.db.query<{ state: string }>(
      'select state from items where tenant_id = $1 and id = any($2::bigint[]) order by id',
      [fx.tenantId, ids],
    )
    expect(rows.rows.map((row) => row.state)).toEqual(['active', 'active', 'trashed', 'trashed', 'trashed'])
  })

  it("turns a purge job's result into STORAGE_FAILURE when a unit's stored file cannot be removed after its page committed", async () => {
    const purger = fx.users.purger!.actor
    const ids: number[] = []
    for (let n = 0; n < 3; n++)
      ids.push(
        (
          await context.ctx.admin.createItem(fx.tenantId, {
            kind: 'file',
            name: `stuck-${n}.bin`,
            brandId: fx.brandId,
            content: Buffer.from(`stuck ${n}`),
          })
        ).item.id,
      )
    await context.ctx.trash.trash(purger, ids)
    const stuck = (
      await context.database.db.query<{ blob_key: string }>(
        'select blob_key from items where tenant_id = $1 and id = $2',
        [fx.tenantId, ids[1]],
      )
    ).rows[0]!.blob_key
    const job = (await context.ctx.jobs.enqueueIfLarge(purger, 'purge', ids, {}, true))!
    // the store cannot remove the second file: its unit's purge is reverted after the page committed
    const deleteMany = context.ctx.blobs.deleteMany.bind(context.ctx.blobs)
    const spy = vi
      .spyOn(context.ctx.blobs, 'deleteMany')
      .mockImplementation(async (keys) => [
        ...(await deleteMany(keys.filter((key) => key !== stuck))),
        ...keys.filter((key) => key === stuck).map((key) => ({ key, message: 'device busy' })),
      ])
    try {
      expect(await context.ctx.jobs.drain()).toBe(1)
    } finally {
      spy.mockRestore()
    }
    // two pages (2 ids, then 1): the first page's second result was corrected, the counts with it
    expect(await context.ctx.jobs.get(purger, job.id)).toMatchObject({
      status: 'succeeded',
      done: 3,
      okCount: 2,
      errorCount: 1,
    })
    const results = (await context.ctx.jobs.results(purger, job.id, 0, 10)).results
    expect(results.map((result) => ('status' in result ? result.status : null))).toEqual([
      'ok',
      'error',
      'ok',
    ])
    expect(results[1]).toMatchObject({ outcome: 'purge', id: ids[1], code: 'STORAGE_FAILURE' })
    expect(await context.ctx.operations.get(purger, job.operationId)).toMatchObject({
      action: 'purge',
      okCount: 2,
      errorCount: 1,
    })
    const rows = await context.database.db.query<{ id: string }>(
      'select id from items where tenant_id = $1 and id = any($2::bigint[]) order by id',
      [fx.tenantId, ids],
    )
    // the unit whose file stayed is kept (to be purged again); the others are gone
    expect(rows.rows.map((row) => Number(row.id))).toEqual([ids[1]])
  })
})
