import { randomUUID } from 'node:crypto'
import type { Readable } from 'node:stream'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { CoreError, ErrorCodes } from '../core/errors.js'
import type { BlobDeleteFailure, BlobStore, ListedBlob, StoredBlob } from '../core/ports.js'

/**
 * A stream up to this size is one PutObject; a larger one a multipart upload of parts this size (S3 wants 5 MiB
 * at least but the last; 10,000 parts make 80 GiB). One part is held in memory at a time.
 */
export const PART_SIZE = 8 * 1024 * 1024

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

  async putStream(source: Readable, options: { maxBytes: number }): Promise<StoredBlob> {
    const key = randomUUID()
    const target = { Bucket: this.bucket, Key: this.objectKey(key) }
    const parts = partsOf(source, PART_SIZE, options.maxBytes)
    const first = await parts.next()
    if (first.done) throw new Error('no part')
    if (first.value.last) {
      const body = first.value.body
      await this.client.send(new PutObjectCommand({ ...target, Body: body, ContentLength: body.length }))
      return { key, size: body.length }
    }
    const { UploadId } = await this.client.send(new CreateMultipartUploadCommand(target))
    try {
      const uploaded: { ETag: string | undefined; PartNumber: number }[] = []
      let size = 0
      let part: { body: Buffer; last: boolean } | undefined = first.value
      while (part) {
        const PartNumber = uploaded.length + 1
        const { ETag } = await this.client.send(
          new UploadPartCommand({
            ...target,
            UploadId,
            PartNumber,
            Body: part.body,
            ContentLength: part.body.length,
          }),
        )
        uploaded.push({ ETag, PartNumber })
        size += part.body.length
        part = part.last ? undefined : (await parts.next()).value || undefined
      }
      await this.client.send(
        new CompleteMultipartUploadCommand({ ...target, UploadId, MultipartUpload: { Parts: uploaded } }),
      )
      return { key, size }
    } catch (error) {
      // the parts stored so far would be kept (and billed) until aborted
      await this.client.send(new AbortMultipartUploadCommand({ ...target, UploadId })).catch(() => {})
      throw error
    }
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

  /** ListObjectsV2 under the prefix, after `after`, 1,000 keys a call at most. */
  async list(after: string | null, limit: number): Promise<ListedBlob[]> {
    const listed: ListedBlob[] = []
    let continuation: string | undefined
    while (listed.length < limit) {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix || undefined,
          StartAfter: continuation || after === null ? undefined : this.prefix + after,
          ContinuationToken: continuation,
          MaxKeys: Math.min(DELETE_BATCH, limit - listed.length),
        }),
      )
      for (const object of page.Contents ?? []) {
        const key = object.Key!.slice(this.prefix.length)
        if (KEY_PATTERN.test(key)) listed.push({ key, modifiedAt: object.LastModified ?? new Date(0) })
      }
      if (!page.IsTruncated || !page.NextContinuationToken) break
      continuation = page.NextContinuationToken
    }
    return listed
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

  /** HeadBucket: the bucket exists and these credentials reach it. */
  async ready(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }))
  }

  close() {
    this.client.destroy()
  }
}

/** a missing object (GetObject: NoSuchKey; HeadObject, which has no body to say more: NotFound), not a missing bucket */
function isNotFound(error: unknown) {
  return error instanceof S3ServiceException && (error.name === 'NoSuchKey' || error.name === 'NotFound')
}

/**
 * The stream cut into parts of `partSize` bytes, the last one marked (it may be shorter, or empty for an empty
 * stream). A part is handed out only once a byte beyond it arrived, so that `last` is known without reading a
 * second part ahead. Full parts are copied into one buffer that is reused: the caller is done with a part when
 * it asks for the next. More than `maxBytes` in all fails with TOO_LARGE.
 */
async function* partsOf(
  source: AsyncIterable<Buffer>,
  partSize: number,
  maxBytes: number,
): AsyncGenerator<{ body: Buffer; last: boolean }> {
  const chunks: Buffer[] = []
  let buffered = 0
  let total = 0
  let part: Buffer | undefined
  for await (const chunk of source) {
    total += chunk.length
    if (total > maxBytes) throw new CoreError(ErrorCodes.TOO_LARGE)
    chunks.push(chunk)
    buffered += chunk.length
    while (buffered > partSize) {
      part ??= Buffer.allocUnsafe(partSize)
      let filled = 0
      while (filled < partSize) {
        const head = chunks[0]!
        const take = Math.min(head.length, partSize - filled)
        head.copy(part, filled, 0, take)
        filled += take
        if (take === head.length) chunks.shift()
        else chunks[0] = head.subarray(take)
      }
      buffered -= partSize
      yield { body: part, last: false }
    }
  }
  yield { body: Buffer.concat(chunks, buffered), last: true }
}
