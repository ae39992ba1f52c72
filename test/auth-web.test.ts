import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { logOn } from './helpers/enterprise.js'
import { basicAuth, createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

/**
 * What a browser may be made to do: cross-site requests with remembered credentials (CSRF), a Basic prompt
 * whose answer it would remember, and stored files run as pages of this origin.
 */
let server: TestServer
let f: Fixture

beforeAll(async () => {
  server = await startTestServer()
  f = await createFixture(server.ctx, 'wb')
})

afterAll(async () => {
  await server?.close()
})

async function trashedFile(name: string) {
  const created = await server.ctx.admin.createItem(f.tenantId, {
    kind: 'file',
    name,
    ownerId: f.users.editor!.id,
    content: Buffer.from('x'),
  })
  expect((await server.ctx.trash.trash(f.users.editor!.actor, [created.item.id])).successCount).toBe(1)
  return created.item.id
}

async function itemState(id: number) {
  const result = await server.database.db.query('select state from items where id = $1', [id])
  return result.rows[0]?.state as string | undefined
}

const host = () => new URL(server.baseUrl).host

describe('cross-site request forgery', () => {
  it('a cross-site form POST with remembered Basic credentials does not empty the bin', async () => {
    const id = await trashedFile('csrf-victim.txt')
    const forms = [
      // what <form method=post action=…/bin/empty> sends from another site
      {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'https://evil.example',
        'sec-fetch-site': 'cross-site',
      },
      { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      // browsers that send no Origin with a form: still no JSON and no custom header
      { 'content-type': 'application/x-www-form-urlencoded' },
      { 'content-type': 'text/plain' },
      { 'content-type': 'multipart/form-data; boundary=x' },
      // an opaque origin (sandboxed frame)
      { 'content-type': 'application/json', origin: 'null' },
      // JSON from another site (it would need CORS, which this server never grants)
      { 'content-type': 'application/json', origin: 'https://evil.example' },
    ]
    for (const headers of forms) {
      const response = await server.app.inject({
        method: 'POST',
        url: '/api/v1/bin/empty',
        headers: { ...headers, authorization: basicAuth(f.users.editor!) },
        payload: headers['content-type'] === 'application/json' ? '{}' : 'x=1',
      })
      expect(response.statusCode, JSON.stringify(headers)).toBe(403)
      expect(response.headers['content-type']).toContain('application/problem+json')
      expect(await itemState(id)).toBe('trashed')
    }
    // the same refusal on every state-changing route, admin ones included
    const restore = await server.app.inject({
      method: 'POST',
      url: `/api/v1/trash/${id}/restore`,
      headers: { authorization: basicAuth(f.users.editor!), origin: 'https://evil.example' },
    })
    expect(restore.statusCode).toBe(403)
    expect(await itemState(id)).toBe('trashed')
  })

  it('takes a JSON body, an X-Requested-With header or a bearer token, from this origin', async () => {
    const sent = [
      { headers: { 'content-type': 'application/json', origin: `http://${host()}` }, payload: '{"ids":[]}' },
      { headers: { 'x-requested-with': 'curl' }, payload: undefined },
      { headers: { 'x-requested-with': 'XMLHttpRequest', origin: `http://${host()}` }, payload: undefined },
    ]
    for (const { headers, payload } of sent) {
      const response = await server.app.inject({
        method: 'POST',
        url: '/api/v1/trash/restore',
        headers: { ...headers, host: host(), authorization: basicAuth(f.users.editor!) },
        payload,
      })
      // reaches the route: the body is then validated (no ids: 422) or handled
      expect(response.statusCode, JSON.stringify(headers)).not.toBe(403)
    }
    const session = await server.app.inject({
      method: 'POST',
      url: '/api/v1/sessions',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ login: f.users.editor!.login, password: f.users.editor!.password }),
    })
    const bearer = await server.app.inject({
      method: 'POST',
      url: '/api/v1/bin/empty',
      headers: { authorization: `Bearer ${session.json().token}` },
    })
    expect(bearer.statusCode).toBe(200)
  })
})

describe('Basic challenges', () => {
  it('never asks a browser for Basic credentials (the page, its API calls, navigations)', async () => {
    const browserRequests = [
      { 'sec-fetch-mode': 'cors', 'sec-fetch-site': 'same-origin', accept: 'application/json' },
      { accept: 'text/html,application/xhtml+xml' },
      { origin: `http://${host()}` },
      { authorization: 'Bearer expired-token' },
    ]
    for (const headers of browserRequests) {
      for (const url of ['/api/v1/me', '/api/v1/trash', '/api/v1/events']) {
        const response = await server.app.inject({ method: 'GET', url, headers })
        expect(response.statusCode).toBe(401)
        expect(String(response.headers['www-authenticate'] ?? '')).not.toMatch(/basic/i)
      }
    }
    for (const url of ['/', '/trash', '/web/features.json']) {
      const response = await server.app.inject({ method: 'GET', url, headers: { accept: 'text/html' } })
      expect(response.headers['www-authenticate']).toBeUndefined()
    }
  })

  it('still challenges scripts that wait for one', async () => {
    const response = await server.app.inject({ method: 'GET', url: '/api/v1/me' })
    expect(response.statusCode).toBe(401)
    expect(response.headers['www-authenticate']).toBe('Basic realm="trashd"')
  })
})

describe('stored active content (fileindex.php)', () => {
  async function stored(name: string, contentType: string, body: string) {
    const created = await server.ctx.admin.createItem(f.tenantId, {
      kind: 'file',
      name,
      ownerId: f.users.admin!.id,
      content: Buffer.from(body),
      contentType,
    })
    return created.item.id
  }

  it('serves HTML and SVG as sandboxed downloads, never sniffed, and raster images inline but sandboxed', async () => {
    const ticket = await logOn(server, f.users.admin!)
    const files = [
      {
        name: 'page.html',
        type: 'text/html',
        body: '<script>alert(document.cookie)</script>',
        inline: false,
      },
      {
        name: 'drawing.svg',
        type: 'image/svg+xml',
        body: '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        inline: false,
      },
      { name: 'notes.txt', type: 'text/plain', body: '<html><script>alert(1)</script>', inline: false },
      { name: 'unknown.bin', type: 'application/octet-stream', body: '<script>1</script>', inline: false },
      { name: 'photo.png', type: 'image/png', body: '\x89PNG', inline: true },
      { name: 'photo.jpg', type: 'image/jpeg', body: '\xff\xd8\xff', inline: true },
    ]
    for (const file of files) {
      const id = await stored(file.name, file.type, file.body)
      const response = await fetch(
        `${server.baseUrl}/Enterprise/fileindex.php?objectid=${id}&rendition=native&ticket=${ticket}`,
      )
      expect(response.status).toBe(200)
      expect(response.headers.get('x-content-type-options')).toBe('nosniff')
      expect(response.headers.get('content-security-policy')).toBe('sandbox')
      const disposition = response.headers.get('content-disposition')
      if (file.inline) expect(disposition).toBeNull()
      else expect(disposition).toBe(`attachment; filename="${file.name}"; filename*=UTF-8''${file.name}`)
    }
  })

  it('names a download whatever characters its name holds', async () => {
    const ticket = await logOn(server, f.users.admin!)
    const id = await stored('Rapport "final" (v2) é.html', 'text/html', 'x')
    const response = await fetch(
      `${server.baseUrl}/Enterprise/fileindex.php?objectid=${id}&rendition=native&ticket=${ticket}`,
    )
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="Rapport _final_ (v2) _.html"; filename*=UTF-8''Rapport%20%22final%22%20%28v2%29%20%C3%A9.html`,
    )
  })
})
