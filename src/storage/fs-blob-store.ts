import { randomUUID } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises'
import path from 'node:path'
import type { Readable } from 'node:stream'
import type { BlobStore } from '../core/ports.js'

const KEY_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Files under `root/ab/cd/<uuid>`: temp file, fsync, rename, fsync of the directory. */
export class FsBlobStore implements BlobStore {
  constructor(readonly root: string) {}

  pathOf(key: string): string {
    // Keys are ours (UUIDs); anything else never reaches the filesystem.
    if (!KEY_PATTERN.test(key)) throw new Error('invalid blob key')
    return path.join(this.root, key.slice(0, 2), key.slice(2, 4), key)
  }

  async put(content: Buffer): Promise<string> {
    const key = randomUUID()
    const target = this.pathOf(key)
    const dir = path.dirname(target)
    await mkdir(dir, { recursive: true })
    const temp = `${target}.tmp-${process.pid}`
    const handle = await open(temp, 'w', 0o600)
    try {
      await handle.writeFile(content)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, target)
    const dirHandle = await open(dir, 'r')
    try {
      await dirHandle.sync()
    } finally {
      await dirHandle.close()
    }
    return key
  }

  async get(key: string): Promise<Readable | null> {
    const file = this.pathOf(key)
    if (!(await this.exists(key))) return null
    return createReadStream(file)
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.pathOf(key))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile()
    } catch {
      return false
    }
  }
}
