import { existsSync } from 'node:fs'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { FsBlobStore } from '../src/storage/fs-blob-store.js'
import { parseXml } from '../src/protocols/soap/xml.js'
import { asmx, responseXml } from './helpers/asmx.js'
import { createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

let server: TestServer
let f: Fixture
let other: Fixture

const FILE_UNITS = 30_000
const FOLDER_UNITS = 100
const FOLDER_MEMBERS = 10

beforeAll(async () => {
  server = await startTestServer()
  f = await createFixture(server.ctx, 'bulk', 'asmx')
  other = await createFixture(server.ctx, 'bulk2', 'asmx')
})

afterAll(async () => {
  await server?.close()
})

/** Trashed units deleted by a user, generated set-based: `files` file units and `folders` folder units. */
async function fillBin(fixture: Fixture, role: string, files: number, folders: number, members: number) {
  const db = server.database.db
  const user = fixture.users[role]!
  const lib = (
    await server.ctx.admin.createItem(fixture.tenantId, {
      kind: 'folder',
      name: `Bin of ${role}`,
      parentId: null,
    })
  ).item
  await db.query(
    `insert into items (tenant_id, kind, type, name, parent_id, size, state, deleted_at, deleted_by, deleted_via,
                        original_parent_id, original_path)
     select $1, 'file', 'Document', 'doc-' || g || '.pdf', $2, 100, 'trashed', now() - g * interval '1 millisecond',
            $3, 'asmx', $2, '/' || $4 || '/doc-' || g || '.pdf'
       from generate_series(1, $5::int) g`,
    [fixture.tenantId, lib.id, user.id, lib.name, files],
  )
  await db.query(
    `insert into items (tenant_id, kind, type, name, parent_id, state, deleted_at, deleted_by, deleted_via,
                        original_parent_id, original_path)
     select $1, 'folder', 'Folder', 'folder-' || g, $2, 'trashed', now(), $3, 'asmx', $2, '/' || $4 || '/folder-' || g
       from generate_series(1, $5::int) g`,
    [fixture.tenantId, lib.id, user.id, lib.name, folders],
  )
  await db.query(
    `update items set trash_root = id
      where tenant_id = $1 and deleted_by = $2 and state = 'trashed' and trash_root is null`,
    [fixture.tenantId, user.id],
  )
  await db.query(
    `insert into items (tenant_id, kind, type, name, parent_id, size, state, deleted_at, deleted_by, trash_root,
                        original_parent_id, original_path)
     select p.tenant_id, 'file', 'Document', 'member-' || m || '.txt', p.id, 10, 'trashed', p.deleted_at, p.deleted_by,
            p.id, p.id, p.original_path || '/member-' || m || '.txt'
       from items p cross join generate_series(1, $4::int) m
      where p.tenant_id = $1 and p.deleted_by = $2 and p.kind = 'folder' and p.state = 'trashed' and p.parent_id = $3`,
    [fixture.tenantId, user.id, lib.id, members],
  )
  return lib
}

async function binRows(fixture: Fixture, role: string) {
  const result = await server.database.db.query<{ n: number }>(
    `select count(*)::int as n from items where tenant_id = $1 and deleted_by = $2 and state = 'trashed'`,
    [fixture.tenantId, fixture.users[role]!.id],
  )
  return result.rows[0]!.n
}

async function ticketOf(fixture: Fixture, role: string) {
  const user = fixture.users[role]!
  const answer = await asmx(server.baseUrl, 'GET', 'AuthenticateUser', {
    UID: user.login,
    PWD: user.password,
  })
  return answer.response.attrs.ticket!
}

describe('a recycle bin of tens of thousands of items', () => {
  it('GetRecycleBinContent streams every unit once; EmptyRecycleBin purges them in set-based batches', async () => {
    const lib = await fillBin(f, 'editor', FILE_UNITS, FOLDER_UNITS, FOLDER_MEMBERS)
    // a few real files with stored content in the same bin
    const stored = []
    for (let i = 0; i < 20; i++) {
      const { item } = await server.ctx.admin.createItem(f.tenantId, {
        kind: 'file',
        name: `stored-${i}.txt`,
        parentId: lib.id,
        content: Buffer.from(`content ${i}`),
      })
      stored.push(item)
    }
    await server.ctx.trash.trash(
      f.users.editor!.actor,
      stored.map((item) => item.id),
    )
    await fillBin(f, 'purger', 500, 5, 3)
    await fillBin(other, 'editor', 300, 2, 2)
    const unitCount = FILE_UNITS + FOLDER_UNITS + stored.length
    const rowCount = unitCount + FOLDER_UNITS * FOLDER_MEMBERS
    expect(await binRows(f, 'editor')).toBe(rowCount)
    const purgerBefore = await binRows(f, 'purger')
    const otherBefore = await binRows(other, 'editor')

    // as autovacuum would after a bulk load: without statistics the planner misjudges the unit walks
    await server.database.db.query('analyze items')
    const ticket = await ticketOf(f, 'editor')
    const listing = await fetch(
      `${server.baseUrl}/srv.asmx/GetRecycleBinContent?AuthenticationTicket=${ticket}`,
    )
    expect(listing.headers.get('transfer-encoding')).toBe('chunked')
    const units = parseXml(await listing.text()).children
    expect(units.length).toBe(unitCount)
    expect(new Set(units.map((unit) => unit.attrs.Handler)).size).toBe(unitCount)
    expect(units.filter((unit) => unit.name === 'folder').map((unit) => unit.attrs.TotalSize)).toEqual(
      Array(FOLDER_UNITS).fill(String(FOLDER_MEMBERS * 10)),
    )

    const keys = (
      await server.database.db.query<{ blob_key: string }>('select blob_key from items where id = any($1)', [
        stored.map((item) => item.id),
      ])
    ).rows.map((row) => row.blob_key)
    const queries = vi.spyOn(pg.Client.prototype, 'query')
    let statements = 0
    try {
      const answer = await asmx(server.baseUrl, 'GET', 'EmptyRecycleBin', { AuthenticationTicket: ticket })
      statements = queries.mock.calls.length
      expect(responseXml(answer)).toBe('<response success="true" error="" />')
    } finally {
      queries.mockRestore()
    }
    // batches of 2,000 units: a handful of statements per batch, nowhere near one per item
    expect(statements).toBeGreaterThan(Math.ceil(unitCount / 2000))
    expect(statements).toBeLessThan(Math.ceil(unitCount / 2000) * 12 + 10)

    expect(await binRows(f, 'editor')).toBe(0)
    const left = await server.database.db.query<{ n: number }>(
      'select count(*)::int as n from items where tenant_id = $1 and deleted_by = $2',
      [f.tenantId, f.users.editor!.id],
    )
    expect(left.rows[0]!.n).toBe(0)
    for (const key of keys) expect(existsSync((server.ctx.blobs as FsBlobStore).pathOf(key))).toBe(false)
    const audit = await server.database.db.query<{ n: number }>(
      "select count(*)::int as n from audit where tenant_id = $1 and action = 'empty_bin' and actor_id = $2",
      [f.tenantId, f.users.editor!.id],
    )
    expect(audit.rows[0]!.n).toBe(rowCount)
    // other users' bins, in this tenant and another, are untouched
    expect(await binRows(f, 'purger')).toBe(purgerBefore)
    expect(await binRows(other, 'editor')).toBe(otherBefore)
    const empty = await asmx(server.baseUrl, 'GET', 'GetRecycleBinContent', { AuthenticationTicket: ticket })
    expect(responseXml(empty)).toBe('<response success="true" error="" />')
  })
})
