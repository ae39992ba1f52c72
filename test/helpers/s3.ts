import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { S3BlobStore } from '../../src/storage/s3-blob-store.js'
import { waitForOutput } from './processes.js'

/** s3rver's fixed credentials (it checks signatures made with them) */
export const S3_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' }

export interface TestS3Server {
  endpoint: string
  bucket: string
  /** the environment a trashd process needs to use this server (BLOB_STORE=s3 and the credentials) */
  env: Record<string, string>
  /** a store on this server's bucket, under `prefix` */
  store(prefix?: string): S3BlobStore
  stop(): Promise<void>
}

/**
 * An S3-compatible server (s3rver) in a child process on 127.0.0.1 and a free port, with one bucket, its objects
 * in a temporary directory that stop() removes.
 */
export async function startS3Server(bucket = 'trashd-test'): Promise<TestS3Server> {
  const directory = await mkdtemp(path.join(tmpdir(), 'trashd-s3-'))
  // s3rver makes ListObjectsV2 continuation tokens with DES, which OpenSSL 3 keeps in its legacy provider
  const main = path.join(import.meta.dirname, 's3rver-main.cjs')
  const child = spawn(process.execPath, ['--openssl-legacy-provider', main, directory, bucket], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let port: number
  try {
    port = Number(/listening on (\d+)/.exec(await waitForOutput(child, /listening on \d+\n/, 30_000))![1])
  } catch (error) {
    child.kill('SIGKILL')
    await rm(directory, { recursive: true, force: true })
    throw error
  }
  // the AWS chain reads the credentials from the environment, in this process as in the servers it starts
  Object.assign(process.env, S3_CREDENTIALS)
  const endpoint = `http://127.0.0.1:${port}`
  const stores: S3BlobStore[] = []
  return {
    endpoint,
    bucket,
    env: {
      BLOB_STORE: 's3',
      S3_BUCKET: bucket,
      S3_ENDPOINT: endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      ...S3_CREDENTIALS,
    },
    store(prefix = '') {
      const store = new S3BlobStore({ bucket, endpoint, forcePathStyle: true, prefix })
      stores.push(store)
      return store
    },
    async stop() {
      for (const store of stores) store.close()
      const exited = new Promise((resolve) => child.once('exit', resolve))
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))])
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await rm(directory, { recursive: true, force: true })
    },
  }
}

/**
 * Makes the S3 server refuse to delete the objects of `keys` (as a bucket policy or object lock would): they are
 * taken out of DeleteObject and DeleteObjects requests, and DeleteObjects answers AccessDenied for each of them.
 * Returns the function that stops refusing.
 */
export function refuseDeletes(store: S3BlobStore, keys: ReadonlySet<string>): () => void {
  const name = `refuse-deletes-${Math.random()}`
  const refused = (objectKey: string | undefined) =>
    objectKey !== undefined && keys.has(objectKey.slice(store.prefix.length))
  store.client.middlewareStack.add(
    (next, context) => async (args) => {
      // biome-ignore lint/suspicious/noExplicitAny: the commands' inputs differ; both are read by their fields
      const input = args.input as any
      if (context.commandName === 'DeleteObjectCommand' && refused(input.Key)) {
        const error = Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: {} })
        throw error
      }
      if (context.commandName !== 'DeleteObjectsCommand') return next(args)
      const objects: { Key: string }[] = input.Delete.Objects
      const kept = objects.filter((object) => refused(object.Key))
      const sent = objects.filter((object) => !refused(object.Key))
      const result =
        sent.length > 0
          ? await next({ ...args, input: { ...input, Delete: { ...input.Delete, Objects: sent } } })
          : { output: { $metadata: {} }, response: {} }
      // biome-ignore lint/suspicious/noExplicitAny: the output of DeleteObjects
      const output = result.output as any
      output.Errors = [
        ...(output.Errors ?? []),
        ...kept.map((object) => ({ Key: object.Key, Code: 'AccessDenied', Message: 'Access Denied' })),
      ]
      return result
    },
    { step: 'initialize', name },
  )
  return () => {
    store.client.middlewareStack.remove(name)
  }
}
