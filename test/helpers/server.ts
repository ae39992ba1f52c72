import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { loadConfig } from '../../src/config.js'
import { type AppContext, createContext } from '../../src/context.js'
import type { BlobStore } from '../../src/core/ports.js'
import type { Actor, Door } from '../../src/core/types.js'
import type { Database } from '../../src/db/database.js'
import { buildApp } from '../../src/http/app.js'
import { createTestDatabase, type TestDatabase } from './db.js'

export const ADMIN_TOKEN = 'test-admin-token-0123456789'

/** A context with the test's own database handle, for the tests' SQL (the server's context has none). */
export type TestAppContext = AppContext & { readonly db: Database }

export interface TestServer {
  app: FastifyInstance
  ctx: TestAppContext
  database: TestDatabase
  dataDir: string
  /** http://127.0.0.1:<port> of the listening server */
  baseUrl: string
  close(): Promise<void>
}

export interface TestContext {
  ctx: TestAppContext
  database: TestDatabase
  dataDir: string
  /** ends the context's event bus, drops the database and removes the data directory */
  close(): Promise<void>
}

/**
 * scrypt cost (log2 N) of the tests that are not about hashing: fixtures create many users, and OWASP's 2^17
 * takes about half a second (128 MiB) per hash. Tests about hashing pass PASSWORD_HASH_COST=17 (the default).
 */
export const TEST_PASSWORD_HASH_COST = '10'

/**
 * A context over this file's own database and data directory (the cleanup schedule off, logs silent unless
 * TEST_LOG_LEVEL says otherwise, cheap password hashes); `blobs` replaces the filesystem blob store under the
 * data directory.
 */
export async function createTestContext(
  options: {
    env?: Record<string, string>
    blobs?: (dataDir: string) => BlobStore
    logger?: pino.Logger
  } = {},
): Promise<TestContext> {
  const database = await createTestDatabase()
  const dataDir = await mkdtemp(path.join(tmpdir(), 'trashd-test-'))
  const config = loadConfig({
    DATA_DIR: dataDir,
    ADMIN_TOKEN,
    LOG_LEVEL: 'silent',
    CLEANUP_SCHEDULE: 'off',
    PASSWORD_HASH_COST: TEST_PASSWORD_HASH_COST,
    // the job runner looks for jobs when one is asked for here; an idle look every few seconds would land among
    // the statements a test counts or watches (tests of other instances' jobs set it shorter)
    JOB_POLL_SECONDS: '3600',
    ...options.env,
  })
  const created = await createContext(config, {
    db: database.db,
    blobs: options.blobs?.(dataDir),
    migrate: false,
    logger: options.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
  })
  // not enumerable: a context spread or viewed by the doors leaves it out, as it leaves out the database itself
  const ctx = Object.defineProperty(created, 'db', {
    value: database.db,
    enumerable: false,
  }) as TestAppContext
  return {
    ctx,
    database,
    dataDir,
    close: async () => {
      await ctx.events.close()
      await database.drop()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

/** A real server on a loopback port over this file's own database and data directory. */
export async function startTestServer(
  env: Record<string, string> = {},
  options: { logger?: pino.Logger } = {},
): Promise<TestServer> {
  const context = await createTestContext({ env, logger: options.logger })
  const app = await buildApp(context.ctx)
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  return {
    app,
    ctx: context.ctx,
    database: context.database,
    dataDir: context.dataDir,
    baseUrl: address,
    close: async () => {
      await app.close()
      await context.close()
    },
  }
}

export interface Fixture {
  tenantId: number
  users: Record<string, { id: number; login: string; password: string; actor: Actor }>
  brandId: number
}

/**
 * A tenant with an admin, an editor (brand view+delete), a purger (view+delete+purge), a viewer (view only)
 * and an outsider (no rights), logins prefixed so two fixtures never collide.
 */
export async function createFixture(ctx: AppContext, prefix: string, door: Door = 'rest'): Promise<Fixture> {
  const tenantId = await ctx.admin.createTenant(`${prefix} tenant`)
  const brandId = await ctx.admin.createBrand(tenantId, `${prefix} brand`)
  const users: Fixture['users'] = {}
  const roles = {
    admin: { admin: true, rights: null },
    editor: { admin: false, rights: { view: true, delete: true, purge: false } },
    purger: { admin: false, rights: { view: true, delete: true, purge: true } },
    viewer: { admin: false, rights: { view: true, delete: false, purge: false } },
    outsider: { admin: false, rights: null },
  } as const
  for (const [role, spec] of Object.entries(roles)) {
    const login = `${prefix}-${role}`
    const password = `${role}-password-${prefix}`
    const id = await ctx.admin.createUser(tenantId, {
      login,
      password,
      admin: spec.admin,
      displayName: `${prefix} ${role}`,
    })
    if (spec.rights) await ctx.admin.setAccess(tenantId, brandId, id, spec.rights)
    const actor = (await ctx.auth.authenticate(login, password, door))!
    users[role] = { id, login, password, actor }
  }
  return { tenantId, users, brandId }
}

export function basicAuth(user: { login: string; password: string }) {
  return `Basic ${Buffer.from(`${user.login}:${user.password}`).toString('base64')}`
}
