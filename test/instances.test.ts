import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AppContext } from '../src/context.js'
import type { TestDatabase } from './helpers/db.js'
import { runCli, waitForOutput } from './helpers/processes.js'
import { needs, POSTGRES } from './helpers/requirements.js'
import { startS3Server, type TestS3Server } from './helpers/s3.js'
import {
  ADMIN_TOKEN,
  basicAuth,
  createFixture,
  createTestContext,
  type Fixture,
  type TestContext,
} from './helpers/server.js'

/**
 * Three server processes with three different DATA_DIRs, standing for three hosts, on one PostgreSQL and one S3
 * server: a file uploaded through one is trashed through a second, restored through the third and purged; every
 * instance's event stream sees it all; the cleanup schedule's ticks are each run by one of them; an instance
 * killed with SIGKILL in the middle of a purge leaves it to another; and the orphan sweep finds nothing after.
 */
const SCHEDULE = '0-11/3 * * * * *'

type Instance = { name: string; base: string; child: ReturnType<typeof runCli>; dataDir: string }

let s3: TestS3Server
let database: TestDatabase
let setup: TestContext
let ctx: AppContext
let f: Fixture
const instances: Instance[] = []

async function startInstance(name: string, extra: Record<string, string> = {}): Promise<Instance> {
  const dataDir = await mkdtemp(path.join(tmpdir(), `trashd-${name}-`))
  const child = runCli(['start'], {
    ...s3.env,
    S3_PREFIX: 'instances/',
    DATABASE_URL: database.url,
    DATA_DIR: dataDir,
    ADMIN_TOKEN,
    PORT: '0',
    HOST: '127.0.0.1',
    SEED_DEMO: 'false',
    PASSWORD_HASH_COST: '10',
    CLEANUP_SCHEDULE: SCHEDULE,
    CLEANUP_STALE_AFTER: '1',
    LOG_LEVEL: 'warn',
    ...extra,
  })
  const output = await waitForOutput(child.child, /listening on http:\/\/127\.0\.0\.1:\d+/, 90_000)
  const base = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)![1]!
  return { name, base, child, dataDir }
}

beforeAll(async () => {
  if (!POSTGRES.met) return
  s3 = await startS3Server()
  setup = await createTestContext({ env: { ...s3.env, S3_PREFIX: 'instances/' } })
  database = setup.database
  ctx = setup.ctx
  f = await createFixture(ctx, 'inst')
  for (const [name, extra] of [
    ['a', {}],
    ['b', {}],
    // c stops for good in the middle of a purge's file removals when its cleanup job gets there
    ['c', { TRASHD_TEST_CRASH_AT: 'mid-blobs' }],
  ] as const) {
    instances.push(await startInstance(name, extra))
  }
}, 240_000)

afterAll(async () => {
  for (const instance of instances) {
    if (instance.child.child.exitCode === null && instance.child.child.signalCode === null)
      instance.child.child.kill('SIGTERM')
    await Promise.race([instance.child.exited, new Promise((resolve) => setTimeout(resolve, 15_000))])
    await rm(instance.dataDir, { recursive: true, force: true })
  }
  await setup?.close()
  await s3?.stop()
})

async function call(
  instance: Instance,
  method: string,
  url: string,
  options: { auth?: string; body?: unknown; raw?: Buffer } = {},
) {
  const response = await fetch(`${instance.base}${url}`, {
    method,
    headers: {
      ...(options.auth ? { authorization: options.auth } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.raw ? { 'content-type': 'application/octet-stream' } : {}),
      ...(options.body === undefined && !options.raw ? { 'x-requested-with': 'trashd-test' } : {}),
    },
    body: options.raw
      ? new Uint8Array(options.raw)
      : options.body !== undefined
        ? JSON.stringify(options.body)
        : undefined,
  })
  return { status: response.status, body: await response.json() }
}

/** Reads an instance's event stream in the background; `events()` is what arrived so far. */
function listen(instance: Instance, auth: string) {
  const controller = new AbortController()
  let text = ''
  const done = (async () => {
    const response = await fetch(`${instance.base}/api/v1/events`, {
      headers: { authorization: auth, accept: 'text/event-stream' },
      signal: controller.signal,
    })
    const decoder = new TextDecoder()
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>)
      text += decoder.decode(chunk, { stream: true })
  })().catch(() => {})
  return {
    events: () =>
      text
        .split('\n\n')
        .filter((block) => block.includes('data: '))
        .map((block) => ({
          type: /^event: (.*)$/m.exec(block)![1]!,
          data: JSON.parse(/^data: (.*)$/m.exec(block)![1]!).EventData as Record<string, string>,
        })),
    stop: async () => {
      controller.abort()
      await done
    },
  }
}

async function poll<T>(read: () => Promise<T>, until: (value: T) => boolean, seconds: number): Promise<T> {
  const deadline = Date.now() + seconds * 1000
  for (;;) {
    const value = await read()
    if (until(value) || Date.now() > deadline) return value
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

const admin = `Bearer ${ADMIN_TOKEN}`

describe(
  'three instances on one PostgreSQL and one S3 server',
  needs(POSTGRES, 'three server processes on one database'),
  () => {
    it('upload on one, trash on a second, restore and purge on the third; every event stream sees it all', async () => {
      const [a, b, c] = instances as [Instance, Instance, Instance]
      const purger = basicAuth(f.users.purger!)
      const streams = instances.map((instance) => listen(instance, purger))
      try {
        // every stream is open before anything happens (an SSE stream starts at "now")
        await new Promise((resolve) => setTimeout(resolve, 500))
        const uploaded = await call(
          a,
          'POST',
          `/api/v1/tenants/${f.tenantId}/items/upload?name=shared.bin&brandId=${f.brandId}`,
          {
            auth: admin,
            raw: Buffer.from('stored through a'),
          },
        )
        expect(uploaded.status).toBe(201)
        const id = uploaded.body.id as number
        const key = (await database.db.query('select blob_key from items where id = $1', [id])).rows[0]
          .blob_key
        // stored on S3, not on a's disk: b and c reach it
        expect(await ctx.blobs.exists(key)).toBe(true)
        expect((await call(b, 'POST', `/api/v1/items/${id}/trash`, { auth: purger })).status).toBe(200)
        expect((await call(c, 'POST', `/api/v1/trash/${id}/restore`, { auth: purger })).status).toBe(200)
        expect((await call(a, 'POST', `/api/v1/items/${id}/trash`, { auth: purger })).status).toBe(200)
        expect((await call(c, 'DELETE', `/api/v1/trash/${id}`, { auth: purger })).status).toBe(200)
        expect(await ctx.blobs.exists(key)).toBe(false)
        expect((await database.db.query('select 1 from items where id = $1', [id])).rowCount).toBe(0)

        const expected = [
          { type: 'DeleteObject', permanent: 'false' },
          { type: 'RestoreObject', permanent: undefined },
          { type: 'DeleteObject', permanent: 'false' },
          { type: 'DeleteObject', permanent: 'true' },
        ]
        for (const stream of streams) {
          const seen = await poll(
            async () => stream.events().filter((event) => event.data.ID === String(id)),
            (events) => events.length >= expected.length,
            15,
          )
          expect(seen.map((event) => ({ type: event.type, permanent: event.data.Permanent }))).toEqual(
            expected,
          )
        }
      } finally {
        for (const stream of streams) await stream.stop()
      }
    })

    it('an instance killed in the middle of a purge leaves it to another; each schedule tick runs once', async () => {
      const [a, b, c] = instances as [Instance, Instance, Instance]
      // the schedule runs at seconds 0-11 of each minute: this part stays clear of it, so that c's own run is
      // the one that reaches the files
      const second = new Date().getUTCSeconds()
      if (second < 14 || second > 30)
        await new Promise((resolve) => setTimeout(resolve, ((74 - second) % 60) * 1000))
      const files: { id: number; key: string }[] = []
      for (let i = 0; i < 3; i++) {
        const created = await call(
          a,
          'POST',
          `/api/v1/tenants/${f.tenantId}/items/upload?name=due-${i}.bin&brandId=${f.brandId}`,
          {
            auth: admin,
            raw: Buffer.from(`due ${i}`),
          },
        )
        const key = (await database.db.query('select blob_key from items where id = $1', [created.body.id]))
          .rows[0].blob_key
        files.push({ id: created.body.id, key })
      }
      const ids = files.map((file) => file.id)
      const purger = basicAuth(f.users.purger!)
      expect(
        (await call(b, 'POST', '/api/v1/items/trash', { auth: purger, body: { ids } })).body.successCount,
      ).toBe(3)
      expect(
        (await call(b, 'POST', '/api/v1/trash/empty', { auth: purger, body: { ids } })).body.successCount,
      ).toBe(3)

      const crashed = waitForOutput(c.child.child, /TRASHD_TEST_CRASH_AT reached mid-blobs/, 60_000)
      const started = await call(c, 'POST', '/api/v1/cleanup/run', {
        auth: admin,
        body: { tenantId: f.tenantId },
      })
      expect(started.status).toBe(202)
      await crashed
      c.child.child.kill('SIGKILL')
      expect((await c.child.exited).signal).toBe('SIGKILL')
      // inside the window the protocol records: the rows are marked, one file is gone already
      const marked = await database.db.query<{ state: string }>(
        'select state from items where id = any($1::bigint[])',
        [ids],
      )
      expect(marked.rows.map((row) => row.state)).toEqual(['purging', 'purging', 'purging'])
      const present = await Promise.all(files.map((file) => ctx.blobs.exists(file.key)))
      expect(present.filter((exists) => !exists)).toHaveLength(1)

      // after CLEANUP_STALE_AFTER (1 s) the next run, on a, finishes it
      await new Promise((resolve) => setTimeout(resolve, 1500))
      const finished = await call(a, 'POST', '/api/v1/cleanup/run', {
        auth: admin,
        body: { tenantId: f.tenantId, wait: true },
      })
      expect(finished.status).toBe(200)
      expect(finished.body.run.recovered).toBe(3)
      expect(
        (await database.db.query('select 1 from items where id = any($1::bigint[])', [ids])).rowCount,
      ).toBe(0)
      for (const file of files) expect(await ctx.blobs.exists(file.key)).toBe(false)

      // the schedule's ticks, from a and b (and c while it lived): each claimed by exactly one instance
      await poll(
        async () =>
          Number(
            (await database.db.query("select count(*) as n from cleanup_runs where trigger = 'schedule'"))
              .rows[0].n,
          ),
        (n) => n >= 2,
        75,
      )
      const ticks = await database.db.query<{ second: number; runs: number }>(
        `select extract(second from scheduled_for)::int as second, count(*)::int as runs
         from cleanup_runs where trigger = 'schedule' group by scheduled_for order by scheduled_for`,
      )
      expect(ticks.rows.length).toBeGreaterThanOrEqual(2)
      for (const tick of ticks.rows) {
        expect(tick.runs).toBe(1)
        expect([0, 3, 6, 9]).toContain(tick.second)
      }
    })

    it('the orphan sweep finds nothing after all that', async () => {
      const sweep = runCli(['sweep', '--dry-run', '--min-age', '0'], {
        ...s3.env,
        S3_PREFIX: 'instances/',
        DATABASE_URL: database.url,
        DATA_DIR: instances[0]!.dataDir,
        ADMIN_TOKEN,
      })
      expect((await sweep.exited).code, sweep.output.stderr).toBe(0)
      expect(sweep.output.stdout).toMatch(/stored files: scanned \d+, without a row 0,/)
      expect(sweep.output.stdout).toMatch(/rows: scanned \d+, without their file 0,/)
    })
  },
)
