import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PIECE } from '../src/core/turns.js'
import { authHeader as ipsAuth, ns as ipsNs, SOAP11 } from './helpers/ips.js'
import { activeFiles } from './helpers/items.js'
import { basicAuth, createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'
import { takeGate, withGateTaken } from './helpers/work-gate.js'

/**
 * BIG_BATCHES: requests naming more than 1,000 items run at most that many at a time on one instance; one more
 * waits its turn for at most BIG_BATCH_WAIT seconds, then is refused as busy in its door's words (REST 429 with
 * Retry-After, IPS ipsApiFault), while requests of up to 1,000 items go on. A big batch's place is given back
 * when it ends, and the next one runs.
 */
describe('big batches at a time', () => {
  let server: TestServer
  let f: Fixture
  let first: number[] = []
  let second: number[] = []
  let small: number[] = []

  beforeAll(async () => {
    server = await startTestServer({ BIG_BATCHES: '1', BIG_BATCH_WAIT: '0.5' })
    f = await createFixture(server.ctx, 'big')
    const files = (count: number, prefix: string) => activeFiles(server.ctx.db, f, count, prefix)
    first = await files(2500, 'first')
    second = await files(PIECE + 1, 'second')
    small = await files(PIECE, 'small')
  }, 120_000)

  afterAll(async () => {
    await server?.close()
  })

  const trash = (ids: number[]) =>
    fetch(`${server.baseUrl}/api/v1/items/trash`, {
      method: 'POST',
      headers: { authorization: basicAuth(f.users.editor!), 'content-type': 'application/json' },
      body: JSON.stringify({ ids }),
    })

  it('one more big batch waits, then is refused as busy; the place is given back and the next one runs', async () => {
    const gate = server.ctx.trash.bigBatches
    // every place taken by a big batch that runs until released
    const { release, holding } = takeGate(gate)
    try {
      expect(gate.load).toEqual({ running: 1, waiting: 0 })

      // REST: 429 with Retry-After, after waiting its turn for BIG_BATCH_WAIT
      const started = performance.now()
      const refused = await trash(second)
      const waited = performance.now() - started
      expect(refused.status, await refused.clone().text()).toBe(429)
      expect(refused.headers.get('retry-after')).toBe('5')
      expect(((await refused.json()) as { code: string }).code).toBe('BUSY')
      expect(waited).toBeGreaterThanOrEqual(450)

      // IPS: its fault
      const ips = await fetch(`${server.baseUrl}/scene7/services/IpsApiService`, {
        method: 'POST',
        headers: { 'content-type': 'text/xml; charset=UTF-8' },
        body:
          `<soapenv:Envelope xmlns:soapenv="${SOAP11}"><soapenv:Header>${ipsAuth(f.users.editor!)}</soapenv:Header>` +
          `<soapenv:Body><deleteAssetsParam xmlns="${ipsNs('2014-04-03')}"><companyHandle>c|${f.tenantId}</companyHandle><assetHandleArray>` +
          second.map((id) => `<items>a|${id}</items>`).join('') +
          '</assetHandleArray></deleteAssetsParam></soapenv:Body></soapenv:Envelope>',
      })
      const fault = await ips.text()
      expect(fault).toMatch(/ipsApiFault/)
      expect(fault).toMatch(/At most 1 requests of more than 1000 items run at a time/)
      expect(gate.load).toEqual({ running: 1, waiting: 0 })

      // nothing of the refused batches was done
      const states = await server.ctx.db.query<{ n: number }>(
        `select count(*)::int as n from items where id = any($1) and state = 'active'`,
        [second],
      )
      expect(states.rows[0]!.n).toBe(second.length)

      // one that comes while the place is taken and gets it within the wait runs
      const waiting = trash(first)
      const deadline = Date.now() + 15_000
      while (gate.load.waiting === 0) {
        expect(Date.now(), 'the big batch waits its turn').toBeLessThan(deadline)
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      release()
      await holding
      const done = (await (await waiting).json()) as { successCount: number }
      expect(done.successCount).toBe(first.length)
    } finally {
      release()
      await holding
    }
    expect(gate.load).toEqual({ running: 0, waiting: 0 })
    expect(((await (await trash(second)).json()) as { successCount: number }).successCount).toBe(
      second.length,
    )
  }, 60_000)

  it('a request of up to 1,000 items does not wait for a place', async () => {
    await withGateTaken(server.ctx.trash.bigBatches, async () => {
      const reply = await trash(small)
      expect(reply.status).toBe(200)
      expect(((await reply.json()) as { successCount: number }).successCount).toBe(PIECE)
    })
  }, 60_000)

  it('a place is given back however the work ends, and who waits gets it in turn', async () => {
    const gate = server.ctx.trash.bigBatches
    const failing = gate.run(async () => {
      await new Promise((resolve) => setTimeout(resolve, 50))
      throw new Error('failed')
    })
    const next = gate.run(async () => 'ran')
    expect(gate.load).toEqual({ running: 1, waiting: 1 })
    await expect(failing).rejects.toThrow('failed')
    await expect(next).resolves.toBe('ran')
    expect(gate.load).toEqual({ running: 0, waiting: 0 })
  })
})
