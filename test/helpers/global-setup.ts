import pg from 'pg'
import { connectPostgres, openEmbedded } from '../../src/db/database.js'
import { loadMigrations, migrate } from '../../src/db/migrate.js'
import { createHash } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { buildWebPage } from '../../web/build.js'
import { root } from './processes.js'

/**
 * Builds what the tests run as processes: the server (src/ → build/, which runCli starts with plain node) whenever
 * src/ or the TypeScript configuration changed since its last build (scripts/build.mjs compares a hash of them),
 * so that no test runs a build older than the source.
 *
 * Without TEST_DATABASE_URL: migrates an embedded database once and dumps its data directory to a file of this
 * run's own (removed at the end), which each test file's in-memory database is loaded from.
 *
 * With TEST_DATABASE_URL: builds a template database holding the current migrations once, so that each test
 * file clones its own database from it in a few milliseconds (graphile-worker's discipline).
 */
export default async function setup() {
  // the page the server serves at / (the browser tests drive it); built only when web/ changed
  await buildWebPage({ ifStale: true })
  // plain JavaScript without types: imported by its URL (the same function npm start and bin/trashd.js call)
  const build = (await import(pathToFileURL(path.join(root, 'scripts', 'build.mjs')).href)) as {
    buildServer(options: { ifStale: boolean }): 'built' | 'up to date' | 'no typescript'
  }
  const outcome = build.buildServer({ ifStale: true })
  if (outcome !== 'built' && outcome !== 'up to date')
    throw new Error(`the server's build in build/ could not be brought up to date (${outcome})`)
  const url = process.env.TEST_DATABASE_URL
  if (!url) return embeddedTemplate()
  // numbers and names count as well as contents: a migration renumbered keeps its SQL but not its row
  const checksum = createHash('sha256')
    .update((await loadMigrations()).map((m) => `${m.id}:${m.name}:${m.checksum}`).join())
    .digest('hex')
    .slice(0, 12)
  const template = `trashd_template_${checksum}`
  process.env.TRASHD_TEMPLATE_DB = template
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  try {
    await admin.query("select pg_advisory_lock(hashtext('trashd.test-template'))")
    const exists = await admin.query('select 1 from pg_database where datname = $1', [template])
    if (exists.rowCount === 0) {
      await admin.query(`create database ${template}_building`).catch(async () => {
        await admin.query(`drop database ${template}_building`)
        await admin.query(`create database ${template}_building`)
      })
      const building = new URL(url)
      building.pathname = `/${template}_building`
      const db = connectPostgres(building.toString(), { max: 1 })
      await migrate(db)
      await db.close()
      await admin.query(`alter database ${template}_building rename to ${template}`)
    }
    await admin.query("select pg_advisory_unlock(hashtext('trashd.test-template'))")
  } finally {
    await admin.end()
  }
}

async function embeddedTemplate() {
  const dir = await mkdtemp(path.join(tmpdir(), 'trashd-template-'))
  const dataDir = path.join(dir, 'pgdata')
  const db = await openEmbedded(dataDir)
  await migrate(db)
  await db.close()
  // the directory as PGlite itself dumps it, the form its loadDataDir takes
  const { PGlite } = await import('@electric-sql/pglite')
  const pglite = await PGlite.create(dataDir)
  const dump = await pglite.dumpDataDir('none')
  await pglite.close()
  const file = path.join(dir, 'pgdata.tar')
  await writeFile(file, Buffer.from(await dump.arrayBuffer()))
  await rm(dataDir, { recursive: true, force: true })
  process.env.TRASHD_TEMPLATE_PGDATA = file
  return async () => {
    await rm(dir, { recursive: true, force: true })
  }
}
