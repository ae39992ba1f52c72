import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config.js'
import { type AppContext, createContext } from '../src/context.js'
import {
  type ConnectorRequest,
  type ConnectorResponse,
  loadPlugins,
  type ServerPlugin,
} from '../src/core/plugins.js'
import { buildApp } from '../src/http/app.js'
import {
  deleteObjects,
  envelope,
  fault,
  handledIds,
  ids,
  logOn,
  postEnterprise,
} from './helpers/enterprise.js'
import {
  ADMIN_TOKEN,
  createFixture,
  type Fixture,
  startTestServer,
  TEST_PASSWORD_HASH_COST,
  type TestServer,
} from './helpers/server.js'

let server: TestServer
let f: Fixture

async function item(name: string, brandId = f.brandId) {
  return (
    await server.ctx.admin.createItem(f.tenantId, {
      kind: 'file',
      name,
      type: 'Article',
      brandId,
      content: Buffer.from(name),
    })
  ).item.id
}

const stateOf = async (id: number) =>
  (
    await server.database.db.query('select state from items where tenant_id = $1 and id = $2', [
      f.tenantId,
      id,
    ])
  ).rows[0]?.state ?? null

beforeAll(async () => {
  // the example plug-in shipped with trashd, loaded from PLUGINS as an operator would
  server = await startTestServer({ PLUGINS: 'examples/plugins/require-trash-first.mjs' })
  f = await createFixture(server.ctx, 'pl', 'enterprise')
})

afterAll(async () => {
  await server?.close()
})

describe('plug-in connectors', () => {
  it('loads the plug-ins named in PLUGINS at start', () => {
    expect(server.ctx.plugins.plugins.map((plugin) => plugin.name)).toEqual(['require-trash-first'])
  })

  it('a before-hook veto refuses the whole request: one fault, nothing changed', async () => {
    const [one, two] = [await item('vetoed one'), await item('vetoed two')]
    const ticket = await logOn(server, f.users.purger!)
    const reply = await postEnterprise(
      server,
      deleteObjects(ticket, { ids: [one, two], permanent: true, areas: ['Workflow'] }),
    )
    expect(reply.status).toBe(200)
    expect(fault(reply.text)).toEqual({
      faultcode: 'SOAP-ENV:Client',
      faultstring: 'Objects must be in the Trash Can before they can be deleted permanently (S1072)',
      detail: 'require-trash-first',
    })
    expect(await stateOf(one)).toBe('active')
    expect(await stateOf(two)).toBe('active')

    // what the plug-in allows goes through: to the Trash Can, then permanently from it
    const trashed = await postEnterprise(
      server,
      deleteObjects(ticket, { ids: [one], permanent: false, areas: ['Workflow'] }),
    )
    expect(handledIds(trashed.text, 'DeleteObjects')).toEqual([String(one)])
    const purged = await postEnterprise(
      server,
      deleteObjects(ticket, { ids: [one], permanent: true, areas: ['Trash'] }),
    )
    expect(handledIds(purged.text, 'DeleteObjects')).toEqual([String(one)])
    expect(await stateOf(one)).toBeNull()
  })

  it('hooks run once per request with the flattened ids, Permanent and Areas; after and onError', async () => {
    const calls: { hook: string; request: ConnectorRequest; response?: ConnectorResponse }[] = []
    const recorder: ServerPlugin = {
      name: 'recorder',
      before: (request) => {
        calls.push({ hook: 'before', request })
        return undefined
      },
      after: (request, response) => {
        calls.push({ hook: 'after', request, response })
        throw new Error('an after-hook failure is logged, not reported')
      },
      onError: (request) => {
        calls.push({ hook: 'onError', request })
      },
    }
    const config = loadConfig({
      DATA_DIR: server.dataDir,
      ADMIN_TOKEN,
      LOG_LEVEL: 'silent',
      CLEANUP_SCHEDULE: 'off',
      PASSWORD_HASH_COST: TEST_PASSWORD_HASH_COST,
    })
    const ctx: AppContext = await createContext(config, {
      db: server.database.db,
      migrate: false,
      logger: pino({ level: 'silent' }),
      plugins: [recorder],
    })
    const app: FastifyInstance = await buildApp(ctx)
    const post = async (xml: string) =>
      (
        await app.inject({
          method: 'POST',
          url: '/Enterprise/index.php',
          headers: { 'content-type': 'text/xml' },
          payload: xml,
        })
      ).body
    try {
      const byName = [await item('flatten-me a'), await item('flatten-me b')]
      const explicit = await item('explicit')
      const ticket = await logOn(server, f.users.editor!)
      const params =
        '<Params><QueryParam><Property>Name</Property><Operation>contains</Operation><Value>flatten-me</Value></QueryParam></Params>'
      const reply = await post(
        deleteObjects(ticket, { ids: [explicit], permanent: false, params, areas: ['Workflow'] }),
      )
      expect(handledIds(reply, 'DeleteObjects').map(Number).sort()).toEqual([explicit, ...byName].sort())
      expect(calls.map((call) => call.hook)).toEqual(['before', 'after'])
      expect(calls[0]!.request).toMatchObject({
        operation: 'DeleteObjects',
        permanent: false,
        areas: ['Workflow'],
      })
      expect(calls[0]!.request.ids.sort()).toEqual([explicit, ...byName].sort())
      expect(calls[1]!.response!.ids.sort()).toEqual([explicit, ...byName].sort())

      calls.length = 0
      const restore = await post(
        envelope(`<ns1:RestoreObjects><Ticket>${ticket}</Ticket>${ids([explicit])}</ns1:RestoreObjects>`),
      )
      expect(handledIds(restore, 'RestoreObjects')).toEqual([String(explicit)])
      expect(
        calls.map((call) => [call.hook, call.request.operation, call.request.areas, call.request.ids]),
      ).toEqual([
        ['before', 'RestoreObjects', ['Trash'], [explicit]],
        ['after', 'RestoreObjects', ['Trash'], [explicit]],
      ])

      // the operation failing as a whole reaches onError (the database is made to refuse the statement)
      calls.length = 0
      const failing = await item('failing')
      await server.database.db.query(
        `create function refuse_trash() returns trigger language plpgsql as $$ begin raise exception 'refused'; end $$;
         create trigger refuse_trash before update on items for each row when (new.name = 'failing')
           execute function refuse_trash()`,
      )
      try {
        const failed = await post(
          deleteObjects(ticket, { ids: [failing], permanent: false, areas: ['Workflow'] }),
        )
        expect(fault(failed)).toEqual({
          faultcode: 'SOAP-ENV:Server',
          faultstring: 'Sorry, an unknown error occurred. (S1012)',
          detail: '',
        })
        expect(failed).not.toContain('refused')
        expect(calls.map((call) => call.hook)).toEqual(['before', 'onError'])
      } finally {
        await server.database.db.query('drop trigger refuse_trash on items; drop function refuse_trash()')
      }
    } finally {
      await app.close()
      await ctx.events.close()
    }
  })

  it('refuses a PLUGINS entry that is missing or does not export a plug-in', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'trashd-plugins-'))
    try {
      const bad = path.join(dir, 'bad.mjs')
      await writeFile(bad, 'export default { hello: 1 }\n')
      await expect(loadPlugins(bad)).rejects.toThrow(/does not export a plug-in/)
      await expect(loadPlugins(path.join(dir, 'missing.mjs'))).rejects.toThrow()
      const factory = path.join(dir, 'factory.mjs')
      await writeFile(factory, "export default () => ({ name: 'made', before() {} })\n")
      expect((await loadPlugins(` ${factory} , `)).map((plugin) => plugin.name)).toEqual(['made'])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
