import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asmx, asmxTicket, stalledReader } from './helpers/asmx.js'
import { usingRealPostgres } from './helpers/db.js'
import { createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

/**
 * LISTINGS_PER_USER: a user's streamed listings (srv.asmx GetRecycleBinContent, SearchRecycledItems,
 * GetDeleteLog) beyond the limit are refused in the door's own words until one ends; a listing's slot is given
 * back when it completes, fails, or its reader hangs up at any moment.
 */
describe('streamed listings per user', () => {
  let server: TestServer
  let f: Fixture
  const tickets: Record<string, string> = {}
  const LIMIT = 2

  beforeAll(async () => {
    server = await startTestServer({ LISTINGS_PER_USER: String(LIMIT) })
    f = await createFixture(server.ctx, 'slots')
    // a bin far larger than the socket buffers: a reader that does not read keeps its listing running
    await server.ctx.db.query(
      `insert into items (tenant_id, kind, type, name, brand_id, size, state, deleted_at, deleted_by, deleted_via,
                          original_path)
       select $1, 'file', 'Document', 'slot-' || g || '.pdf', $2, 10, 'trashed', now(), $3, 'rest',
              '/slot-' || g || '.pdf'
         from generate_series(1, 40000) g`,
      [f.tenantId, f.brandId, f.users.editor!.id],
    )
    await server.ctx.db.query(`update items set trash_root = id where tenant_id = $1 and state = 'trashed'`, [
      f.tenantId,
    ])
    for (const role of ['editor', 'purger']) {
      const user = f.users[role]!
      tickets[role] = await asmxTicket(server.baseUrl, user)
    }
  }, 120_000)

  afterAll(async () => {
    await server?.close()
  })

  const inUse = () => server.ctx.trash.listingSlots.inUse

  async function until(condition: () => boolean, what: string, seconds = 15) {
    const deadline = Date.now() + seconds * 1000
    while (!condition()) {
      if (Date.now() > deadline)
        throw new Error(`${what}: still not so after ${seconds} s (slots in use: ${inUse()})`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  /** A raw reader of the editor's bin that reads nothing until resumed. */
  const binReader = (role = 'editor') =>
    stalledReader(server.baseUrl, `/srv.asmx/GetRecycleBinContent?AuthenticationTicket=${tickets[role]}`)

  const listing = (role = 'editor') =>
    asmx(server.baseUrl, 'GET', 'GetRecycleBinContent', { AuthenticationTicket: tickets[role]! })

  it('refuses a listing past the limit in srv.asmx words, serves other users, and serves again once one ends', async () => {
    const readers = [await binReader(), await binReader()]
    await until(() => inUse() === LIMIT, 'both listings running')

    const refused = await listing()
    expect(refused.status).toBe(200)
    expect(refused.response.attrs).toMatchObject({
      success: 'false',
      error: `At most ${LIMIT} listings per user run at a time; try again when one has ended`,
    })
    // another user has slots of their own
    const other = await listing('purger')
    expect(other.response.attrs.success).toBe('true')

    // a reader that hangs up frees its slot
    readers[0]!.socket.destroy()
    await until(() => inUse() === 1, 'the hung-up reader released')
    const served = await listing()
    expect(served.response.attrs.success).toBe('true')
    expect(served.response.children.length).toBe(40_000)

    // a reader that reads to the end frees its slot
    readers[1]!.socket.on('data', () => {})
    readers[1]!.socket.resume()
    await readers[1]!.closed
    await until(() => inUse() === 0, 'the completed listing released')
  }, 120_000)

  it('a reader that hangs up at any moment of its listing frees its slot', async () => {
    for (let i = 0; i < 60; i++) {
      const reader = await binReader()
      // from before the request is read to well into the listing
      await new Promise((resolve) => setTimeout(resolve, (i * 7) % 60))
      reader.socket.destroy()
    }
    await until(() => inUse() === 0, 'every hung-up reader released')
    const served = await listing()
    expect(served.response.attrs.success).toBe('true')
  }, 120_000)
})

describe("a user's streamed listings read their pages one at a time between them", () => {
  let server: TestServer
  let f: Fixture

  beforeAll(async () => {
    server = await startTestServer()
    f = await createFixture(server.ctx, 'pages')
    await server.ctx.db.query(
      `insert into items (tenant_id, kind, type, name, brand_id, size, state, deleted_at, deleted_by, deleted_via,
                          original_path)
       select $1, 'file', 'Document', 'page-' || g || '.pdf', $2, 10, 'trashed', now(), $3, 'rest',
              '/page-' || g || '.pdf'
         from generate_series(1, 5000) g`,
      [f.tenantId, f.brandId, f.users.editor!.id],
    )
    await server.ctx.db.query(`update items set trash_root = id where tenant_id = $1 and state = 'trashed'`, [
      f.tenantId,
    ])
  }, 120_000)

  afterAll(async () => {
    await server?.close()
  })

  /** The most page reads of the listings running at once while `actors` each read their whole bin at once. */
  async function mostReadsAtOnce(roles: string[]): Promise<number> {
    let running = 0
    let most = 0
    const stop = server.ctx.db.watchStatements!(async (statement) => {
      if (!statement.text.includes('unit_bytes')) return
      running++
      most = Math.max(most, running)
      // each read held a while, so that reads that could run together do
      await new Promise((resolve) => setTimeout(resolve, 20))
      running--
    })
    try {
      const counts = await Promise.all(
        roles.map(async (role) => {
          let entries = 0
          for await (const page of server.ctx.trash.iterate(f.users[role]!.actor, { scope: 'visible' }))
            entries += page.length
          return entries
        }),
      )
      expect(counts).toEqual(roles.map(() => 5000))
    } finally {
      stop()
    }
    return most
  }

  it("one user's four listings: one page read at a time (four at once before); two users' listings: one each", async () => {
    // (one page read of each listing ahead of its reader: four listings of one user kept four connections
    // reading back to back, and another tenant's restore took 2.6 to 4.4 times as long meanwhile)
    expect(await mostReadsAtOnce(['editor', 'editor', 'editor', 'editor'])).toBe(1)
    // (the embedded database has one connection: every statement waits for the one before)
    if (usingRealPostgres()) expect(await mostReadsAtOnce(['editor', 'purger'])).toBe(2)
  })
})
