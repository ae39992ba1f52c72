import { createHash } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { Readable } from 'node:stream'
import { ListObjectsV2Command } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { S3BlobStore } from '../src/storage/s3-blob-store.js'
import { logOn } from './helpers/enterprise.js'
import { startS3Server, type TestS3Server } from './helpers/s3.js'
import {
  ADMIN_TOKEN,
  createFixture,
  type Fixture,
  startTestServer,
  type TestServer,
} from './helpers/server.js'

const MiB = 1024 * 1024
const LIMIT = 24 * MiB

let s3: TestS3Server
type Served = { server: TestServer; f: Fixture }
/** per store: a server with UPLOAD_MAX_BYTES=24 MiB, and one with the default (1 GiB) for the memory test */
const stores: Record<'fs' | 's3', Served> = {} as never
const unlimited: Record<'fs' | 's3', Served> = {} as never

beforeAll(async () => {
  s3 = await startS3Server()
  for (const [name, env] of [
    ['fs', {}],
    ['s3', { ...s3.env, S3_PREFIX: 'uploads/' }],
  ] as const) {
    const server = await startTestServer({ ...env, UPLOAD_MAX_BYTES: String(LIMIT) })
    stores[name] = { server, f: await createFixture(server.ctx, `up${name}`, 'enterprise') }
    const other = await startTestServer({ ...env, S3_PREFIX: 'unlimited/' })
    unlimited[name] = { server: other, f: await createFixture(other.ctx, `un${name}`, 'enterprise') }
  }
})

afterAll(async () => {
  for (const { server } of [...Object.values(stores), ...Object.values(unlimited)]) await server.close()
  await s3?.stop()
})

/** `size` bytes of a repeating pattern, made as they are read (the client holds 64 KiB at a time). */
function patterned(size: number): { stream: () => ReadableStream<Uint8Array>; sha256: string } {
  const block = Buffer.alloc(64 * 1024)
  for (let i = 0; i < block.length; i++) block[i] = (i * 7 + (i >> 8)) & 0xff
  const chunks = function* () {
    for (let sent = 0; sent < size; sent += block.length)
      yield block.subarray(0, Math.min(block.length, size - sent))
  }
  const hash = createHash('sha256')
  for (const chunk of chunks()) hash.update(chunk)
  return {
    stream: () => Readable.toWeb(Readable.from(chunks())) as ReadableStream<Uint8Array>,
    sha256: hash.digest('hex'),
  }
}

async function upload(
  server: TestServer,
  url: string,
  body: ReadableStream<Uint8Array> | Buffer,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${server.baseUrl}${url}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      'content-type': 'application/octet-stream',
      ...headers,
    },
    body,
    duplex: 'half',
  } as RequestInit)
  return { status: response.status, body: await response.json() }
}

async function downloadSha256(server: TestServer, ticket: string, id: number, version?: string) {
  const response = await fetch(
    `${server.baseUrl}/Enterprise/fileindex.php?objectid=${id}&rendition=native&ticket=${ticket}${version ? `&version=${version}` : ''}`,
  )
  expect(response.status).toBe(200)
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    hash.update(chunk)
    size += chunk.length
  }
  return { sha256: hash.digest('hex'), size, type: response.headers.get('content-type') }
}

/** Peak growth of this process's resident memory while `work` runs, sampled every 20 ms. */
async function peakRssGrowth(work: () => Promise<void>) {
  globalThis.gc?.()
  const before = process.memoryUsage().rss
  let peak = before
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 20)
  try {
    await work()
  } finally {
    clearInterval(sampler)
  }
  return Math.max(peak, process.memoryUsage().rss) - before
}

async function fsBlobFiles(server: TestServer) {
  const root = path.join(server.dataDir, 'blobs')
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => [])
  return entries.filter((entry) => entry.isFile()).map((entry) => entry.name)
}

async function s3Objects() {
  const listed = await s3
    .store()
    .client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'uploads/', MaxKeys: 1000 }))
  return (listed.Contents ?? []).map((object) => object.Key!.slice('uploads/'.length))
}

const storedKeys = (name: 'fs' | 's3') => (name === 'fs' ? fsBlobFiles(stores.fs.server) : s3Objects())

describe.each(['fs', 's3'] as const)('raw uploads (BLOB_STORE=%s)', (name) => {
  it('a file and a version streamed in the body are stored whole and served back byte for byte', async () => {
    const { server, f } = stores[name]
    const content = patterned(20 * MiB + 12_345)
    const created = await upload(
      server,
      `/api/v1/tenants/${f.tenantId}/items/upload?name=big.bin&brandId=${f.brandId}&ownerId=${f.users.admin!.id}`,
      content.stream(),
      { 'content-type': 'video/mp4' },
    )
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ path: '/big.bin', size: 20 * MiB + 12_345 })
    const id = created.body.id as number
    const small = Buffer.from('second version')
    const version = await upload(
      server,
      `/api/v1/tenants/${f.tenantId}/items/${id}/versions/upload?comment=again&major=true`,
      small,
      { 'content-type': 'text/plain' },
    )
    expect(version).toEqual({ status: 201, body: { version: '1.0' } })

    const row = await server.database.db.query('select size::int, content_type from items where id = $1', [
      id,
    ])
    expect(row.rows[0]).toEqual({ size: small.length, content_type: 'text/plain' })
    const ticket = await logOn(server, f.users.admin!)
    expect(await downloadSha256(server, ticket, id, '0.1')).toMatchObject({
      sha256: content.sha256,
      size: 20 * MiB + 12_345,
    })
    expect(await downloadSha256(server, ticket, id)).toMatchObject({
      sha256: createHash('sha256').update(small).digest('hex'),
    })
    expect(await storedKeys(name)).toHaveLength(2)
  })

  it('refuses content over UPLOAD_MAX_BYTES with 413, announced or streamed, and keeps nothing of it', async () => {
    const { server, f } = stores[name]
    const before = (await storedKeys(name)).sort()
    const items = async () =>
      Number(
        (await server.database.db.query('select count(*) from items where tenant_id = $1', [f.tenantId]))
          .rows[0].count,
      )
    const itemsBefore = await items()
    const url = `/api/v1/tenants/${f.tenantId}/items/upload?name=too-big.bin`
    // announced by Content-Length: refused before a byte is stored
    const announced = await upload(server, url, Buffer.alloc(LIMIT + 1))
    expect(announced.status).toBe(413)
    expect(announced.body).toMatchObject({
      status: 413,
      detail: 'The content is larger than the upload limit',
    })
    // chunked, no length: refused once the limit is passed (past one S3 part: a multipart upload is aborted)
    const streamed = await upload(server, url, patterned(LIMIT + 1).stream())
    expect(streamed.status).toBe(413)
    expect(await items()).toBe(itemsBefore)
    expect((await storedKeys(name)).sort()).toEqual(before)
    // exactly the limit is fine
    const exact = await upload(server, url.replace('too-big', 'exact'), patterned(LIMIT).stream())
    expect(exact.status).toBe(201)
    expect(exact.body.size).toBe(LIMIT)
  })

  it('a 96 MiB upload and its download do not grow the server process by anything like their size', async () => {
    const { server, f } = unlimited[name]
    const size = 96 * MiB
    const content = patterned(size)
    let id = 0
    const uploadGrowth = await peakRssGrowth(async () => {
      const created = await upload(
        server,
        `/api/v1/tenants/${f.tenantId}/items/upload?name=huge.bin`,
        content.stream(),
      )
      expect(created.status).toBe(201)
      id = created.body.id
    })
    const ticket = await logOn(server, f.users.admin!)
    const downloadGrowth = await peakRssGrowth(async () => {
      expect((await downloadSha256(server, ticket, id)).sha256).toBe(content.sha256)
    })
    // a buffered body would cost the size itself (more with base64; a store that buffered the upload grew RSS by
    // 197 MiB); a stream holds a chunk, or one S3 part: 35-38 MiB on the file store and 17-19 MiB on S3 when this
    // test runs first in its process (the heap not yet grown), under 32 MiB when it runs after the others
    const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`
    expect(uploadGrowth, `upload grew RSS by ${mib(uploadGrowth)}`).toBeLessThan(size / 2)
    expect(downloadGrowth, `download grew RSS by ${mib(downloadGrowth)}`).toBeLessThan(size / 2)
  })
})

describe('multipart uploads on S3', () => {
  it('a stream larger than one part is a multipart upload of 8 MiB parts; a smaller one a single PutObject', async () => {
    const store = stores.s3.server.ctx.blobs as S3BlobStore
    const commands: string[] = []
    store.client.middlewareStack.add(
      (next, context) => async (args) => {
        commands.push(context.commandName!)
        return next(args)
      },
      { step: 'initialize', name: 'record-commands' },
    )
    try {
      const large = await store.putStream(Readable.from([Buffer.alloc(17 * MiB, 1)]), { maxBytes: LIMIT })
      expect(large.size).toBe(17 * MiB)
      expect(commands).toEqual([
        'CreateMultipartUploadCommand',
        'UploadPartCommand',
        'UploadPartCommand',
        'UploadPartCommand',
        'CompleteMultipartUploadCommand',
      ])
      commands.length = 0
      const exactlyOnePart = await store.putStream(Readable.from([Buffer.alloc(8 * MiB, 2)]), {
        maxBytes: LIMIT,
      })
      expect(exactlyOnePart.size).toBe(8 * MiB)
      expect(commands).toEqual(['PutObjectCommand'])
      commands.length = 0
      const empty = await store.putStream(Readable.from([]), { maxBytes: LIMIT })
      expect(empty.size).toBe(0)
      expect(commands).toEqual(['PutObjectCommand'])
      expect(await store.exists(empty.key)).toBe(true)
      commands.length = 0
      await expect(
        store.putStream(Readable.from([Buffer.alloc(9 * MiB), Buffer.alloc(9 * MiB)]), {
          maxBytes: 12 * MiB,
        }),
      ).rejects.toMatchObject({ code: 'TOO_LARGE' })
      expect(commands).toEqual([
        'CreateMultipartUploadCommand',
        'UploadPartCommand',
        'AbortMultipartUploadCommand',
      ])
      await store.deleteMany([large.key, exactlyOnePart.key, empty.key])
    } finally {
      store.client.middlewareStack.remove('record-commands')
    }
  })
})
