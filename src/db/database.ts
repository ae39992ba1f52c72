import { randomBytes } from 'node:crypto'
import { chmod, mkdir, readdir } from 'node:fs/promises'
import path from 'node:path'
import type { PGlite } from '@electric-sql/pglite'
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import pg from 'pg'

// bigint ids, counts and sizes stay far below 2^53: read them as numbers.
pg.types.setTypeParser(20, (value) => Number(value))

export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>
}

export interface TransactionOptions {
  /** SQLSTATE codes on which the whole transaction is run again (deadlock and serialization always are). */
  retryOn?: string[]
  maxAttempts?: number
  /** the acting session's event tag (Ticket of Enterprise events): kept by the audit rows the transaction writes */
  eventTicket?: string
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'embedded'
  readonly connectionString: string
  /** this instance's name on its connections (application_name): the origin audit notifications carry */
  readonly origin: string
  transaction<T>(fn: (tx: Queryable) => Promise<T>, options?: TransactionOptions): Promise<T>
  /** A dedicated client (LISTEN, cursors, session-level advisory locks); release it when done. */
  connect(): Promise<pg.PoolClient>
  close(): Promise<void>
}

const ALWAYS_RETRY = ['40001', '40P01']

export function isPgError(error: unknown, code?: string): error is pg.DatabaseError {
  return error instanceof Error && 'code' in error && (code === undefined || error.code === code)
}

class PoolDatabase implements Database {
  constructor(
    readonly kind: 'postgres' | 'embedded',
    readonly connectionString: string,
    readonly origin: string,
    private readonly pool: pg.Pool,
    private readonly onClose: () => Promise<void> = async () => {},
  ) {}

  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]) {
    return this.pool.query<R>(text, values)
  }

  connect() {
    return this.checkout()
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
      const client = await this.checkout()
      let unusable: Error | undefined
      try {
        await client.query('begin')
        if (options.eventTicket)
          await client.query("select set_config('trashd.event_ticket', $1, true)", [options.eventTicket])
        const result = await fn(client)
        await client.query('commit')
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
        throw error
      } finally {
        client.release(unusable)
      }
    }
  }

  async close() {
    await this.pool.end()
    await this.onClose()
  }
}

export function connectPostgres(connectionString: string, max = 10): Database {
  // Connections are recycled so that PostgreSQL re-plans cached statements as tables grow.
  // Each pool names itself, so that an audit notification tells which instance wrote the rows.
  const origin = `trashd/${randomBytes(6).toString('hex')}`
  // JIT off: the unit walks' recursive estimates cross jit_above_cost, and compiling them cost ~300 ms a statement,
  // more than the statements themselves (a 100,000-item EmptyRecycleBin spent most of its time compiling).
  const pool = new pg.Pool({
    connectionString,
    max,
    application_name: origin,
    maxLifetimeSeconds: 600,
    options: '-c jit=off',
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
 * and transaction is serialized through it. Its files are the owner's only (0700 / 0600).
 */
export async function openEmbedded(dataDir: string | undefined): Promise<Database> {
  const { PGlite: PGliteClass } = await import('@electric-sql/pglite')
  const { PGLiteSocketServer: SocketServer } = await import('@electric-sql/pglite-socket')
  if (dataDir) await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const pglite: PGlite = await PGliteClass.create(dataDir)
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
    },
  )
}
