import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asmxTicket, stalledReader } from './helpers/asmx.js'
import { createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

/** GetDeleteLog streams like the bin listings: a reader that hangs up mid-listing gives its slot back. */
describe('srv.asmx GetDeleteLog listing slots', () => {
  let server: TestServer
  let f: Fixture
  let ticket = ''
  const RANGE = 'StartDate=2000-01-01&EndDate=2100-01-01&PathFilter='

  beforeAll(async () => {
    server = await startTestServer({ LISTINGS_PER_USER: '2' })
    f = await createFixture(server.ctx, 'dls')
    // a log far larger than the socket buffers: a reader that does not read keeps its listing running
    const rows = await server.database.db.query<{ id: number }>(
      `insert into items (tenant_id, kind, type, name, brand_id, size, state)
       select $1, 'file', 'Document', 'log-' || g || '.pdf', $2, 10, 'active'
         from generate_series(1, 8000) g returning id`,
      [f.tenantId, f.brandId],
    )
    await server.ctx.trash.trash(
      f.users.admin!.actor,
      rows.rows.map((row) => Number(row.id)),
    )
    const admin = f.users.admin!
    ticket = await asmxTicket(server.baseUrl, admin)
  }, 120_000)

  afterAll(async () => {
    await server?.close()
  })

  const inUse = () => server.ctx.trash.listingSlots.inUse

  it('a reader that hangs up during the listing frees its slot', async () => {
    let seenRunning = false
    for (let i = 0; i < 10; i++) {
      const { socket } = await stalledReader(
        server.baseUrl,
        `/srv.asmx/GetDeleteLog?AuthenticationTicket=${ticket}&${RANGE}`,
      )
      // from the first page to well into the listing
      const deadline = Date.now() + 15_000
      while (inUse() === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
      seenRunning ||= inUse() > 0
      await new Promise((resolve) => setTimeout(resolve, i * 30))
      socket.destroy()
    }
    expect(seenRunning).toBe(true)
    const deadline = Date.now() + 15_000
    while (inUse() !== 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(inUse()).toBe(0)
  }, 120_000)
})
