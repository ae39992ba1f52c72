import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AdminService } from '../src/core/admin-service.js'
import { AuthService } from '../src/core/auth-service.js'
import { CredentialCache } from '../src/core/credential-cache.js'
import { PasswordHasher } from '../src/core/passwords.js'
import { authHeader, bodyOf, faultOf, ns, post, soap11 } from './helpers/ips.js'
import { basicAuth, startTestServer, type TestServer } from './helpers/server.js'

/**
 * Credentials verified lately answer again without reading the user, the session or the sign-in throttle
 * (AUTH_CACHE_SECONDS, 10 by default here as in production). A change made through this instance shows at once;
 * one made through another instance within AUTH_CACHE_SECONDS; a lock counted here holds for right credentials.
 */
let server: TestServer
let tenantId: number
let counter = 0

beforeAll(async () => {
  server = await startTestServer()
  tenantId = await server.ctx.admin.createTenant('Credential Cache Company')
})

afterAll(async () => {
  await server?.close()
})

async function newUser() {
  const user = { login: `cache-${++counter}@example.com`, password: `cache-password-${counter}` }
  const id = await server.ctx.admin.createUser(tenantId, user)
  return { ...user, id }
}

/** The statements that read or write users, sessions or the throttle's failures while `fn` runs. */
async function credentialStatements(fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = []
  const stop = server.ctx.db.watchStatements!((event) => {
    if (/\b(users|sessions|login_failures)\b/.test(event.text)) seen.push(event.text)
  })
  try {
    await fn()
  } finally {
    stop()
  }
  return seen
}

const me = async (authorization: string) =>
  (await fetch(`${server.baseUrl}/api/v1/me`, { headers: { authorization } })).status

async function restToken(user: { login: string; password: string }) {
  const reply = await fetch(`${server.baseUrl}/api/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login: user.login, password: user.password }),
  })
  expect(reply.status).toBe(201)
  return ((await reply.json()) as { token: string }).token
}

const ipsSearch = (user: { login: string; password: string }) =>
  post(
    server.baseUrl,
    '/scene7/services/IpsApiService',
    soap11(
      `<searchAssetsParam xmlns="${ns('2014-04-03')}"><companyHandle>c|${tenantId}</companyHandle></searchAssetsParam>`,
      authHeader(user),
    ),
  )

describe('credential cache', () => {
  it('a second request with the same password reads neither the user nor the failures (REST Basic, IPS authHeader)', async () => {
    const user = await newUser()
    expect(await credentialStatements(async () => expect(await me(basicAuth(user))).toBe(200))).not.toEqual(
      [],
    )
    expect(await credentialStatements(async () => expect(await me(basicAuth(user))).toBe(200))).toEqual([])

    expect(bodyOf((await ipsSearch(user)).root).name).toBe('searchAssetsReturn')
    expect(
      await credentialStatements(async () =>
        expect(bodyOf((await ipsSearch(user)).root).name).toBe('searchAssetsReturn'),
      ),
    ).toEqual([])
    // another password for the same login is no hit: it is checked, and refused
    const wrong = await credentialStatements(async () =>
      expect(await me(basicAuth({ ...user, password: 'not-the-password' }))).toBe(401),
    )
    expect(wrong.some((text) => /login_failures/.test(text))).toBe(true)
  })

  it('a second request with the same ticket reads no session', async () => {
    const user = await newUser()
    const token = await restToken(user)
    expect(await me(`Bearer ${token}`)).toBe(200)
    expect(await credentialStatements(async () => expect(await me(`Bearer ${token}`)).toBe(200))).toEqual([])
  })

  it('a password changed, a user disabled or sessions ended on this instance show at once', async () => {
    const user = await newUser()
    const token = await restToken(user)
    expect(await me(basicAuth(user))).toBe(200)
    expect(await me(`Bearer ${token}`)).toBe(200)
    await server.ctx.admin.setPassword(tenantId, user.id, 'cache-password-new')
    expect(await me(basicAuth(user))).toBe(401)
    expect(await me(`Bearer ${token}`)).toBe(401)
    const changed = { ...user, password: 'cache-password-new' }
    expect(await me(basicAuth(changed))).toBe(200)

    const second = await restToken(changed)
    expect(await me(`Bearer ${second}`)).toBe(200)
    await server.ctx.admin.endSessions(tenantId, user.id)
    expect(await me(`Bearer ${second}`)).toBe(401)

    expect(await me(basicAuth(changed))).toBe(200)
    await server.ctx.admin.setDisabled(tenantId, user.id, true)
    expect(await me(basicAuth(changed))).toBe(401)
  })

  it('a ticket logged out on this instance stops at once', async () => {
    const user = await newUser()
    const token = await restToken(user)
    expect(await me(`Bearer ${token}`)).toBe(200)
    expect(await server.ctx.auth.closeSession(token, 'rest')).toBe(true)
    expect(await me(`Bearer ${token}`)).toBe(401)
  })

  it('failures counted here lock the login for its right password too, cached or not', async () => {
    const user = await newUser()
    expect(await me(basicAuth(user))).toBe(200)
    // the per-login threshold is 5: the sixth failure locks
    for (let i = 0; i < 6; i++) expect(await me(basicAuth({ ...user, password: `guess-${i}` }))).toBe(401)
    expect(await me(basicAuth(user))).toBe(429)
    const ips = await ipsSearch(user)
    expect(faultOf(ips.root).code).toBeDefined()
  })
})

describe('credential cache expiry (another instance changes what this one remembers)', () => {
  let clock = 1_000_000
  const cache = new CredentialCache(5, () => clock)
  let auth: AuthService

  beforeAll(() => {
    auth = new AuthService(server.ctx.db, {
      sessionTtlSeconds: 600,
      sessionMaxAgeSeconds: 3600,
      hasher: new PasswordHasher(10),
      credentials: cache,
    })
  })

  it('answers the remembered password until AUTH_CACHE_SECONDS have passed, then reads again', async () => {
    const user = await newUser()
    expect((await auth.signIn(user.login, user.password, 'rest')).ok).toBe(true)
    // another instance: its own services, nothing shared with this cache
    const other = new AdminService(server.ctx.db, server.ctx.blobs, new PasswordHasher(10))
    await other.setPassword(tenantId, user.id, 'cache-password-elsewhere')
    clock += 4_999
    const within = await credentialStatements(async () =>
      expect((await auth.signIn(user.login, user.password, 'rest')).ok).toBe(true),
    )
    expect(within).toEqual([])
    clock += 1
    expect(await auth.signIn(user.login, user.password, 'rest')).toMatchObject({
      ok: false,
      reason: 'invalid',
    })
    expect((await auth.signIn(user.login, 'cache-password-elsewhere', 'rest')).ok).toBe(true)
  })

  it('answers a remembered ticket until AUTH_CACHE_SECONDS have passed, then reads again', async () => {
    const user = await newUser()
    const actor = (await auth.authenticate(user.login, user.password, 'rest'))!
    const { ticket } = await auth.openSession(actor, 'token')
    expect((await auth.checkTicket(ticket, 'rest', { cached: true })).ok).toBe(true)
    const other = new AdminService(server.ctx.db, server.ctx.blobs, new PasswordHasher(10))
    await other.endSessions(tenantId, user.id)
    clock += 4_999
    expect((await auth.checkTicket(ticket, 'rest', { cached: true })).ok).toBe(true)
    // a check that asks for the session as it is now (its expiry shown) always reads it
    expect((await auth.checkTicket(ticket, 'rest')).ok).toBe(false)
    clock += 1
    expect((await auth.checkTicket(ticket, 'rest', { cached: true })).ok).toBe(false)
  })

  it('keeps nothing with AUTH_CACHE_SECONDS=0', async () => {
    const user = await newUser()
    const uncached = new AuthService(server.ctx.db, {
      sessionTtlSeconds: 600,
      sessionMaxAgeSeconds: 3600,
      hasher: new PasswordHasher(10),
      credentials: new CredentialCache(0),
    })
    expect((await uncached.signIn(user.login, user.password, 'rest')).ok).toBe(true)
    const again = await credentialStatements(async () =>
      expect((await uncached.signIn(user.login, user.password, 'rest')).ok).toBe(true),
    )
    expect(again).not.toEqual([])
  })
})
