import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { root, runCli, waitForOutput } from './helpers/processes.js'
import { readmeExampleBlocks, readmeExampleScript } from './helpers/readme.js'
import { needs, type Requirement } from './helpers/requirements.js'

/**
 * The README's examples run in order, as written, against a server started as the README says (`trashd start`,
 * the embedded database, fresh demo data), with the machine's curl, on loopback. An example that breaks fails the
 * test with its README line.
 */

const CURL: Requirement = {
  met: existsSync('/usr/bin/curl') && existsSync('/bin/bash'),
  missing: 'needs curl and bash (/usr/bin/curl, /bin/bash); install them with apt-get install curl',
}

let scratch: string
let server: ReturnType<typeof runCli> | null = null
let port = 0

/** Runs a bash script in the scratch directory (where data/admin-token is), bounded in time. */
function bash(script: string, timeoutMs: number) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('/bin/bash', ['-c', script], {
      cwd: scratch,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: scratch, LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

describe('the README examples', needs(CURL, 'curl and bash to run the examples'), () => {
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'trashd-readme-'))
    server = runCli(['start'], {
      DATA_DIR: path.join(scratch, 'data'),
      DATABASE_URL: '',
      HOST: '127.0.0.1',
      PORT: '0',
      CLEANUP_SCHEDULE: 'off',
      SEED_DEMO: 'auto',
      ADMIN_TOKEN: '',
      LOG_LEVEL: 'warn',
    })
    const banner = await waitForOutput(server.child, /listening on http:\/\/127\.0\.0\.1:(\d+)/, 240_000)
    port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(banner)![1])
  }, 300_000)

  afterAll(async () => {
    if (server) {
      server.child.kill('SIGTERM')
      await Promise.race([server.exited, new Promise((resolve) => setTimeout(resolve, 20_000))])
      server.child.kill('SIGKILL')
    }
    if (scratch) await rm(scratch, { recursive: true, force: true })
  }, 60_000)

  it('set the port and base URL once, and use $BASE everywhere else', async () => {
    const readme = await readFile(path.join(root, 'README.md'), 'utf8')
    const blocks = readmeExampleBlocks(readme)
    const setup = blocks.filter((block) => block.lines.some((line) => /^BASE=/.test(line)))
    expect(setup).toHaveLength(1)
    expect(setup[0]!.lines).toContain('BASE=http://localhost:$PORT')
    expect(blocks.length).toBeGreaterThanOrEqual(8)
    for (const block of blocks) for (const line of block.lines) expect(line).not.toMatch(/localhost:\d/)
  })

  it('run in order on fresh demo data, every one answering without an error', async () => {
    const readme = await readFile(path.join(root, 'README.md'), 'utf8')
    const script = readmeExampleScript(readmeExampleBlocks(readme), port)
    const result = await bash(script, 600_000)
    expect(result.stderr.split('\n').filter((line) => line.startsWith('README.md line'))).toEqual([])
    expect(result.code, result.stderr.slice(-3000)).toBe(0)
    expect(result.stdout).toContain('README examples: all ran')
  }, 660_000)

  it('a broken example stops the run and names its line', async () => {
    const markdown = [
      '```sh',
      'PORT=8080',
      'BASE=http://localhost:$PORT',
      '```',
      '',
      '```sh',
      'curl -s $BASE/healthz',
      'curl -s $BASE/api/v1/no-such-route',
      'curl -s $BASE/healthz',
      '```',
    ].join('\n')
    const result = await bash(readmeExampleScript(readmeExampleBlocks(markdown), port), 60_000)
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/^README\.md line 8: HTTP 404/m)
    expect(result.stdout).not.toContain('all ran')
  }, 90_000)

  it('an error inside a 200 answer, and an example marked refused that is not, stop the run too', async () => {
    const inside = [
      '```sh',
      'PORT=8080',
      'BASE=http://localhost:$PORT',
      'curl -s "$BASE/srv.asmx/AuthenticateUser?UID=nobody&PWD=wrong-password"',
      '```',
    ].join('\n')
    const failed = await bash(readmeExampleScript(readmeExampleBlocks(inside), port), 60_000)
    expect(failed.code).toBe(1)
    expect(failed.stderr).toMatch(/^README\.md line 4: an error in the answer/m)

    const refused = ['```sh', 'BASE=http://localhost:8080', 'curl -s $BASE/healthz   # refused', '```']
      .join('\n')
      .replace('localhost:8080', `localhost:${port}`)
    const notRefused = await bash(readmeExampleScript(readmeExampleBlocks(refused), port), 60_000)
    expect(notRefused.code).toBe(1)
    expect(notRefused.stderr).toMatch(/^README\.md line 3: expected a refusal/m)
  }, 120_000)
})
