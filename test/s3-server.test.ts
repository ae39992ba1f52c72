import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { ListObjectsV2Command } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { S3BlobStore } from '../src/storage/s3-blob-store.js'
import { logOn } from './helpers/enterprise.js'
import { scriptCall } from './helpers/rest.js'
import { refuseDeletes, startS3Server, type TestS3Server } from './helpers/s3.js'
import {
  ADMIN_TOKEN,
  basicAuth,
  createFixture,
  type Fixture,
  startTestServer,
  type TestServer,
} from './helpers/server.js'

let s3: TestS3Server
let server: TestServer
let f: Fixture
const PREFIX = 'server/'

beforeAll(async () => {
  s3 = await startS3Server()
  server = await startTestServer({ ...s3.env, S3_PREFIX: PREFIX })
  f = await createFixture(server.ctx, 's3srv', 'enterprise')
})

afterAll(async () => {
  await server?.close()
  await s3?.stop()
})

const call = scriptCall(() => server)

async function bucketKeys() {
  const listed = await s3
    .store()
    .client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: PREFIX, MaxKeys: 1000 }))
  return (listed.Contents ?? []).map((object) => object.Key!.slice(PREFIX.length)).sort()
}

async function blobKeysOf(itemId: number) {
  const result = await server.database.db.query<{ key: string }>(
    `select blob_key as key from items where id = $1 and blob_key is not null
      union select blob_key from item_versions where item_id = $1`,
    [itemId],
  )
  return result.rows.map((row) => row.key).sort()
}

describe('trashd with BLOB_STORE=s3', () => {
  it('stores uploads and versions as objects, serves them at fileindex.php, and a purge removes every one', async () => {
    expect(server.ctx.blobs).toBeInstanceOf(S3BlobStore)
    const content = randomBytes(200_000)
    const created = await call('POST', `/api/v1/tenants/${f.tenantId}/items`, {
      auth: `Bearer ${ADMIN_TOKEN}`,
      body: {
        kind: 'file',
        name: 'on-s3.bin',
        brandId: f.brandId,
        ownerId: f.users.admin!.id,
        content: content.toString('base64'),
      },
    })
    expect(created.status).toBe(201)
    const id = created.body.id as number
    const second = randomBytes(1000)
    const version = await call('POST', `/api/v1/tenants/${f.tenantId}/items/${id}/versions`, {
      auth: `Bearer ${ADMIN_TOKEN}`,
      body: { content: second.toString('base64') },
    })
    expect(version.status).toBe(201)
    const keys = await blobKeysOf(id)
    expect(keys).toHaveLength(2)
    expect(await bucketKeys()).toEqual(keys)
    // nothing on the local disk
    expect(existsSync(path.join(server.dataDir, 'blobs'))).toBe(false)

    const ticket = await logOn(server, f.users.admin!)
    const download = (version: string) =>
      fetch(
        `${server.baseUrl}/Enterprise/fileindex.php?objectid=${id}&rendition=native&version=${version}&ticket=${ticket}`,
      )
    const first = await download('0.1')
    expect(first.status).toBe(200)
    expect(Buffer.from(await first.arrayBuffer()).equals(content)).toBe(true)
    const latest = await download('0.2')
    expect(Buffer.from(await latest.arrayBuffer()).equals(second)).toBe(true)

    const purger = basicAuth(f.users.purger!)
    expect((await call('POST', `/api/v1/items/${id}/trash`, { auth: purger })).status).toBe(200)
    const purged = await call('DELETE', `/api/v1/trash/${id}`, { auth: purger })
    expect(purged.status).toBe(200)
    expect(await bucketKeys()).toEqual([])
    expect((await server.database.db.query('select 1 from items where id = $1', [id])).rowCount).toBe(0)
  })

  it('a missing object is a 404 at fileindex.php, not a server error', async () => {
    const { item } = await server.ctx.admin.createItem(f.tenantId, {
      kind: 'file',
      name: 'lost.txt',
      brandId: f.brandId,
      ownerId: f.users.admin!.id,
      content: Buffer.from('soon gone'),
    })
    await server.ctx.blobs.delete(item.blobKey!)
    const ticket = await logOn(server, f.users.admin!)
    const response = await fetch(
      `${server.baseUrl}/Enterprise/fileindex.php?objectid=${item.id}&rendition=native&ticket=${ticket}`,
    )
    expect(response.status).toBe(404)
  })

  it('a purge of many items deletes their objects in one batch; an object S3 refuses keeps its row, retried later', async () => {
    // (top-level folders are trashed by administrators only)
    const outer = await server.ctx.admin.createItem(f.tenantId, {
      kind: 'folder',
      name: 'outer',
      brandId: f.brandId,
      ownerId: f.users.admin!.id,
    })
    const folder = await server.ctx.admin.createItem(f.tenantId, {
      kind: 'folder',
      name: 'batch',
      parentId: outer.item.id,
      brandId: f.brandId,
      ownerId: f.users.admin!.id,
    })
    const files = []
    for (let i = 0; i < 30; i++) {
      const { item } = await server.ctx.admin.createItem(f.tenantId, {
        kind: 'file',
        name: `f${i}.txt`,
        brandId: f.brandId,
        parentId: i < 10 ? folder.item.id : null,
        ownerId: f.users.admin!.id,
        content: Buffer.from(`file ${i}`),
      })
      files.push(item)
    }
    const roots = [folder.item.id, ...files.slice(10).map((item) => item.id)]
    const purger = basicAuth(f.users.purger!)
    expect((await call('POST', '/api/v1/items/trash', { auth: purger, body: { ids: roots } })).status).toBe(
      200,
    )

    const store = server.ctx.blobs as S3BlobStore
    const batches: number[] = []
    store.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'DeleteObjectsCommand')
          batches.push((args.input as { Delete: { Objects: unknown[] } }).Delete.Objects.length)
        if (context.commandName === 'DeleteObjectCommand') batches.push(1)
        return next(args)
      },
      { step: 'initialize', name: 'count-batch-deletes' },
    )
    // one file inside the folder, one on its own
    const refusedInFolder = files[3]!
    const refusedAlone = files[20]!
    const stopRefusing = refuseDeletes(store, new Set([refusedInFolder.blobKey!, refusedAlone.blobKey!]))
    try {
      const purged = await call('POST', '/api/v1/trash/purge', { auth: purger, body: { ids: roots } })
      expect(purged.status).toBe(200)
      expect(purged.body.errorCount).toBe(2)
      expect(
        purged.body.results
          .filter((result: { status: string }) => result.status === 'error')
          .map((result: { id: number }) => result.id)
          .sort(),
      ).toEqual([folder.item.id, refusedAlone.id].sort())
    } finally {
      stopRefusing()
      store.client.middlewareStack.remove('count-batch-deletes')
    }
    // 30 objects in one DeleteObjects call
    expect(batches).toEqual([30])
    // the refused objects and their rows (with the folder above one of them) are still there, the rest gone
    const remaining = await bucketKeys()
    expect(remaining).toEqual([refusedInFolder.blobKey, refusedAlone.blobKey].sort())
    const rows = await server.database.db.query<{ id: number; state: string; purge_error: string | null }>(
      'select id, state, purge_error from items where tenant_id = $1 and id = any($2::bigint[]) order by id',
      [f.tenantId, [folder.item.id, ...files.map((item) => item.id)]],
    )
    expect(rows.rows.map((row) => row.id)).toEqual(
      [folder.item.id, refusedInFolder.id, refusedAlone.id].sort((x, y) => x - y),
    )
    for (const row of rows.rows) expect(row.state).toBe('trashed')
    expect(rows.rows.find((row) => row.id === refusedAlone.id)!.purge_error).toBe(
      'Unable to delete file from storage',
    )

    // the cleanup job retries failed purges: with S3 accepting again, nothing is left
    const report = await server.ctx.cleanup.run({ trigger: 'cli', tenantId: f.tenantId })
    expect(report!.run).toMatchObject({ failed: 0, retried: 2 })
    expect(await bucketKeys()).toEqual([])
    const left = await server.database.db.query(
      'select 1 from items where tenant_id = $1 and id = any($2::bigint[])',
      [f.tenantId, roots],
    )
    expect(left.rowCount).toBe(0)
  })

  it('is ready once the bucket answers; a bucket it cannot reach makes /readyz 503', async () => {
    expect(await (await fetch(`${server.baseUrl}/readyz`)).json()).toEqual({ status: 'ready' })
    const lost = await startTestServer({ ...s3.env, S3_BUCKET: 'no-such-bucket' })
    try {
      const answer = await fetch(`${lost.baseUrl}/readyz`)
      expect(answer.status).toBe(503)
      expect(await answer.json()).toEqual({ status: 'blob store unreachable' })
    } finally {
      await lost.close()
    }
  })
})
