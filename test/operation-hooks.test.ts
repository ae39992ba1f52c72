import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { ErrorCodes } from '../src/core/errors.js'
import {
  type ConnectorObject,
  type ConnectorOperation,
  type ConnectorRequest,
  type ConnectorResponse,
  type HandledObject,
  type OperationName,
  type OperationRequest,
  type OperationResponse,
  PluginHost,
  type ServerPlugin,
} from '../src/core/plugins.js'
import { articleFile } from './helpers/items.js'
import { basicAuth, createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

// The plug-ins' hooks are the core's: they run around a trash, restore or purge request of any door.

let server: TestServer
let f: Fixture

beforeAll(async () => {
  server = await startTestServer()
  f = await createFixture(server.ctx, 'oh')
})

afterAll(async () => {
  await server?.close()
})

const item = (name: string, fixture = f) => articleFile(server.ctx, fixture, name)

async function rest(url: string, body: unknown) {
  const response = await server.app.inject({
    method: 'POST',
    url,
    headers: { authorization: basicAuth(f.users.purger!) },
    payload: body as object,
  })
  return { status: response.statusCode, body: response.json() }
}

describe('operation hooks', () => {
  it('run once per REST request around trash, restore and purge, with the door on the actor', async () => {
    const calls: { hook: string; request: ConnectorRequest; response?: ConnectorResponse }[] = []
    const original = server.ctx.plugins
    server.ctx.plugins = new PluginHost([
      {
        name: 'recorder',
        before: (request) => {
          calls.push({ hook: 'before', request })
          return request.ids.includes(vetoed) ? { veto: 'not this one' } : undefined
        },
        after: (request, response) => {
          calls.push({ hook: 'after', request, response })
        },
      },
    ])
    const [one, two, vetoed] = [await item('hooked one'), await item('hooked two'), await item('vetoed')]
    try {
      expect((await rest('/api/v1/items/trash', { ids: [one, two] })).status).toBe(200)
      expect((await rest('/api/v1/trash/restore', { ids: [two] })).status).toBe(200)
      expect((await rest('/api/v1/trash/purge', { ids: [one] })).status).toBe(200)
      const refused = await rest('/api/v1/items/trash', { ids: [vetoed] })
      expect(refused.status).toBeGreaterThanOrEqual(400)
      expect(JSON.stringify(refused.body)).toContain('not this one')

      expect(
        calls.map(({ hook, request }) => [
          hook,
          request.operation,
          request.permanent,
          request.areas,
          request.ids,
          request.actor.door,
        ]),
      ).toEqual([
        ['before', 'DeleteObjects', false, ['Workflow'], [one, two], 'rest'],
        ['after', 'DeleteObjects', false, ['Workflow'], [one, two], 'rest'],
        ['before', 'RestoreObjects', false, ['Trash'], [two], 'rest'],
        ['after', 'RestoreObjects', false, ['Trash'], [two], 'rest'],
        ['before', 'DeleteObjects', true, ['Trash'], [one], 'rest'],
        ['after', 'DeleteObjects', true, ['Trash'], [one], 'rest'],
        ['before', 'DeleteObjects', false, ['Workflow'], [vetoed], 'rest'],
      ])
      const afterTrash = calls[1]!.response!
      expect(afterTrash.ids).toEqual([one, two])
      expect(afterTrash.objects?.map((o) => o.MetaData.WorkflowMetaData.Deletor)).toEqual([
        f.users.purger!.login,
        f.users.purger!.login,
      ])
      const state = await server.ctx.trash.get(f.users.admin!.actor, vetoed)
      expect(state?.state).toBe('active')
    } finally {
      server.ctx.plugins = original
    }
  })

  /** Runs `body` with a plug-in that records every hook and vetoes requests naming `vetoed`. */
  async function recording(vetoed: number[], body: (calls: Call[]) => Promise<void>) {
    const calls: Call[] = []
    const original = server.ctx.plugins
    server.ctx.plugins = new PluginHost([
      {
        name: 'recorder',
        before: (request) => {
          calls.push({ hook: 'before', request })
          return request.ids.some((id) => vetoed.includes(id)) ? { veto: 'not these' } : undefined
        },
        after: (request, response) => {
          calls.push({ hook: 'after', request, response })
        },
      },
    ])
    try {
      await body(calls)
    } finally {
      server.ctx.plugins = original
    }
  }
  type Call = { hook: string; request: ConnectorRequest; response?: ConnectorResponse }
  const shape = (calls: Call[]) =>
    calls.map(({ hook, request }) => [
      hook,
      request.action,
      request.operation,
      request.permanent,
      request.areas,
      [...request.ids].sort((a, b) => a - b),
      request.dryRun ?? false,
    ])
  const stateOf = async (id: number) =>
    (await server.ctx.trash.get(f.users.admin!.actor, id))?.state ?? 'gone'
  const vetoedWith = (promise: Promise<unknown>) =>
    expect(promise).rejects.toMatchObject({ code: ErrorCodes.VETOED, message: 'not these' })

  it('run around an empty (trashed to emptied) as a permanent delete from the Trash; a veto empties nothing', async () => {
    const actor = f.users.purger!.actor
    const [one, vetoed] = [await item('empty one'), await item('empty vetoed')]
    await server.ctx.trash.trash(actor, [one, vetoed])
    await recording([vetoed], async (calls) => {
      await server.ctx.trash.empty(actor, [one])
      await vetoedWith(server.ctx.trash.empty(actor, [vetoed]))
      expect(shape(calls)).toEqual([
        ['before', 'empty', 'DeleteObjects', true, ['Trash'], [one], false],
        ['after', 'empty', 'DeleteObjects', true, ['Trash'], [one], false],
        ['before', 'empty', 'DeleteObjects', true, ['Trash'], [vetoed], false],
      ])
      expect(calls[1]!.response!.objects?.map((o) => o.MetaData.BasicMetaData.ID)).toEqual([String(one)])
    })
    expect([await stateOf(one), await stateOf(vetoed)]).toEqual(['emptied', 'trashed'])
  })

  it("run around an empty of the actor's own bin with the bin's units; a veto purges nothing", async () => {
    // the fixture's administrator deletes nothing else: its bin holds these two alone
    const actor = f.users.admin!.actor
    const [one, two] = [await item('own bin one'), await item('own bin two')]
    await server.ctx.trash.trash(actor, [one, two])
    await recording([two], async (calls) => {
      await vetoedWith(server.ctx.trash.emptyOwnBin(actor))
      expect([await stateOf(one), await stateOf(two)]).toEqual(['trashed', 'trashed'])
      expect(shape(calls)).toEqual([
        ['before', 'emptyOwnBin', 'DeleteObjects', true, ['Trash'], [one, two], false],
      ])
    })
    await server.ctx.trash.restore(actor, [two])
    await recording([], async (calls) => {
      const outcome = await server.ctx.trash.emptyOwnBin(actor)
      expect(outcome.failed).toEqual([])
      expect(shape(calls)).toEqual([
        ['before', 'emptyOwnBin', 'DeleteObjects', true, ['Trash'], [one], false],
        ['after', 'emptyOwnBin', 'DeleteObjects', true, ['Trash'], [one], false],
      ])
      expect(calls[1]!.response!.objects?.map((o) => o.MetaData.WorkflowMetaData.Deletor)).toEqual([
        actor.login,
      ])
    })
    expect([await stateOf(one), await stateOf(two)]).toEqual(['gone', 'active'])
  })

  it('run around an undo with the units still in the trash; its preview runs the before-hooks alone, dryRun set', async () => {
    const actor = f.users.purger!.actor
    const [one, two, kept] = [await item('undo one'), await item('undo two'), await item('undo vetoed')]
    const trashed = randomUUID()
    await server.ctx.trash.trash(actor, [one, two], { operationId: trashed })
    await server.ctx.trash.purge(actor, [two])
    const refused = randomUUID()
    await server.ctx.trash.trash(actor, [kept], { operationId: refused })
    await recording([kept], async (calls) => {
      expect((await server.ctx.operations.undo(actor, trashed, { dryRun: true })).results).toHaveLength(1)
      expect(await stateOf(one)).toBe('trashed')
      await server.ctx.operations.undo(actor, trashed)
      await vetoedWith(server.ctx.operations.undo(actor, refused, { dryRun: true }))
      await vetoedWith(server.ctx.operations.undo(actor, refused))
      // an undo asked as a job is refused before it is recorded
      await vetoedWith(server.ctx.operations.undo(actor, refused, { job: true }))
      expect(shape(calls)).toEqual([
        ['before', 'undo', 'RestoreObjects', false, ['Trash'], [one], true],
        ['before', 'undo', 'RestoreObjects', false, ['Trash'], [one], false],
        ['after', 'undo', 'RestoreObjects', false, ['Trash'], [one], false],
        ['before', 'undo', 'RestoreObjects', false, ['Trash'], [kept], true],
        ['before', 'undo', 'RestoreObjects', false, ['Trash'], [kept], false],
        ['before', 'undo', 'RestoreObjects', false, ['Trash'], [kept], false],
      ])
    })
    expect([await stateOf(one), await stateOf(kept)]).toEqual(['active', 'trashed'])
  })

  it('run after each page of an undo job once it committed', async () => {
    const actor = f.users.purger!.actor
    const one = await item('undo job one')
    const trashed = randomUUID()
    await server.ctx.trash.trash(actor, [one], { operationId: trashed })
    await recording([], async (calls) => {
      const { job } = await server.ctx.operations.undo(actor, trashed, { job: true })
      expect(job).toBeDefined()
      await expect
        .poll(() => shape(calls))
        .toEqual([
          ['before', 'undo', 'RestoreObjects', false, ['Trash'], [one], false],
          ['after', 'undo', 'RestoreObjects', false, ['Trash'], [one], false],
        ])
      expect(calls[1]!.request.actor.login).toBe(actor.login)
    })
    expect(await stateOf(one)).toBe('active')
  })

  it('run around restore, empty and purge jobs as around the same requests inline: before when asked (a veto records no job), after each page', async () => {
    const actor = f.users.purger!.actor
    const [restored, emptied, purged, vetoed] = [
      await item('job restore'),
      await item('job empty'),
      await item('job purge'),
      await item('job vetoed'),
    ]
    await server.ctx.trash.trash(actor, [restored, emptied, purged, vetoed])
    const jobs = server.ctx.jobs
    await recording([vetoed], async (calls) => {
      // each asked as a job (Prefer: respond-async) and done by the server's runner, one after the other
      const restore = await jobs.enqueueIfLarge(actor, 'restore', [restored], {}, true)
      await expect.poll(() => calls.length).toBe(2)
      const empty = await jobs.enqueueIfLarge(actor, 'empty', [emptied], {}, true)
      await expect.poll(() => calls.length).toBe(4)
      const purge = await jobs.enqueueIfLarge(actor, 'purge', [purged], {}, true)
      await expect.poll(() => calls.length).toBe(6)
      expect([restore, empty, purge].every((job) => job !== null)).toBe(true)
      await vetoedWith(jobs.enqueueIfLarge(actor, 'purge', [vetoed], {}, true))
      expect(shape(calls)).toEqual([
        ['before', 'restore', 'RestoreObjects', false, ['Trash'], [restored], false],
        ['after', 'restore', 'RestoreObjects', false, ['Trash'], [restored], false],
        ['before', 'empty', 'DeleteObjects', true, ['Trash'], [emptied], false],
        ['after', 'empty', 'DeleteObjects', true, ['Trash'], [emptied], false],
        ['before', 'purge', 'DeleteObjects', true, ['Trash'], [purged], false],
        ['after', 'purge', 'DeleteObjects', true, ['Trash'], [purged], false],
        ['before', 'purge', 'DeleteObjects', true, ['Trash'], [vetoed], false],
      ])
      // the purge's after-hook sees the object as it was before it went (read before the page ran)
      expect(calls[5]!.response!.objects?.map((o) => o.MetaData.BasicMetaData.ID)).toEqual([String(purged)])
      expect(calls.slice(0, 6).every((call) => call.request.actor.login === actor.login)).toBe(true)
    })
    const vetoedJobs = await server.database.db.query<{ n: number }>(
      `select count(*)::int as n from jobs where tenant_id = $1 and params->'ids' @> $2::jsonb`,
      [f.tenantId, JSON.stringify([vetoed])],
    )
    expect(vetoedJobs.rows[0]!.n).toBe(0)
    expect([
      await stateOf(restored),
      await stateOf(emptied),
      await stateOf(purged),
      await stateOf(vetoed),
    ]).toEqual(['active', 'emptied', 'gone', 'trashed'])
  })

  it('run the before-hooks alone around a restore preview (dryRun set); a veto refuses the preview', async () => {
    const actor = f.users.purger!.actor
    const [one, vetoed] = [await item('preview one'), await item('preview vetoed')]
    await server.ctx.trash.trash(actor, [one, vetoed])
    await recording([vetoed], async (calls) => {
      expect((await server.ctx.trash.previewRestore(actor, [one]))[0]!.status).toBe('ok')
      await vetoedWith(server.ctx.trash.previewRestore(actor, [vetoed]))
      expect(shape(calls)).toEqual([
        ['before', 'restore', 'RestoreObjects', false, ['Trash'], [one], true],
        ['before', 'restore', 'RestoreObjects', false, ['Trash'], [vetoed], true],
      ])
    })
    expect([await stateOf(one), await stateOf(vetoed)]).toEqual(['trashed', 'trashed'])
  })

  it("run around each of the cleanup job's batches, door 'cleanup'; a veto keeps the batch for the next run", async () => {
    // a tenant of its own: nothing else of it is due
    const g = await createFixture(server.ctx, 'ohc')
    const actor = g.users.purger!.actor
    const one = await item('cleanup one', g)
    await server.ctx.trash.trash(actor, [one])
    await server.ctx.trash.empty(actor, [one])
    await recording([one], async (calls) => {
      const report = (await server.ctx.cleanup.run({ trigger: 'cli', tenantId: g.tenantId }))!
      expect(report.errors).toEqual([
        expect.objectContaining({ id: one, code: ErrorCodes.VETOED, message: 'not these' }),
      ])
      expect(await server.ctx.trash.get(g.users.admin!.actor, one)).toMatchObject({ state: 'emptied' })
      expect(shape(calls)).toEqual([['before', 'cleanup', 'DeleteObjects', true, ['Trash'], [one], false]])
      expect(calls[0]!.request.actor).toMatchObject({ tenantId: g.tenantId, door: 'cleanup' })
    })
    await recording([], async (calls) => {
      const report = (await server.ctx.cleanup.run({ trigger: 'cli', tenantId: g.tenantId }))!
      expect(report.errors).toEqual([])
      expect(report.run.purged).toBeGreaterThanOrEqual(1)
      expect(shape(calls)).toEqual([
        ['before', 'cleanup', 'DeleteObjects', true, ['Trash'], [one], false],
        ['after', 'cleanup', 'DeleteObjects', true, ['Trash'], [one], false],
      ])
      expect(calls[1]!.response!.objects?.map((o) => o.MetaData.BasicMetaData.Name)).toEqual(['cleanup one'])
    })
    expect(await server.ctx.trash.get(g.users.admin!.actor, one)).toBeNull()
  })

  it('take door-neutral type names; the Enterprise-named ones of earlier releases are the same types', async () => {
    expectTypeOf<ConnectorRequest>().toEqualTypeOf<OperationRequest>()
    expectTypeOf<ConnectorResponse>().toEqualTypeOf<OperationResponse>()
    expectTypeOf<ConnectorObject>().toEqualTypeOf<HandledObject>()
    expectTypeOf<ConnectorOperation>().toEqualTypeOf<OperationName>()
    const requests: OperationRequest[] = []
    const handled: HandledObject[] = []
    const neutral: ServerPlugin = {
      name: 'neutral',
      before: (request: OperationRequest) => {
        requests.push(request)
        return undefined
      },
      after: (_request: OperationRequest, response: OperationResponse) => {
        handled.push(...(response.objects ?? []))
      },
    }
    const original = server.ctx.plugins
    server.ctx.plugins = new PluginHost([neutral])
    try {
      const one = await item('neutral names')
      expect((await rest('/api/v1/items/trash', { ids: [one] })).status).toBe(200)
      expect(requests.map((request) => [request.action, request.operation, request.ids])).toEqual([
        ['trash', 'DeleteObjects', [one]],
      ])
      expect(handled.map((object) => object.MetaData.BasicMetaData.ID)).toEqual([String(one)])
    } finally {
      server.ctx.plugins = original
    }
  })
})
