import { existsSync } from 'node:fs'
import net from 'node:net'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { TrashListingEntry } from '../src/core/types.js'
import { parseXml } from '../src/protocols/soap/xml.js'
import type { FsBlobStore } from '../src/storage/fs-blob-store.js'
import { asmx, asmxTicket, responseXml } from './helpers/asmx.js'
import { openTransactions, usingRealPostgres } from './helpers/db.js'
import { createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

let server: TestServer
let f: Fixture
let other: Fixture

// PGlite (single-threaded WebAssembly) is several times slower than PostgreSQL: the embedded run keeps the bin
// past one 10,000-unit purge batch, so that batching is still proven, at 12,000 units
const FILE_UNITS = usingRealPostgres() ? 30_000 : 12_000
const FOLDER_UNITS = 100
const FOLDER_MEMBERS = 10

beforeAll(async () => {
  // a reader that takes nothing for a second is given up on (the stalled-reader test below)
  server = await startTestServer({ STREAM_STALL_TIMEOUT: '1' })
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

const ticketOf = (fixture: Fixture, role: string) => asmxTicket(server.baseUrl, fixture.users[role]!)

describe('a recycle bin of tens of thousands of items', () => {
  // tens of thousands of rows written, listed and purged: up to 3 minutes on a loaded machine
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
    // batches of 10,000 units: a handful of statements per batch, nowhere near one per item
    expect(statements).toBeGreaterThan(Math.ceil(unitCount / 10000))
    expect(statements).toBeLessThan(Math.ceil(unitCount / 10000) * 12 + 10)

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
  }, 180_000)
})

describe('the streamed bin listing', () => {
  it('lists what the keyset pages list, in their order, and gives its connection back when abandoned', async () => {
    const fixture = await createFixture(server.ctx, 'bulk3', 'asmx')
    await fillBin(fixture, 'editor', 2500, 3, 4)
    const actor = fixture.users.editor!.actor
    const filter = { scope: 'own', rootsOnly: true, states: ['trashed'] } as const
    const streamed: TrashListingEntry[] = []
    for await (const batch of server.ctx.trash.iterate(
      actor,
      { ...filter, states: [...filter.states] },
      1000,
    ))
      streamed.push(...batch)
    const paged: TrashListingEntry[] = []
    let cursor: string | undefined
    for (;;) {
      const page = await server.ctx.trash.list(
        actor,
        { ...filter, states: [...filter.states] },
        { limit: 700, cursor, sort: 'deletedAt' },
      )
      paged.push(...page)
      if (page.length < 700) break
      cursor = server.ctx.trash.cursorAfter(page[page.length - 1]!)
    }
    const pick = (entry: TrashListingEntry) => ({
      id: entry.id,
      kind: entry.kind,
      name: entry.name,
      state: entry.state,
      size: entry.size,
      unitBytes: entry.unitBytes,
      deletedAt: entry.deletedAt?.toISOString(),
      deletedBy: entry.deletedBy,
      deletedByLogin: entry.deletedByLogin,
      originalParentId: entry.originalParentId,
      originalPath: entry.originalPath,
    })
    expect(streamed.length).toBe(2503)
    expect(streamed.map(pick)).toEqual(paged.map(pick))

    // a reader that stops after the first batch: the transaction ends and the connection is free again
    for await (const batch of server.ctx.trash.iterate(
      actor,
      { ...filter, states: [...filter.states] },
      1000,
    )) {
      expect(batch.length).toBe(1000)
      break
    }
    expect(await openTransactions(server.database)).toBe(0)
  })

  /** Sessions of this test database still inside a transaction (a listing holding its connection). */
  const openListings = () => openTransactions(server.database)

  async function waitFor(check: () => Promise<boolean>, seconds: number) {
    const deadline = Date.now() + seconds * 1000
    while (Date.now() < deadline) {
      if (await check()) return true
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    return false
  }

  it('holds no connection and no transaction while its reader does not read, nor after it goes away half-way', async () => {
    const fixture = await createFixture(server.ctx, 'bulk5', 'asmx')
    await fillBin(fixture, 'editor', 40_000, 0, 0)
    const ticket = await ticketOf(fixture, 'editor')
    const { port } = new URL(server.baseUrl)
    const socket = net.connect(Number(port), '127.0.0.1')
    await new Promise((resolve) => socket.once('connect', resolve))
    let received = ''
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString()
    })
    socket.pause()
    socket.write(
      `GET /srv.asmx/GetRecycleBinContent?AuthenticationTicket=${ticket} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
    )
    // the listing has started and waits for its reader: nothing of the database is held meanwhile
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(await openListings()).toBe(0)
    socket.resume()
    expect(await waitFor(async () => received.includes('<document '), 10)).toBe(true)
    // the client goes away in the middle of the listing
    socket.destroy()
    expect(await waitFor(async () => (await openListings()) === 0, 10)).toBe(true)
    expect((await server.database.db.query<{ n: number }>('select 1 as n')).rows[0]!.n).toBe(1)
  })

  it('gives the connection back when the client leaves a one-batch listing at any moment', async () => {
    const fixture = await createFixture(server.ctx, 'bulk6', 'asmx')
    await fillBin(fixture, 'editor', 50, 0, 0)
    const ticket = await ticketOf(fixture, 'editor')
    const { port } = new URL(server.baseUrl)
    // leave before the reply, as its first bytes arrive, and a little after them
    for (const leave of ['on-send', 'on-first-bytes', 'after-first-bytes'] as const) {
      for (let round = 0; round < 5; round++) {
        const socket = net.connect(Number(port), '127.0.0.1')
        await new Promise((resolve) => socket.once('connect', resolve))
        const firstBytes = new Promise((resolve) => socket.once('data', resolve))
        socket.write(
          `GET /srv.asmx/GetRecycleBinContent?AuthenticationTicket=${ticket} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
        )
        if (leave !== 'on-send') await firstBytes
        if (leave === 'after-first-bytes') await new Promise((resolve) => setTimeout(resolve, 5))
        socket.destroy()
      }
    }
    expect(await waitFor(async () => (await openListings()) === 0, 10)).toBe(true)
    // every pooled connection is free: as many queries at once as the pool holds all answer
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => server.database.db.query<{ n: number }>('select 1 as n')),
    )
    expect(answers.map((result) => result.rows[0]!.n)).toEqual(Array(8).fill(1))
  })
})
