import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ticketHash } from '../src/core/auth-service.js'
import { unwrapSoapAnswer } from './helpers/asmx.js'
import { createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

/**
 * The examples of the infoRouter documentation pages the user gave us (EmptyRecycleBin and
 * PurgeRecycleBinItem), sent byte for byte as they are written there.
 */

const SEED_TICKET = '3f2504e0-4f89-11d3-9a0c-0305e82c3301'

const EMPTY_GET = '/srv.asmx/EmptyRecycleBin?AuthenticationTicket=3f2504e0-4f89-11d3-9a0c-0305e82c3301'
const EMPTY_POST = 'AuthenticationTicket=3f2504e0-4f89-11d3-9a0c-0305e82c3301'
const EMPTY_SOAP = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"

               xmlns:tns="http://tempuri.org/">

  <soap:Body>

    <tns:EmptyRecycleBin>

      <tns:AuthenticationTicket>3f2504e0-4f89-11d3-9a0c-0305e82c3301</tns:AuthenticationTicket>

    </tns:EmptyRecycleBin>

  </soap:Body>

</soap:Envelope>`

const PURGE_GET =
  '/srv.asmx/PurgeRecycleBinItem?AuthenticationTicket=3f2504e0-4f89-11d3-9a0c-0305e82c3301&ItemHandler=D9871'
const PURGE_POST = `AuthenticationTicket=3f2504e0-4f89-11d3-9a0c-0305e82c3301
&ItemHandler=D9871`
const PURGE_SOAP = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
xmlns:tns="http://tempuri.org/">
<soap:Body>
<tns:PurgeRecycleBinItem>
<tns:AuthenticationTicket>3f2504e0-4f89-11d3-9a0c-0305e82c3301</tns:AuthenticationTicket>
<tns:ItemHandler>D9871</tns:ItemHandler>
</tns:PurgeRecycleBinItem>
</soap:Body>
</soap:Envelope>`

const SUCCESS = '<?xml version="1.0" encoding="utf-8"?><response success="true" error="" />'
const EXPIRED =
  '<?xml version="1.0" encoding="utf-8"?><response success="false" error="[901] Session expired or Invalid ticket." />'

let server: TestServer
let f: Fixture

beforeAll(async () => {
  // the seed ticket's session is made and removed behind the server's back: no credential cache, so that each
  // change shows at once
  server = await startTestServer({ AUTH_CACHE_SECONDS: '0' })
  f = await createFixture(server.ctx, 'seed', 'asmx')
})

afterAll(async () => {
  await server?.close()
})

type Transport = 'GET' | 'POST' | 'SOAP'

async function send(transport: Transport, get: string, post: string, soap: string, method: string) {
  const base = server.baseUrl
  if (transport === 'GET') return fetch(`${base}${get}`)
  if (transport === 'POST') {
    return fetch(`${base}/srv.asmx/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: post,
    })
  }
  return fetch(`${base}/srv.asmx`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `http://tempuri.org/${method}` },
    body: soap,
  })
}

/** The `<response>` of an answer, as the seed pages print it (over SOAP: inside the Result element). */
async function responseOf(response: Response, transport: Transport, method: string) {
  expect(response.status).toBe(200)
  const text = await response.text()
  if (transport !== 'SOAP') {
    expect(response.headers.get('content-type')).toBe('text/xml; charset=utf-8')
    return text
  }
  unwrapSoapAnswer(text, method)
  const start = text.indexOf('<response ')
  const end = text.indexOf(`</${method}Result>`)
  return `<?xml version="1.0" encoding="utf-8"?>${text.slice(start, end).replace(' xmlns=""', '')}`
}

async function openSeedSession(role: 'admin' | 'editor') {
  await server.database.db.query('delete from sessions where ticket_hash = $1', [ticketHash(SEED_TICKET)])
  await server.database.db.query(
    `insert into sessions (ticket_hash, tenant_id, user_id, door, expires_at, ends_at)
     values ($1, $2, $3, 'asmx', now() + interval '1 hour', now() + interval '2 hours')`,
    [ticketHash(SEED_TICKET), f.tenantId, f.users[role]!.id],
  )
}

/** The seed's document D9871, Q1-2024-Report.pdf, in someone's recycle bin. */
async function recycledDocument9871() {
  const lib = await server.ctx.trash.findByPath(f.users.admin!.actor, ['Finance'])
  const libraryId =
    lib?.id ??
    (await server.ctx.admin.createItem(f.tenantId, { kind: 'folder', name: 'Finance', parentId: null })).item
      .id
  await server.database.db.query(
    `insert into items (tenant_id, id, kind, type, name, parent_id, size, owner_id)
     values ($1, 9871, 'file', 'Document', 'Q1-2024-Report.pdf', $2, 204800, $3)`,
    [f.tenantId, libraryId, f.users.editor!.id],
  )
  const batch = await server.ctx.trash.trash(f.users.editor!.actor, [9871])
  expect(batch.successCount).toBe(1)
}

const state9871 = async () =>
  (await server.database.db.query('select state from items where id = 9871')).rows[0]?.state as
    | string
    | undefined

describe.each(['GET', 'POST', 'SOAP'] as const)('seed examples over %s', (transport) => {
  it('EmptyRecycleBin (seed 002): [901] before the ticket exists, then success, also for an empty bin', async () => {
    await server.database.db.query('delete from sessions where ticket_hash = $1', [ticketHash(SEED_TICKET)])
    const before = await send(transport, EMPTY_GET, EMPTY_POST, EMPTY_SOAP, 'EmptyRecycleBin')
    expect(await responseOf(before, transport, 'EmptyRecycleBin')).toBe(EXPIRED)

    await openSeedSession('editor')
    await recycledDocument9871()
    const emptied = await send(transport, EMPTY_GET, EMPTY_POST, EMPTY_SOAP, 'EmptyRecycleBin')
    expect(await responseOf(emptied, transport, 'EmptyRecycleBin')).toBe(SUCCESS)
    expect(await state9871()).toBeUndefined()
    const again = await send(transport, EMPTY_GET, EMPTY_POST, EMPTY_SOAP, 'EmptyRecycleBin')
    expect(await responseOf(again, transport, 'EmptyRecycleBin')).toBe(SUCCESS)
  })

  it('PurgeRecycleBinItem (seed 003): administrators only, then the purge, then "no longer in the recycle bin"', async () => {
    await recycledDocument9871()
    await openSeedSession('editor')
    const denied = await send(transport, PURGE_GET, PURGE_POST, PURGE_SOAP, 'PurgeRecycleBinItem')
    expect(await responseOf(denied, transport, 'PurgeRecycleBinItem')).toBe(
      '<?xml version="1.0" encoding="utf-8"?><response success="false" error="Only the system administrator can perform this operation" />',
    )
    expect(await state9871()).toBe('trashed')

    await openSeedSession('admin')
    const purged = await send(transport, PURGE_GET, PURGE_POST, PURGE_SOAP, 'PurgeRecycleBinItem')
    expect(await responseOf(purged, transport, 'PurgeRecycleBinItem')).toBe(SUCCESS)
    expect(await state9871()).toBeUndefined()
    const again = await send(transport, PURGE_GET, PURGE_POST, PURGE_SOAP, 'PurgeRecycleBinItem')
    expect(await responseOf(again, transport, 'PurgeRecycleBinItem')).toBe(
      '<?xml version="1.0" encoding="utf-8"?><response success="false" error="Document is no longer in the recycle bin." />',
    )
  })
})
