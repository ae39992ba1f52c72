import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../src/config.js'
import { openEmbedded } from '../src/db/database.js'
import { runCli } from './helpers/processes.js'
import { needs, POSTGRES } from './helpers/requirements.js'

/**
 * What an operator sees when the configuration or the surroundings are wrong: one message naming the variable
 * and the fix, no stack, exit code 1, and nothing done before it (no data directory, no migration).
 */

let scratch: string
beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'trashd-startup-'))
})
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true })
})

/** Runs the CLI to its end; returns exit code, output and how long it took. */
async function runToEnd(args: string[], env: Record<string, string>) {
  const started = Date.now()
  const { output, exited } = runCli(args, { LOG_LEVEL: 'warn', DATABASE_URL: '', ...env })
  const { code } = await exited
  return { code, ...output, seconds: (Date.now() - started) / 1000 }
}

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

const noStack = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at /)

describe('CLEANUP_SCHEDULE is checked by the cron library itself when the configuration loads', () => {
  it.each([
    ['99 99 * * *', /CLEANUP_SCHEDULE="99 99 \* \* \*": .*minute: 99/],
    ['0 0 31 2 *', /CLEANUP_SCHEDULE="0 0 31 2 \*": never fires/],
    ['every night', /CLEANUP_SCHEDULE="every night": /],
  ])('refuses %s, naming the variable', (schedule, message) => {
    expect(() => loadConfig({ CLEANUP_SCHEDULE: schedule })).toThrow(ConfigError)
    expect(() => loadConfig({ CLEANUP_SCHEDULE: schedule })).toThrow(message)
  })

  it('takes five or six fields and off', () => {
    for (const schedule of ['0 0 * * *', '*/5 * * * * *', '30 2 * * 1-5', 'off'])
      expect(loadConfig({ CLEANUP_SCHEDULE: schedule }).CLEANUP_SCHEDULE).toBe(schedule)
  })

  it('trashd start refuses a bad schedule before it opens anything or listens', async () => {
    const dataDir = path.join(scratch, 'schedule')
    const result = await runToEnd(['start'], {
      DATA_DIR: dataDir,
      PORT: '0',
      CLEANUP_SCHEDULE: '99 99 * * *',
    })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/CLEANUP_SCHEDULE="99 99 \* \* \*": .*minute: 99/)
    expect(result.stdout).not.toContain('listening')
    noStack(result.stderr)
    expect(existsSync(dataDir)).toBe(false)
  }, 60_000)
})

describe('several bad variables', () => {
  it('are each named in one line with the value, what it must be and the default; no stack, nothing opened', async () => {
    const dataDir = path.join(scratch, 'several')
    const result = await runToEnd(['start'], {
      DATA_DIR: dataDir,
      PORT: 'eighty',
      LOG_LEVEL: 'loud',
      SESSION_TTL: '5',
      DB_POOL_SIZE: '0',
      ADMIN_TOKEN: 'short-secret',
      BLOB_STORE: 's3',
      S3_BUCKET: '',
    })
    expect(result.code).toBe(1)
    noStack(result.stderr)
    const lines = result.stderr.trim().split('\n')
    expect(lines[0]).toBe('Invalid configuration (fix these environment variables):')
    expect(lines.slice(1).map((line) => line.trim())).toEqual([
      'PORT="eighty": must be a whole number from 0 to 65535 (or unset it: 8080)',
      'ADMIN_TOKEN: must be at least 16 characters (or unset it)',
      'LOG_LEVEL="loud": must be one of fatal, error, warn, info, debug, trace, silent (or unset it: "info")',
      'SESSION_TTL="5": must be at least 60 seconds (or unset it: 1800)',
      'DB_POOL_SIZE="0": must be a whole number from 1 to 1000 (or unset it: 10)',
      "S3_BUCKET: is required when BLOB_STORE=s3; set it to the bucket's name",
    ])
    // a secret's value is never shown
    expect(result.stderr).not.toContain('short-secret')
    expect(existsSync(dataDir)).toBe(false)
  }, 60_000)

  it('a DATA_DIR that cannot be a directory is named with the fix', async () => {
    await writeFile(path.join(scratch, 'a-file'), 'not a directory')
    const result = await runToEnd(['migrate'], { DATA_DIR: path.join(scratch, 'a-file', 'data') })
    expect(result.code).toBe(1)
    expect(result.stderr.trim()).toBe(
      `DATA_DIR=${path.join(scratch, 'a-file', 'data')}: cannot be made a directory here (ENOTDIR); set DATA_DIR to a directory this user may write`,
    )
  }, 60_000)
})

/**
 * A loopback stand-in for a PostgreSQL server that refuses every login with the given SQLSTATE and message (the
 * ErrorResponse a real server sends after a wrong password), so that the refusal is tested without a password set
 * up on a real server.
 */
async function refusingPostgres(code: string, message: string) {
  const field = (type: string, value: string) => Buffer.concat([Buffer.from(type), Buffer.from(`${value}\0`)])
  const fields = Buffer.concat([
    field('S', 'FATAL'),
    field('V', 'FATAL'),
    field('C', code),
    field('M', message),
    Buffer.from([0]),
  ])
  const length = Buffer.alloc(4)
  length.writeInt32BE(fields.length + 4)
  const errorResponse = Buffer.concat([Buffer.from('E'), length, fields])
  let logins = 0
  const server = net.createServer((socket) => {
    socket.once('data', () => {
      logins++
      socket.end(errorResponse)
    })
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    logins: () => logins,
    close: () => new Promise((resolve) => server.close(resolve)),
  }
}

describe('the database refuses', () => {
  it('a wrong password is named at once (not retried), without the password', async () => {
    const server = await refusingPostgres('28P01', 'password authentication failed for user "trashd"')
    try {
      const result = await runToEnd(['migrate'], {
        DATABASE_URL: `postgres://trashd:wrong-password@127.0.0.1:${server.port}/trashd`,
        DATABASE_WAIT: '30',
        DATA_DIR: path.join(scratch, 'auth'),
      })
      expect(result.code).toBe(1)
      expect(result.stderr.trim()).toBe(
        `DATABASE_URL=postgres://trashd:***@127.0.0.1:${server.port}/trashd: password authentication failed for user "trashd"; fix the user or password`,
      )
      expect(result.stderr + result.stdout).not.toContain('wrong-password')
      expect(server.logins()).toBe(1)
      expect(result.seconds).toBeLessThan(25)
    } finally {
      await server.close()
    }
  }, 60_000)

  it("a migration the database refuses is named by its file, with the database's message; no stack", async () => {
    const dataDir = path.join(scratch, 'migration')
    // a table in the way of the first migration
    const db = await openEmbedded(path.join(dataDir, 'pgdata'))
    try {
      await db.query('create table tenants (id text)')
    } finally {
      await db.close()
    }
    const result = await runToEnd(['migrate'], { DATA_DIR: dataDir })
    expect(result.code).toBe(1)
    noStack(result.stderr)
    expect(result.stderr.trim()).toBe(
      'migrations/0001_init.sql failed: relation "tenants" already exists (the database said so; nothing of this ' +
        'migration was applied, the database stays at migration 0); fix the database or the migration and start again',
    )
  }, 300_000)
})

describe('the database out of reach', () => {
  it('an unreachable DATABASE_URL is retried for DATABASE_WAIT seconds, then named in one line without its password', async () => {
    const port = await closedPort()
    const result = await runToEnd(['migrate'], {
      DATABASE_URL: `postgres://trashd:sekret-password@127.0.0.1:${port}/trashd`,
      DATABASE_WAIT: '2',
      DATA_DIR: path.join(scratch, 'unreachable'),
    })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(
      `DATABASE_URL=postgres://trashd:***@127.0.0.1:${port}/trashd: nothing accepts connections at 127.0.0.1:${port}`,
    )
    expect(result.stderr).toContain('DATABASE_WAIT')
    expect(result.stderr + result.stdout).not.toContain('sekret-password')
    noStack(result.stderr)
    // it waited (retried) for about DATABASE_WAIT, not forever
    expect(result.seconds).toBeGreaterThanOrEqual(2)
    expect(result.seconds).toBeLessThan(45)
  }, 60_000)

  it(
    'a database that does not exist is named at once, with how to create it',
    { ...needs(POSTGRES, 'a PostgreSQL server to ask'), timeout: 60_000 },
    async () => {
      const url = new URL(process.env.TEST_DATABASE_URL!)
      url.pathname = '/trashd_no_such_database'
      const result = await runToEnd(['migrate'], {
        DATABASE_URL: url.toString(),
        DATABASE_WAIT: '30',
        DATA_DIR: path.join(scratch, 'missing'),
      })
      expect(result.code).toBe(1)
      expect(result.stderr).toContain('the database "trashd_no_such_database" does not exist')
      expect(result.stderr).toContain('createdb trashd_no_such_database')
      noStack(result.stderr)
      // not retried: waiting would not create it
      expect(result.seconds).toBeLessThan(25)
    },
  )
})

describe('the port in use', () => {
  it('is refused before the database is opened or migrated', async () => {
    const busy = net.createServer()
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
    const { port } = busy.address() as net.AddressInfo
    const dataDir = path.join(scratch, 'port')
    try {
      const result = await runToEnd(['start'], { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' })
      expect(result.code).toBe(1)
      expect(result.stderr).toContain(`PORT=${port}: 127.0.0.1:${port} is in use by another process`)
      noStack(result.stderr)
      expect(existsSync(dataDir)).toBe(false)
    } finally {
      await new Promise((resolve) => busy.close(resolve))
    }
  })
})
