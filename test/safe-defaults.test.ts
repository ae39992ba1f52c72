import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { loadConfig } from '../src/config.js'
import { createContext } from '../src/context.js'
import { DEMO } from '../src/demo.js'
import { isLoopback, startServer } from '../src/server.js'
import { root } from './helpers/processes.js'
import { TEST_PASSWORD_HASH_COST } from './helpers/server.js'

/**
 * A server as it starts by default: this machine only, no published password reachable from elsewhere, the
 * admin token in a file of its own and never printed, and no database file others may read or write.
 */
let dataDir: string | undefined
afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

/** Files and directories under `dir` whose mode lets anyone but the owner in. */
async function openToOthers(dir: string): Promise<string[]> {
  const found: string[] = []
  if (((await stat(dir)).mode & 0o077) !== 0) found.push(dir)
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const full = path.join(entry.parentPath, entry.name)
    if (((await stat(full)).mode & 0o077) !== 0) found.push(full)
  }
  return found
}

/** startServer with its output captured; its signal handlers are taken off again. */
async function start(env: Record<string, string>) {
  const config = loadConfig({
    PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    CLEANUP_SCHEDULE: 'off',
    PASSWORD_HASH_COST: TEST_PASSWORD_HASH_COST,
    DATABASE_URL: '',
    ...env,
  })
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
  const signals = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') }
  try {
    const started = await startServer(config)
    return {
      output: write.mock.calls.map((call) => String(call[0])).join(''),
      stop: async () => {
        await started.app.close()
        await started.ctx.close()
      },
    }
  } catch (error) {
    return { output: write.mock.calls.map((call) => String(call[0])).join(''), error: error as Error }
  } finally {
    write.mockRestore()
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      for (const listener of process.listeners(signal)) {
        if (!signals[signal].includes(listener)) process.off(signal, listener)
      }
    }
  }
}

describe('defaults', () => {
  it('listen on 127.0.0.1 unless HOST says otherwise', () => {
    expect(loadConfig({}).HOST).toBe('127.0.0.1')
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
      expect(isLoopback(host), host).toBe(true)
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'example.com', '::ffff:10.0.0.1'])
      expect(isLoopback(host), host).toBe(false)
  })

  it('docker-compose.yml does not seed the demo', async () => {
    const compose = await readFile(path.join(root, 'docker-compose.yml'), 'utf8')
    expect(compose).not.toMatch(/SEED_DEMO:\s*["']?(true|auto)/)
  })
})

describe('a server reachable from other machines (embedded database)', () => {
  it('keeps its database files and admin token to its owner, never prints the token, tells where it listens, and refuses published demo passwords', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'trashd-defaults-'))
    // an admin token file others could read (copied there, or made by an older version)
    await writeFile(path.join(dataDir, 'admin-token'), 'an-admin-token-copied-here\n', { mode: 0o644 })

    // SEED_DEMO=auto does not seed the demo where others can reach it
    const first = await start({ HOST: '0.0.0.0' })
    expect(first.error).toBeUndefined()
    const port = /listening on http:\/\/0\.0\.0\.0:(\d+) \(reachable from other machines/.exec(
      first.output,
    )?.[1]
    expect(port, first.output).toBeDefined()
    expect(first.output).not.toContain('alice-demo-password')
    expect(first.output).toContain(`Admin token in ${path.resolve(dataDir, 'admin-token')}`)
    expect(first.output).not.toContain('an-admin-token-copied-here')
    await first.stop!()
    expect((await stat(path.join(dataDir, 'admin-token'))).mode & 0o777).toBe(0o600)
    expect(await openToOthers(path.join(dataDir, 'pgdata'))).toEqual([])
    expect((await stat(dataDir)).mode & 0o077).toBe(0)

    // seeded on purpose, the demo's published passwords keep it from starting
    const refused = await start({ HOST: '0.0.0.0', SEED_DEMO: 'true' })
    expect(refused.error?.message).toMatch(/HOST=0\.0\.0\.0 makes this server reachable from other machines/)
    for (const login of [DEMO.admin.login, ...DEMO.users.map((user) => user.login)])
      expect(refused.error?.message).toContain(`${login} (tenant `)
    expect(refused.error?.message).toContain('HOST=127.0.0.1')
    expect(refused.error?.message).toMatch(
      /PUT http:\/\/127\.0\.0\.1:\d+\/api\/v1\/tenants\/\d+\/users\/\d+\/password/,
    )
    expect(refused.output).not.toContain('listening on')

    // on this machine only it starts, with the demo
    const local = await start({ HOST: '127.0.0.1' })
    expect(local.error).toBeUndefined()
    expect(local.output).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+ \(this machine only/)
    await local.stop!()

    // new passwords for two, the third disabled: then it starts where others reach it
    const config = loadConfig({
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      CLEANUP_SCHEDULE: 'off',
      PASSWORD_HASH_COST: TEST_PASSWORD_HASH_COST,
    })
    const ctx = await createContext(config)
    try {
      const tenant = (await ctx.admin.listTenants()).find((t) => t.name === DEMO.tenant)!
      const users = await ctx.admin.listUsers(tenant.id)
      const id = (login: string) => users.find((user) => user.login === login)!.id
      await ctx.admin.setPassword(tenant.id, id('admin'), 'a-secret-admin-password')
      await ctx.admin.setPassword(tenant.id, id('alice'), 'a-secret-alice-password')
      await ctx.admin.setDisabled(tenant.id, id('bob'), true)
    } finally {
      await ctx.close()
    }
    const exposed = await start({ HOST: '0.0.0.0', SEED_DEMO: 'true' })
    expect(exposed.error).toBeUndefined()
    await exposed.stop!()

    expect(await openToOthers(path.join(dataDir, 'pgdata'))).toEqual([])
  }, 240_000)
})
