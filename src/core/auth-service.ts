import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { Database } from '../db/database.js'
import * as users from '../db/user-repository.js'
import { verifyPassword } from './passwords.js'
import type { Actor, Door } from './types.js'

const CACHE_TTL_MS = 60_000
const CACHE_MAX = 10_000

/** The ticket shapes the doors hand out: infoRouter a GUID, Enterprise 40 characters, REST 64 hex. */
export type TicketFormat = 'guid' | 'hex40' | 'token'

function newTicket(format: TicketFormat): string {
  if (format === 'guid') return randomUUID()
  if (format === 'hex40') return randomBytes(20).toString('hex')
  return randomBytes(32).toString('hex')
}

export function actorOf(user: users.UserRow, door: Door): Actor {
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
 * Logins and sessions for every door. scrypt is deliberately slow, so a verified (login, password) pair is
 * remembered for a minute as a digest together with the stored hash it was checked against: a changed
 * password changes the stored hash and the remembered pair no longer matches.
 */
export class AuthService {
  private readonly verified = new Map<string, { passwordHash: string; at: number }>()

  constructor(
    private readonly db: Database,
    private readonly sessionTtlSeconds: number,
  ) {}

  private cacheKey(login: string, password: string) {
    return createHash('sha256').update(login.toLowerCase()).update('\0').update(password).digest('base64')
  }

  /** The actor for a login and password, or null. */
  async authenticate(login: string, password: string, door: Door): Promise<Actor | null> {
    if (!login || !password) return null
    const user = await users.findUserByLogin(this.db, login)
    if (!user) return null
    const key = this.cacheKey(login, password)
    const cached = this.verified.get(key)
    const now = Date.now()
    if (!(cached && cached.passwordHash === user.passwordHash && now - cached.at < CACHE_TTL_MS)) {
      if (!(await verifyPassword(password, user.passwordHash))) return null
      if (this.verified.size >= CACHE_MAX) this.verified.clear()
      this.verified.set(key, { passwordHash: user.passwordHash, at: now })
    }
    return actorOf(user, door)
  }

  async openSession(actor: Actor, format: TicketFormat, ttlSeconds = this.sessionTtlSeconds) {
    const ticket = newTicket(format)
    const expiresAt = await users.insertSession(this.db, {
      ticket,
      tenantId: actor.tenantId,
      userId: actor.userId,
      door: actor.door,
      ttlSeconds,
    })
    return { ticket, expiresAt }
  }

  /** The actor of a live session (its expiry slides), or null when it is unknown or expired. */
  async resolveSession(ticket: string, door: Door, ttlSeconds = this.sessionTtlSeconds) {
    if (!ticket || ticket.length > 128) return null
    const session = await users.touchSession(this.db, ticket, ttlSeconds)
    return session ? { actor: actorOf(session.user, door), expiresAt: session.expiresAt } : null
  }

  closeSession(ticket: string): Promise<boolean> {
    return users.deleteSession(this.db, ticket)
  }

  /** Forget remembered verifications (a password was changed through this instance). */
  forgetVerifiedPasswords() {
    this.verified.clear()
  }
}
