import type pg from 'pg'

/** Something SQL can be sent to: the pool, or one transaction's client. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>
}

/** Rows as arrays of PostgreSQL's text form, undecoded (for listings that decode only what they show). */
export interface TextQueryable {
  queryText(text: string, values?: unknown[]): Promise<(string | null)[][]>
}

/**
 * A transaction's connection that can hold a statement back and send it in the same round trip as the COMMIT
 * (`insert …; commit` as one simple query: a statement that fails there ends the transaction rolled back). For a
 * transaction's last write, whose answer nobody reads; the statement is SQL text with its values as literals.
 */
export interface CommitQueryable extends Queryable {
  atCommit(statement: string): void
}

export function canSendAtCommit(q: Queryable): q is CommitQueryable {
  return typeof (q as Partial<CommitQueryable>).atCommit === 'function'
}

export interface TransactionOptions {
  /** SQLSTATE codes on which the whole transaction is run again (deadlock and serialization always are). */
  retryOn?: string[]
  maxAttempts?: number
  /** the acting session's event tag (Ticket of Enterprise events): kept by the audit rows the transaction writes */
  eventTicket?: string
  /** the operation the transaction acts for: kept by the audit rows it writes */
  operationId?: string
}

/** SQLSTATE unique_violation: another transaction committed the same unique key first. */
export const UNIQUE_VIOLATION = '23505'

export function isPgError(error: unknown, code?: string): error is pg.DatabaseError {
  return error instanceof Error && 'code' in error && (code === undefined || error.code === code)
}
