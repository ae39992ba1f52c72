import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { CredentialCache } from './credential-cache.js'
import { md5Hex, sha256Hex } from './digests.js'
import { PasswordHasher } from './passwords.js'
import type { Persistence } from './ports/unit-of-work.js'
import type { LoginFailureStore, UserRow, UserStore } from './ports/user-store.js'
import type { Actor, Door } from './types.js'

const CACHE_TTL_MS = 60_000
const CACHE_MAX = 10_000
/** Expired sessions and forgotten failures deleted per sign-in, so that neither table grows without bound. */
const SWEEP_LIMIT = 100

export interface SignInOptions {
  /** accept the user's e-mail address as well as the login (IPS) */
  email?: boolean
  /** the tenant the request names (an IPS company handle): an e-mail address signs in there when it can */
  tenantId?: number
}

/** The ticket shapes the doors hand out: infoRouter a GUID, Enterprise 40 characters, REST 64 hex. */
export type TicketFormat = 'guid' | 'hex40' | 'token'

function newTicket(format: TicketFormat): string {
  if (format === 'guid') return randomUUID()
  if (format === 'hex40') return randomBytes(20).toString('hex')
  return randomBytes(32).toString('hex')
}

/** Tickets are stored as their sha256: the sessions table hands out no working ticket. */
export function ticketHash(ticket: string): string {
  return sha256Hex(ticket)
}

/**
 * How events name the session that caused them (Enterprise's Ticket field): the first 12 characters of the md5 of
 * the ticket, never the ticket itself. Clients compare it with their own to recognise their own changes.
 */
export function eventTicketOf(ticket: string): string {
  return md5Hex(ticket).slice(0, 12)
}

export function actorOf(user: UserRow, door: Door): Actor {
  return {
    tenantId: user.tenantId,
    userId: user.id,
    login: user.login,
    displayName: user.displayName,
    admin: user.admin,
    ipsRole: user.ipsRole,
    door,
  }
}

/**
 * How guessing is throttled. Failed sign-ins count per login and per remote address, failed ticket checks per
 * remote address. Past `threshold` failures each further one locks the key: `firstLockSeconds`, doubling with
 * every failure up to `maxLockSeconds`. While a key is locked its attempts are refused unchecked (and not
 * counted). Failures are forgotten after `forgetAfterSeconds` without one; a login's also when it signs in.
 */
export interface ThrottleRule {
  perLogin: number
  perAddress: number
  ticketsPerAddress: number
  firstLockSeconds: number
  maxLockSeconds: number
  forgetAfterSeconds: number
}

export const DEFAULT_THROTTLE: ThrottleRule = {
  perLogin: 5,
  perAddress: 50,
  ticketsPerAddress: 500,
  firstLockSeconds: 30,
  maxLockSeconds: 900,
  forgetAfterSeconds: 3600,
}

/** Seconds a key is locked after its `count`-th failure (0: not locked). */
export function lockSeconds(count: number, threshold: number, rule: ThrottleRule): number {
  if (count <= threshold) return 0
  return Math.min(rule.maxLockSeconds, rule.firstLockSeconds * 2 ** Math.min(count - threshold - 1, 30))
}

export type Refusal = 'invalid' | 'disabled' | 'locked'

export type SignIn =
  | { ok: true; actor: Actor; actors: Actor[] }
  | { ok: false; reason: Refusal /** while locked: seconds until the lock ends */; retryAfter?: number }

export type TicketCheck =
  | { ok: true; actor: Actor; expiresAt: Date }
  | { ok: false; reason: 'invalid' | 'locked'; retryAfter?: number }

/** A structured logger (pino's shape) for security events. */
export interface SecurityLogger {
  warn(fields: Record<string, unknown>, message: string): void
  debug(fields: Record<string, unknown>, message: string): void
}

export interface AuthOptions {
  sessionTtlSeconds: number
  /** absolute lifetime of a session, however often it is used */
  sessionMaxAgeSeconds: number
  hasher?: PasswordHasher
  throttle?: ThrottleRule
  logger?: SecurityLogger
  /** credentials verified lately (AUTH_CACHE_SECONDS); none remembered without one */
  credentials?: CredentialCache
}

interface Shared {
  users: UserStore
  failures: LoginFailureStore
  options: AuthOptions
  hasher: PasswordHasher
  throttle: ThrottleRule
  logger?: SecurityLogger
  /** (login, password) digests verified lately, with the stored hash they were checked against */
  verified: Map<string, { passwordHash: string; at: number }>
  /**
   * scrypt work under way, by (login, password) digest and stored hash: the sign-ins that need the same
   * verification or rehash at once share it. Each took its own before, and a client sending its password with
   * every request at 50 connections made 50 scrypt runs of 128 MiB each whenever its remembered pair expired.
   */
  hashing: Map<string, Promise<string | null>>
  credentials: CredentialCache
}

/**
 * Sign-ins and sessions for every door. A door binds the service to the remote address of its request with
 * `from(address)`, so that failures count per address too; unbound (the CLI, the demo seed) only per login.
 *
 * scrypt is deliberately slow, so a verified (login, password) pair is remembered for a minute as a digest
 * together with the stored hash it was checked against: a changed password changes the stored hash and the
 * remembered pair no longer matches. Locks are read before the remembered pairs, so a locked login stays
 * locked for its right password too.
 */
export class AuthService {
  private readonly shared: Shared
  /** the remote address failures are counted against, besides the login (null: the login only) */
  readonly address: string | null = null
  /** the client the request came from as it named itself (user agent), kept by the actors for the operation log */
  readonly client: string | null = null

  constructor(persistence: Persistence, options: AuthOptions) {
    this.shared = {
      users: persistence.stores.users,
      failures: persistence.stores.loginFailures,
      options,
      hasher: options.hasher ?? new PasswordHasher(),
      throttle: options.throttle ?? DEFAULT_THROTTLE,
      logger: options.logger,
      verified: new Map(),
      hashing: new Map(),
      credentials: options.credentials ?? new CredentialCache(0),
    }
  }

  /**
   * The same service (same cache and rules), counting failures against a remote address as well; the actors it
   * answers carry the address and the client (the operation log names them).
   */
  from(address: string | null | undefined, client?: string | null): AuthService {
    const bound: AuthService = Object.create(AuthService.prototype)
    return Object.assign(bound, { shared: this.shared, address: address || null, client: client || null })
  }

  /** An actor of this request: with its remote address and client when the service is bound to a request. */
  private requestActor(user: UserRow, door: Door): Actor {
    const actor = actorOf(user, door)
    if (this.address) actor.remoteAddress = this.address
    if (this.client) actor.client = this.client
    return actor
  }

  get hasher(): PasswordHasher {
    return this.shared.hasher
  }

  /** `work` for this user, password and stored hash, shared with the sign-ins that ask for the same meanwhile */
  private once(
    what: 'verify' | 'rehash',
    user: UserRow,
    password: string,
    work: () => Promise<string | null>,
  ): Promise<string | null> {
    const { hashing } = this.shared
    const key = `${what}\0${this.cacheKey(user, password)}\0${user.passwordHash}`
    let running = hashing.get(key)
    if (!running) {
      running = work().finally(() => hashing.delete(key))
      hashing.set(key, running)
    }
    return running
  }

  private cacheKey(user: UserRow, password: string) {
    return createHash('sha256')
      .update(`${user.tenantId}:${user.id}`)
      .update('\0')
      .update(password)
      .digest('base64')
  }

  private signInKeys(login: string) {
    // an absurdly long login is counted by its digest (an index entry has a size limit)
    const name = login.length > 200 ? `sha256:${ticketHash(login.toLowerCase())}` : login.toLowerCase()
    const keys = [{ key: `login:${name}`, threshold: this.shared.throttle.perLogin }]
    if (this.address)
      keys.push({ key: `address:${this.address}`, threshold: this.shared.throttle.perAddress })
    return keys
  }

  /**
   * Checks a login and password. Unknown logins cost the same scrypt work as known ones; a locked login or
   * address is refused without checking; a failure is counted and logged; a hash with weaker parameters than
   * today's is replaced. IPS signs users in by e-mail address too (`email`): a login is looked up first; else
   * the users with that address (one per tenant), the named company's (`tenantId`) when it has one. `actors`
   * is every user the name and password sign in as (an address used in several companies), `actor` the first.
   */
  async signIn(login: string, password: string, door: Door, options: SignInOptions = {}): Promise<SignIn> {
    if (!login || !password) return { ok: false, reason: 'invalid' }
    const { users, failures, hasher, verified, credentials } = this.shared
    const keys = this.signInKeys(login)
    // the same name, password and options signed in lately, with no failure counted here since against the
    // login or the address: the same users, unread (see CredentialCache)
    const remembered = `${options.email === true ? 'e' : 'l'}:${options.tenantId ?? ''}:${login}`
    const cached = credentials.signIn(
      remembered,
      password,
      keys.map((k) => k.key),
    )
    if (cached) {
      const actors = cached.map((user) => this.requestActor(user, door))
      return { ok: true, actor: actors[0]!, actors }
    }
    const reading = credentials.now()
    const [candidates, state] = await Promise.all([
      users.findUsersForSignIn(login, { email: options.email === true, tenantId: options.tenantId }),
      failures.readFailures(keys.map((k) => k.key)),
    ])
    if (state.lockedForSeconds > 0) {
      this.shared.logger?.debug(
        { security: 'sign_in_refused_locked', login, address: this.address, door },
        'sign-in refused: locked',
      )
      return { ok: false, reason: 'locked', retryAfter: state.lockedForSeconds }
    }
    // the named company's user when it has one; valid credentials of another company are still a sign-in
    // (the door then refuses the company, which is not the same as a wrong password)
    const named = candidates.filter((user) => user.tenantId === options.tenantId)
    const now = Date.now()
    const matching: UserRow[] = []
    for (const user of named.length > 0 ? named : candidates) {
      const cached = verified.get(this.cacheKey(user, password))
      const valid =
        (cached !== undefined &&
          cached.passwordHash === user.passwordHash &&
          now - cached.at < CACHE_TTL_MS) ||
        (await this.once('verify', user, password, async () =>
          (await hasher.verify(password, user.passwordHash)) ? user.passwordHash : null,
        )) !== null
      if (valid) matching.push(user)
    }
    if (candidates.length === 0) await hasher.verifyNothing(password)
    const enabled = matching.filter((user) => !user.disabled)
    if (enabled.length === 0) {
      const reason = matching.length > 0 ? 'disabled' : 'invalid'
      await this.countFailure(keys, { login, door, reason })
      return { ok: false, reason }
    }
    for (const user of enabled) {
      let passwordHash = user.passwordHash
      if (hasher.needsRehash(passwordHash)) {
        // the stored hash this sign-in's rehash leaves (its own, or the old one when another replaced it first)
        passwordHash =
          (await this.once('rehash', user, password, async () => {
            const rehashed = await hasher.hash(password)
            return (await users.replacePasswordHash(user, user.passwordHash, rehashed))
              ? rehashed
              : user.passwordHash
          })) ?? user.passwordHash
      }
      if (verified.size >= CACHE_MAX) verified.clear()
      verified.set(this.cacheKey(user, password), { passwordHash, at: now })
    }
    const loginKey = keys[0]!.key
    if (state.keysWithFailures.includes(loginKey)) await failures.clearFailures(loginKey)
    credentials.rememberSignIn(remembered, password, enabled, reading)
    const actors = enabled.map((user) => this.requestActor(user, door))
    return { ok: true, actor: actors[0]!, actors }
  }

  /** The actor for a login and password, or null (a refusal of any kind). */
  async authenticate(
    login: string,
    password: string,
    door: Door,
    options: SignInOptions = {},
  ): Promise<Actor | null> {
    const outcome = await this.signIn(login, password, door, options)
    return outcome.ok ? outcome.actor : null
  }

  /**
   * The enabled user with this login as an actor, without a password: for the machine's operator at the command
   * line (who can read the database anyway), acting as that account with its rights.
   */
  async operatorActing(login: string): Promise<Actor | null> {
    const user = await this.shared.users.findUserByLogin(login)
    return user && !user.disabled ? actorOf(user, 'cli') : null
  }

  /**
   * The enabled user with this login, when this is its password: no counting, no locks, no rehash. For the
   * server's own checks (published demo passwords), never for a request's credentials.
   */
  async userWithPassword(login: string, password: string) {
    const user = await this.shared.users.findUserByLogin(login)
    if (!user || user.disabled || !(await this.shared.hasher.verify(password, user.passwordHash))) return null
    return { tenantId: user.tenantId, id: user.id, login: user.login }
  }

  private async countFailure(
    keys: { key: string; threshold: number }[],
    event: { login?: string; door: Door; reason: string },
  ) {
    const { failures, throttle, logger, credentials } = this.shared
    credentials.failed(keys.map((k) => k.key))
    const counted = await failures.countFailure(
      keys.map((k) => k.key),
      throttle.forgetAfterSeconds,
    )
    const locks: { key: string; failures: number; seconds: number }[] = []
    for (const row of counted) {
      const threshold = keys.find((k) => k.key === row.key)!.threshold
      const seconds = lockSeconds(row.failures, threshold, throttle)
      if (seconds > 0) {
        await failures.lockKey(row.key, seconds)
        locks.push({ key: row.key, failures: row.failures, seconds })
      }
    }
    await failures.deleteForgottenFailures(throttle.forgetAfterSeconds, SWEEP_LIMIT)
    const fields = {
      ...event,
      address: this.address,
      failures: Object.fromEntries(counted.map((r) => [r.key, r.failures])),
    }
    logger?.warn({ security: 'sign_in_failed', ...fields }, 'sign-in failed')
    for (const lock of locks) {
      logger?.warn(
        { security: 'sign_in_locked', ...fields, key: lock.key, lockSeconds: lock.seconds },
        `${lock.key} locked for ${lock.seconds} s after ${lock.failures} failures`,
      )
    }
  }

  async openSession(actor: Actor, format: TicketFormat) {
    const { users, options } = this.shared
    const ticket = newTicket(format)
    const expiresAt = await users.insertSession({
      ticketHash: ticketHash(ticket),
      tenantId: actor.tenantId,
      userId: actor.userId,
      door: actor.door,
      ttlSeconds: options.sessionTtlSeconds,
      maxAgeSeconds: options.sessionMaxAgeSeconds,
      client: actor.client?.slice(0, 200) ?? null,
    })
    await users.deleteExpiredSessions(SWEEP_LIMIT)
    return { ticket, expiresAt }
  }

  /** The key ticket failures of the bound remote address count under (null: unbound). */
  private ticketLock() {
    return this.address
      ? { key: `tickets:${this.address}`, threshold: this.shared.throttle.ticketsPerAddress }
      : null
  }

  /**
   * The actor of a live session opened at this door (its expiry slides, never past its absolute end). An
   * unknown, expired or other door's ticket counts as a failure of the remote address; while the address is
   * locked no ticket is accepted from it.
   */
  async checkTicket(
    ticket: string,
    door: Door,
    options: { slide?: boolean; cached?: boolean } = {},
  ): Promise<TicketCheck> {
    if (!ticket) return { ok: false, reason: 'invalid' }
    const { users, credentials } = this.shared
    const lock = this.ticketLock()
    const hash = ticketHash(ticket)
    const remembered = `${door}:${hash}`
    const slide = options.slide ?? true
    // a session checked lately answers unread (its expiry then slides at the next read, see CredentialCache)
    const cached = slide && options.cached ? credentials.ticket(remembered, lock?.key ?? null) : null
    if (cached) {
      // the request's own actor, added to: the same properties in the same order as a copy with the tag, uncopied
      const actor = this.requestActor(cached.user, door)
      actor.eventTicket = cached.eventTicket
      if (cached.client) actor.client = cached.client
      return { ok: true, actor, expiresAt: cached.expiresAt }
    }
    const reading = credentials.now()
    const found = await users.touchSession(
      hash,
      door,
      this.shared.options.sessionTtlSeconds,
      lock?.key ?? null,
      slide,
    )
    if (found.lockedForSeconds > 0) return { ok: false, reason: 'locked', retryAfter: found.lockedForSeconds }
    if (!found.session) {
      if (lock) await this.countFailure([lock], { door, reason: 'ticket' })
      return { ok: false, reason: 'invalid' }
    }
    const eventTicket = eventTicketOf(ticket)
    const actor = this.requestActor(found.session.user, door)
    actor.eventTicket = eventTicket
    // the client the session was opened by names itself better than this request's User-Agent (Enterprise)
    if (found.session.client) actor.client = found.session.client
    if (slide) credentials.rememberTicket(remembered, { ...found.session, eventTicket }, reading)
    return { ok: true, actor, expiresAt: found.session.expiresAt }
  }

  /**
   * The actor of a live session opened at this door, or null (see checkTicket); `cached`: a session checked
   * lately may answer unread, its expiry as it was then (for requests that need the actor, not the expiry).
   */
  async resolveSession(ticket: string, door: Door, options: { cached?: boolean } = {}) {
    const checked = await this.checkTicket(ticket, door, options)
    return checked.ok ? { actor: checked.actor, expiresAt: checked.expiresAt } : null
  }

  /** The same as resolveSession, but a passive look (infoRouter isValidTicket): the expiry does not slide. */
  async peekSession(ticket: string, door: Door) {
    const checked = await this.checkTicket(ticket, door, { slide: false })
    return checked.ok ? { actor: checked.actor, expiresAt: checked.expiresAt } : null
  }

  /**
   * Ends a session opened at this door. A log-out names a ticket too: an unknown one counts as a failure of the
   * remote address, and while the address is locked nothing is ended from it.
   */
  async closeSession(ticket: string, door: Door): Promise<boolean> {
    if (!ticket) return false
    const { users, failures } = this.shared
    const lock = this.ticketLock()
    if (lock && (await failures.readFailures([lock.key])).lockedForSeconds > 0) return false
    const remembered = `${door}:${ticketHash(ticket)}`
    this.shared.credentials.forgetTicket(remembered)
    const closed = await users.deleteSession(ticketHash(ticket), door)
    this.shared.credentials.forgetTicket(remembered)
    if (!closed && lock) await this.countFailure([lock], { door, reason: 'ticket' })
    return closed
  }

  /** Forget remembered verifications (a password was changed through this instance). */
  forgetVerifiedPasswords() {
    this.shared.verified.clear()
    this.shared.credentials.forgetAll()
  }
}
