import type { Queryable } from './database.js'

export interface UserRow {
  tenantId: number
  id: number
  login: string
  passwordHash: string
  displayName: string | null
  email: string | null
  admin: boolean
  ipsRole: string
}

const USER_COLUMNS = `u.tenant_id, u.id, u.login, u.password_hash, u.display_name, u.email, u.admin, u.ips_role`

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
  }
}

export async function findUserByLogin(q: Queryable, login: string): Promise<UserRow | null> {
  const result = await q.query(`select ${USER_COLUMNS} from users u where lower(u.login) = lower($1)`, [
    login,
  ])
  return result.rows[0] ? toUser(result.rows[0]) : null
}

export async function findUser(q: Queryable, tenantId: number, id: number): Promise<UserRow | null> {
  const result = await q.query(`select ${USER_COLUMNS} from users u where u.tenant_id = $1 and u.id = $2`, [
    tenantId,
    id,
  ])
  return result.rows[0] ? toUser(result.rows[0]) : null
}

export async function insertSession(
  q: Queryable,
  session: { ticket: string; tenantId: number; userId: number; door: string; ttlSeconds: number },
) {
  const result = await q.query<{ expires_at: Date }>(
    `insert into sessions (ticket, tenant_id, user_id, door, expires_at)
     values ($1, $2, $3, $4, now() + make_interval(secs => $5)) returning expires_at`,
    [session.ticket, session.tenantId, session.userId, session.door, session.ttlSeconds],
  )
  return result.rows[0]!.expires_at
}

/** Finds a live session and slides its expiry in the same statement. */
export async function touchSession(q: Queryable, ticket: string, ttlSeconds: number) {
  const result = await q.query(
    `with live as (
        update sessions s set expires_at = now() + make_interval(secs => $2)
         where s.ticket = $1 and s.expires_at > now()
        returning s.tenant_id, s.user_id, s.door, s.expires_at
      )
      select ${USER_COLUMNS}, live.door, live.expires_at
        from live join users u on u.tenant_id = live.tenant_id and u.id = live.user_id`,
    [ticket, ttlSeconds],
  )
  const row = result.rows[0]
  return row ? { user: toUser(row), door: row.door as string, expiresAt: row.expires_at as Date } : null
}

export async function deleteSession(q: Queryable, ticket: string): Promise<boolean> {
  const result = await q.query('delete from sessions where ticket = $1', [ticket])
  return (result.rowCount ?? 0) > 0
}

export async function deleteExpiredSessions(q: Queryable): Promise<number> {
  const result = await q.query('delete from sessions where expires_at < now()')
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
