import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Database } from './database.js'

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations')

const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.sql$/

/** A migration that cannot be applied: the file and the database's own words, for the operator (no stack). */
export class MigrationError extends Error {}

/** migrations/NNNN_name.sql, as the operator finds it */
const fileOf = (migration: Migration) =>
  `migrations/${String(migration.id).padStart(4, '0')}_${migration.name}.sql`

export interface Migration {
  id: number
  name: string
  sql: string
  checksum: string
}

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.sql')).sort()
  const migrations: Migration[] = []
  for (const file of files) {
    const match = FILE_PATTERN.exec(file)
    if (!match) throw new MigrationError(`migrations/${file} does not match NNNN_name.sql; rename it`)
    const sql = await readFile(path.join(dir, file), 'utf8')
    const id = Number(match[1])
    if (migrations.some((m) => m.id === id))
      throw new MigrationError(`two files in migrations/ are numbered ${match[1]}; renumber one`)
    migrations.push({ id, name: match[2]!, sql, checksum: createHash('sha256').update(sql).digest('hex') })
  }
  return migrations
}

/**
 * Applies pending migrations in order, each in its own transaction, under a session advisory lock so that
 * instances starting together migrate once. An applied migration whose file changed is refused.
 */
export async function migrate(db: Database, dir = MIGRATIONS_DIR): Promise<number[]> {
  const migrations = await loadMigrations(dir)
  const client = await db.connect()
  try {
    // waiting for another instance's migrations, and a migration over a big table, may take longer than the
    // pool's statement timeout; the connection gets it back below
    await client.query('set statement_timeout = 0')
    await client.query("select pg_advisory_lock(hashtext('trashd.migrate'))")
    await client.query(`create table if not exists schema_migrations (
      id integer primary key, name text not null, checksum text not null,
      applied_at timestamptz not null default now())`)
    const applied = new Map(
      (
        await client.query<{ id: number; checksum: string }>('select id, checksum from schema_migrations')
      ).rows.map((row) => [row.id, row.checksum]),
    )
    const done: number[] = []
    for (const migration of migrations) {
      const checksum = applied.get(migration.id)
      if (checksum !== undefined) {
        if (checksum !== migration.checksum) {
          throw new MigrationError(
            `${fileOf(migration)} was changed after it was applied to this database (applied migrations are never ` +
              'edited: restore the file and put the change in a new migration)',
          )
        }
        continue
      }
      await client.query('begin')
      try {
        await client.query(migration.sql)
        await client.query('insert into schema_migrations (id, name, checksum) values ($1, $2, $3)', [
          migration.id,
          migration.name,
          migration.checksum,
        ])
        await client.query('commit')
      } catch (error) {
        await client.query('rollback').catch(() => {})
        const last = done.at(-1) ?? Math.max(0, ...applied.keys())
        throw new MigrationError(
          `${fileOf(migration)} failed: ${(error as Error).message} (the database said so; nothing of this ` +
            `migration was applied, the database stays at migration ${last}); fix the database or the migration ` +
            'and start again',
        )
      }
      done.push(migration.id)
    }
    return done
  } finally {
    await client.query("select pg_advisory_unlock(hashtext('trashd.migrate'))").catch(() => {})
    await client.query('reset statement_timeout').catch(() => {})
    client.release()
  }
}

/** True when every migration file has been applied (readiness). */
export async function migrationsApplied(db: Database, dir = MIGRATIONS_DIR): Promise<boolean> {
  const migrations = await loadMigrations(dir)
  const result = await db.query<{ n: number }>(
    'select count(*)::int as n from schema_migrations where id = any($1::int[])',
    [migrations.map((m) => m.id)],
  )
  return result.rows[0]?.n === migrations.length
}
