import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WEB_ROOT } from '../src/http/web-page.js'
import { basicAuth, createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

/** The server side of the Trash Can page: the files it serves and the REST additions it reads. */
let server: TestServer
let f: Fixture

async function get(url: string, auth?: string) {
  const response = await server.app.inject({
    method: 'GET',
    url,
    headers: auth ? { authorization: auth } : {},
  })
  return response
}

beforeAll(async () => {
  server = await startTestServer()
  f = await createFixture(server.ctx, 'wp')
})

afterAll(async () => {
  await server?.close()
})

describe('the page', () => {
  it('is served at / and /trash with a strict content security policy', async () => {
    for (const url of ['/', '/trash', '/trash/']) {
      const response = await get(url)
      expect(response.statusCode).toBe(200)
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8')
      expect(response.headers['content-security-policy']).toContain("script-src 'self'")
      expect(response.headers['content-security-policy']).toContain("connect-src 'self'")
      expect(response.headers['x-content-type-options']).toBe('nosniff')
      expect(response.body).toContain('<title>Trash Can · trashd</title>')
    }
  })

  it('serves the hashed assets the page references, immutable, and nothing else', async () => {
    const html = (await get('/')).body
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((match) => match[1]!)
    expect(assets.some((url) => url.endsWith('.js'))).toBe(true)
    expect(assets.some((url) => url.endsWith('.css'))).toBe(true)
    for (const url of assets) {
      const response = await get(url)
      expect(response.statusCode).toBe(200)
      expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    }
    // no CDN: every script and stylesheet comes from this server
    expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//)
    for (const url of ['/assets/..%2Fpackage.json', '/assets/.source-hash', '/assets/missing.js']) {
      const response = await get(url)
      expect(response.statusCode).toBe(404)
      expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8')
    }
    expect(WEB_ROOT).toMatch(/dist[\\/]web[\\/]$/)
  })

  it('tells the page which optional endpoints exist', async () => {
    const response = await get('/web/features.json')
    expect(response.json()).toEqual({
      events: server.app.hasRoute({ method: 'GET', url: '/api/v1/events' }),
      cleanupRuns: server.app.hasRoute({ method: 'GET', url: '/api/v1/trash/cleanup/runs' }),
      cleanupPlan: server.app.hasRoute({ method: 'GET', url: '/api/v1/trash/cleanup/plan' }),
    })
  })
})

describe('REST additions for the page', () => {
  let ids: Record<string, number>

  beforeAll(async () => {
    const other = await server.ctx.admin.createBrand(f.tenantId, 'wp other')
    const make = async (name: string, extra: Record<string, unknown> = {}) =>
      (
        await server.ctx.admin.createItem(f.tenantId, {
          kind: 'file',
          name,
          content: Buffer.from(name),
          ...extra,
        })
      ).item.id
    ids = {
      branded: await make('branded.txt', { brandId: f.brandId, type: 'Image' }),
      other: await make('other.txt', { brandId: other, type: 'Layout' }),
      loose: await make('loose.txt'),
    }
    await server.ctx.trash.trash(f.users.editor!.actor, [ids.branded!, ids.loose!])
    await server.ctx.trash.trash(f.users.admin!.actor, [ids.other!])
  })

  it('flags per entry whether the user may restore and purge, from the policy', async () => {
    const flags = async (role: string) => {
      const response = await get('/api/v1/trash', basicAuth(f.users[role]!))
      return Object.fromEntries(
        response
          .json()
          .items.map((item: { name: string; mayRestore: boolean; mayPurge: boolean }) => [
            item.name,
            [item.mayRestore, item.mayPurge],
          ]),
      )
    }
    expect(await flags('admin')).toEqual({
      'branded.txt': [true, true],
      'other.txt': [true, true],
      'loose.txt': [true, true],
    })
    // the editor deleted both: restore (deleter); purge only with the brand's purge right, and outside any brand
    // as the deleter (what EmptyRecycleBin would purge anyway)
    expect(await flags('editor')).toEqual({ 'branded.txt': [true, false], 'loose.txt': [true, true] })
    expect(await flags('purger')).toEqual({ 'branded.txt': [true, true] })
    expect(await flags('viewer')).toEqual({ 'branded.txt': [false, false] })
  })

  it('lists the brands, deleters and types present in the trash the user may see', async () => {
    const admin = (await get('/api/v1/trash/filters', basicAuth(f.users.admin!))).json()
    expect(admin).toEqual({
      brands: [
        { id: f.brandId, name: 'wp brand' },
        { id: expect.any(Number), name: 'wp other' },
      ],
      deleters: [
        { id: f.users.admin!.id, login: 'wp-admin', name: 'wp admin' },
        { id: f.users.editor!.id, login: 'wp-editor', name: 'wp editor' },
      ],
      types: ['Document', 'Image', 'Layout'],
    })
    const viewer = (await get('/api/v1/trash/filters', basicAuth(f.users.viewer!))).json()
    expect(viewer).toEqual({
      brands: [{ id: f.brandId, name: 'wp brand' }],
      deleters: [{ id: f.users.editor!.id, login: 'wp-editor', name: 'wp editor' }],
      types: ['Image'],
    })
    const own = (await get('/api/v1/trash/filters?scope=own', basicAuth(f.users.admin!))).json()
    expect(own.types).toEqual(['Layout'])
    expect((await get('/api/v1/trash/filters')).statusCode).toBe(401)
  })

  it('rejects a cursor of another sort order, or a forged one, with 422', async () => {
    const auth = basicAuth(f.users.admin!)
    const first = (await get('/api/v1/trash?sort=name&direction=asc&limit=1', auth)).json()
    expect(first.nextCursor).toEqual(expect.any(String))
    const wrong = await get(`/api/v1/trash?sort=size&limit=1&cursor=${first.nextCursor}`, auth)
    expect(wrong.statusCode).toBe(422)
    for (const forged of ['["name","asc",{"x":1},1]', '["size","desc","abc",1]', '["name","asc",null,1]']) {
      const cursor = Buffer.from(forged).toString('base64url')
      const sort = JSON.parse(forged)
      const response = await get(`/api/v1/trash?sort=${sort[0]}&direction=${sort[1]}&cursor=${cursor}`, auth)
      expect(response.statusCode).toBe(422)
    }
    expect((await get('/api/v1/trash?cursor=bm9wZQ', auth)).statusCode).toBe(422)
  })
})

describe('cleanup for tenant administrators', () => {
  it('answers the plan and the runs to tenant administrators only', async () => {
    for (const url of ['/api/v1/trash/cleanup/plan', '/api/v1/trash/cleanup/runs']) {
      const denied = await get(url, basicAuth(f.users.purger!))
      expect(denied.statusCode).toBe(403)
      expect(denied.json()).toMatchObject({ code: 'ADMIN_ONLY' })
    }
  })

  it("plans what the next run purges in the tenant and lists the runs with the tenant's own count", async () => {
    const other = await createFixture(server.ctx, 'wq')
    const make = async (fixture: Fixture, name: string) => {
      const { item } = await server.ctx.admin.createItem(fixture.tenantId, {
        kind: 'file',
        name,
        content: Buffer.from(name),
      })
      await server.ctx.trash.trash(fixture.users.admin!.actor, [item.id])
      await server.database.db.query(
        "update items set deleted_at = now() - interval '30 days' where id = $1",
        [item.id],
      )
      return item.id
    }
    const mine = await make(f, 'old-mine.txt')
    await make(other, 'old-theirs.txt')
    await make(other, 'old-theirs-2.txt')
    const plan = (await get('/api/v1/trash/cleanup/plan', basicAuth(f.users.admin!))).json()
    expect(plan.nextRunAt).toBeNull()
    expect(plan.summary).toMatchObject({ tenantId: f.tenantId, units: 1, expired: 1, emptied: 0 })
    expect(plan.units).toEqual([
      expect.objectContaining({ id: mine, name: 'old-mine.txt', reason: 'expired', retentionDays: 7 }),
    ])
    const report = await server.ctx.cleanup.run({ trigger: 'api' })
    expect(report!.run.purged).toBe(3)
    const runs = (await get('/api/v1/trash/cleanup/runs', basicAuth(f.users.admin!))).json().runs
    expect(runs[0]).toMatchObject({ id: report!.run.id, status: 'succeeded', purged: 3, tenantPurged: 1 })
    expect(runs[0]).not.toHaveProperty('instance')
    const theirs = (await get('/api/v1/trash/cleanup/runs', basicAuth(other.users.admin!))).json().runs
    expect(theirs[0]).toMatchObject({ id: report!.run.id, tenantPurged: 2 })
  })
})

describe('paging a large trash', () => {
  const TOTAL = 100_000
  let large: Fixture

  beforeAll(async () => {
    large = await createFixture(server.ctx, 'wl')
    const brandB = await server.ctx.admin.createBrand(large.tenantId, 'wl second')
    // set-based: 100,000 trashed files with repeating names, sizes, types, deleters and brands (some none)
    await server.database.db.query(
      `insert into items (tenant_id, kind, type, name, size, brand_id, owner_id, state, deleted_at, deleted_by,
                          trash_root, original_path)
       select $1, 'file', (array['Image','Article','Layout'])[1 + n % 3], 'file-' || (n % 5000) || '-' || n,
              (n * 7919) % 100000, case n % 4 when 0 then null when 1 then $2::bigint else $3::bigint end, $4,
              'trashed', now() - make_interval(secs => n % 20000),
              case when n % 3 = 0 then $4::bigint else $5::bigint end, null,
              case when n % 10 = 0 then null else '/file-' || n end
         from generate_series(1, $6::int) n`,
      [large.tenantId, large.brandId, brandB, large.users.admin!.id, large.users.editor!.id, TOTAL],
    )
    await server.database.db.query(
      "update items set trash_root = id where tenant_id = $1 and state = 'trashed' and trash_root is null",
      [large.tenantId],
    )
  }, 300_000)

  async function walk(query: string, pages: number, limit: number) {
    const seen: { id: number; name: string; size: number; deletedAt: string; by: string | null }[] = []
    let cursor: string | null = null
    for (let i = 0; i < pages; i++) {
      const response = await get(
        `/api/v1/trash?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
        basicAuth(large.users.admin!),
      )
      expect(response.statusCode).toBe(200)
      const body = response.json()
      expect(body.total).toBe(TOTAL)
      for (const item of body.items)
        seen.push({
          id: item.id,
          name: item.name,
          size: item.size,
          deletedAt: item.deletedAt,
          by: item.deletedBy.login,
        })
      cursor = body.nextCursor
      if (!cursor) break
    }
    return { seen, cursor }
  }

  it('pages every sort order by keyset: the walk matches the database order exactly, no gaps or repeats', async () => {
    const orders: [string, string][] = [
      ['sort=deletedAt&direction=desc', 'i.deleted_at desc, i.id desc'],
      ['sort=name&direction=asc', 'i.name asc, i.id asc'],
      ['sort=size&direction=desc', 'i.size desc, i.id desc'],
      ['sort=path&direction=asc', 'i.original_path asc nulls last, i.id asc'],
      ['sort=brand&direction=desc', 'b.name desc nulls last, i.id desc'],
      [
        'sort=expiresAt&direction=asc',
        'i.deleted_at + make_interval(days => coalesce(b.auto_purge_days, 7)) asc nulls last, i.id asc',
      ],
    ]
    for (const [query, order] of orders) {
      // 999 per page: page ends fall inside groups of rows deleted at the same microsecond
      const { seen } = await walk(query, 6, 999)
      const expected = await server.database.db.query<{ id: number }>(
        `select i.id from items i left join brands b on b.tenant_id = i.tenant_id and b.id = i.brand_id
          where i.tenant_id = $1 and i.state = 'trashed' order by ${order} limit 5994`,
        [large.tenantId],
      )
      expect(seen.map((item) => item.id)).toEqual(expected.rows.map((row) => row.id))
    }
  })

  it('reaches the last rows of 100,000 through cursors with nulls sorted last', async () => {
    // jump close to the end with offset, then continue by cursor over the null paths
    const near = await get(
      `/api/v1/trash?sort=path&direction=asc&limit=1&offset=${TOTAL - 10_001}`,
      basicAuth(large.users.admin!),
    )
    const last = near.json().items[0]
    expect(last.originalPath).toEqual(expect.any(String))
    const cursor = Buffer.from(JSON.stringify(['path', 'asc', last.originalPath, last.id])).toString(
      'base64url',
    )
    let next: string | null = cursor
    let count = 0
    let nulls = 0
    while (next) {
      const response = await get(
        `/api/v1/trash?sort=path&direction=asc&limit=1000&cursor=${next}`,
        basicAuth(large.users.admin!),
      )
      const body = response.json()
      count += body.items.length
      nulls += body.items.filter((item: { originalPath: string | null }) => item.originalPath === null).length
      next = body.nextCursor
    }
    expect(count).toBe(10_000)
    expect(nulls).toBe(TOTAL / 10)
  })
})
