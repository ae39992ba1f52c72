import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { JobService, progressOf } from '../src/core/job-service.js'
import type { UndoJobParams } from '../src/core/ports/job-store.js'
import { usingRealPostgres } from './helpers/db.js'
import { createJobContext, finishedJob, type JobJson, jobResults, startJobServer } from './helpers/jobs.js'
import { restApi } from './helpers/rest.js'
import type { Fixture, TestContext, TestServer } from './helpers/server.js'

/**
 * Bulk jobs: an undo over more units than JOB_THRESHOLD answers 202 with the job's URL and goes on a page per
 * transaction; progress, results, cancel and the take-over of a job whose runner died are observed in the rows.
 */

describe('undo as a bulk job over REST', () => {
  let server: TestServer
  let fx: Fixture

  const api = restApi(
    () => server,
    () => fx,
  )

  const make = async (name: string, parentId: number | null = null) =>
    (
      await server.ctx.admin.createItem(fx.tenantId, {
        kind: 'file',
        name,
        parentId,
        brandId: fx.brandId,
        ownerId: fx.users.editor!.id,
      })
    ).item.id

  async function trashOperation(names: string[]) {
    const folder = (
      await server.ctx.admin.createItem(fx.tenantId, {
        kind: 'folder',
        name: `batch-${names[0]}`,
        brandId: fx.brandId,
      })
    ).item.id
    const ids: number[] = []
    for (const name of names) ids.push(await make(name, folder))
    const trashed = await api('editor', 'POST', '/items/trash', { ids })
    expect(trashed.json.successCount, trashed.text).toBe(names.length)
    const op = (await api('editor', 'GET', '/operations?action=trash&limit=1')).json.operations[0]
    return { ids, folder, op: op.id as string }
  }

  const finished = (role: string, id: string) => finishedJob(api, role, id)

  const states = async (ids: number[]) =>
    (
      await server.database.db.query(
        'select id, name, state from items where tenant_id = $1 and id = any($2::bigint[]) order by id',
        [fx.tenantId, ids],
      )
    ).rows as { id: number; name: string; state: string }[]

  beforeAll(async () => {
    ;({ server, fx } = await startJobServer(4, 'jobs'))
  })

  afterAll(async () => {
    await server?.close()
  })

  it('answers 202 with the job, does it page by page and records it as one undo operation', async () => {
    const names = Array.from({ length: 13 }, (_, i) => `file-${String(i).padStart(2, '0')}.txt`)
    const { ids, folder, op } = await trashOperation(names)
    // since the delete: one restored by hand, and a new file took another's name
    expect((await api('editor', 'POST', '/trash/restore', { ids: [ids[3]] })).status).toBe(200)
    await make('file-05.txt', folder)

    const answer = await api('editor', 'POST', `/operations/${op}/undo`, {})
    expect(answer.status, answer.text).toBe(202)
    const job = answer.json.job as JobJson
    expect(answer.headers.get('location')).toBe(`/api/v1/jobs/${job.id}`)
    expect(job).toMatchObject({ undoOf: op, total: 13 })
    expect(['queued', 'running']).toContain(job.status)

    const done = await finished('editor', job.id)
    expect(done).toMatchObject({
      status: 'succeeded',
      total: 13,
      done: 13,
      outcomes: { ok: 12, warning: 0, error: 0 },
      skippedCount: 1,
      items: 12,
      cancelRequested: false,
    })
    const rows = await states(ids)
    expect(rows.every((row) => row.state === 'active')).toBe(true)
    expect(rows.find((row) => row.id === ids[5])!.name).toBe('file-05 (restored).txt')

    // every unit restored exactly once, under the job's operation, whose row says what it did
    const audit = await server.database.db.query<{ item_id: number; n: number }>(
      `select item_id, count(*)::int as n from audit
        where tenant_id = $1 and operation_id = $2 and action = 'restore' group by item_id`,
      [fx.tenantId, done.operation],
    )
    expect(audit.rows.map((row) => Number(row.item_id)).sort((a, b) => a - b)).toEqual(
      ids.filter((id) => id !== ids[3]).sort((a, b) => a - b),
    )
    expect(audit.rows.every((row) => row.n === 1)).toBe(true)
    const operation = await api('editor', 'GET', `/operations/${done.operation}`)
    expect(operation.status, operation.text).toBe(200)
    expect(operation.json).toMatchObject({
      action: 'undo',
      undoOf: op,
      door: 'rest',
      requested: 13,
      outcomes: { ok: 12, warning: 1, error: 0 },
      items: 12,
    })

    // the results, paged, one per unit in the order the delete made them
    const seen = await jobResults(api, 'editor', job.id, 5)
    expect(seen).toHaveLength(13)
    expect(new Set(seen.map((result) => result.id))).toEqual(new Set(ids))
    expect(seen.find((result) => result.id === ids[3])).toMatchObject({
      outcome: 'skipped',
      reason: 'restored',
    })
    expect(seen.find((result) => result.id === ids[5])).toMatchObject({
      outcome: 'restore',
      status: 'ok',
      renamedTo: 'file-05 (restored).txt',
    })
  })

  it('runs a small undo inline, unless Prefer: respond-async asks for a job', async () => {
    const small = await trashOperation(['s1.txt', 's2.txt'])
    const inline = await api('editor', 'POST', `/operations/${small.op}/undo`, {})
    expect(inline.status, inline.text).toBe(200)
    expect(inline.json.successCount).toBe(2)

    const asked = await trashOperation(['a1.txt', 'a2.txt'])
    const answer = await api(
      'editor',
      'POST',
      `/operations/${asked.op}/undo`,
      {},
      { prefer: 'respond-async' },
    )
    expect(answer.status, answer.text).toBe(202)
    expect(answer.headers.get('preference-applied')).toBe('respond-async')
    expect(await finished('editor', answer.json.job.id)).toMatchObject({ status: 'succeeded', done: 2 })
    expect((await states(asked.ids)).map((row) => row.state)).toEqual(['active', 'active'])
  })

  it("records the job's operation with the session the request came with, as any request's", async () => {
    const { ids, op } = await trashOperation(['t1.txt', 't2.txt'])
    const signedIn = await api('editor', 'POST', '/sessions', {
      login: fx.users.editor!.login,
      password: fx.users.editor!.password,
    })
    expect(signedIn.status, signedIn.text).toBe(201)
    const bearer = { authorization: `Bearer ${signedIn.json.token}` }
    const answer = await api(
      'editor',
      'POST',
      `/operations/${op}/undo`,
      {},
      { prefer: 'respond-async', ...bearer },
    )
    expect(answer.status, answer.text).toBe(202)
    const done = await finished('editor', answer.json.job.id)
    expect(done.status).toBe('succeeded')
    expect((await states(ids)).map((row) => row.state)).toEqual(['active', 'active'])
    // found by the session's ticket, like the session's other operations; its audit rows carry the same tag
    const found = await api('editor', 'GET', `/operations?ticket=${encodeURIComponent(signedIn.json.token)}`)
    expect(found.status, found.text).toBe(200)
    expect(found.json.operations.map((row: { id: string }) => row.id)).toEqual([done.operation])
    const session = found.json.operations[0].session as string
    expect(session).toMatch(/^[0-9a-f]{12}$/)
    const audit = await server.database.db.query<{ event_ticket: string | null }>(
      'select event_ticket from audit where tenant_id = $1 and operation_id = $2',
      [fx.tenantId, done.operation],
    )
    expect(audit.rows.map((row) => row.event_ticket)).toEqual([session, session])
  })

  it('undoes by filter as a job', async () => {
    const from = new Date().toISOString()
    const first = await trashOperation(Array.from({ length: 4 }, (_, i) => `f${i}.txt`))
    const second = await trashOperation(Array.from({ length: 4 }, (_, i) => `g${i}.txt`))
    const answer = await api('admin', 'POST', '/operations/undo', {
      actorLogin: fx.users.editor!.login,
      door: 'rest',
      from,
    })
    expect(answer.status, answer.text).toBe(202)
    expect(answer.json.job).toMatchObject({ total: 8, undoOf: null })
    expect(await finished('admin', answer.json.job.id)).toMatchObject({ status: 'succeeded', done: 8 })
    expect((await states([...first.ids, ...second.ids])).every((row) => row.state === 'active')).toBe(true)
    // the job acted for the administrator who asked: the operation is theirs
    const operation = (await api('admin', 'GET', `/operations/${answer.json.job.operation}`)).json
    expect(operation).toMatchObject({ action: 'undo', actor: { login: fx.users.admin!.login } })
  })

  it('shows a job to whoever started it and to administrators, nobody else', async () => {
    const { op } = await trashOperation(['v1.txt', 'v2.txt'])
    const answer = await api('editor', 'POST', `/operations/${op}/undo`, {}, { prefer: 'respond-async' })
    expect(answer.status, answer.text).toBe(202)
    const id = answer.json.job.id
    await finished('editor', id)
    expect((await api('admin', 'GET', `/jobs/${id}`)).status).toBe(200)
    for (const role of ['viewer', 'purger', 'outsider']) {
      expect((await api(role, 'GET', `/jobs/${id}`)).status, role).toBe(404)
      expect((await api(role, 'GET', `/jobs/${id}/results`)).status, role).toBe(404)
      expect((await api(role, 'POST', `/jobs/${id}/cancel`, {})).status, role).toBe(404)
    }
    expect((await api('editor', 'GET', '/jobs/not-a-job')).status).toBe(404)
  })
})

describe('the job runner', () => {
  let context: TestContext
  let fx: Fixture

  beforeAll(async () => {
    ;({ context, fx } = await createJobContext(3, 'runner'))
  })

  afterAll(async () => {
    await context?.close()
  })

  async function trashed(count: number, prefix: string) {
    const ids: number[] = []
    for (let i = 0; i < count; i++)
      ids.push(
        (
          await context.ctx.admin.createItem(fx.tenantId, {
            kind: 'file',
            name: `${prefix}-${i}.txt`,
            brandId: fx.brandId,
          })
        ).item.id,
      )
    await context.ctx.trash.trash(fx.users.editor!.actor, ids)
    const page = await context.ctx.operations.list(fx.users.editor!.actor, { action: 'trash' }, { limit: 1 })
    return { ids, op: page.operations[0]!.id }
  }

  const trashedCount = async (ids: number[]) =>
    (
      await context.database.db.query<{ n: number }>(
        "select count(*)::int as n from items where id = any($1::bigint[]) and state = 'trashed'",
        [ids],
      )
    ).rows[0]!.n

  it('cancels a queued job at once, and a running one after its page, recording what it did', async () => {
    const actor = fx.users.editor!.actor
    const queued = await trashed(4, 'queued')
    const first = (await context.ctx.operations.undo(actor, queued.op)).job!
    expect((await context.ctx.jobs.cancel(actor, first.id)).status).toBe('cancelled')
    expect(await context.ctx.jobs.drain()).toBe(0)
    expect(await trashedCount(queued.ids)).toBe(4)

    const running = await trashed(10, 'running')
    const job = (await context.ctx.operations.undo(actor, running.op)).job!
    const original = context.ctx.trash.undoJobPage.bind(context.ctx.trash)
    let calls = 0
    const spy = vi.spyOn(context.ctx.trash, 'undoJobPage').mockImplementation(async (...args) => {
      const page = await original(...args)
      if (++calls === 1) await context.ctx.jobs.cancel(actor, job.id)
      return page
    })
    try {
      expect(await context.ctx.jobs.drain()).toBe(1)
    } finally {
      spy.mockRestore()
    }
    const ended = await context.ctx.jobs.get(actor, job.id)
    expect(ended).toMatchObject({ status: 'cancelled', done: 3, okCount: 3, cancelRequested: true })
    expect(await trashedCount(running.ids)).toBe(7)
    const op = await context.ctx.operations.get(actor, job.operationId)
    expect(op).toMatchObject({ action: 'undo', okCount: 3, requested: 3 })
  })

  it('takes over a job whose runner died, from its last committed page, and the dead one cannot commit', async () => {
    const actor = fx.users.editor!.actor
    const { ids, op } = await trashed(8, 'takeover')
    const job = (await context.ctx.operations.undo(actor, op)).job!
    const settings = { threshold: 0, pageSize: 3, leaseSeconds: 1, pollSeconds: 60 }
    const dead = new JobService(context.database.db, context.ctx.trash, settings)
    // the dead runner claims it and commits one page, then stops answering (its lease runs out)
    const claimed = (await context.database.db.stores.jobs.claimJob(dead.owner, 1))!
    expect(claimed.id).toBe(job.id)
    const firstPage = await context.ctx.trash.undoJobPage(
      { id: claimed.operationId, action: 'undo', actor, startedAt: claimed.createdAt, undoOf: op },
      claimed.tenantId,
      (claimed.params as UndoJobParams).operationIds,
      claimed.position!,
      3,
      async (tx, page) => {
        await tx.jobs.advanceJob(claimed.tenantId, claimed.id, dead.owner, progressOf(page), 1)
      },
    )
    expect(firstPage.results).toHaveLength(3)
    // while its lease holds nobody takes the job
    const other = new JobService(context.database.db, context.ctx.trash, settings)
    expect(await other.drain()).toBe(0)
    await new Promise((resolve) => setTimeout(resolve, 1200))
    if (usingRealPostgres()) {
      // the first runner, past its lease, runs one more page: its row held meanwhile, nobody takes the job over
      let claims = -1
      const second = await context.ctx.trash.undoJobPage(
        { id: claimed.operationId, action: 'undo', actor, startedAt: claimed.createdAt, undoOf: op },
        claimed.tenantId,
        (claimed.params as UndoJobParams).operationIds,
        firstPage.next!,
        3,
        async (tx, page) => {
          claims = await other.drain()
          await tx.jobs.advanceJob(claimed.tenantId, claimed.id, dead.owner, progressOf(page), 1)
        },
        async (tx) => {
          expect(await tx.jobs.holdJob(claimed.tenantId, claimed.id, dead.owner)).toBe(true)
        },
      )
      expect(claims).toBe(0)
      expect(second.results).toHaveLength(3)
      await new Promise((resolve) => setTimeout(resolve, 1200))
    }
    expect(await other.drain()).toBe(1)
    const ended = await context.ctx.jobs.get(actor, job.id)
    expect(ended).toMatchObject({ status: 'succeeded', done: 8, okCount: 8, attempts: 2 })
    expect(await trashedCount(ids)).toBe(0)
    const audit = await context.database.db.query<{ n: number }>(
      "select count(*)::int as n from audit where operation_id = $1 and action = 'restore'",
      [job.operationId],
    )
    expect(audit.rows[0]!.n).toBe(8)
    // the dead runner wakes up: its next page is refused
    expect(
      await context.database.db.stores.jobs.advanceJob(
        claimed.tenantId,
        claimed.id,
        dead.owner,
        { position: null, done: 0, ok: 0, warning: 0, error: 0, skipped: 0, items: 0, results: [] },
        1,
      ),
    ).toBeNull()
  })
})
