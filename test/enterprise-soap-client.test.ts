import * as soap from 'soap'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ticketHash } from '../src/core/auth-service.js'
import { createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

let server: TestServer
let f: Fixture

async function state(id: number) {
  const result = await server.database.db.query(
    'select state, deleted_by from items where tenant_id = $1 and id = $2',
    [f.tenantId, id],
  )
  return result.rows[0] ?? null
}

beforeAll(async () => {
  server = await startTestServer()
  f = await createFixture(server.ctx, 'ns', 'enterprise')
})

afterAll(async () => {
  await server?.close()
})

describe('node-soap, from the WSDL the server serves', () => {
  it('LogOn → DeleteObjects (v8, Workflow) → QueryObjects (Trash) → RestoreObjects → DeleteObjects (Permanent, Trash) → LogOff', async () => {
    const [kept, purged] = await Promise.all(
      ['kept article', 'purged article'].map(
        async (name) =>
          (
            await server.ctx.admin.createItem(f.tenantId, {
              kind: 'file',
              name,
              type: 'Article',
              brandId: f.brandId,
              content: Buffer.from(name),
            })
          ).item.id,
      ),
    )
    const client = await soap.createClientAsync(`${server.baseUrl}/Enterprise/index.php?wsdl`)
    expect(client.getEndpoint?.() ?? `${server.baseUrl}/Enterprise/index.php`).toBe(
      `${server.baseUrl}/Enterprise/index.php`,
    )

    const [logOn] = await client.LogOnAsync({
      User: f.users.purger!.login,
      Password: f.users.purger!.password,
      ClientName: 'node-soap',
      ClientAppName: 'trashd test',
      RequestInfo: { String: ['Publications', 'ServerInfo', 'CurrentUser'] },
    })
    const ticket: string = logOn.Ticket
    expect(ticket).toMatch(/^[0-9a-f]{40}$/)
    expect(logOn.Publications.PublicationInfo[0]).toMatchObject({ Id: String(f.brandId), Name: 'ns brand' })
    expect(logOn.CurrentUser.UserID).toBe(f.users.purger!.login)

    const [deleted] = await client.DeleteObjectsAsync({
      Ticket: ticket,
      IDs: { String: [String(kept), String(purged)] },
      Permanent: false,
      Areas: { AreaType: ['Workflow'] },
    })
    expect(deleted.IDs.String).toEqual([String(kept), String(purged)])
    expect(await state(kept)).toMatchObject({ state: 'trashed', deleted_by: f.users.purger!.id })
    expect(await state(purged)).toMatchObject({ state: 'trashed' })

    const [found] = await client.QueryObjectsAsync({
      Ticket: ticket,
      Params: { QueryParam: [{ Property: 'PublicationId', Operation: '=', Value: String(f.brandId) }] },
      FirstEntry: 1,
      MaxEntries: 10,
      Order: { QueryOrder: [{ Property: 'Name', Direction: true }] },
      Areas: { AreaType: ['Trash'] },
    })
    const columns = found.Columns.Property.map((p: { Name: string }) => p.Name)
    expect(columns.slice(0, 5)).toEqual(['ID', 'Type', 'Name', 'Deleted', 'Deletor'])
    expect(found.Rows.Row.map((row: { String: string[] }) => row.String.slice(0, 3))).toEqual([
      [String(kept), 'Article', 'kept article'],
      [String(purged), 'Article', 'purged article'],
    ])
    expect(String(found.TotalEntries)).toBe('2')

    const [restored] = await client.RestoreObjectsAsync({ Ticket: ticket, IDs: { String: [String(kept)] } })
    expect(restored.IDs.String).toEqual([String(kept)])
    expect(await state(kept)).toMatchObject({ state: 'active' })

    const [gone] = await client.DeleteObjectsAsync({
      Ticket: ticket,
      IDs: { String: [String(purged)] },
      Permanent: true,
      Areas: { AreaType: ['Trash'] },
    })
    expect(gone.IDs.String).toEqual([String(purged)])
    expect(await state(purged)).toBeNull()
    expect(await state(kept)).toMatchObject({ state: 'active' })

    await client.LogOffAsync({ Ticket: ticket })
    expect(
      (await server.database.db.query('select 1 from sessions where ticket_hash = $1', [ticketHash(ticket)]))
        .rowCount,
    ).toBe(0)
    await expect(client.QueryObjectsAsync({ Ticket: ticket, Params: {} })).rejects.toMatchObject({
      root: {
        Envelope: { Body: { Fault: { faultcode: 'SOAP-ENV:Client', detail: 'SCEntError_InvalidTicket' } } },
      },
    })
  })
})
