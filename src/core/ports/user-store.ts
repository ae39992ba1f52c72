/** Users, their sessions and the sign-in throttle's failure counts (core/auth-service.ts, core/admin-service.ts). */

export interface UserRow {
  tenantId: number
  id: number
  login: string
  passwordHash: string
  displayName: string | null
  email: string | null
  admin: boolean
  ipsRole: string
  disabled: boolean
}

export interface NewSession {
  ticketHash: string
  tenantId: number
  userId: number
  door: string
  ttlSeconds: number
  maxAgeSeconds: number
  /** the client as it named itself at sign-in */
  client?: string | null
}

export interface TouchedSession {
  /** how long the lock on the key asked about still holds (0: none) */
  lockedForSeconds: number
  /** null: no live session of that ticket and door, a disabled user's, or the key is locked */
  session: { user: UserRow; expiresAt: Date; client: string | null } | null
}

export interface UserStore {
  /** The user with this login (logins are unique across tenants, case-insensitive). */
  findUserByLogin(login: string): Promise<UserRow | null>
  /**
   * The users a sign-in name may stand for: the user with that login; failing that, with `email`, the users with
   * that e-mail address (one per tenant), `tenantId`'s first.
   */
  findUsersForSignIn(name: string, options: { email: boolean; tenantId?: number }): Promise<UserRow[]>
  findUser(tenantId: number, id: number): Promise<UserRow | null>
  /** A user of one tenant by login (case-insensitive). */
  findUserInTenant(tenantId: number, login: string): Promise<UserRow | null>
  /** Replaces a user's password hash unless it changed meanwhile (a rehash must not undo a new password). */
  replacePasswordHash(
    user: { tenantId: number; id: number },
    oldHash: string,
    newHash: string,
  ): Promise<boolean>
  /** Opens a session; answers when it expires. */
  insertSession(session: NewSession): Promise<Date>
  /**
   * Finds a live session of the given door and slides its expiry (`slide`; never past its absolute end),
   * reading the lock on `lockKey` at once: while it holds, no session is found.
   */
  touchSession(
    ticketHash: string,
    door: string,
    ttlSeconds: number,
    lockKey: string | null,
    slide?: boolean,
  ): Promise<TouchedSession>
  deleteSession(ticketHash: string, door: string): Promise<boolean>
  /** Ends every session of a user; answers how many there were. */
  deleteUserSessions(tenantId: number, userId: number): Promise<number>
  /** Deletes at most `limit` sessions past their expiry. */
  deleteExpiredSessions(limit: number): Promise<number>
}

/** Failed sign-ins and ticket checks per key (a login, a remote address); the store's clock decides. */
export interface LoginFailureStore {
  /** How long the longest lock in force on `keys` still holds (0: none), and which keys have failures. */
  readFailures(keys: string[]): Promise<{ lockedForSeconds: number; keysWithFailures: string[] }>
  /**
   * Counts one more failure on each key (from 1 again when the last one is older than `forgetAfterSeconds`);
   * answers the counts.
   */
  countFailure(keys: string[], forgetAfterSeconds: number): Promise<{ key: string; failures: number }[]>
  /** Locks a key for `seconds` from now (a lock already reaching further stays). */
  lockKey(key: string, seconds: number): Promise<void>
  clearFailures(key: string): Promise<void>
  /** Deletes at most `limit` keys whose failures are forgotten and whose lock has ended. */
  deleteForgottenFailures(forgetAfterSeconds: number, limit: number): Promise<number>
}
