import { randomUUID } from 'node:crypto'
import type { Readable } from 'node:stream'
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3'
import type { BlobDeleteFailure, BlobStore } from '../core/ports.js'

/** S3's limit of keys per DeleteObjects call */
export const DELETE_BATCH = 1000

const KEY_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export interface S3BlobStoreOptions {
  bucket: string
  /** prepended to every key (e.g. "trashd/"), so that one bucket can hold other things too */
  prefix?: string
  region?: string
  /** an S3-compatible server (MinIO, Ceph RGW, Cloudflare R2, ...); AWS itself when absent */
  endpoint?: string
  /** bucket in the path (http://host/bucket/key) rather than in the host name; most S3-compatible servers want it */
  forcePathStyle?: boolean
}

/**
 * Objects in one bucket under `prefix<uuid>`. A PutObject is atomic and durable once it answered (the row is
 * inserted only then); deleting a key that holds nothing succeeds, as the purge protocol needs. Credentials come
 * from the standard AWS chain (environment, shared files, web identity, instance or container roles).
 */
export class S3BlobStore implements BlobStore {
  readonly client: S3Client
  readonly bucket: string
  readonly prefix: string

  constructor(options: S3BlobStoreOptions) {
    this.bucket = options.bucket
    this.prefix = options.prefix ?? ''
    this.client = new S3Client({
      // S3-compatible servers mostly ignore the region, but the SDK signs with one
      region: options.region ?? (options.endpoint ? 'us-east-1' : undefined),
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle ?? false,
      // checksums only where S3 demands them: several S3-compatible servers reject the SDK's default trailers
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    })
  }

  objectKey(key: string): string {
    if (!KEY_PATTERN.test(key)) throw new Error('invalid blob key')
    return `${this.prefix}${key}`
  }

  async put(content: Buffer): Promise<string> {
    const key = randomUUID()
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.objectKey(key),
        Body: content,
        ContentLength: content.length,
      }),
    )
    return key
  }

  async get(key: string): Promise<Readable | null> {
    try {
      const result = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
      )
      return result.Body as Readable
    } catch (error) {
      if (isNotFound(error)) return null
      throw error
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }))
  }

  /** DeleteObjects, up to 1,000 keys a call (quiet: S3 answers only the keys it could not delete). */
  async deleteMany(keys: readonly string[]): Promise<BlobDeleteFailure[]> {
    const failures: BlobDeleteFailure[] = []
    const valid: string[] = []
    for (const key of keys) {
      if (KEY_PATTERN.test(key)) valid.push(key)
      else failures.push({ key, message: 'invalid blob key' })
    }
    for (let i = 0; i < valid.length; i += DELETE_BATCH) {
      const batch = valid.slice(i, i + DELETE_BATCH)
      try {
        const result = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((key) => ({ Key: this.objectKey(key) })), Quiet: true },
          }),
        )
        for (const error of result.Errors ?? []) {
          // NoSuchKey is a success here as with delete() (S3 itself never reports it; some compatible servers do)
          if (error.Code === 'NoSuchKey' || !error.Key?.startsWith(this.prefix)) continue
          failures.push({
            key: error.Key.slice(this.prefix.length),
            message: `${error.Code ?? 'Error'}: ${error.Message ?? 'not deleted'}`,
          })
        }
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        for (const key of batch) failures.push({ key, message })
      }
    }
    return failures
  }

  async exists(key: string): Promise<boolean> {
    if (!KEY_PATTERN.test(key)) return false
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }))
      return true
    } catch (error) {
      if (isNotFound(error)) return false
      throw error
    }
  }

  close() {
    this.client.destroy()
  }
}

/** a missing object (GetObject: NoSuchKey; HeadObject, which has no body to say more: NotFound), not a missing bucket */
function isNotFound(error: unknown) {
  return error instanceof S3ServiceException && (error.name === 'NoSuchKey' || error.name === 'NotFound')
}
