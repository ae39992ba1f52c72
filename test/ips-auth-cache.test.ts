import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { PasswordHasher } from '../src/core/passwords.js'
import { authHeader, bodyOf, faultOf, ns, post, soap11 } from './helpers/ips.js'
import { startTestServer, type TestServer } from './helpers/server.js'

// Counts the scrypt verifications the server performs, still verifying for real.
const verify = vi.spyOn(PasswordHasher.prototype, 'verify')
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
