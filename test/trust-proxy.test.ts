import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../src/config.js'
import { basicAuth, createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

/**
 * Behind a reverse proxy every request comes from the proxy's address: with TRUST_PROXY the client's address is
 * read from X-Forwarded-For (only when the proxy is one of those named), so that throttling per address locks
 * the guessing client and not everyone behind the proxy.
 */
const THRESHOLD = 3
let proxied: { server: TestServer; f: Fixture }
let direct: { server: TestServer; f: Fixture }

beforeAll(async () => {
  for (const [name, env] of [
    ['proxied', { TRUST_PROXY: '127.0.0.1, 10.0.0.0/8' }],
    ['direct', {}],
  ] as const) {
    const server = await startTestServer({ ...env, LOGIN_FAILURES_PER_ADDRESS: String(THRESHOLD) })
    const f = await createFixture(server.ctx, `tp${name}`)
    if (name === 'proxied') proxied = { server, f }
    else direct = { server, f }
  }
})

afterAll(async () => {
  await proxied?.server.close()
  await direct?.server.close()
})

async function me(
  server: TestServer,
  credentials: { login: string; password: string },
  forwardedFor: string,
  remoteAddress = '127.0.0.1',
) {
  const response = await server.app.inject({
    method: 'GET',
    url: '/api/v1/me',
    headers: { authorization: basicAuth(credentials), 'x-forwarded-for': forwardedFor },
    remoteAddress,
  })
  return response.statusCode
}

/** Failed sign-ins, another login each (so that no login locks), until one past the address's threshold. */
async function guess(server: TestServer, forwardedFor: string, remoteAddress = '127.0.0.1') {
  for (let i = 0; i <= THRESHOLD; i++) {
    const login = `nobody-${forwardedFor}-${remoteAddress}-${i}`
    expect(await me(server, { login, password: 'wrong' }, forwardedFor, remoteAddress)).toBe(401)
  }
}

describe('TRUST_PROXY', () => {
  it('locks the guessing client named by X-Forwarded-For, not every client of the proxy', async () => {
    const { server, f } = proxied
    await guess(server, '203.0.113.1')
    expect(await me(server, f.users.viewer!, '203.0.113.1')).toBe(429)
    expect(await me(server, f.users.viewer!, '203.0.113.2')).toBe(200)
  })

  it('believes only the proxies it names: another sender cannot pick its address', async () => {
    const { server, f } = proxied
    // 192.0.2.50 is not a trusted proxy: its X-Forwarded-For is ignored and its own address is counted
    await guess(server, '203.0.113.10', '192.0.2.50')
    expect(await me(server, f.users.viewer!, '203.0.113.11', '192.0.2.50')).toBe(429)
    // a proxy in 10.0.0.0/8 is trusted
    await guess(server, '203.0.113.20', '10.1.2.3')
    expect(await me(server, f.users.viewer!, '203.0.113.21', '10.1.2.3')).toBe(200)
  })

  it('unset, X-Forwarded-For is ignored: everyone behind one address shares its lock', async () => {
    const { server, f } = direct
    await guess(server, '203.0.113.1')
    expect(await me(server, f.users.viewer!, '203.0.113.2')).toBe(429)
  })

  it('takes a number of hops or addresses, nothing else', () => {
    expect(loadConfig({ TRUST_PROXY: '1' }).TRUST_PROXY).toBe('1')
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8,fd00::/8' }).TRUST_PROXY).toBe('10.0.0.0/8,fd00::/8')
    expect(() => loadConfig({ TRUST_PROXY: 'everyone' })).toThrow(ConfigError)
  })
})
