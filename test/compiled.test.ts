import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { envelope } from './helpers/enterprise.js'
import { root, waitForOutput } from './helpers/processes.js'

/**
 * What the container image runs, without a container: the TypeScript compiled to build/ (npm run build:server,
 * as the Dockerfile does) and started with plain node. Every door answers, and SIGTERM lets a request in flight
 * finish before the process exits 0.
 */
let dataDir: string

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'trashd-compiled-'))
  // the same build as npm start's (taking turns with one that runs at the same time)
  const tsc = spawn(process.execPath, [path.join(root, 'scripts/build.mjs'), '--server', '--if-stale'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  tsc.stdout!.on('data', (chunk: Buffer) => {
    output += chunk
  })
  const code = await new Promise((resolve) => tsc.on('exit', resolve))
  expect(code, output).toBe(0)
}, 240_000)

afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

describe('the compiled build (node build/cli.js)', () => {
  it('starts from another directory, answers at every door, and drains a request in flight on SIGTERM', async () => {
    const server = spawn(process.execPath, [path.join(root, 'build', 'cli.js'), 'start'], {
      // anywhere but the checkout: the server finds its migrations, WSDLs and page from its own files
      cwd: dataDir,
      env: {
        ...process.env,
        DATA_DIR: dataDir,
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: '',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)))
    let stderr = ''
    server.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk
    })
    try {
      const banner = await waitForOutput(server, /Try:[\s\S]*REST/, 90_000)
      const base = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(banner)![1]!
      const token = (await readFile(path.join(dataDir, 'admin-token'), 'utf8')).trim()

      expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: 'ready' })
      const alice = `Basic ${Buffer.from('alice:alice-demo-password').toString('base64')}`
      const trash = await fetch(`${base}/api/v1/trash?scope=own`, { headers: { authorization: alice } })
      expect(trash.status).toBe(200)
      expect((await trash.json()).items.length).toBeGreaterThan(0)
      const asmx = await fetch(`${base}/srv.asmx/AuthenticateUser?UID=alice&PWD=alice-demo-password`)
      expect(await asmx.text()).toMatch(/ticket="[^"]+"/)
      const ips = await fetch(`${base}/scene7/webservice/IpsApi-2014-04-03.wsdl`)
      expect(ips.status).toBe(200)
      expect(await ips.text()).toContain('IpsApiService')
      const logOn = await fetch(`${base}/Enterprise/index.php`, {
        method: 'POST',
        headers: { 'content-type': 'text/xml; charset=utf-8' },
        body: envelope(
          '<ns1:LogOn><User>alice</User><Password>alice-demo-password</Password><Ticket/><Server>Enterprise Server</Server>' +
            '<ClientName>test</ClientName><Domain/><ClientAppName>Content Station</ClientAppName>' +
            '<ClientAppVersion>v10.0 build 1</ClientAppVersion><ClientAppSerial/><ClientAppProductKey/></ns1:LogOn>',
        ),
      })
      expect(await logOn.text()).toMatch(/<Ticket>[0-9a-f]{40}<\/Ticket>/)
      const page = await fetch(`${base}/`)
      expect(page.status).toBe(200)
      expect(page.headers.get('content-type')).toContain('text/html')

      // an upload that is still arriving when SIGTERM comes
      let release!: () => void
      const released = new Promise<void>((resolve) => {
        release = resolve
      })
      let sentFirst!: () => void
      const firstSent = new Promise<void>((resolve) => {
        sentFirst = resolve
      })
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(new Uint8Array(256 * 1024).fill(1))
          sentFirst()
          await released
          controller.enqueue(new Uint8Array(256 * 1024).fill(2))
          controller.close()
        },
      })
      const upload = fetch(`${base}/api/v1/tenants/1/items/upload?name=in-flight.bin`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
        body,
        duplex: 'half',
      } as RequestInit)
      await firstSent
      await new Promise((resolve) => setTimeout(resolve, 300))
      server.kill('SIGTERM')
      await new Promise((resolve) => setTimeout(resolve, 500))
      // still running: it waits for the upload
      expect(server.exitCode).toBeNull()
      release()
      const answer = await upload
      expect(answer.status).toBe(201)
      expect((await answer.json()).size).toBe(512 * 1024)
      expect(await exited, stderr).toBe(0)
    } finally {
      if (server.exitCode === null) server.kill('SIGKILL')
    }
  }, 180_000)
})
