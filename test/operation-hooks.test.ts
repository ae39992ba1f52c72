import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ConnectorRequest, type ConnectorResponse, PluginHost } from '../src/core/plugins.js'
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

async function item(name: string) {
  return (
    await server.ctx.admin.createItem(f.tenantId, {
      kind: 'file',
      name,
      type: 'Article',
      brandId: f.brandId,
      content: Buffer.from(name),
    })
  ).item.id
}

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
})
