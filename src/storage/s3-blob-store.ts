import { randomUUID } from 'node:crypto'
import type { Readable } from 'node:stream'
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3'
import type { BlobStore } from '../core/ports.js'

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
