import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import openapiTS, { astToString } from 'openapi-typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { routes } from '../src/protocols/rest/index.js'
import { replyMismatch } from '../src/protocols/rest/reply-check.js'
import type { Route } from '../src/protocols/rest/route.js'
import {
  ADMIN_TOKEN,
  basicAuth,
  createFixture,
  type Fixture,
  startTestServer,
  type TestServer,
} from './helpers/server.js'

const run = promisify(execFile)

let server: TestServer
let a: Fixture

const admin = `Bearer ${ADMIN_TOKEN}`

beforeAll(async () => {
  server = await startTestServer()
  a = await createFixture(server.ctx, 'oa')
})

afterAll(async () => {
  await server?.close()
})

const route = (method: Route['method'], url: string) =>
  routes.find((definition) => definition.method === method && definition.url === url)!

describe('the OpenAPI document', () => {
  it('gives every route an operationId of its own, a schema for its answers, problems and security', async () => {
    const response = await fetch(`${server.baseUrl}/api/v1/openapi.json`)
    expect(response.status).toBe(200)
    const doc = await response.json()
    expect(doc.servers).toEqual([{ url: server.baseUrl }])
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['adminToken', 'basic', 'session'])
    const operations = Object.values(doc.paths).flatMap((item) => Object.values(item as object))
    expect(operations).toHaveLength(routes.length)
    const ids = operations.map((operation) => operation.operationId)
    expect(new Set(ids).size).toBe(routes.length)
    for (const operation of operations) {
      const success = Object.entries(operation.responses).filter(([status]) => /^2\d\d$/.test(status))
      expect(success.length, operation.operationId).toBeGreaterThan(0)
      for (const [, answer] of success) {
        const content = (answer as { content: Record<string, { schema: object }> }).content
        expect(Object.values(content)[0]!.schema, operation.operationId).toBeTruthy()
      }
      expect(operation.responses.default).toEqual({ $ref: '#/components/responses/Problem' })
    }
    expect(doc.components.responses.Problem.content['application/problem+json'].schema).toEqual({
      $ref: '#/components/schemas/Problem',
    })
    // the request schemas are the ones the router validates with: what one refuses, the other describes
    const trash = doc.paths['/api/v1/items/trash'].post
    expect(trash.requestBody.content['application/json'].schema.properties.ids).toMatchObject({
      type: 'array',
      minItems: 1,
    })
    expect(doc.paths['/api/v1/cleanup/run'].post.requestBody.required).toBe(false)
    expect(doc.paths['/api/v1/trash'].get.responses['200'].content['application/json'].schema).toMatchObject({
      type: 'object',
      required: expect.arrayContaining(['total', 'items', 'nextCursor']),
    })
  })

  it('generates TypeScript types (openapi-typescript) that a small client type-checks against', async () => {
    const doc = await (await fetch(`${server.baseUrl}/api/v1/openapi.json`)).json()
    const types = astToString(await openapiTS(doc, { silent: true }))
    const dir = await mkdtemp(path.join(tmpdir(), 'trashd-openapi-'))
    try {
      await writeFile(path.join(dir, 'api.ts'), types)
      await writeFile(
        path.join(dir, 'client.ts'),
        `import type { operations } from './api.js'

type Json<Id extends keyof operations, Status extends keyof operations[Id]['responses']> =
  operations[Id]['responses'][Status] extends { content: { 'application/json': infer Body } } ? Body : never
type Problem = operations['listTrash']['responses'][401]['content']['application/problem+json']
type TrashQuery = NonNullable<operations['listTrash']['parameters']['query']>
type RestoreBody = operations['restoreItems']['requestBody'] extends { content: { 'application/json': infer Body } } ? Body : never

export async function firstRestorable(base: string, auth: string, query: TrashQuery): Promise<number | null> {
  const search = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]))
  const response = await fetch(base + '/api/v1/trash?' + search, { headers: { authorization: auth } })
  if (!response.ok) {
    const problem = (await response.json()) as Problem
    throw new Error(problem.title + ': ' + (problem.detail ?? ''))
  }
  const page = (await response.json()) as Json<'listTrash', 200>
  const total: number = page.total
  const entry = page.items.find((item) => item.mayRestore && item.kind === 'file')
  const deletedAt: string | null = entry?.deletedAt ?? null
  // @ts-expect-error a count is not a string
  const wrong: string = page.total
  void [total, deletedAt, wrong]
  return entry?.id ?? null
}

export async function restore(base: string, auth: string, ids: number[]) {
  const body: RestoreBody = { ids, onMissingParent: 'recreate' }
  // @ts-expect-error the body's onMissingParent is one of two words
  const refused: RestoreBody = { ids, onMissingParent: 'sometimes' }
  void refused
  const response = await fetch(base + '/api/v1/trash/restore', {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const batch = (await response.json()) as Json<'restoreItems', 200>
  return batch.results.map((result) => (result.status === 'error' ? result.code : result.renamedTo))
}

export async function me(base: string, token: string) {
  const answer = (await (await fetch(base + '/api/v1/me', { headers: { authorization: 'Bearer ' + token } })).json()) as Json<'getMe', 200>
  const admin: boolean = answer.admin
  // @ts-expect-error the user has no password field
  void answer.password
  return { login: answer.login, admin }
}
`,
      )
      await writeFile(
        path.join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            lib: ['ES2022', 'DOM'],
            strict: true,
            noEmit: true,
            skipLibCheck: true,
            types: [],
          },
          files: ['client.ts'],
        }),
      )
      const tsc = path.resolve('node_modules/typescript/bin/tsc')
      const checked = await run(process.execPath, [tsc, '-p', dir], { timeout: 90_000 }).then(
        () => '',
        (error: { stdout?: string; message: string }) => error.stdout || error.message,
      )
      expect(checked).toBe('')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, 120_000)
})

describe('answers against their description', () => {
  const me = route('GET', '/me')

  /** JSON to an admin route; every answer is checked against the document's schema by the router (NODE_ENV=test) */
  async function adminCall(method: string, url: string, body?: unknown) {
    const response = await fetch(`${server.baseUrl}/api/v1${url}`, {
      method,
      headers: {
        authorization: admin,
        ...(body === undefined ? { 'x-requested-with': 'test' } : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    return { status: response.status, body: await response.json() }
  }

  it('answers the tenant, brand, category and move routes as described', async () => {
    expect(await adminCall('PATCH', `/tenants/${a.tenantId}`, { retentionDays: 7 })).toMatchObject({
      status: 200,
      body: { id: a.tenantId, retentionDays: 7 },
    })
    const brand = await adminCall('POST', `/tenants/${a.tenantId}/brands`, { name: 'Described' })
    expect(brand.status).toBe(201)
    const issue = await adminCall('POST', `/tenants/${a.tenantId}/brands/${brand.body.id}/issues`, {
      name: 'I',
    })
    const category = await adminCall('POST', `/tenants/${a.tenantId}/brands/${brand.body.id}/categories`, {
      name: 'C',
    })
    const listed = await adminCall('GET', `/tenants/${a.tenantId}/brands`)
    expect(listed.status).toBe(200)
    expect(listed.body.brands).toContainEqual({
      id: brand.body.id,
      name: 'Described',
      autoPurgeDays: null,
      legalHold: false,
    })
    const file = await adminCall('POST', `/tenants/${a.tenantId}/items`, {
      kind: 'file',
      name: 'moved.txt',
      brandId: brand.body.id,
    })
    const moved = await adminCall('POST', `/tenants/${a.tenantId}/items/move`, {
      ids: [file.body.id],
      issueId: issue.body.id,
    })
    expect(moved).toEqual({ status: 200, body: { moved: [file.body.id] } })
    expect(await adminCall('DELETE', `/tenants/${a.tenantId}/categories/${category.body.id}`)).toEqual({
      status: 200,
      body: { ok: true },
    })
    // a brand an item belongs to is refused as a problem document
    const refused = await adminCall('DELETE', `/tenants/${a.tenantId}/brands/${brand.body.id}`)
    expect(refused).toMatchObject({ status: 409, body: { title: 'Conflict', code: 'IN_USE' } })
    const empty = await adminCall('POST', `/tenants/${a.tenantId}/brands`, { name: 'Unused' })
    expect(await adminCall('DELETE', `/tenants/${a.tenantId}/brands/${empty.body.id}`)).toEqual({
      status: 200,
      body: { ok: true },
    })
  })

  it('finds a field the schema lacks, a missing one, a wrong type, an undocumented status, a malformed problem', () => {
    const good = { id: 1, tenantId: 2, login: 'x', displayName: null, admin: false }
    const json = 'application/json; charset=utf-8'
    expect(replyMismatch(me, 200, json, JSON.stringify(good))).toBeNull()
    expect(replyMismatch(me, 200, json, JSON.stringify({ ...good, password: 'p' }))).toMatch(/password/)
    expect(replyMismatch(me, 200, json, JSON.stringify({ ...good, admin: undefined }))).toMatch(/admin/)
    expect(replyMismatch(me, 200, json, JSON.stringify({ ...good, id: '1' }))).toMatch(/id/)
    expect(replyMismatch(me, 202, json, JSON.stringify(good))).toMatch(/does not list/)
    const problem = { type: 'about:blank', title: 'Not Found', status: 404, code: 'NOT_FOUND' }
    expect(replyMismatch(me, 404, 'application/problem+json', JSON.stringify(problem))).toBeNull()
    expect(replyMismatch(me, 404, 'application/problem+json', JSON.stringify({ error: 'x' }))).toMatch(
      /title/,
    )
    // not JSON: event streams and files are not checked
    expect(replyMismatch(route('GET', '/events'), 200, 'text/event-stream', 'data: x\n\n')).toBeNull()
  })

  it('answers 500 naming the difference when a route answers unlike its description (tests check every answer)', async () => {
    const saved = me.response
    me.response = z.strictObject({ id: z.number(), login: z.string() })
    try {
      const answer = await fetch(`${server.baseUrl}/api/v1/me`, {
        headers: { authorization: basicAuth(a.users.editor!) },
      })
      expect(answer.status).toBe(500)
      expect((await answer.json()).detail).toMatch(/GET \/me answered 200 unlike its description/)
    } finally {
      me.response = saved
    }
    const again = await fetch(`${server.baseUrl}/api/v1/me`, {
      headers: { authorization: basicAuth(a.users.editor!) },
    })
    expect(again.status).toBe(200)
  })

  it("sends the handler's own object unchanged: its key order, no field added or stripped by the schema", async () => {
    const answer = await fetch(`${server.baseUrl}/api/v1/me`, {
      headers: { authorization: basicAuth(a.users.editor!) },
    })
    const text = await answer.text()
    const editor = a.users.editor!
    expect(text).toBe(
      JSON.stringify({
        id: editor.id,
        tenantId: a.tenantId,
        login: editor.login,
        displayName: editor.actor.displayName,
        admin: false,
      }),
    )
    const created = await fetch(`${server.baseUrl}/api/v1/tenants/${a.tenantId}/items`, {
      method: 'POST',
      headers: { authorization: admin, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'file', name: 'order.txt', content: 'aGk=' }),
    })
    const { id } = await created.json()
    const item = await fetch(`${server.baseUrl}/api/v1/tenants/${a.tenantId}/items/${id}`, {
      headers: { authorization: admin },
    })
    // the order itemJson writes it in
    expect(Object.keys(JSON.parse(await item.text()))).toEqual([
      'id',
      'kind',
      'type',
      'name',
      'path',
      'parentId',
      'brandId',
      'issueId',
      'categoryId',
      'size',
      'contentType',
      'ownerId',
      'createdAt',
      'modifiedAt',
      'state',
      'deletedAt',
      'deletedBy',
      'deletedVia',
      'trashRoot',
      'originalParentId',
      'originalPath',
      'legalHold',
      'purgeError',
      'handles',
    ])
  })
})
