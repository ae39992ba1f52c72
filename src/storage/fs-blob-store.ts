import { randomUUID } from 'node:crypto'
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises'
import path from 'node:path'
import { Readable } from 'node:stream'
import { CoreError, ErrorCodes } from '../core/errors.js'
import {
  type BlobDeleteFailure,
  type BlobStore,
  deleteEach,
  type ListedBlob,
  type StoredBlob,
} from '../core/ports.js'

const KEY_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * Files under `root/ab/cd/<uuid>`. A write goes to a temp file that is fsynced, renamed into place, and the
 * directory fsynced, so a file exists whole or not at all, and survives a power cut once put() resolved (its row
 * is inserted only then). A removal is not fsynced: once unlink returned, a killed process cannot bring the file
 * back, and fsyncing the directory of every removed file made a cleanup of 100,000 files four times slower. The
 * one thing a power cut can leave is a removed file reappearing without its row, never a row without its file.
 * Keys are generated here; anything but a key of ours never reaches the filesystem.
 */
export class FsBlobStore implements BlobStore {
  constructor(readonly root: string) {}

  pathOf(key: string): string {
    if (!KEY_PATTERN.test(key)) throw new Error('invalid blob key')
    return path.join(this.root, key.slice(0, 2), key.slice(2, 4), key)
  }

  async put(content: Buffer): Promise<string> {
    return (await this.putStream(Readable.from([content]), { maxBytes: content.length })).key
  }

  async putStream(source: Readable, options: { maxBytes: number }): Promise<StoredBlob> {
    const key = randomUUID()
    const target = this.pathOf(key)
    const dir = path.dirname(target)
    await mkdir(dir, { recursive: true })
    const temp = `${target}.tmp-${process.pid}`
    let size = 0
    try {
      const handle = await open(temp, 'wx', 0o600)
      try {
        for await (const chunk of source as AsyncIterable<Buffer>) {
          size += chunk.length
          if (size > options.maxBytes) throw new CoreError(ErrorCodes.TOO_LARGE)
          await handle.write(chunk)
        }
        await handle.sync()
      } finally {
        await handle.close()
      }
      await rename(temp, target)
    } catch (error) {
      await unlink(temp).catch(() => {})
      throw error
    }
    await syncDirectory(dir)
    return { key, size }
  }

  async get(key: string): Promise<Readable | null> {
    const file = this.pathOf(key)
    try {
      // opened before answering, so a file removed meanwhile is a clean null rather than a stream error
      const handle = await open(file, 'r')
      return handle.createReadStream()
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw error
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key)
    try {
      await unlink(file)
    } catch (error) {
      // already gone: a purge redone after a crash finds the files it removed before
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
      throw error
    }
  }

  deleteMany(keys: readonly string[]): Promise<BlobDeleteFailure[]> {
    return deleteEach(keys, (key) => this.delete(key))
  }

  /** Walks root/ab/cd/ in name order, skipping the directories before `after`'s; temp files are left out. */
  async list(after: string | null, limit: number): Promise<ListedBlob[]> {
    const listed: ListedBlob[] = []
    for (const first of await namesIn(this.root, LEVEL_PATTERN)) {
      if (after && first < after.slice(0, 2)) continue
      for (const second of await namesIn(path.join(this.root, first), LEVEL_PATTERN)) {
        if (after && first + second < after.slice(0, 4)) continue
        const dir = path.join(this.root, first, second)
        for (const key of await namesIn(dir, KEY_PATTERN)) {
          if (after && key <= after) continue
          const stats = await stat(path.join(dir, key)).catch(() => null)
          // removed meanwhile
          if (!stats) continue
          listed.push({ key, modifiedAt: stats.mtime })
          if (listed.length >= limit) return listed
        }
      }
    }
    return listed
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile()
    } catch {
      return false
    }
  }
}

const LEVEL_PATTERN = /^[0-9a-f]{2}$/

/** Sorted names in `dir` that match `pattern` ([] when the directory does not exist). */
async function namesIn(dir: string, pattern: RegExp): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => pattern.test(name)).sort()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
}

async function syncDirectory(dir: string) {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
