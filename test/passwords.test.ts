import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config.js'
import { AdminService } from '../src/core/admin-service.js'
import { OWASP_SCRYPT_COST, PasswordHasher } from '../src/core/passwords.js'
import { ADMIN_TOKEN, basicAuth, startTestServer, type TestServer } from './helpers/server.js'

/**
 * Password storage at OWASP's scrypt parameters (the default; this file runs with it), weaker hashes replaced
 * at the next sign-in, a minimum length for new passwords, and remembered sign-ins that follow a change.
 */
let server: TestServer
let tenantId: number
const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }

beforeAll(async () => {
  // an empty value is the default: OWASP's cost, not the tests' cheap one; no credential cache, so that a change
  // made through another instance shows at once (test/auth-cache.test.ts has it with the cache)
  server = await startTestServer({ PASSWORD_HASH_COST: '', AUTH_CACHE_SECONDS: '0' })
  tenantId = await server.ctx.admin.createTenant('Password Company')
})

afterAll(async () => {
  await server?.close()
})

async function storedHash(login: string) {
  const result = await server.database.db.query('select password_hash from users where login = $1', [login])
  return result.rows[0].password_hash as string
}

const signIn = async (user: { login: string; password: string }) =>
  (await fetch(`${server.baseUrl}/api/v1/me`, { headers: { authorization: basicAuth(user) } })).status

describe('hashing', () => {
  it("hashes new passwords with OWASP's scrypt parameters by default (N = 2^17, r = 8, p = 1)", async () => {
    expect(loadConfig({}).PASSWORD_HASH_COST).toBe(17)
    expect(OWASP_SCRYPT_COST).toBe(17)
    expect(server.ctx.config.PASSWORD_HASH_COST).toBe(17)
    const user = { login: 'pw-owasp', password: 'an-owasp-password' }
    await server.ctx.admin.createUser(tenantId, user)
    expect(await storedHash(user.login)).toMatch(
      /^scrypt\$131072\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/,
    )
    expect(await signIn(user)).toBe(200)
  })

  it('replaces a hash of weaker parameters at the next successful sign-in, and only then', async () => {
    const user = { login: 'pw-legacy', password: 'a-legacy-password' }
    await server.ctx.admin.createUser(tenantId, user)
    // what earlier versions stored: N = 2^14
    const legacy = await new PasswordHasher(14).hash(user.password)
    expect(legacy).toMatch(/^scrypt\$16384\$8\$1\$/)
    await server.database.db.query('update users set password_hash = $1 where login = $2', [
      legacy,
      user.login,
    ])

    expect(await signIn({ ...user, password: 'not-the-password' })).toBe(401)
    expect(await storedHash(user.login)).toBe(legacy)

    expect(await signIn(user)).toBe(200)
    const upgraded = await storedHash(user.login)
    expect(upgraded).toMatch(/^scrypt\$131072\$8\$1\$/)
    expect(await new PasswordHasher().verify(user.password, upgraded)).toBe(true)
    expect(await signIn(user)).toBe(200)
    expect(await storedHash(user.login)).toBe(upgraded)
  })
})

describe('timing', () => {
  it('answers an unknown login as slowly as a known one with a wrong password (no login oracle)', async () => {
    const user = { login: 'pw-timed', password: 'the-timed-password' }
    await server.ctx.admin.createUser(tenantId, user)
    const time = async (credentials: { login: string; password: string }) => {
      const started = performance.now()
      expect(await signIn(credentials)).toBe(401)
      return performance.now() - started
    }
    const median = (values: number[]) => values.sort((x, y) => x - y)[Math.floor(values.length / 2)]!
    const unknown: number[] = []
    const known: number[] = []
    for (let i = 0; i < 3; i++) {
      unknown.push(await time({ login: `pw-nobody-${i}`, password: 'a-guess' }))
      known.push(await time({ ...user, password: `a-guess-${i}` }))
    }
    // both run one scrypt of today's cost (hundreds of ms); without the decoy an unknown login took ~1 ms
    expect(median(unknown) / median(known)).toBeGreaterThan(0.5)
  })
})

describe('new passwords', () => {
  it('need at least 12 characters, through the admin API and the core', async () => {
    const tooShort = await fetch(`${server.baseUrl}/api/v1/tenants/${tenantId}/users`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ login: 'pw-short', password: 'elevenchars' }),
    })
    expect(tooShort.status).toBe(422)
    expect((await tooShort.json()).detail).toBe('A password needs at least 12 characters')
    expect(await server.database.db.query("select 1 from users where login = 'pw-short'")).toMatchObject({
      rowCount: 0,
    })
    await expect(
      server.ctx.admin.createUser(tenantId, { login: 'pw-short', password: 'short' }),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT' })

    const created = await fetch(`${server.baseUrl}/api/v1/tenants/${tenantId}/users`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ login: 'pw-long-enough', password: 'twelve-chars' }),
    })
    expect(created.status).toBe(201)
    const { id } = await created.json()
    const reset = await fetch(`${server.baseUrl}/api/v1/tenants/${tenantId}/users/${id}/password`, {
      method: 'PUT',
      headers: admin,
      body: JSON.stringify({ password: 'short-again' }),
    })
    expect(reset.status).toBe(422)
    expect(await signIn({ login: 'pw-long-enough', password: 'twelve-chars' })).toBe(200)
  })
})

describe('remembered sign-ins', () => {
  it('stop working when another instance changes the password', async () => {
    const user = { login: 'pw-cached', password: 'cached-password-1' }
    const id = await server.ctx.admin.createUser(tenantId, user)
    expect(await signIn(user)).toBe(200)
    expect(await signIn(user)).toBe(200)
    // another server on the same database, with nothing of this one's memory
    const other = new AdminService(server.ctx.db, server.ctx.blobs, new PasswordHasher(10))
    await other.setPassword(tenantId, id, 'cached-password-2')
    expect(await signIn(user)).toBe(401)
    expect(await signIn({ ...user, password: 'cached-password-2' })).toBe(200)
  })
})
