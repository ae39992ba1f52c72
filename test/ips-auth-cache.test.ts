import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { PasswordHasher } from '../src/core/passwords.js'
import { authHeader, bodyOf, faultOf, ns, post, soap11 } from './helpers/ips.js'
import { startTestServer, type TestServer } from './helpers/server.js'

// Counts the scrypt verifications (and hashes) the server performs, still doing them for real.
const verify = vi.spyOn(PasswordHasher.prototype, 'verify')
const hash = vi.spyOn(PasswordHasher.prototype, 'hash')
const verifications = {
  get count() {
    return verify.mock.calls.length
  },
  set count(_zero: number) {
    verify.mockClear()
  },
}

let server: TestServer
let tenantId: number
let userId: number
const user = { login: 'cache-user@example.com', password: 'first-password' }

const search = () =>
  `<searchAssetsParam xmlns="${ns('2014-04-03')}"><companyHandle>c|${tenantId}</companyHandle></searchAssetsParam>`
const send = (credentials: { login: string; password: string }) =>
  post(server.baseUrl, '/scene7/services/IpsApiService', soap11(search(), authHeader(credentials)))

beforeAll(async () => {
  server = await startTestServer()
  tenantId = await server.ctx.admin.createTenant('Cache Company')
  userId = await server.ctx.admin.createUser(tenantId, user)
})

afterAll(async () => {
  await server?.close()
  // the worker goes on to other files (isolate: false): they see PasswordHasher as it was
  verify.mockRestore()
  hash.mockRestore()
})

describe('IPS password checks', () => {
  it('verify a password once for a run of requests, and again after it changes', async () => {
    verifications.count = 0
    for (let i = 0; i < 5; i++) expect(bodyOf((await send(user)).root).name).toBe('searchAssetsReturn')
    expect(verifications.count).toBe(1)

    await server.ctx.admin.setPassword(tenantId, userId, 'second-password')
    expect(faultOf((await send(user)).root).code).toBe('10001')
    expect(verifications.count).toBe(2)
    const changed = { ...user, password: 'second-password' }
    for (let i = 0; i < 3; i++) expect(bodyOf((await send(changed)).root).name).toBe('searchAssetsReturn')
    expect(verifications.count).toBe(3)
  })
})

describe('IPS password checks with the default scrypt cost', () => {
  let costly: TestServer
  let costlyTenant: number
  beforeAll(async () => {
    // scrypt at its default cost (2^17, about half a second a hash): concurrent sign-ins overlap in it
    costly = await startTestServer({ PASSWORD_HASH_COST: '' })
    costlyTenant = await costly.ctx.admin.createTenant('Costly Company')
  })
  afterAll(async () => {
    await costly?.close()
  })

  it('share one verification, and one rehash of a weaker hash, among concurrent requests with the same password', async () => {
    const concurrent = { login: 'concurrent-user@example.com', password: 'a-shared-password' }
    await costly.ctx.admin.createUser(costlyTenant, concurrent)
    // a hash of weaker parameters than the server's (as earlier versions stored), replaced at the next sign-in
    const legacy = await new PasswordHasher(14).hash(concurrent.password)
    await costly.database.db.query('update users set password_hash = $1 where login = $2', [
      legacy,
      concurrent.login,
    ])
    const search = `<searchAssetsParam xmlns="${ns('2014-04-03')}"><companyHandle>c|${costlyTenant}</companyHandle></searchAssetsParam>`
    verify.mockClear()
    hash.mockClear()
    const replies = await Promise.all(
      Array.from({ length: 8 }, () =>
        post(costly.baseUrl, '/scene7/services/IpsApiService', soap11(search, authHeader(concurrent))),
      ),
    )
    for (const reply of replies) expect(bodyOf(reply.root).name).toBe('searchAssetsReturn')
    expect(verify).toHaveBeenCalledTimes(1)
    expect(hash).toHaveBeenCalledTimes(1)
    const stored = await costly.database.db.query<{ password_hash: string }>(
      'select password_hash from users where login = $1',
      [concurrent.login],
    )
    expect(stored.rows[0]!.password_hash).toMatch(/^scrypt\$131072\$8\$1\$/)
  })
})
