import type { Readable } from 'node:stream'
import { CoreError, ErrorCodes } from './errors.js'
import type { Area } from './plugins.js'
import * as policy from './policy.js'
import { type BlobStore, type Content, DEFAULT_UPLOAD_MAX_BYTES, storeContent } from './ports/blob-store.js'
import type { ObjectRow, ObjectStore, VersionRow } from './ports/object-store.js'
import type { Persistence } from './ports/unit-of-work.js'
import type { Actor } from './types.js'

export type { ObjectRow, VersionRow } from './ports/object-store.js'

/** Enterprise's renditions: none (metadata only), thumb, preview, native (the stored file). */
export const RENDITIONS = ['none', 'thumb', 'preview', 'native'] as const
export type Rendition = (typeof RENDITIONS)[number]

/** The columns of the Trash Can query when the tenant set none: Enterprise's standard set plus Deleted, Deletor. */
export const STANDARD_TRASH_COLUMNS: readonly string[] = [
  'ID',
  'Type',
  'Name',
  'State',
  'RouteTo',
  'LockedBy',
  'PlacedOn',
  'PlacedOnPage',
  'FileSize',
  'LengthWords',
  'LengthChars',
  'LengthLines',
  'Comment',
  'Slugline',
  'PageRange',
  'Flag',
  'FlagMsg',
  'Publication',
  'Issues',
  'Category',
  'Editions',
  'Deleted',
  'Deletor',
]

export const versionNumber = (v: { major: number; minor: number }) => `${v.major}.${v.minor}`

/** The stored file of a rendition of a version; thumb and preview of an image are derived from the image. */
export function renditionBlob(version: VersionRow, rendition: Rendition): string | null {
  const image = version.contentType?.startsWith('image/') ?? false
  switch (rendition) {
    case 'native':
      return version.blobKey
    case 'preview':
      return version.previewBlobKey ?? (image ? version.blobKey : null)
    case 'thumb':
      return version.thumbBlobKey ?? (image ? version.blobKey : null)
    default:
      return null
  }
}

export function renditionType(version: VersionRow, rendition: Rendition): string {
  // stored thumbs and previews are images whatever the native format; derived ones are the image itself
  if (rendition === 'native' || version.contentType?.startsWith('image/')) {
    return version.contentType ?? 'application/octet-stream'
  }
  return 'image/jpeg'
}

/** Why an object could not be read, per id (ids the actor may not know of are not found). */
export interface ReadRefusal {
  id: number
  code: typeof ErrorCodes.NOT_FOUND | typeof ErrorCodes.ACCESS_DENIED
}

export interface ReadObjects {
  objects: ObjectRow[]
  versions: Map<number, VersionRow[]>
  refused: ReadRefusal[]
}

const inArea = (area: Area, state: string) => (area === 'Trash' ? state === 'trashed' : state === 'active')

/** Reads objects, their versions and their files, in the Workflow or the Trash area, as policy.canRead allows. */
export class ObjectService {
  private readonly objects: ObjectStore

  constructor(
    private readonly persistence: Persistence,
    private readonly blobs: BlobStore,
    /** the largest content a stream may bring (UPLOAD_MAX_BYTES) */
    private readonly uploadMaxBytes = DEFAULT_UPLOAD_MAX_BYTES,
  ) {
    this.objects = persistence.stores.objects
  }

  async read(actor: Actor, ids: number[], area: Area): Promise<ReadObjects> {
    const rows = await this.objects.readObjects(actor.tenantId, actor.userId, ids)
    const found: ObjectRow[] = []
    const refused: ReadRefusal[] = []
    for (const id of ids) {
      const row = rows.get(id)
      if (!row || !inArea(area, row.state)) {
        refused.push({ id, code: ErrorCodes.NOT_FOUND })
        continue
      }
      const decision = policy.canRead(actor, row)
      if (decision === ErrorCodes.NOT_FOUND || decision === ErrorCodes.ACCESS_DENIED)
        refused.push({ id, code: decision })
      else if (decision) refused.push({ id, code: ErrorCodes.ACCESS_DENIED })
      else found.push(row)
    }
    const versions = new Map<number, VersionRow[]>()
    for (const version of await this.objects.listVersions(
      actor.tenantId,
      found.map((row) => row.id),
    )) {
      versions.set(version.itemId, [...(versions.get(version.itemId) ?? []), version])
    }
    return { objects: found, versions, refused }
  }

  /**
   * Objects as the server's plug-in connectors see them, whatever the actor's read rights and area (the
   * connectors act for the server): the ones among these ids that exist in the actor's tenant.
   */
  async connectorObjects(actor: Actor, ids: number[]): Promise<ObjectRow[]> {
    const rows = await this.objects.readObjects(actor.tenantId, actor.userId, ids)
    return ids.flatMap((id) => {
      const row = rows.get(id)
      return row && row.state !== 'purging' ? [row] : []
    })
  }

  /** One object with its versions; CoreError NOT_FOUND / ACCESS_DENIED otherwise. */
  async readOne(actor: Actor, id: number, area: Area) {
    const { objects: found, versions, refused } = await this.read(actor, [id], area)
    if (refused[0]) throw new CoreError(refused[0].code)
    return { object: found[0]!, versions: versions.get(id) ?? [] }
  }

  /**
   * Streams a rendition of a version (null: the current one). Returns null when the object has no such
   * rendition; throws NOT_FOUND for an unknown version or object and ACCESS_DENIED without the Read right.
   */
  async openRendition(
    actor: Actor,
    id: number,
    area: Area,
    rendition: Rendition,
    version: string | null,
  ): Promise<{ stream: Readable; contentType: string; size: number | null; name: string } | null> {
    const { object, versions } = await this.readOne(actor, id, area)
    const chosen =
      version === null ? versions[versions.length - 1] : versions.find((v) => versionNumber(v) === version)
    if (!chosen) {
      if (version === null) return null
      throw new CoreError(ErrorCodes.NOT_FOUND, `Version ${version} not found`)
    }
    const key = renditionBlob(chosen, rendition)
    if (!key) return null
    const stream = await this.blobs.get(key)
    if (!stream) return null
    return {
      stream,
      contentType: renditionType(chosen, rendition),
      size: key === chosen.blobKey ? chosen.size : null,
      name: object.name,
    }
  }

  /**
   * Admin: adds a version to an active file (files are stored before the row refers to them, and removed again
   * when the row cannot be written).
   */
  async addVersion(
    tenantId: number,
    itemId: number,
    input: {
      /** a stream is stored as it arrives, up to the upload limit */
      content: Content
      contentType?: string | null
      thumb?: Buffer
      preview?: Buffer
      comment?: string
      createdBy?: number | null
      major?: boolean
    },
  ): Promise<{ version: string }> {
    const stored: string[] = []
    try {
      const { key: blobKey, size } = await storeContent(this.blobs, input.content, this.uploadMaxBytes)
      stored.push(blobKey)
      const thumbBlobKey = input.thumb ? await this.blobs.put(input.thumb) : null
      if (thumbBlobKey) stored.push(thumbBlobKey)
      const previewBlobKey = input.preview ? await this.blobs.put(input.preview) : null
      if (previewBlobKey) stored.push(previewBlobKey)
      const added = await this.persistence.unitOfWork((tx) =>
        tx.objects.insertVersion({
          tenantId,
          itemId,
          blobKey,
          size,
          contentType: input.contentType ?? null,
          thumbBlobKey,
          previewBlobKey,
          comment: input.comment ?? '',
          createdBy: input.createdBy ?? null,
          major: input.major ?? false,
        }),
      )
      if (!added) throw new CoreError(ErrorCodes.NOT_FOUND, 'No active file with this id')
      return { version: versionNumber(added) }
    } catch (error) {
      await Promise.all(stored.map((key) => this.blobs.delete(key).catch(() => {})))
      throw error
    }
  }

  /** The columns the tenant's Trash Can query shows. */
  async trashColumns(tenantId: number): Promise<string[]> {
    return (await this.objects.trashColumns(tenantId)) ?? [...STANDARD_TRASH_COLUMNS]
  }

  /** The tenant's own Trash Can columns, or null when it keeps the standard set. */
  configuredTrashColumns(tenantId: number): Promise<string[] | null> {
    return this.objects.trashColumns(tenantId)
  }

  /** Sets them (null: back to the standard set); false when the tenant does not exist. */
  setTrashColumns(tenantId: number, columns: string[] | null): Promise<boolean> {
    return this.objects.setTrashColumns(tenantId, columns)
  }
}
