import { randomBytes } from 'node:crypto'
import { chmod, mkdir, readdir } from 'node:fs/promises'
import path from 'node:path'
import type { PGlite } from '@electric-sql/pglite'
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import pg from 'pg'
import { CoreError, ErrorCodes } from '../core/errors.js'
import type { Stores } from '../core/ports/stores.js'
import type { Persistence, UnitOfWorkOptions } from '../core/ports/unit-of-work.js'
import { DatabaseUnavailableError, lockDataDirectory } from './embedded-lock.js'
import { preparedName } from './prepared-statements.js'
import {
  type CommitQueryable,
  isPgError,
  type Queryable,
  type TextQueryable,
  type TransactionOptions,
  UNIQUE_VIOLATION,
} from './queryable.js'
import { withArrayLiterals } from './sql-params.js'
import { PgStores } from './stores.js'

export { isPgError, type Queryable, type TextQueryable, type TransactionOptions } from './queryable.js'

// bigint ids, counts and sizes stay far below 2^53: read them as numbers.
pg.types.setTypeParser(20, (value) => Number(value))

/** The pool (PostgreSQL's, or the embedded one's single connection); it is the core's Persistence port too. */
export interface Database extends Queryable, TextQueryable, Persistence {
  readonly kind: 'postgres' | 'embedded'
  readonly connectionString: string
  /** this instance's name on its connections (application_name): the origin audit notifications carry */
  readonly origin: string
  transaction<T>(fn: (tx: Queryable) => Promise<T>, options?: TransactionOptions): Promise<T>
  /** A dedicated client (LISTEN, cursors, session-level advisory locks); release it when done. */
  connect(): Promise<pg.PoolClient>
  /** The connection pool now: its size limit, connections open, idle ones, and requests waiting for one. */
  poolStats?(): PoolStats
  /**
   * Calls `watcher` before each statement any connection of the pool sends (the statement waits for the promise
   * it returns); the function returned stops watching. For the fault tests, which end a connection at a chosen
   * statement of an operation, and for counting what runs in the background.
   */
  watchStatements?(watcher: StatementWatcher): () => void
  close(): Promise<void>
}

/** A statement about to be sent, and the connection it is sent on. */
export interface StatementEvent {
  text: string
  /** its parameters */
  values: unknown[]
  /** the connection's server process (pg_terminate_backend takes it) */
  processId: number
  client: pg.ClientBase
}

export type StatementWatcher = (statement: StatementEvent) => void | Promise<void>

export interface PoolStats {
  max: number
  total: number
  idle: number
  waiting: number
}

const ALWAYS_RETRY = ['40001', '40P01']

/** Values as they arrive: PostgreSQL's text. */
const RAW_TEXT = { getTypeParser: () => (value: string) => value }

/**
 * `begin`, with the transaction's settings in the same round trip (a simple query may hold several statements;
 * the values are quoted as literals, since such a query takes no parameters).
 */
function beginStatement(client: pg.PoolClient, options: TransactionOptions): string {
  const settings: string[] = []
  if (options.eventTicket)
    settings.push(`set_config('trashd.event_ticket', ${client.escapeLiteral(options.eventTicket)}, true)`)
  if (options.operationId)
    settings.push(`set_config('trashd.operation_id', ${client.escapeLiteral(options.operationId)}, true)`)
  return settings.length === 0 ? 'begin' : `begin; select ${settings.join(', ')}`
}

/**
 * Whether an error says the database cannot serve now rather than that the request is wrong: no pooled
 * connection within the acquire timeout, a connection refused, ended or cut (terminated backend, restart,
 * failover), a statement over `statement_timeout`, a transaction over `idle_in_transaction_session_timeout`,
 * too many connections.
 */
export function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') {
    // 08: connection exception; 57P01-57P03: shutdown, crash, cannot connect now; 57014: statement timeout;
    // 25P03: idle-in-transaction timeout; 53300: too many connections
    if (/^(08|57P0[1-3]$|57014$|25P03$|53300$)/.test(code)) return true
    if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH'].includes(code)) return true
  }
  return /^(timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error|Connection ended unexpectedly)/.test(
    error.message,
  )
}

/**
 * Errors the doors answer in their own words: a database that cannot serve now (REST 503), and a value
 * PostgreSQL refuses as data (SQLSTATE class 22: a NUL character in text, a number or date out of range), which
 * is the client's error, not the server's (REST 422).
 */
function asDoorError(error: unknown): unknown {
  if (isUnavailable(error)) {
    const code = (error as { code?: unknown }).code
    return new CoreError(ErrorCodes.UNAVAILABLE, undefined, {
      cause: (error as Error).message,
      ...(typeof code === 'string' ? { errorCode: code } : {}),
    })
  }
  if (isPgError(error) && typeof error.code === 'string' && error.code.startsWith('22')) {
    return new CoreError(
      ErrorCodes.INVALID_INPUT,
      'A value in the request cannot be used (a NUL character, or a number or date out of range)',
      { sqlState: error.code },
    )
  }
  return error
}

/** The core's unit-of-work options in SQL terms: a lost race for a unique key is SQLSTATE 23505. */
function transactionOptions(options: UnitOfWorkOptions): TransactionOptions {
  return {
    retryOn: options.retryOnConflict ? [UNIQUE_VIOLATION] : undefined,
    maxAttempts: options.maxAttempts,
    eventTicket: options.eventTicket,
    operationId: options.operationId,
  }
}

class PoolDatabase implements Database {
  #stores?: Stores
  readonly #watchers = new Set<StatementWatcher>()
  constructor(
    readonly kind: 'postgres' | 'embedded',
    readonly connectionString: string,
    readonly origin: string,
    private readonly pool: pg.Pool,
    private readonly onClose: () => Promise<void> = async () => {},
  ) {
    pool.on('connect', (client) => this.watchClient(client))
  }

  watchStatements(watcher: StatementWatcher): () => void {
    this.#watchers.add(watcher)
    return () => {
      this.#watchers.delete(watcher)
    }
  }

  /**
   * Every statement of the client passes the watchers first (none: sent as it comes); one sent often goes as a
   * named prepared statement.
   */
  private watchClient(client: pg.PoolClient) {
    // the class's method looked up at each call, so that a spy on pg.Client.prototype still sees every statement
    const prototype = Object.getPrototypeOf(client) as { query: (...args: unknown[]) => unknown }
    const query = (...args: unknown[]) => prototype.query.apply(client, args)
    const send = (...args: unknown[]) => {
      const [text, values] = args
      if (typeof text !== 'string' || !Array.isArray(values)) return query(...args)
      // (not on the embedded database: its one session outlives a dropped connection, prepared names included;
      // named or not as the arrays given decide, before they are written as literals)
      const name = this.kind === 'postgres' ? preparedName(text, values) : undefined
      return query(name === undefined ? text : { name, text }, withArrayLiterals(values), ...args.slice(2))
    }
    const watchers = this.#watchers
    client.query = ((...args: unknown[]) => {
      if (watchers.size === 0) return send(...args)
      const first = args[0] as string | { text?: string; values?: unknown[] }
      const event: StatementEvent = {
        text: typeof first === 'string' ? first : (first?.text ?? ''),
        values: ((typeof first === 'string' ? args[1] : first?.values) as unknown[] | undefined) ?? [],
        processId: (client as unknown as { processID: number }).processID,
        client,
      }
      const gate = Promise.all([...watchers].map((watch) => watch(event)))
      const callback = args[args.length - 1]
      if (typeof callback === 'function') {
        gate.then(
          () => send(...args),
          (error: unknown) => (callback as (error: unknown) => void)(error),
        )
        return undefined
      }
      return gate.then(() => send(...args))
    }) as typeof client.query
  }

  async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]) {
    if (this.kind === 'embedded') return this.onKeptClient((client) => client.query<R>(text, values))
    try {
      return await this.pool.query<R>(text, values)
    } catch (error) {
      throw asDoorError(error)
    }
  }

  async queryText(text: string, values?: unknown[]) {
    const statement = { text, values, rowMode: 'array' as const, types: RAW_TEXT }
    if (this.kind === 'embedded') {
      return (await this.onKeptClient((client) => client.query<(string | null)[]>(statement))).rows
    }
    try {
      const result = await this.pool.query<(string | null)[]>(statement)
      return result.rows
    } catch (error) {
      throw asDoorError(error)
    }
  }

  /**
   * A statement on the embedded database's one connection, kept when the statement fails. The pool's own query
   * ends a client whose statement failed, and the embedded server (one connection at a time) then refused the
   * next request's new connection while the old one was closing: a failed statement (a value out of range, a
   * unique violation) made the next request, whatever it was, fail as the database being unavailable. A client
   * whose connection is lost or cut still leaves the pool.
   */
  private async onKeptClient<T>(run: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.connect()
    let broken: Error | undefined
    try {
      return await run(client)
    } catch (error) {
      if (isUnavailable(error)) broken = error as Error
      throw asDoorError(error)
    } finally {
      client.release(broken)
    }
  }

  poolStats(): PoolStats {
    return {
      max: this.pool.options.max ?? 10,
      total: this.pool.totalCount,
      idle: this.pool.idleCount,
      waiting: this.pool.waitingCount,
    }
  }

  async connect() {
    try {
      return await this.checkout()
    } catch (error) {
      throw asDoorError(error)
    }
  }

  /**
   * A pooled client that cannot take the process down: PostgreSQL ending its connection while it is checked out
   * (a terminated backend, an idle-in-transaction timeout, a failover, a network cut) emits 'error' on it, which
   * Node treats as fatal when nothing listens. The query in flight fails with the error as usual; the error is
   * kept and handed to release, so the broken client leaves the pool.
   */
  private async checkout(): Promise<pg.PoolClient> {
    const client = await this.pool.connect()
    let lost: Error | undefined
    const onError = (error: Error) => {
      lost = error
    }
    client.on('error', onError)
    const release = client.release
    client.release = (destroy?: boolean | Error) => {
      client.off('error', onError)
      release(destroy || lost)
    }
    return client
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const retryOn = [...ALWAYS_RETRY, ...(options.retryOn ?? [])]
    const maxAttempts = options.maxAttempts ?? 8
    for (let attempt = 1; ; attempt++) {
      const client = await this.connect()
      let unusable: Error | undefined
      try {
        await client.query(beginStatement(client, options))
        const held: string[] = []
        const tx: CommitQueryable = {
          query: (text, values) => client.query(text, values),
          atCommit: (statement) => {
            held.push(statement)
          },
        }
        const result = await fn(tx)
        // statements held back go with the commit, one round trip (simple protocol: their values are literals)
        await client.query(held.length === 0 ? 'commit' : `${held.join(';\n')};\ncommit`)
        return result
      } catch (error) {
        // a connection that cannot even roll back is dropped rather than given to the next request
        await client.query('rollback').catch((rollbackError: unknown) => {
          unusable = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError))
        })
        if (attempt < maxAttempts && retryOn.some((code) => isPgError(error, code))) {
          // back off with jitter so racing transactions do not collide again in lockstep
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt))
          continue
        }
        throw asDoorError(error)
      } finally {
        client.release(unusable)
      }
    }
  }

  get stores(): Stores {
    this.#stores ??= new PgStores(this)
    return this.#stores
  }

  unitOfWork<T>(work: (tx: Stores) => Promise<T>, options: UnitOfWorkOptions = {}): Promise<T> {
    return this.transaction((tx) => work(new PgStores(tx)), transactionOptions(options))
  }

  async close() {
    await this.pool.end()
    await this.onClose()
  }
}

/** The URL with its password masked, fit for a message or a log line. */
export function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(a URL that does not parse)'
  }
}

const CONNECT_TIMEOUT_MS = 5000

function connectFailure(error: unknown, url: URL): { transient: boolean; reason: string } {
  const code = (error as { code?: string }).code ?? ''
  const where = `${url.hostname}:${url.port || 5432}`
  const database = decodeURIComponent(url.pathname.slice(1)) || decodeURIComponent(url.username)
  const user = decodeURIComponent(url.username) || 'the current user'
  const message = (error as Error).message
  switch (code) {
    case 'ECONNREFUSED':
      return {
        transient: true,
        reason: `nothing accepts connections at ${where}; is PostgreSQL running there?`,
      }
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { transient: true, reason: `the host ${url.hostname} is not known` }
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ECONNRESET':
      return { transient: true, reason: `${where} cannot be reached (${code})` }
    case '57P03':
      return { transient: true, reason: `PostgreSQL at ${where} is starting up or shutting down` }
    case '3D000':
      return {
        transient: false,
        reason: `the database "${database}" does not exist on ${where}; create it (createdb ${database}) or fix the URL`,
      }
    case '28P01':
      return {
        transient: false,
        reason: `password authentication failed for user "${user}"; fix the user or password`,
      }
    case '28000':
      return {
        transient: false,
        reason: `PostgreSQL at ${where} refuses user "${user}" (${message}); see its pg_hba.conf`,
      }
    default:
      if (/timeout/i.test(message))
        return { transient: true, reason: `no answer from ${where} within ${CONNECT_TIMEOUT_MS / 1000} s` }
      return { transient: false, reason: message }
  }
}

/**
 * Waits until the PostgreSQL at `url` answers, retrying what may pass (refused, unknown host, starting up) for up
 * to `seconds`: containers start in any order. What will not pass (no such database, authentication) fails at
 * once. Either way the failure is one line naming DATABASE_URL (without its password) and the fix.
 */
export async function waitForDatabase(
  url: string,
  seconds: number,
  onRetry: (reason: string) => void = () => {},
): Promise<void> {
  const deadline = Date.now() + seconds * 1000
  for (let attempt = 1; ; attempt++) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS })
    client.on('error', () => {})
    try {
      await client.connect()
      await client.query('select 1')
      return
    } catch (error) {
      const { transient, reason } = connectFailure(error, new URL(url))
      const left = deadline - Date.now()
      if (!transient || left <= 0) {
        const waited = transient ? ` (tried for ${seconds} s; DATABASE_WAIT sets how long)` : ''
        throw new DatabaseUnavailableError(`DATABASE_URL=${withoutPassword(url)}: ${reason}${waited}`)
      }
      onRetry(reason)
      await new Promise((resolve) => setTimeout(resolve, Math.min(500 * attempt, 3000, left)))
    } finally {
      await client.end().catch(() => {})
    }
  }
}

export interface PoolOptions {
  /** connections in the pool */
  max?: number
  /** how long a request waits for a pooled connection (or a new one to open) before it is refused */
  acquireTimeoutMs?: number
  /** PostgreSQL's statement_timeout for every connection (0: none) */
  statementTimeoutMs?: number
  /** PostgreSQL's idle_in_transaction_session_timeout for every connection (0: none) */
  idleInTransactionTimeoutMs?: number
}

export function connectPostgres(connectionString: string, options: PoolOptions = {}): Database {
  const {
    max = 10,
    acquireTimeoutMs = 15_000,
    statementTimeoutMs = 60_000,
    idleInTransactionTimeoutMs = 60_000,
  } = options
  // Connections are recycled so that PostgreSQL re-plans cached statements as tables grow.
  // Each pool names itself, so that an audit notification tells which instance wrote the rows.
  const origin = `trashd/${randomBytes(6).toString('hex')}`
  // JIT off: the unit walks' recursive estimates cross jit_above_cost, and compiling them cost ~300 ms a statement,
  // more than the statements themselves (a 100,000-item EmptyRecycleBin spent most of its time compiling).
  // No statement and no open transaction holds a connection past its timeout, whatever a client does.
  const pool = new pg.Pool({
    connectionString,
    max,
    application_name: origin,
    maxLifetimeSeconds: 600,
    connectionTimeoutMillis: acquireTimeoutMs,
    options: [
      '-c jit=off',
      `-c statement_timeout=${statementTimeoutMs}`,
      `-c idle_in_transaction_session_timeout=${idleInTransactionTimeoutMs}`,
    ].join(' '),
  })
  // An idle client's error (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => {})
  return new PoolDatabase('postgres', connectionString, origin, pool)
}

/** Takes group and other permissions off a directory tree (files keep their owner's bits). */
async function closeToOthers(dir: string) {
  await chmod(dir, 0o700)
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const child = path.join(dir, entry.name)
    if (entry.isDirectory()) await closeToOthers(child)
    else if (entry.isFile()) await chmod(child, 0o600)
  }
}

/**
 * PGlite sets the modes of the files it creates itself (0666: readable and writable by every local user,
 * whatever the umask). Its file system's chmod is narrowed to the owner, and what it wrote before that (the
 * initial cluster, files made while opening) is closed to others once open.
 */
async function keepToOwner(pglite: PGlite, dataDir: string) {
  const fs = pglite.Module.FS as { chmod(path: unknown, mode: number, dontFollow?: boolean): void }
  const chmodOf = fs.chmod.bind(fs)
  fs.chmod = (target, mode, dontFollow) => chmodOf(target, mode & ~0o077, dontFollow)
  await closeToOthers(dataDir)
}

/**
 * The embedded default: PGlite (PostgreSQL in WebAssembly) under dataDir, served on a loopback port so that the
 * same `pg` code talks to it. PGlite has one connection, so the pool holds exactly one client and every query
 * and transaction is serialized through it. Its files are the owner's only (0700 / 0600). One process at a time
 * may open a data directory (a lock file beside it, `<dataDir>.lock`): PGlite holds the database in memory.
 * `from`, a data directory PGlite dumped (dumpDataDir), is where a new database starts instead of an empty
 * cluster (the tests' migrated template).
 */
export async function openEmbedded(
  dataDir: string | undefined,
  options: { from?: Blob } = {},
): Promise<Database> {
  const { PGlite: PGliteClass } = await import('@electric-sql/pglite')
  const { PGLiteSocketServer: SocketServer } = await import('@electric-sql/pglite-socket')
  let unlock = async () => {}
  if (dataDir) {
    await mkdir(dataDir, { recursive: true, mode: 0o700 })
    unlock = await lockDataDirectory(`${dataDir}.lock`, `the embedded database in ${dataDir}`)
  }
  try {
    const pglite: PGlite = await PGliteClass.create(
      dataDir,
      options.from ? { loadDataDir: options.from } : undefined,
    )
    if (dataDir) await keepToOwner(pglite, dataDir)
    const server: PGLiteSocketServer = new SocketServer({ db: pglite, port: 0, host: '127.0.0.1' })
    await server.start()
    const connectionString = `postgres://postgres@${server.getServerConn()}/postgres`
    const pool = new pg.Pool({ connectionString, max: 1 })
    pool.on('error', () => {})
    // one process owns an embedded database, so its events are all its own; the name still tells processes apart
    // where they meet (a message broker's connection list)
    return new PoolDatabase(
      'embedded',
      connectionString,
      `trashd/${randomBytes(6).toString('hex')}`,
      pool,
      async () => {
        await server.stop()
        await pglite.close()
        await unlock()
      },
    )
  } catch (error) {
    await unlock()
    throw error
  }
}
