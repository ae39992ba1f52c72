import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const root = path.resolve(import.meta.dirname, '..')
/**
 * The CLI runs in node itself with tsx as a loader, not under the tsx command: that one relays signals to a child
 * and exits 143 when the child takes over 30 ms to acknowledge one, which a loaded machine does.
 */
const tsx = ['--import', 'tsx']

function run(args: string[], env: Record<string, string>) {
  return spawn(process.execPath, [...tsx, path.join(root, 'src', 'cli.ts'), ...args], {
    env: { ...process.env, ...env, DATABASE_URL: '', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = ''
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern}; output:\n${output}`)),
      timeoutMs,
    )
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (pattern.test(output)) {
        clearTimeout(timer)
        resolve(output)
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.on('exit', (code) => {
      clearTimeout(timer)
      if (!pattern.test(output))
        reject(new Error(`exited with ${code} before ${pattern}; output:\n${output}`))
    })
  })
}

let dataDir: string
afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

describe('npm start on a fresh data directory (embedded database)', () => {
  it('migrates, seeds the demo, prints URLs and credentials, serves, and stops cleanly', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'trashd-cli-'))
    const server = run(['start'], { DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' })
    try {
      const output = await waitForOutput(server, /Try:[\s\S]*REST/, 90_000)
      const address = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)![1]!
      expect(output).toContain('alice / alice-demo-password')
      const token = (await readFile(path.join(dataDir, 'admin-token'), 'utf8')).trim()
      expect(output).toContain(token)
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
      const exited = new Promise<number | null>((resolve) => server.on('exit', resolve))
      server.kill('SIGTERM')
      expect(await exited).toBe(0)
    }
  }, 120_000)

  it('fails fast on bad configuration, naming the variable', async () => {
    const child = run(['migrate'], { PORT: 'not-a-port', DATA_DIR: dataDir })
    const exited = new Promise((resolve) => child.on('exit', resolve))
    const output = await waitForOutput(child, /PORT/, 30_000)
    expect(output).toMatch(/Invalid configuration[\s\S]*PORT/)
    expect(await exited).toBe(1)
  }, 60_000)
})
