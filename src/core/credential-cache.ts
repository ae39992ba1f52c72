import { randomBytes, timingSafeEqual } from 'node:crypto'
import { sha256 } from './digests.js'
import type { UserRow } from './ports/user-store.js'

/** Entries kept at most per kind; past that the oldest half is dropped (a full cache only costs look-ups). */
const MAX_ENTRIES = 10_000

interface SignInEntry {
  /** digest of the password presented, salted with a secret of this process: never the password */
  secret: Buffer
  users: UserRow[]
  /** when the sign-in it remembers began (its reads of the user and the throttle) */
  at: number
}

interface TicketEntry {
  user: UserRow
  client: string | null
  expiresAt: Date
  /** the session's event tag (eventTicketOf), worked out once rather than on every request that presents it */
  eventTicket: string
  at: number
}

/**
 * Credentials verified lately, so that a run of requests with the same credentials reads neither the user nor the
 * throttle's failures on each request (AUTH_CACHE_SECONDS; 0 keeps nothing). What it answers is at most `seconds`
 * old: a change made through another instance (a new password, a disabled user, an ended session, a lock) takes
 * effect there within that time. On this instance a change to users or sessions forgets everything at once
 * (forgetAll), and a failure counted here against a login, an address or an address's tickets keeps every entry
 * remembered before it from being used for that key: a locked login or address stays locked for right
 * credentials too, as without the cache. Failures are never remembered: a refused request takes the full path.
 */
export class CredentialCache {
  readonly ms: number
  /** prefixed to a password before it is digested: the digests of one process say nothing about another's */
  readonly #salt = randomBytes(32).toString('hex')
  readonly #signIns = new Map<string, SignInEntry>()
  readonly #tickets = new Map<string, TicketEntry>()
  /** throttle key → when this instance last counted a failure against it */
  readonly #failures = new Map<string, number>()
  /** what was read before this was forgotten (forgetAll) is not remembered */
  #notBefore = Number.NEGATIVE_INFINITY

  constructor(
    seconds: number,
    /** the clock (tests move it) */
    readonly now: () => number = Date.now,
  ) {
    this.ms = Math.max(0, seconds) * 1000
  }

  get enabled() {
    return this.ms > 0
  }

  /**
   * One SHA-256 of the secret salt and the secret, in one call: an HMAC object per request cost 3-9 us on every
   * remembered sign-in. The salt has a fixed length, so the digest is of this secret alone; it is only compared
   * with digests this process made, never shown.
   */
  #digest(secret: string): Buffer {
    return sha256(this.#salt + secret)
  }

  /** whether an entry remembered at `at` may still answer for these throttle keys */
  #usable(at: number, keys: (string | null)[]): boolean {
    if (this.now() - at >= this.ms) return false
    for (const key of keys) {
      if (key === null) continue
      const failed = this.#failures.get(key)
      if (failed !== undefined && failed >= at) return false
    }
    return true
  }

  /** #usable for one throttle key, without an array made for it (every remembered ticket's request) */
  #usableFor(at: number, key: string | null): boolean {
    if (this.now() - at >= this.ms) return false
    if (key === null) return true
    const failed = this.#failures.get(key)
    return failed === undefined || failed < at
  }

  /** The users a sign-in with these credentials answered lately, or null (ask the database). */
  signIn(key: string, password: string, throttleKeys: (string | null)[]): UserRow[] | null {
    if (!this.enabled) return null
    const entry = this.#signIns.get(key)
    if (!entry) return null
    if (!this.#usable(entry.at, throttleKeys)) {
      if (this.now() - entry.at >= this.ms) this.#signIns.delete(key)
      return null
    }
    const presented = this.#digest(password)
    return timingSafeEqual(presented, entry.secret) ? entry.users : null
  }

  /** Remembers a sign-in that succeeded; `at` is when it began reading (see CredentialCache). */
  rememberSignIn(key: string, password: string, users: UserRow[], at: number) {
    if (!this.enabled || users.length === 0 || at <= this.#notBefore) return
    bound(this.#signIns)
    this.#signIns.set(key, { secret: this.#digest(password), users, at })
  }

  /** A live session of a ticket checked lately, or null (ask the database). */
  ticket(key: string, lockKey: string | null): TicketEntry | null {
    if (!this.enabled) return null
    const entry = this.#tickets.get(key)
    if (!entry) return null
    if (!this.#usableFor(entry.at, lockKey) || entry.expiresAt.getTime() <= this.now()) {
      this.#tickets.delete(key)
      return null
    }
    return entry
  }

  rememberTicket(key: string, session: Omit<TicketEntry, 'at'>, at: number) {
    if (!this.enabled || at <= this.#notBefore) return
    // a session ended here after this check began stays ended
    const ended = this.#failures.get(key)
    if (ended !== undefined && at <= ended) return
    bound(this.#tickets)
    this.#tickets.set(key, { ...session, at })
  }

  /** A session ended through this instance (log-out): its entry goes, and a check that read it before stays unkept. */
  forgetTicket(key: string) {
    this.#tickets.delete(key)
    if (this.enabled) this.#failures.set(key, this.now())
  }

  /** A failure was counted against these throttle keys on this instance. */
  failed(keys: string[]) {
    if (!this.enabled) return
    const now = this.now()
    if (this.#failures.size >= MAX_ENTRIES) {
      // a failure older than an entry's lifetime stops no entry still usable
      for (const [key, at] of this.#failures) if (now - at > this.ms) this.#failures.delete(key)
      if (this.#failures.size >= MAX_ENTRIES) {
        this.forgetAll()
        this.#failures.clear()
      }
    }
    for (const key of keys) this.#failures.set(key, now)
  }

  /**
   * Users or sessions changed through this instance: nothing remembered answers again, and nothing read before
   * now is remembered later (a sign-in that read the old password while it changed).
   */
  forgetAll() {
    this.#signIns.clear()
    this.#tickets.clear()
    this.#notBefore = this.now()
  }
}

function bound(map: Map<string, unknown>) {
  if (map.size < MAX_ENTRIES) return
  let drop = map.size / 2
  for (const key of map.keys()) {
    if (drop-- <= 0) break
    map.delete(key)
  }
}
