import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { root, runCli, waitForOutput } from './helpers/processes.js'

const packageVersion: string = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')).version

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

describe('the command line refuses what it does not understand, before anything runs', () => {
  it('prints per-command help and the version, and refuses unknown commands, options, arguments and typos', async () => {
    const scratch = await mkdtemp(path.join(tmpdir(), 'trashd-cli-refuse-'))
    // a data directory that must never be created: nothing may run
    const untouched = path.join(scratch, 'data')
    try {
      const cases = [
        {
          args: ['purge', '--help'],
          code: 0,
          out: /Usage: trashd purge[\s\S]*--dry-run[\s\S]*--tenant <id>/,
        },
        { args: ['start', '--help'], code: 0, out: /Usage: trashd start/ },
        { args: ['help', 'migrate'], code: 0, out: /Usage: trashd migrate/ },
        { args: ['--version'], code: 0, out: new RegExp(`^${packageVersion.replaceAll('.', '\\.')}\\n$`) },
        {
          args: ['purge', '--dryrun'],
          code: 2,
          err: /unknown option '--dryrun'[\s\S]*Did you mean --dry-run\?/,
        },
        { args: ['purge', '--dry-run', 'now'], code: 2, err: /too many arguments for 'purge'/ },
        { args: ['purge', '--tenant', 'acme'], code: 2, err: /argument 'acme' is invalid/ },
        { args: ['strat'], code: 2, err: /unknown command 'strat'[\s\S]*Did you mean start\?/ },
        { args: ['start', '--port', '9'], code: 2, err: /unknown option '--port'/ },
        { args: [], code: 2, err: /Usage: trashd \[options\] \[command\]/ },
      ]
      const results = await Promise.all(
        cases.map(async (c) => {
          const { output, exited } = run(c.args, { DATA_DIR: untouched, PORT: '0' })
          const { code } = await exited
          return { ...c, expectedCode: c.code, code, ...output }
        }),
      )
      for (const result of results) {
        expect({ args: result.args, code: result.code }).toEqual({
          args: result.args,
          code: result.expectedCode,
        })
        if (result.out) expect(result.stdout).toMatch(result.out)
        if (result.err) expect(result.stderr).toMatch(result.err)
      }
      expect(existsSync(untouched)).toBe(false)
    } finally {
      await rm(scratch, { recursive: true, force: true })
    }
  }, 120_000)
})

describe('one process per embedded data directory', () => {
  it('a purge while the server holds the embedded database says who holds it and exits; after the server stops it runs', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'trashd-cli-lock-'))
    const env = { DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1', CLEANUP_SCHEDULE: 'off' }
    const { child: server, exited } = run(['start'], env)
    try {
      const output = await waitForOutput(server, /listening on (http:\/\/127\.0\.0\.1:\d+)/, 90_000)
      const address = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)![1]!
      const lock = JSON.parse(await readFile(path.join(dir, 'pgdata.lock'), 'utf8'))
      const purge = run(['purge'], env)
      const refused = await purge.exited
      expect(refused.code).toBe(1)
      expect(purge.output.stderr).toMatch(
        new RegExp(`the embedded database in .* is in use by process ${lock.pid} \\(trashd start, since `),
      )
      expect(purge.output.stderr).toContain('POST /api/v1/cleanup/run')
      expect(purge.output.stderr).not.toMatch(/\n\s+at /)
      // the server saw nothing of it
      expect((await fetch(`${address}/readyz`)).status).toBe(200)
      server.kill('SIGTERM')
      expect((await exited).code).toBe(0)
      expect(existsSync(path.join(dir, 'pgdata.lock'))).toBe(false)
      const after = run(['purge', '--dry-run'], env)
      expect((await after.exited).code).toBe(0)
      expect(after.output.stdout).toContain('dry run: nothing is changed')
    } finally {
      server.kill('SIGKILL')
      await rm(dir, { recursive: true, force: true })
    }
  }, 180_000)

  it('a lock left by a process that is gone is taken over', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'trashd-cli-stale-'))
    try {
      // a pid no process has: the highest possible one
      await writeFile(
        path.join(dir, 'pgdata.lock'),
        `${JSON.stringify({ pid: 4194304, command: 'start', since: '2020-01-01T00:00:00.000Z' })}\n`,
      )
      const migrate = run(['migrate'], { DATA_DIR: dir })
      expect((await migrate.exited).code).toBe(0)
      expect(migrate.output.stdout).toMatch(/applied migrations|nothing to migrate/)
      expect(existsSync(path.join(dir, 'pgdata.lock'))).toBe(false)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, 120_000)
})

describe('npm start in production', () => {
  it('runs the compiled server with node, and SIGTERM to the process npm started stops it: no listener left', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'trashd-npm-start-'))
    const npm = spawn('npm', ['start'], {
      cwd: root,
      env: {
        ...process.env,
        DATA_DIR: dir,
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        DATABASE_URL: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)))
    let serverPid: number | undefined
    try {
      // npm start first builds what is stale (tsc and Vite): minutes on a loaded machine
      const output = await waitForOutput(npm, /listening on (http:\/\/127\.0\.0\.1:\d+)/, 240_000)
      const address = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)![1]!
      const lock = JSON.parse(await readFile(path.join(dir, 'pgdata.lock'), 'utf8'))
      serverPid = lock.pid
      // the server is node running build/, no tsx in between
      expect((await readFile(`/proc/${lock.pid}/cmdline`, 'utf8')).split('\0')).toEqual([
        'node',
        'build/cli.js',
        'start',
        '',
      ])
      expect((await fetch(`${address}/healthz`)).status).toBe(200)
      npm.kill('SIGTERM')
      await exited
      // the server drains and exits within its grace period: nothing answers on its port any more
      let refused = false
      for (let i = 0; i < 150 && !refused; i++) {
        refused = await fetch(`${address}/healthz`).then(
          () => false,
          () => true,
        )
        if (!refused) await new Promise((resolve) => setTimeout(resolve, 100))
      }
      expect(refused).toBe(true)
      expect(existsSync(`/proc/${lock.pid}`)).toBe(false)
    } finally {
      npm.kill('SIGKILL')
      // a server that outlived npm (the failure this test is about) is not left running
      if (serverPid && existsSync(`/proc/${serverPid}`)) process.kill(serverPid, 'SIGKILL')
      await rm(dir, { recursive: true, force: true })
    }
  }, 300_000)
})
