import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AppContext } from '../src/context.js'
import { asmx, asmxTicket } from './helpers/asmx.js'
import type { TestDatabase } from './helpers/db.js'
import { runCli, waitForOutput } from './helpers/processes.js'
import { needs, POSTGRES } from './helpers/requirements.js'
import {
  ADMIN_TOKEN,
  basicAuth,
  createFixture,
  createTestContext,
  type Fixture,
  type TestContext,
} from './helpers/server.js'

const withPostgres = needs(POSTGRES, 'two server processes on the same database')

/**
 * The mass delete the undo exists for, end to end on real server processes (`trashd start`): a srv.asmx client
 * deletes a big folder and then document after document; an administrator finds it by actor and time, previews
 * the undo by filter and undoes it in one call, which becomes a job; the instance running the job is killed with
 * SIGKILL mid-way, and another instance on the same database finishes it: every unit restored once, as the preview
 * said. Needs PostgreSQL: two processes use the database at once.
 */
describe('an undo job survives kill -9 of the instance running it', withPostgres, () => {
  let context: TestContext
  let database: TestDatabase
  let ctx: AppContext
  let fx: Fixture
  const children: ReturnType<typeof runCli>[] = []

  const childEnv = () => ({
    DATABASE_URL: database.url,
    DATA_DIR: context.dataDir,
    ADMIN_TOKEN,
    HOST: '127.0.0.1',
    PORT: '0',
    CLEANUP_SCHEDULE: 'off',
    SEED_DEMO: 'false',
    JOB_THRESHOLD: '20',
    JOB_PAGE_SIZE: '1',
    JOB_LEASE_SECONDS: '2',
    JOB_POLL_SECONDS: '0.2',
  })

  async function startInstance() {
    const instance = runCli(['start'], childEnv())
    children.push(instance)
    const output = await waitForOutput(instance.child, /trashd is listening on (http:\/\/\S+)/, 60_000)
    return { ...instance, baseUrl: output.match(/trashd is listening on (http:\/\/\S+)/)![1]! }
  }

  const job = async (id: string) =>
    (
      await database.db.query<{ status: string; done: number; total: number; attempts: number }>(
        'select status, done, total, attempts from jobs where id = $1',
        [id],
      )
    ).rows[0]!

  /** Polls (bounded: `rounds` × 25 ms) until `test` holds for the job row. */
  async function until(id: string, test: (row: Awaited<ReturnType<typeof job>>) => boolean, rounds: number) {
    for (let i = 0; i < rounds; i++) {
      const row = await job(id)
      if (test(row)) return row
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    throw new Error(`job ${id} never reached the state asked for: ${JSON.stringify(await job(id))}`)
  }

  beforeAll(async () => {
    context = await createTestContext()
    ;({ database, ctx } = context)
    fx = await createFixture(ctx, 'jobcrash')
  })

  afterAll(async () => {
    for (const instance of children) instance.child.kill('SIGKILL')
    await Promise.all(children.map((instance) => instance.exited))
    await context?.close()
  })

  it('finds the mass delete, undoes it by filter as a job, and finishes it on another instance after kill -9', async () => {
    const make = async (kind: 'file' | 'folder', name: string, parentId: number | null) =>
      (
        await ctx.admin.createItem(fx.tenantId, {
          kind,
          name,
          parentId,
          brandId: fx.brandId,
          ownerId: fx.users.editor!.id,
        })
      ).item.id
    const library = await make('folder', 'Library', null)
    const big = await make('folder', 'Big', library)
    const inBig: number[] = []
    for (let n = 0; n < 40; n++) inBig.push(await make('file', `big${n}.txt`, big))
    const docs: number[] = []
    for (let n = 0; n < 60; n++) docs.push(await make('file', `doc${n}.txt`, library))

    const first = await startInstance()
    const from = new Date().toISOString()
    const ticket = await asmxTicket(first.baseUrl, fx.users.editor!)
    const folder = await asmx(first.baseUrl, 'POST', 'DeleteFolder', {
      authenticationTicket: ticket,
      Path: '\\Library\\Big',
    })
    expect(folder.success, folder.text).toBe('true')
    for (let n = 0; n < 60; n++) {
      const answer = await asmx(first.baseUrl, 'GET', 'DeleteDocument', {
        authenticationTicket: ticket,
        Path: `\\Library\\doc${n}.txt`,
      })
      expect(answer.success, answer.text).toBe('true')
    }
    // meanwhile a new doc7.txt: the undo restores the old one under a new name
    await make('file', 'doc7.txt', library)

    const admin = basicAuth(fx.users.admin!)
    const rest = async (base: string, method: string, url: string, body?: unknown) => {
      const response = await fetch(`${base}/api/v1${url}`, {
        method,
        headers: { authorization: admin, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      const text = await response.text()
      return { status: response.status, json: JSON.parse(text), text }
    }
    // found by actor and time: the folder and the 60 documents, each an operation of the door
    const listed = await rest(
      first.baseUrl,
      'GET',
      `/operations?actorLogin=${fx.users.editor!.login}&door=asmx&action=trash&from=${from}&limit=100`,
    )
    expect(listed.json.operations).toHaveLength(61)

    const filter = { actorLogin: fx.users.editor!.login, door: 'asmx', from }
    const preview = await rest(first.baseUrl, 'POST', '/operations/undo/preview', filter)
    expect(preview.status, preview.text).toBe(200)
    expect(preview.json).toMatchObject({ operations: 61, successCount: 61, errorCount: 0, skippedCount: 0 })

    const started = await rest(first.baseUrl, 'POST', '/operations/undo', filter)
    expect(started.status, started.text).toBe(202)
    const jobId = started.json.job.id as string
    expect(started.json.job.total).toBe(61)

    // kill -9 once some pages are committed and before the last
    const midway = await until(jobId, (row) => row.done >= 3, 2400)
    first.child.kill('SIGKILL')
    expect((await first.exited).signal).toBe('SIGKILL')
    const left = await job(jobId)
    expect(left.status).toBe('running')
    expect(left.done).toBeLessThan(61)
    expect(left.done).toBeGreaterThanOrEqual(midway.done)

    // another instance takes the job over once the dead one's lease runs out, and finishes it
    const second = await startInstance()
    const ended = await until(jobId, (row) => !['queued', 'running'].includes(row.status), 2400)
    expect(ended).toMatchObject({ status: 'succeeded', done: 61, total: 61 })
    expect(ended.attempts).toBeGreaterThanOrEqual(2)

    const all = [big, ...inBig, ...docs]
    const states = await database.db.query<{ id: string; state: string; name: string }>(
      'select id, state, name from items where id = any($1::bigint[])',
      [all],
    )
    expect(states.rows.filter((row) => row.state !== 'active')).toEqual([])
    expect(states.rows.find((row) => Number(row.id) === docs[7])!.name).toBe('doc7 (restored).txt')

    // every row restored exactly once, under the job's one operation, whose row says so
    const operation = started.json.job.operation as string
    const audit = await database.db.query<{ n: number; rows: number }>(
      `select count(distinct item_id)::int as n, count(*)::int as rows from audit
        where operation_id = $1 and action = 'restore'`,
      [operation],
    )
    expect(audit.rows[0]).toEqual({ n: all.length, rows: all.length })
    const op = await rest(second.baseUrl, 'GET', `/operations/${operation}`)
    expect(op.json).toMatchObject({ action: 'undo', requested: 61, outcomes: { ok: 61, error: 0 } })

    // the job did what the preview said, unit by unit
    const results: { id: number; status: string; renamedTo?: string; affected?: number }[] = []
    for (let after = 0, page = 0; page < 10; page++) {
      const answer = await rest(second.baseUrl, 'GET', `/jobs/${jobId}/results?after=${after}&limit=50`)
      results.push(...answer.json.results)
      if (answer.json.next === null) break
      after = answer.json.next
    }
    const shape = (r: { id: number; status: string; renamedTo?: string; affected?: number }) => [
      r.id,
      r.status,
      r.renamedTo ?? null,
      r.affected,
    ]
    expect(results.map(shape)).toEqual(preview.json.results.map(shape))

    second.child.kill('SIGTERM')
    expect((await second.exited).code).toBe(0)
  })
})
