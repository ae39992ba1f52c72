import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { basicAuth, createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

/**
 * REST requests that change the trash may name an Idempotency-Key: a retry with the same key and request gets
 * the first answer and changes nothing again; the key with another request, or while the first is still being
 * answered, is refused. Observed on the wire and in the rows (operations, audit, items).
 */

let server: TestServer
let fx: Fixture

beforeAll(async () => {
  server = await startTestServer()
  fx = await createFixture(server.ctx, 'idem')
})

afterAll(async () => {
  await server?.close()
})

const make = async (name: string) =>
  (
    await server.ctx.admin.createItem(fx.tenantId, {
      kind: 'file',
      name,
      parentId: null,
      brandId: fx.brandId,
      ownerId: fx.users.editor!.id,
      content: Buffer.from(`content of ${name}`),
    })
  ).item.id

interface Answer {
  status: number
  text: string
  headers: Headers
}

async function send(role: string, url: string, body: unknown, key?: string): Promise<Answer> {
  const response = await fetch(`${server.baseUrl}/api/v1${url}`, {
    method: 'POST',
    headers: {
      authorization: basicAuth(fx.users[role]!),
      'content-type': 'application/json',
      ...(key === undefined ? {} : { 'idempotency-key': key }),
    },
    body: JSON.stringify(body),
  })
  return { status: response.status, text: await response.text(), headers: response.headers }
}

const operationsOf = async (action: string) =>
  Number(
    (
      await server.ctx.db.query<{ n: number }>(
        'select count(*)::int as n from operations where tenant_id = $1 and action = $2',
        [fx.tenantId, action],
      )
    ).rows[0]!.n,
  )

const auditRowsOf = async (itemId: number, action: string) =>
  Number(
    (
      await server.ctx.db.query<{ n: number }>(
        'select count(*)::int as n from audit where tenant_id = $1 and item_id = $2 and action = $3',
        [fx.tenantId, itemId, action],
      )
    ).rows[0]!.n,
  )

describe('Idempotency-Key', () => {
  it('a retry of a trash with the same key gets the first answer, byte for byte, and acts once', async () => {
    const id = await make('retried.txt')
    const before = await operationsOf('trash')
    const first = await send('editor', '/items/trash', { ids: [id] }, 'retry-1')
    expect(first.status, first.text).toBe(200)
    expect(first.headers.get('idempotent-replayed')).toBeNull()
    expect(JSON.parse(first.text)).toMatchObject({ successCount: 1, warningCount: 0 })

    const retry = await send('editor', '/items/trash', { ids: [id] }, 'retry-1')
    expect(retry.status).toBe(200)
    expect(retry.headers.get('idempotent-replayed')).toBe('true')
    expect(retry.text).toBe(first.text)
    expect(await operationsOf('trash')).toBe(before + 1)
    expect(await auditRowsOf(id, 'trash')).toBe(1)

    // without a key the same request acts again: an item already in the trash is a warning
    const again = await send('editor', '/items/trash', { ids: [id] })
    expect(JSON.parse(again.text)).toMatchObject({ successCount: 0, warningCount: 1 })
    expect(await operationsOf('trash')).toBe(before + 2)
  })

  it('the key in its quoted form is the same key', async () => {
    const id = await make('quoted.txt')
    const first = await send('editor', '/items/trash', { ids: [id] }, '"quoted-1"')
    const retry = await send('editor', '/items/trash', { ids: [id] }, 'quoted-1')
    expect(retry.headers.get('idempotent-replayed')).toBe('true')
    expect(retry.text).toBe(first.text)
  })

  it('the same key with another request is refused (422) and changes nothing', async () => {
    const [a, b] = [await make('first.txt'), await make('second.txt')]
    expect((await send('editor', '/items/trash', { ids: [a] }, 'reused-1')).status).toBe(200)
    const reused = await send('editor', '/items/trash', { ids: [b] }, 'reused-1')
    expect(reused.status).toBe(422)
    expect(reused.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(JSON.parse(reused.text).detail).toMatch(/another request/)
    const state = await server.ctx.db.query('select state from items where id = $1', [b])
    expect(state.rows[0]!.state).toBe('active')
  })

  it("one user's key is not another user's", async () => {
    const [a, b] = [await make('mine.txt'), await make('theirs.txt')]
    expect((await send('editor', '/items/trash', { ids: [a] }, 'shared-name')).status).toBe(200)
    const other = await send('purger', '/items/trash', { ids: [b] }, 'shared-name')
    expect(other.status, other.text).toBe(200)
    expect(other.headers.get('idempotent-replayed')).toBeNull()
    expect(JSON.parse(other.text)).toMatchObject({ successCount: 1 })
  })

  it('a restore takes a key too; the retry restores nothing twice', async () => {
    const id = await make('restored.txt')
    await send('editor', '/items/trash', { ids: [id] })
    const first = await send('editor', '/trash/restore', { ids: [id] }, 'restore-1')
    expect(JSON.parse(first.text)).toMatchObject({ successCount: 1 })
    const retry = await send('editor', '/trash/restore', { ids: [id] }, 'restore-1')
    expect(retry.text).toBe(first.text)
    expect(await auditRowsOf(id, 'restore')).toBe(1)
  })

  it('concurrent requests with one key: one acts, the others replay its answer or are told to retry (409)', async () => {
    const id = await make('raced.txt')
    const before = await operationsOf('trash')
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => send('editor', '/items/trash', { ids: [id] }, 'raced-1')),
    )
    const acted = answers.filter((a) => a.status === 200 && a.headers.get('idempotent-replayed') === null)
    expect(acted).toHaveLength(1)
    for (const answer of answers) {
      if (answer === acted[0]) continue
      if (answer.status === 409) expect(JSON.parse(answer.text).detail).toMatch(/still being answered/)
      else expect(answer.text).toBe(acted[0]!.text)
    }
    expect(await operationsOf('trash')).toBe(before + 1)
    expect(await auditRowsOf(id, 'trash')).toBe(1)
  })

  it('a key that is not 1-255 visible ASCII characters is refused (422) before anything is done', async () => {
    const id = await make('badkey.txt')
    const before = await server.ctx.db.query('select state from items where id = $1', [id])
    console.log('BEFORE', before.rows)
    const bad = await send('editor', '/items/trash', { ids: [id] }, 'x'.repeat(256))
    console.log('BAD', bad.status, bad.text)
    expect(bad.status).toBe(422)
    const state = await server.ctx.db.query('select state from items where id = $1', [id])
    expect(state.rows[0]!.state).toBe('active')
  })

  it('the OpenAPI document names the header on the routes that take it', async () => {
    const document = (await (await fetch(`${server.baseUrl}/api/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { parameters: { name: string; in: string }[] }>>
    }
    const headerOf = (path: string, method: string) =>
      document.paths[path]![method]!.parameters.some((p) => p.name === 'Idempotency-Key' && p.in === 'header')
    expect(headerOf('/api/v1/items/trash', 'post')).toBe(true)
    expect(headerOf('/api/v1/trash/restore', 'post')).toBe(true)
    expect(headerOf('/api/v1/operations/{id}/undo', 'post')).toBe(true)
    expect(headerOf('/api/v1/trash', 'get')).toBe(false)
  })
})
