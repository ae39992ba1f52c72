import type { NewSession, TouchedSession, UserRow, UserStore } from '../core/ports/user-store.js'
import type { Queryable } from './queryable.js'

const USER_COLUMNS = `u.tenant_id, u.id, u.login, u.password_hash, u.display_name, u.email, u.admin, u.ips_role, u.disabled`

function toUser(row: Record<string, unknown>): UserRow {
  return {
    tenantId: row.tenant_id as number,
    id: row.id as number,
    login: row.login as string,
    passwordHash: row.password_hash as string,
    displayName: row.display_name as string | null,
    email: row.email as string | null,
    admin: row.admin as boolean,
    ipsRole: row.ips_role as string,
    disabled: row.disabled as boolean,
  }
}

export async function findUserByLogin(q: Queryable, login: string): Promise<UserRow | null> {
  const result = await q.query(`select ${USER_COLUMNS} from users u where lower(u.login) = lower($1)`, [
    login,
  ])
  return result.rows[0] ? toUser(result.rows[0]) : null
}

/** At most this many users share a sign-in name (an e-mail address used in several tenants). */
export const MAX_SIGN_IN_CANDIDATES = 10

/**
 * The users a sign-in name may stand for: the user with that login (logins are unique across tenants); failing
 * that, with `email`, the users with that e-mail address (one per tenant), `tenantId`'s first.
 */
export async function findUsersForSignIn(
  q: Queryable,
  name: string,
  options: { email: boolean; tenantId?: number },
): Promise<UserRow[]> {
  const result = await q.query(
    `with by_login as (select ${USER_COLUMNS} from users u where lower(u.login) = lower($1))
     select * from by_login
     union all
     (select ${USER_COLUMNS} from users u
       where $2 and not exists (select 1 from by_login) and lower(u.email) = lower($1)
       order by u.tenant_id = $3::bigint desc nulls last, u.tenant_id limit ${MAX_SIGN_IN_CANDIDATES})`,
    [name, options.email, options.tenantId ?? null],
  )
  return result.rows.map(toUser)
}

export async function findUser(q: Queryable, tenantId: number, id: number): Promise<UserRow | null> {
  const result = await q.query(`select ${USER_COLUMNS} from users u where u.tenant_id = $1 and u.id = $2`, [
    tenantId,
    id,
  ])
  return result.rows[0] ? toUser(result.rows[0]) : null
}

/** Replaces a user's password hash unless it changed meanwhile (a rehash must not undo a new password). */
export async function replacePasswordHash(
  q: Queryable,
  user: { tenantId: number; id: number },
  oldHash: string,
  newHash: string,
): Promise<boolean> {
  const result = await q.query(
    'update users set password_hash = $4 where tenant_id = $1 and id = $2 and password_hash = $3',
    [user.tenantId, user.id, oldHash, newHash],
  )
  return (result.rowCount ?? 0) > 0
}

export async function insertSession(q: Queryable, session: NewSession): Promise<Date> {
  const result = await q.query<{ expires_at: Date }>(
    `insert into sessions (ticket_hash, tenant_id, user_id, door, expires_at, ends_at, client)
     values ($1, $2, $3, $4, now() + make_interval(secs => least($5::int, $6::int)), now() + make_interval(secs => $6::int), $7)
     returning expires_at`,
    [
      session.ticketHash,
      session.tenantId,
      session.userId,
      session.door,
      session.ttlSeconds,
      session.maxAgeSeconds,
      session.client ?? null,
    ],
  )
  return result.rows[0]!.expires_at
}

/**
 * Finds a live session of the given door and slides its expiry (never past its absolute end), in one
 * statement that also reads the lock on `lockKey` (a remote address's ticket failures): while it holds, no
 * session is found. A disabled user's sessions are never found.
 */
export async function touchSession(
  q: Queryable,
  ticketHash: string,
  door: string,
  ttlSeconds: number,
  lockKey: string | null,
  /** false: a passive look (infoRouter isValidTicket), the expiry stays as it is */
  slide = true,
): Promise<TouchedSession> {
  const result = await q.query(
    `with lock as (
        select greatest(0, ceil(extract(epoch from max(f.locked_until) - now())))::integer as locked_for
          from login_failures f where f.key = $4
      ), live as (
        update sessions s
           set expires_at = case when $5 then least(now() + make_interval(secs => $3), s.ends_at) else s.expires_at end
         where s.ticket_hash = $1 and s.door = $2 and s.expires_at > now() and s.ends_at > now()
           and (select locked_for from lock) = 0
           and exists (select 1 from users d where d.tenant_id = s.tenant_id and d.id = s.user_id and not d.disabled)
        returning s.tenant_id, s.user_id, s.expires_at, s.client
      )
      select lock.locked_for, ${USER_COLUMNS}, live.expires_at, live.client as session_client
        from lock left join (live join users u on u.tenant_id = live.tenant_id and u.id = live.user_id) on true`,
    [ticketHash, door, ttlSeconds, lockKey, slide],
  )
  const row = result.rows[0]!
  return {
    lockedForSeconds: row.locked_for as number,
    session:
      row.id === null
        ? null
        : {
            user: toUser(row),
            expiresAt: row.expires_at as Date,
            client: (row.session_client as string | null) ?? null,
          },
  }
}

export async function deleteSession(q: Queryable, ticketHash: string, door: string): Promise<boolean> {
  const result = await q.query('delete from sessions where ticket_hash = $1 and door = $2', [
    ticketHash,
    door,
  ])
  return (result.rowCount ?? 0) > 0
}

/** Ends every session of a user; answers how many there were. */
export async function deleteUserSessions(q: Queryable, tenantId: number, userId: number): Promise<number> {
  const result = await q.query('delete from sessions where tenant_id = $1 and user_id = $2', [
    tenantId,
    userId,
  ])
  return result.rowCount ?? 0
}

/** Deletes at most `limit` sessions past their expiry (called as sessions open, so the table stays bounded). */
export async function deleteExpiredSessions(q: Queryable, limit: number): Promise<number> {
  const result = await q.query(
    `delete from sessions where ticket_hash = any(array(
        select ticket_hash from sessions where expires_at <= now() order by expires_at limit $1))`,
    [limit],
  )
  return result.rowCount ?? 0
}

/** A user of one tenant by login (case-insensitive). */
export async function findUserInTenant(
  q: Queryable,
  tenantId: number,
  login: string,
): Promise<UserRow | null> {
  const result = await q.query(
    `select ${USER_COLUMNS} from users u where u.tenant_id = $1 and lower(u.login) = lower($2)`,
    [tenantId, login],
  )
  return result.rows[0] ? toUser(result.rows[0]) : null
}

/** The user store over the pool or one transaction. */
export class PgUserStore implements UserStore {
  constructor(private readonly q: Queryable) {}
  findUserByLogin(login: string) {
    return findUserByLogin(this.q, login)
  }
  findUsersForSignIn(name: string, options: { email: boolean; tenantId?: number }) {
    return findUsersForSignIn(this.q, name, options)
  }
  findUser(tenantId: number, id: number) {
    return findUser(this.q, tenantId, id)
  }
  findUserInTenant(tenantId: number, login: string) {
    return findUserInTenant(this.q, tenantId, login)
  }
  replacePasswordHash(user: { tenantId: number; id: number }, oldHash: string, newHash: string) {
    return replacePasswordHash(this.q, user, oldHash, newHash)
  }
  insertSession(session: NewSession) {
    return insertSession(this.q, session)
  }
  touchSession(
    ticketHash: string,
    door: string,
    ttlSeconds: number,
    lockKey: string | null,
    slide?: boolean,
  ) {
    return touchSession(this.q, ticketHash, door, ttlSeconds, lockKey, slide)
  }
  deleteSession(ticketHash: string, door: string) {
    return deleteSession(this.q, ticketHash, door)
  }
  deleteUserSessions(tenantId: number, userId: number) {
    return deleteUserSessions(this.q, tenantId, userId)
  }
  deleteExpiredSessions(limit: number) {
    return deleteExpiredSessions(this.q, limit)
  }
}
