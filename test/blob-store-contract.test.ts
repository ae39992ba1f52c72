import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ListObjectsV2Command } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../src/config.js'
import { createBlobStore } from '../src/context.js'
import type { BlobStore } from '../src/core/ports.js'
import { FsBlobStore } from '../src/storage/fs-blob-store.js'
import { S3BlobStore } from '../src/storage/s3-blob-store.js'
import { HOSTILE_BLOB_KEYS } from './helpers/blobs.js'
import { refuseDeletes, startS3Server, type TestS3Server } from './helpers/s3.js'

let s3: TestS3Server
let fsRoot: string

beforeAll(async () => {
  s3 = await startS3Server()
  fsRoot = await mkdtemp(path.join(tmpdir(), 'trashd-contract-'))
})

afterAll(async () => {
  await s3?.stop()
  await rm(fsRoot, { recursive: true, force: true })
})

async function read(stream: NodeJS.ReadableStream) {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** What every blob store promises the purge protocol and the doors (core/ports.ts). */
function contract(name: string, makeStore: () => BlobStore) {
  describe(`blob store contract: ${name}`, () => {
    let store: BlobStore
    beforeAll(() => {
      store = makeStore()
    })

    it('stores content under a new key and streams it back byte for byte', async () => {
      const content = randomBytes(300_000)
      const key = await store.put(content)
      expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(await store.exists(key)).toBe(true)
      expect((await read((await store.get(key))!)).equals(content)).toBe(true)
      // every byte value, and empty content
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
      const other = await store.put(bytes)
      expect(other).not.toBe(key)
      expect((await read((await store.get(other))!)).equals(bytes)).toBe(true)
      const empty = await store.put(Buffer.alloc(0))
      expect(await store.exists(empty)).toBe(true)
      expect((await read((await store.get(empty))!)).length).toBe(0)
    })

    it('reads a key that holds nothing as null, and says it does not exist', async () => {
      const missing = randomUUID()
      expect(await store.get(missing)).toBeNull()
      expect(await store.exists(missing)).toBe(false)
    })

    it('removes content; removing it again succeeds (a purge redone after a crash)', async () => {
      const key = await store.put(Buffer.from('bye'))
      await store.delete(key)
      expect(await store.exists(key)).toBe(false)
      expect(await store.get(key)).toBeNull()
      await store.delete(key)
      await store.delete(randomUUID())
    })

    it('removes many keys at once, keys that hold nothing included, and names only the keys it could not remove', async () => {
      const keys = await Promise.all(
        Array.from({ length: 40 }, (_, i) => store.put(Buffer.from(`many ${i}`))),
      )
      const kept = await store.put(Buffer.from('not in the list'))
      const missing = randomUUID()
      const failures = await store.deleteMany([...keys, missing, '../escape'])
      expect(failures).toEqual([{ key: '../escape', message: 'invalid blob key' }])
      for (const key of keys) expect(await store.exists(key)).toBe(false)
      expect(await store.exists(kept)).toBe(true)
      expect(await store.deleteMany([])).toEqual([])
      // again, as a purge redone after a crash does
      expect(await store.deleteMany(keys)).toEqual([])
    })

    it('lists its keys in key order, page after page, with when each was written', async () => {
      const started = Date.now() - 5000
      const keys = await Promise.all(
        Array.from({ length: 25 }, (_, i) => store.put(Buffer.from(`listed ${i}`))),
      )
      const all = await store.list(null, 100_000)
      const listedKeys = all.map((entry) => entry.key)
      expect(listedKeys).toEqual([...listedKeys].sort())
      expect(listedKeys).toEqual(expect.arrayContaining(keys))
      for (const entry of all.filter((entry) => keys.includes(entry.key))) {
        expect(entry.modifiedAt.getTime()).toBeGreaterThan(started)
        expect(entry.modifiedAt.getTime()).toBeLessThan(Date.now() + 5000)
      }
      const paged: string[] = []
      let after: string | null = null
      for (let page = 0; page < 1000; page++) {
        const listed = await store.list(after, 7)
        expect(listed.length).toBeLessThanOrEqual(7)
        if (listed.length === 0) break
        paged.push(...listed.map((entry) => entry.key))
        after = listed[listed.length - 1]!.key
      }
      expect(paged).toEqual(listedKeys)
      await store.deleteMany(keys)
      expect((await store.list(null, 100_000)).map((entry) => entry.key)).not.toContain(keys[0])
    })

    it('never lets anything but its own keys reach the storage', async () => {
      for (const hostile of HOSTILE_BLOB_KEYS) {
        await expect(store.delete(hostile)).rejects.toThrow('invalid blob key')
        await expect(store.get(hostile)).rejects.toThrow('invalid blob key')
        expect(await store.exists(hostile)).toBe(false)
      }
    })
  })
}

contract('filesystem', () => new FsBlobStore(fsRoot))
contract('S3', () => s3.store('contract/'))

async function objectKeys(prefix: string) {
  const store = s3.store()
  const listed = await store.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }))
  return (listed.Contents ?? []).map((object) => object.Key)
}

describe('S3 blob store', () => {
  it('keeps its objects under S3_PREFIX, so that two prefixes share a bucket without seeing each other', async () => {
    const a = s3.store('tenant-a/')
    const b = s3.store('tenant-b/')
    const key = await a.put(Buffer.from('in a'))
    expect(await objectKeys('tenant-a/')).toEqual([`tenant-a/${key}`])
    expect(await objectKeys('tenant-b/')).toEqual([])
    expect(await b.exists(key)).toBe(false)
    expect(await b.get(key)).toBeNull()
    // b's delete of the same key leaves a's object alone
    await b.delete(key)
    expect(await a.exists(key)).toBe(true)
  })

  it('deletes many keys with DeleteObjects, at most 1,000 a call, and reports the keys the server refused', async () => {
    const store = s3.store('batch/')
    const keys: string[] = []
    for (let i = 0; i < 1005; i += 50)
      keys.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(50, 1005 - i) }, () => store.put(Buffer.from('b'))),
        )),
      )
    const sent: number[] = []
    store.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'DeleteObjectsCommand')
          sent.push((args.input as { Delete: { Objects: unknown[] } }).Delete.Objects.length)
        return next(args)
      },
      { step: 'initialize', name: 'count-deletes' },
    )
    const stopRefusing = refuseDeletes(store, new Set([keys[7]!, keys[1003]!]))
    const failures = await store.deleteMany(keys)
    expect(sent).toEqual([1000, 5])
    expect(failures).toEqual([
      { key: keys[7], message: 'AccessDenied: Access Denied' },
      { key: keys[1003], message: 'AccessDenied: Access Denied' },
    ])
    expect(await objectKeys('batch/')).toEqual([`batch/${keys[7]}`, `batch/${keys[1003]}`].sort())
    stopRefusing()
    expect(await store.deleteMany(keys)).toEqual([])
    expect(await objectKeys('batch/')).toEqual([])
  })

  it('reports a failure of the server rather than a missing object', async () => {
    const nowhere = new S3BlobStore({ bucket: 'no-such-bucket', endpoint: s3.endpoint, forcePathStyle: true })
    try {
      const key = randomUUID()
      await expect(nowhere.put(Buffer.from('x'))).rejects.toMatchObject({ name: 'NoSuchBucket' })
      await expect(nowhere.delete(key)).rejects.toMatchObject({ name: 'NoSuchBucket' })
      await expect(nowhere.get(key)).rejects.toMatchObject({ name: 'NoSuchBucket' })
      // a batch the server refused as a whole: every key of it failed
      const failures = await nowhere.deleteMany([key, randomUUID()])
      expect(failures.map((failure) => failure.key)).toEqual([key, expect.any(String)])
      expect(failures[0]!.message).toMatch(/bucket/i)
    } finally {
      nowhere.close()
    }
  })
})

describe('BLOB_STORE', () => {
  it('is the filesystem under DATA_DIR by default', async () => {
    const store = await createBlobStore(loadConfig({ DATA_DIR: fsRoot }))
    expect(store).toBeInstanceOf(FsBlobStore)
    expect((store as FsBlobStore).root).toBe(path.join(fsRoot, 'blobs'))
  })

  it('is an S3 bucket with BLOB_STORE=s3, configured by the S3_ variables', async () => {
    const store = await createBlobStore(
      loadConfig({ ...s3.env, S3_PREFIX: 'configured/', S3_REGION: 'eu-west-1' }),
    )
    try {
      expect(store).toBeInstanceOf(S3BlobStore)
      const key = await store.put(Buffer.from('via the environment'))
      expect(await objectKeys('configured/')).toEqual([`configured/${key}`])
      expect(await (store as S3BlobStore).client.config.region()).toBe('eu-west-1')
    } finally {
      store.close?.()
    }
  })

  it('refuses BLOB_STORE=s3 without a bucket, and settings that are not what they should be', () => {
    expect(() => loadConfig({ BLOB_STORE: 's3' })).toThrow(ConfigError)
    expect(() => loadConfig({ BLOB_STORE: 's3' })).toThrow('S3_BUCKET: is required when BLOB_STORE=s3')
    expect(() => loadConfig({ BLOB_STORE: 'nfs' })).toThrow('BLOB_STORE')
    expect(() => loadConfig({ BLOB_STORE: 's3', S3_BUCKET: 'b', S3_ENDPOINT: 'not a url' })).toThrow(
      'S3_ENDPOINT',
    )
    expect(() => loadConfig({ BLOB_STORE: 's3', S3_BUCKET: 'b', S3_FORCE_PATH_STYLE: 'yes' })).toThrow(
      'S3_FORCE_PATH_STYLE',
    )
    expect(
      loadConfig({ BLOB_STORE: 's3', S3_BUCKET: 'b', S3_FORCE_PATH_STYLE: 'true' }).S3_FORCE_PATH_STYLE,
    ).toBe(true)
  })
})
