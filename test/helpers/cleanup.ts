import { existsSync } from 'node:fs'
import path from 'node:path'
import type { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../../src/context.js'
import {
  type BlobDeleteFailure,
  type BlobStore,
  deleteEach,
  type ListedBlob,
  type StoredBlob,
} from '../../src/core/ports.js'
import type { Queryable } from '../../src/db/database.js'
import { buildApp } from '../../src/http/app.js'
import { FsBlobStore } from '../../src/storage/fs-blob-store.js'
import type { TestDatabase } from './db.js'
import { createTestContext, type Fixture } from './server.js'

/** A filesystem blob store whose deletes fail for chosen keys, as a full disk or a lost mount would. */
export class FlakyBlobStore implements BlobStore {
  readonly failing = new Set<string>()
  readonly inner: FsBlobStore

  constructor(root: string) {
    this.inner = new FsBlobStore(root)
  }

  put(content: Buffer): Promise<string> {
    return this.inner.put(content)
  }

  putStream(source: Readable, options: { maxBytes: number }): Promise<StoredBlob> {
    return this.inner.putStream(source, options)
  }

  get(key: string): Promise<Readable | null> {
    return this.inner.get(key)
  }

  async delete(key: string): Promise<void> {
    if (this.failing.has(key)) throw Object.assign(new Error('EIO: i/o error, unlink'), { code: 'EIO' })
    await this.inner.delete(key)
  }

  deleteMany(keys: readonly string[]): Promise<BlobDeleteFailure[]> {
    return deleteEach(keys, (key) => this.delete(key))
  }

  list(after: string | null, limit: number): Promise<ListedBlob[]> {
    return this.inner.list(after, limit)
  }

  exists(key: string): Promise<boolean> {
    return this.inner.exists(key)
  }
}

export interface CleanupTestContext {
  ctx: AppContext
  app: FastifyInstance
  database: TestDatabase
  dataDir: string
  blobs: FlakyBlobStore
  close(): Promise<void>
}

/** A context (and an app for REST calls) over this file's own database, with a blob store that can fail. */
export async function startCleanupContext(env: Record<string, string> = {}): Promise<CleanupTestContext> {
  let blobs: FlakyBlobStore | undefined
  const context = await createTestContext({
    env,
    blobs: (dataDir) => {
      blobs = new FlakyBlobStore(path.join(dataDir, 'blobs'))
      return blobs
    },
  })
  const app = await buildApp(context.ctx)
  return {
    ...context,
    app,
    blobs: blobs!,
    close: async () => {
      await app.close()
      await context.close()
    },
  }
}

export interface Created {
  id: number
  blobKey: string | null
}

/** Creates a file with content (a real stored file) through the admin service. */
export async function createFile(
  ctx: AppContext,
  f: Fixture,
  name: string,
  options: { parentId?: number | null; brandId?: number | null } = {},
): Promise<Created> {
  const { item } = await ctx.admin.createItem(f.tenantId, {
    kind: 'file',
    name,
    parentId: options.parentId ?? null,
    brandId: options.brandId ?? null,
    content: Buffer.from(`content of ${name}`),
    ownerId: f.users.admin!.id,
  })
  return { id: item.id, blobKey: item.blobKey }
}

export async function createFolder(
  ctx: AppContext,
  f: Fixture,
  name: string,
  parentId: number | null = null,
) {
  const { item } = await ctx.admin.createItem(f.tenantId, {
    kind: 'folder',
    name,
    parentId,
    ownerId: f.users.admin!.id,
  })
  return { id: item.id, blobKey: null } satisfies Created
}

/** Moves trashed rows back in time, as if they had been deleted `days` ago. */
export async function ageTrash(db: Queryable, ids: number[], days: number) {
  await db.query(
    `update items set deleted_at = date_trunc('milliseconds', now()) - make_interval(days => $2) - interval '1 minute'
      where id = any($1::bigint[])`,
    [ids, days],
  )
}

export async function rowState(db: Queryable, id: number): Promise<string | null> {
  const result = await db.query('select state from items where id = $1', [id])
  return result.rows[0]?.state ?? null
}

export async function auditOf(db: Queryable, id: number) {
  const result = await db.query(
    'select action, door, actor_id, detail from audit where item_id = $1 order by id',
    [id],
  )
  return result.rows as {
    action: string
    door: string
    actor_id: number | null
    detail: Record<string, unknown>
  }[]
}

export function blobOnDisk(blobs: FlakyBlobStore, key: string | null): boolean {
  if (!key) return false
  return existsSync(blobs.inner.pathOf(key))
}
