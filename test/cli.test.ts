import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli, waitForOutput } from './helpers/processes.js'

const run = (args: string[], env: Record<string, string>) =>
  runCli(args, { ...env, DATABASE_URL: '', LOG_LEVEL: 'warn' })

let dataDir: string
afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

describe('npm start on a fresh data directory (embedded database)', () => {
  it('migrates, seeds the demo, prints URLs, demo logins and where the admin token is, serves, and stops cleanly', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'trashd-cli-'))
    const { child: server, exited } = run(['start'], { DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' })
    try {
      const output = await waitForOutput(server, /Try:[\s\S]*REST/, 90_000)
      const address = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)![1]!
      expect(output).toContain('alice / alice-demo-password')
      const token = (await readFile(path.join(dataDir, 'admin-token'), 'utf8')).trim()
      // the banner names the token's file; the token itself is never printed
      expect(output).not.toContain(token)
      expect(output).toContain(
        `Admin token in ${path.join(dataDir, 'admin-token')} (readable by this user only)`,
      )
      expect((await stat(path.join(dataDir, 'admin-token'))).mode & 0o777).toBe(0o600)

      expect(await (await fetch(`${address}/readyz`)).json()).toEqual({ status: 'ready' })
      const auth = `Basic ${Buffer.from('alice:alice-demo-password').toString('base64')}`
      const trash = await (
        await fetch(`${address}/api/v1/trash?scope=own`, { headers: { authorization: auth } })
      ).json()
      expect(trash.items.map((item: { name: string }) => item.name)).toEqual(['Old campaign'])
      const tenants = await fetch(`${address}/api/v1/tenants`, {
        headers: { authorization: `Bearer ${token}` },
      })
      expect(tenants.status).toBe(200)
    } finally {
      server.kill('SIGTERM')
      expect((await exited).code).toBe(0)
    }
  }, 120_000)

  it('fails fast on bad configuration, naming the variable', async () => {
    const { child, exited } = run(['migrate'], { PORT: 'not-a-port', DATA_DIR: dataDir })
    const output = await waitForOutput(child, /PORT/, 30_000)
    expect(output).toMatch(/Invalid configuration[\s\S]*PORT/)
    expect((await exited).code).toBe(1)
  }, 60_000)
})
