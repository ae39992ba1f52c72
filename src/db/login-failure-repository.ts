import type { LoginFailureStore } from '../core/ports/user-store.js'
import type { Queryable } from './queryable.js'

/**
 * What the failure rows of some keys say now: how many seconds the longest lock in force still holds (0: none),
 * and which keys have failures. The database's clock decides, so instances with skewed clocks agree.
 */
export async function readFailures(q: Queryable, keys: string[]) {
  const result = await q.query<{ key: string; locked_for: number }>(
    `select key, greatest(0, ceil(extract(epoch from locked_until - now())))::integer as locked_for
       from login_failures where key = any($1::text[])`,
    [keys],
  )
  return {
    lockedForSeconds: Math.max(0, ...result.rows.map((row) => row.locked_for ?? 0)),
    keysWithFailures: result.rows.map((row) => row.key),
  }
}

/**
 * Counts one more failure on each key (restarting from 1 when the last one is older than `forgetAfterSeconds`)
 * and answers the counts.
 */
export async function countFailure(q: Queryable, keys: string[], forgetAfterSeconds: number) {
  const result = await q.query<{ key: string; failures: number }>(
    `insert into login_failures as f (key, failures, last_failed_at)
     select key, 1, now() from unnest($1::text[]) as key
     on conflict (key) do update
       set failures = case when f.last_failed_at > now() - make_interval(secs => $2) then f.failures + 1 else 1 end,
           last_failed_at = now()
     returning f.key, f.failures`,
    [keys, forgetAfterSeconds],
  )
  return result.rows
}

/** Locks a key for `seconds` from now (a lock already reaching further stays). */
export async function lockKey(q: Queryable, key: string, seconds: number) {
  await q.query(
    `update login_failures
        set locked_until = greatest(coalesce(locked_until, now()), now() + make_interval(secs => $2))
      where key = $1`,
    [key, seconds],
  )
}

export async function clearFailures(q: Queryable, key: string) {
  await q.query('delete from login_failures where key = $1', [key])
}

/** Deletes at most `limit` rows whose failures are forgotten and whose lock has ended. */
export async function deleteForgottenFailures(q: Queryable, forgetAfterSeconds: number, limit: number) {
  const result = await q.query(
    `delete from login_failures where key = any(array(
        select key from login_failures
         where last_failed_at < now() - make_interval(secs => $1) and coalesce(locked_until, '-infinity') < now()
         order by last_failed_at limit $2))`,
    [forgetAfterSeconds, limit],
  )
  return result.rowCount ?? 0
}

/** The failure counts over the pool or one transaction. */
export class PgLoginFailureStore implements LoginFailureStore {
  constructor(private readonly q: Queryable) {}
  readFailures(keys: string[]) {
    return readFailures(this.q, keys)
  }
  countFailure(keys: string[], forgetAfterSeconds: number) {
    return countFailure(this.q, keys, forgetAfterSeconds)
  }
  lockKey(key: string, seconds: number) {
    return lockKey(this.q, key, seconds)
  }
  clearFailures(key: string) {
    return clearFailures(this.q, key)
  }
  deleteForgottenFailures(forgetAfterSeconds: number, limit: number) {
    return deleteForgottenFailures(this.q, forgetAfterSeconds, limit)
  }
}
