import { expect } from 'vitest'
import type { RestApi } from './rest.js'
import {
  createFixture,
  createTestContext,
  type Fixture,
  startTestServer,
  type TestContext,
  type TestServer,
} from './server.js'

/**
 * A server whose requests of more than 5 items (JOB_THRESHOLD) run as bulk jobs of `pageSize` a page, its runner
 * looking for queued jobs every 0.2 s; with a fixture named `prefix`.
 */
export async function startJobServer(
  pageSize: number,
  prefix: string,
): Promise<{ server: TestServer; fx: Fixture }> {
  const server = await startTestServer({
    JOB_THRESHOLD: '5',
    JOB_PAGE_SIZE: String(pageSize),
    JOB_POLL_SECONDS: '0.2',
  })
  try {
    return { server, fx: await createFixture(server.ctx, prefix) }
  } catch (error) {
    await server.close()
    throw error
  }
}

/**
 * A context with no server, every request a bulk job (JOB_THRESHOLD 0) of `pageSize` a page: nothing runs a job
 * unless the test says so; with a fixture named `prefix`.
 */
export async function createJobContext(
  pageSize: number,
  prefix: string,
): Promise<{ context: TestContext; fx: Fixture }> {
  const context = await createTestContext({ env: { JOB_THRESHOLD: '0', JOB_PAGE_SIZE: String(pageSize) } })
  try {
    return { context, fx: await createFixture(context.ctx, prefix) }
  } catch (error) {
    await context.close()
    throw error
  }
}

/** A bulk job as GET /api/v1/jobs/:id shows it, as far as the tests read it. */
export interface JobJson {
  id: string
  kind: string
  status: string
  operation: string
  undoOf: string | null
  total: number
  done: number
  outcomes: { ok: number; warning: number; error: number }
  skippedCount: number
  items: number
  cancelRequested: boolean
  attempts: number
}

/** A job's result as GET /api/v1/jobs/:id/results pages them. */
export interface JobResultJson {
  outcome: string
  id: number
  status?: string
  code?: string
  renamedTo?: string
  reason?: string
}

/** Polls the job (bounded: 200 × 50 ms) until it has ended. */
export async function finishedJob(api: RestApi, role: string, id: string): Promise<JobJson> {
  for (let i = 0; i < 200; i++) {
    const answer = await api(role, 'GET', `/jobs/${id}`)
    expect(answer.status, answer.text).toBe(200)
    if (!['queued', 'running'].includes(answer.json.status)) return answer.json
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error('the job did not end within 10 s')
}

/** Every result of the job, read `limit` a page (bounded: 20 pages). */
export async function jobResults(
  api: RestApi,
  role: string,
  id: string,
  limit: number,
): Promise<JobResultJson[]> {
  const seen: JobResultJson[] = []
  let after = 0
  for (let page = 0; page < 20; page++) {
    const answer = await api(role, 'GET', `/jobs/${id}/results?after=${after}&limit=${limit}`)
    expect(answer.status, answer.text).toBe(200)
    seen.push(...answer.json.results)
    if (answer.json.next === null) break
    after = answer.json.next
  }
  return seen
}
