import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import pg from 'pg'
import { connectPostgres, type Database, openEmbedded, type Queryable } from '../../src/db/database.js'
import { migrate } from '../../src/db/migrate.js'

export interface TestDatabase {
  db: Database
  /** a connection string other processes (a second server, a killed child) can use */
  url: string
  drop(): Promise<void>
}

/**
 * A database of this test file's own: cloned from the migrated template on TEST_DATABASE_URL, or an in-memory
 * PGlite when no PostgreSQL is configured, loaded from the migrated data directory the global setup dumped
 * (a new cluster costs seconds of CPU, loading one a fraction). Migrated either way: with the template current,
 * there is nothing to do.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const base = process.env.TEST_DATABASE_URL
  if (!base) {
    const template = process.env.TRASHD_TEMPLATE_PGDATA
    const db = await openEmbedded(undefined, template ? { from: new Blob([await readFile(template)]) } : {})
    await migrate(db)
    return { db, url: db.connectionString, drop: () => db.close() }
  }
  const name = `trashd_test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: base })
  await admin.connect()
  try {
    await admin.query(`create database ${name} template ${process.env.TRASHD_TEMPLATE_DB}`)
  } finally {
    await admin.end()
  }
  const url = new URL(base)
  url.pathname = `/${name}`
  const db = connectPostgres(url.toString(), { max: 4 })
  return {
    db,
    url: url.toString(),
    drop: async () => {
      await db.close()
      const cleanup = new pg.Client({ connectionString: base })
      await cleanup.connect()
      try {
        await cleanup.query(`drop database if exists ${name} with (force)`)
      } finally {
        await cleanup.end()
      }
    },
  }
}

export const usingRealPostgres = () => Boolean(process.env.TEST_DATABASE_URL)

/**
 * Sessions of the test database left inside a transaction (a streamed listing holding its connection), counted
 * on a connection of its own, since a leak may hold every pooled one. The embedded database accepts a single
 * connection, its pool's, so there they are counted through the pool. With `seconds`, waits up to that long for
 * there to be none.
 */
export async function openTransactions(database: TestDatabase, seconds = 0): Promise<number> {
  const own = database.db.kind === 'embedded' ? undefined : new pg.Client({ connectionString: database.url })
  await own?.connect()
  const client: Queryable = own ?? database.db
  try {
    const deadline = Date.now() + seconds * 1000
    for (;;) {
      const open = await client.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity
          where datname = current_database() and state like 'idle in transaction%'`,
      )
      const n = open.rows[0]!.n
      if (n === 0 || Date.now() >= deadline) return n
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  } finally {
    await own?.end()
  }
}
