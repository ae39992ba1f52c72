import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FsBlobStore } from '../src/storage/fs-blob-store.js'
import { HOSTILE_BLOB_KEYS } from './helpers/blobs.js'

let root: string
let store: FsBlobStore

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'trashd-blobs-'))
  store = new FsBlobStore(root)
})

afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name))
}

async function read(stream: NodeJS.ReadableStream) {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

describe('filesystem blob store', () => {
  it('stores content under a generated key, two directory levels deep, with no temp file left', async () => {
    const key = await store.put(Buffer.from('hello'))
    expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    const file = path.join(root, key.slice(0, 2), key.slice(2, 4), key)
    expect(store.pathOf(key)).toBe(file)
    expect(await readFile(file, 'utf8')).toBe('hello')
    expect((await filesUnder(root)).filter((name) => name.includes('.tmp-'))).toEqual([])
    expect(await store.exists(key)).toBe(true)
    expect((await read((await store.get(key))!)).toString()).toBe('hello')
  })

  it('never lets anything but its own keys reach the filesystem', async () => {
    for (const hostile of HOSTILE_BLOB_KEYS) {
      expect(() => store.pathOf(hostile)).toThrow('invalid blob key')
      await expect(store.delete(hostile)).rejects.toThrow('invalid blob key')
      await expect(store.get(hostile)).rejects.toThrow('invalid blob key')
      expect(await store.exists(hostile)).toBe(false)
    }
  })

  it('removes content; removing it again succeeds (a purge redone after a crash); a missing key reads as null', async () => {
    const key = await store.put(Buffer.from('bye'))
    await store.delete(key)
    expect(await store.exists(key)).toBe(false)
    await store.delete(key)
    expect(await store.get(key)).toBeNull()
  })

  it('reports a removal the filesystem refuses', async () => {
    const key = await store.put(Buffer.from('stuck'))
    const file = store.pathOf(key)
    await rm(file)
    // a directory where the file was: unlink fails (EISDIR), as a real storage fault would
    await mkdir(file)
    await writeFile(path.join(file, 'inside'), 'x')
    await expect(store.delete(key)).rejects.toMatchObject({ code: expect.stringMatching(/EISDIR|EPERM/) })
    await rm(file, { recursive: true })
  })
})
