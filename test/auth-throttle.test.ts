import { Writable } from 'node:stream'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { AuthService } from '../src/core/auth-service.js'
import { PasswordHasher } from '../src/core/passwords.js'
import { parseXml } from '../src/protocols/soap/xml.js'
import { envelope, fault } from './helpers/enterprise.js'
import { authHeader, bodyOf, faultOf, ns, soap11, text } from './helpers/ips.js'
import { basicAuth, createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

/**
 * Online guessing: every door that takes a password or a ticket counts failures per login and per remote
 * address in PostgreSQL, locks past a threshold (the right password is refused too), answers in its own
 * authentication error and logs a security event.
 */
let server: TestServer
let f: Fixture
const logLines: Record<string, unknown>[] = []

const ADDRESS_THRESHOLD = 12
const TICKET_THRESHOLD = 10

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) logLines.push(JSON.parse(line))
      done()
    },
  })
  server = await startTestServer(
    {
      LOGIN_FAILURES_PER_ADDRESS: String(ADDRESS_THRESHOLD),
      TICKET_FAILURES_PER_ADDRESS: String(TICKET_THRESHOLD),
    },
    { logger: pino({ level: 'info' }, sink) },
  )
  f = await createFixture(server.ctx, 'th')
})

afterAll(async () => {
  await server?.close()
})

type Outcome = 'ok' | 'refused'
interface Credentials {
  login: string
  password: string
}

let nextAddress = 1
/** A remote address of its own for each attempt series, so that address locks do not leak between tests. */
const newAddress = () => `198.51.100.${nextAddress++}`

async function inject(
  address: string,
  method: 'GET' | 'POST',
  url: string,
  headers: Record<string, string>,
  payload?: string,
) {
  const response = await server.app.inject({ method, url, headers, payload, remoteAddress: address })
  return { status: response.statusCode, headers: response.headers, text: response.body }
}

const ipsSearch = () =>
  `<searchAssetsParam xmlns="${ns('2014-04-03')}"><companyHandle>c|${f.tenantId}</companyHandle></searchAssetsParam>`
const IPS = '/scene7/services/IpsApiService'
const XML = { 'content-type': 'text/xml; charset=utf-8' }

/** Checks an IPS reply: the operation's answer, or authenticationFault 10001 (its reason is returned). */
function ipsOutcome(reply: { text: string }): { outcome: Outcome; detail: string } {
  const root = parseXml(reply.text)
  const first = bodyOf(root)
  if (first.name !== 'Fault') return { outcome: 'ok', detail: first.name }
  const detail = faultOf(root)
  expect(detail).toMatchObject({ element: 'authenticationFault', code: '10001' })
  return { outcome: 'refused', detail: detail.reason }
}

/** Every door that takes a login and password, each answering in its own authentication error. */
const doors: Record<
  string,
  (user: Credentials, address: string) => Promise<{ outcome: Outcome; detail: string }>
> = {
  'REST Basic': async (user, address) => {
    const reply = await inject(address, 'GET', '/api/v1/me', { authorization: basicAuth(user) })
    if (reply.status === 200) return { outcome: 'ok', detail: '' }
    expect(reply.headers['content-type']).toContain('application/problem+json')
    if (reply.status === 429) {
      expect(Number(reply.headers['retry-after'])).toBeGreaterThan(0)
      return { outcome: 'refused', detail: 'locked' }
    }
    expect(reply.status).toBe(401)
    return { outcome: 'refused', detail: 'invalid' }
  },
  'REST sessions': async (user, address) => {
    const reply = await inject(
      address,
      'POST',
      '/api/v1/sessions',
      { 'content-type': 'application/json' },
      JSON.stringify(user),
    )
    if (reply.status === 201) return { outcome: 'ok', detail: '' }
    expect([401, 429]).toContain(reply.status)
    return { outcome: 'refused', detail: reply.status === 429 ? 'locked' : 'invalid' }
  },
  'IPS authHeader': async (user, address) =>
    ipsOutcome(await inject(address, 'POST', IPS, XML, soap11(ipsSearch(), authHeader(user)))),
  'IPS HTTP Basic': async (user, address) =>
    ipsOutcome(
      await inject(address, 'POST', IPS, { ...XML, authorization: basicAuth(user) }, soap11(ipsSearch())),
    ),
  'IPS AuthUser/AuthPassword': async (user, address) => {
    const legacy =
      `<AuthUser xmlns="http://www.scene7.com/IpsApi">${user.login}</AuthUser>` +
      `<AuthPassword xmlns="http://www.scene7.com/IpsApi">${user.password}</AuthPassword>`
    return ipsOutcome(await inject(address, 'POST', IPS, XML, soap11(ipsSearch(), legacy)))
  },
  'IPS checkLogin': async (user, address) => {
    const param = `<checkLoginParam xmlns="${ns('2014-04-03')}"><companyHandle>c|${f.tenantId}</companyHandle><email>${user.login}</email><password>${user.password}</password></checkLoginParam>`
    const reply = await inject(address, 'POST', IPS, XML, soap11(param, authHeader(f.users.admin!)))
    // the caller signs in too: from a locked address it is refused before its check runs
    if (bodyOf(parseXml(reply.text)).name === 'Fault') return ipsOutcome(reply)
    const status = text(bodyOf(parseXml(reply.text)), 'status')
    expect(['ValidLogin', 'InvalidLogin']).toContain(status)
    return { outcome: status === 'ValidLogin' ? 'ok' : 'refused', detail: status! }
  },
  'srv.asmx AuthenticateUser': async (user, address) => {
    const query = new URLSearchParams({ UID: user.login, PWD: user.password })
    const reply = await inject(address, 'GET', `/srv.asmx/AuthenticateUser?${query}`, {})
    const response = parseXml(reply.text)
    if (response.attrs.success === 'true') return { outcome: 'ok', detail: '' }
    expect(response.attrs.error).toBe('[900] Authentication failed')
    return { outcome: 'refused', detail: response.attrs.error! }
  },
  'Enterprise LogOn': async (user, address) => {
    const reply = await inject(
      address,
      'POST',
      '/Enterprise/index.php',
      XML,
      envelope(
        `<ns1:LogOn><User>${user.login}</User><Password>${user.password}</Password><Ticket/><Server>Enterprise Server</Server>` +
          '<ClientName>test</ClientName><Domain/><ClientAppName>Content Station</ClientAppName>' +
          '<ClientAppVersion>v10.0 build 1</ClientAppVersion><ClientAppSerial/><ClientAppProductKey/></ns1:LogOn>',
      ),
    )
    if (/<Ticket>[0-9a-f]{40}<\/Ticket>/.test(reply.text)) return { outcome: 'ok', detail: '' }
    expect(fault(reply.text)).toEqual({
      faultcode: 'SOAP-ENV:Client',
      faultstring: 'The user name or password is incorrect. (S1053)',
      detail: '',
    })
    return { outcome: 'refused', detail: 'S1053' }
  },
}

let userCount = 0
async function newUser(): Promise<Credentials> {
  const user = { login: `th-guessed-${++userCount}`, password: `right-password-${userCount}` }
  await server.ctx.admin.createUser(f.tenantId, user)
  return user
}

async function lockRow(key: string) {
  const result = await server.database.db.query(
    'select failures, extract(epoch from locked_until - now()) as locked_for from login_failures where key = $1',
    [key],
  )
  return result.rows[0] as { failures: number; locked_for: number | null } | undefined
}

/** Time passes: every lock ends now (the failure counts stay). */
async function endLocks() {
  await server.database.db.query("update login_failures set locked_until = now() - interval '1 second'")
}

describe('per login', () => {
  for (const [door, attempt] of Object.entries(doors)) {
    it(`${door}: five wrong passwords lock the login; its right password is then refused too`, async () => {
      const user = await newUser()
      const wrong = { ...user, password: 'wrong-password' }
      for (let i = 0; i < 5; i++) {
        // each guess from another address: this is the login's lock, not an address's
        expect((await attempt(wrong, newAddress())).outcome).toBe('refused')
      }
      expect((await lockRow(`login:${user.login}`))?.failures).toBe(5)
      // the sixth failure starts a 30 s lock
      expect((await attempt(wrong, newAddress())).outcome).toBe('refused')
      const locked = await lockRow(`login:${user.login}`)
      expect(locked?.failures).toBe(6)
      expect(Number(locked?.locked_for)).toBeGreaterThan(20)
      expect(Number(locked?.locked_for)).toBeLessThanOrEqual(30)

      const refused = await attempt(user, newAddress())
      expect(refused.outcome).toBe('refused')
      if (door.startsWith('IPS') && door !== 'IPS checkLogin')
        expect(refused.detail).toMatch(/Too many failed logins/)
      if (door.startsWith('REST')) expect(refused.detail).toBe('locked')
      // refused unchecked: no further failure is counted while locked
      expect((await lockRow(`login:${user.login}`))?.failures).toBe(6)

      await endLocks()
      expect((await attempt(user, newAddress())).outcome).toBe('ok')
      // a successful sign-in forgets the login's failures
      expect(await lockRow(`login:${user.login}`)).toBeUndefined()
    })
  }

  it('doubles the lock with every further failure, up to LOGIN_LOCK_MAX', async () => {
    const user = await newUser()
    const wrong = { ...user, password: 'wrong-password' }
    const seen: number[] = []
    for (let i = 0; i < 11; i++) {
      await doors['REST Basic']!(wrong, newAddress())
      const row = await lockRow(`login:${user.login}`)
      if (Number(row?.locked_for) > 0) seen.push(Math.round(Number(row!.locked_for)))
      await endLocks()
    }
    expect(seen).toEqual([30, 60, 120, 240, 480, 900])
  })

  it('counts an absurdly long login like any other (by its digest)', async () => {
    const login = 'x'.repeat(10_000)
    for (let i = 0; i < 6; i++) {
      expect((await doors['REST Basic']!({ login, password: 'guess' }, newAddress())).outcome).toBe('refused')
    }
    const rows = await server.database.db.query(
      "select failures, locked_until > now() as locked from login_failures where key like 'login:sha256:%'",
    )
    expect(rows.rows).toEqual([{ failures: 6, locked: true }])
  })

  it('keeps the lock for every instance: a second server on the same database refuses the login', async () => {
    const user = await newUser()
    for (let i = 0; i < 6; i++)
      await doors['srv.asmx AuthenticateUser']!({ ...user, password: 'nope' }, newAddress())
    // another instance: its own service, no memory shared with the first
    const other = new AuthService(server.ctx.db, {
      sessionTtlSeconds: 60,
      sessionMaxAgeSeconds: 600,
      hasher: new PasswordHasher(10),
    })
    expect(await other.from('192.0.2.1').signIn(user.login, user.password, 'rest')).toMatchObject({
      ok: false,
      reason: 'locked',
    })
  })

  it('logs each failure and each lock as a security event, without the password', async () => {
    const user = await newUser()
    const address = newAddress()
    for (let i = 0; i < 6; i++)
      await doors['IPS authHeader']!({ ...user, password: 'secret-guess-x' }, address)
    const events = logLines.filter((line) => line.login === user.login)
    expect(events.filter((line) => line.security === 'sign_in_failed')).toHaveLength(6)
    const locked = events.find((line) => line.security === 'sign_in_locked')
    expect(locked).toMatchObject({
      level: 40,
      door: 'ips',
      address,
      key: `login:${user.login}`,
      lockSeconds: 30,
    })
    expect(JSON.stringify(events)).not.toContain('secret-guess-x')
  })
})

describe('per remote address', () => {
  it('failures of many logins from one address lock that address; other addresses sign in', async () => {
    const address = newAddress()
    const user = await newUser()
    for (let i = 0; i < ADDRESS_THRESHOLD + 1; i++) {
      expect(
        (await doors['Enterprise LogOn']!({ login: `nobody-${i}`, password: 'guess' }, address)).outcome,
      ).toBe('refused')
    }
    for (const attempt of Object.values(doors)) expect((await attempt(user, address)).outcome).toBe('refused')
    expect((await doors['Enterprise LogOn']!(user, newAddress())).outcome).toBe('ok')
  })

  it('counts unknown, expired and other doors\u2019 tickets per address; past the threshold even a valid ticket is refused there', async () => {
    const address = newAddress()
    const query = new URLSearchParams({ UID: f.users.editor!.login, PWD: f.users.editor!.password })
    const login = parseXml((await inject(address, 'GET', `/srv.asmx/AuthenticateUser?${query}`, {})).text)
    const ticket = login.attrs.ticket!
    const list = async (value: string, from: string) =>
      parseXml(
        (await inject(from, 'GET', `/srv.asmx/GetRecycleBinContent?AuthenticationTicket=${value}`, {})).text,
      ).attrs
    expect((await list(ticket, address)).success).toBe('true')
    const logOut = async (value: string, from: string) =>
      parseXml((await inject(from, 'GET', `/srv.asmx/LogOut?AuthenticationTicket=${value}`, {})).text).attrs
    for (let i = 0; i < TICKET_THRESHOLD + 1; i++) {
      // a log-out names a ticket as well
      const guess = i % 2 === 0 ? list : logOut
      expect((await guess(crypto.randomUUID(), address)).error).toBe(
        '[901] Session expired or Invalid ticket.',
      )
    }
    expect(await lockRow(`tickets:${address}`)).toMatchObject({ failures: TICKET_THRESHOLD + 1 })
    expect((await list(ticket, address)).error).toBe('[901] Session expired or Invalid ticket.')
    expect((await logOut(ticket, address)).error).toBe('[901] Session expired or Invalid ticket.')
    // Enterprise and REST refuse tickets from that address too, in their own words
    const rest = await inject(address, 'GET', '/api/v1/me', { authorization: 'Bearer 0123' })
    expect(rest.status).toBe(429)
    expect((await list(ticket, newAddress())).success).toBe('true')
  })
})

describe('equal work for unknown and known logins', () => {
  it('checks a password of an unknown login against a hash of the same cost', async () => {
    const verify = vi.spyOn(PasswordHasher.prototype, 'verify')
    try {
      const user = await newUser()
      verify.mockClear()
      expect(
        (await doors['REST Basic']!({ login: 'no-such-login-anywhere', password: 'guess' }, newAddress()))
          .outcome,
      ).toBe('refused')
      expect((await doors['REST Basic']!({ ...user, password: 'guess' }, newAddress())).outcome).toBe(
        'refused',
      )
      expect(verify).toHaveBeenCalledTimes(2)
      const cost = (stored: string) => stored.split('$').slice(1, 4).join('$')
      const [unknown, known] = verify.mock.calls.map((call) => cost(call[1]))
      expect(unknown).toBe(known)
      expect(unknown).toBe(`${2 ** server.ctx.config.PASSWORD_HASH_COST}$8$1`)
    } finally {
      verify.mockRestore()
    }
  })
})
