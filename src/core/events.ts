/**
 * Lifecycle events. The audit table is the event log: an event's id is its audit row id, the cursor a client
 * resumes from. Every trash, permanent delete and restore becomes an event with the property set WoodWing
 * Enterprise 8 clients know from its n-casting (seed 004): DeleteObject (#4, with Permanent) and RestoreObject
 * (#23, with Deleted and Deleter).
 */

export type TrashEventType = 'DeleteObject' | 'RestoreObject'

export interface TrashEvent {
  /** audit row id: the cursor (SSE id / Last-Event-ID) */
  id: number
  tenantId: number
  type: TrashEventType
  /** Enterprise event number: 4 DeleteObject, 23 RestoreObject */
  eventId: 4 | 23
  at: Date
  /** property name → value, as strings the way Enterprise sends them */
  data: Record<string, string>
  /** who may receive it (policy.canSeeEvent); never sent */
  subject: EventSubject
}

/** The facts of an event that decide who may see it: the item's as they were at the event, and who acted. */
export interface EventSubject {
  tenantId: number
  actorId: number | null
  brandId: number | null
  ownerId: number | null
  deletedBy: number | null
}

/** One audit row with the names an event shows; what the database hands the core. */
export interface AuditEventRow {
  id: number
  tenantId: number
  at: Date
  action: string
  actorId: number | null
  actorLogin: string | null
  actorName: string | null
  itemId: number
  itemType: string | null
  itemName: string | null
  brandId: number | null
  issueId: number | null
  categoryId: number | null
  deletedAt: Date | null
  deletedBy: number | null
  deleterLogin: string | null
  ownerId: number | null
  itemKind: string | null
  /** the item's version number at the event; null: a file without history */
  itemVersion: string | null
  detail: Record<string, unknown> | null
}

/** The version of a file stored without a history (Enterprise numbers the first version 0.1). */
export const FIRST_VERSION = '0.1'

/** The audit actions that are events (the others, such as IPS empty or a failed purge, are not). */
export const EVENT_ACTIONS = ['trash', 'purge', 'expire', 'empty_bin', 'restore'] as const

export type EventListener = (event: TrashEvent) => void

/** Where events come from: live per tenant, and replayed from the log after a cursor. */
export interface EventBus {
  /** Live events of a tenant from now on, in commit order; resolves once listening. Returns unsubscribe. */
  subscribe(tenantId: number, listener: EventListener): Promise<() => void>
  /** Events after a cursor, oldest first. */
  replay(tenantId: number, afterId: number, limit: number): Promise<TrashEvent[]>
  close(): Promise<void>
}

/** Enterprise writes dates as `YYYY-MM-DDTHH:MM:SS` without a zone; trashd's are UTC. */
export function enterpriseDateTime(date: Date | null): string {
  return date ? date.toISOString().slice(0, 19) : ''
}

/** The event an audit row stands for, or null when the row is not one. */
export function toTrashEvent(row: AuditEventRow): TrashEvent | null {
  const common = {
    ID: String(row.itemId),
    Type: row.itemType ?? '',
    Name: row.itemName ?? '',
    PublicationId: row.brandId === null ? '' : String(row.brandId),
    IssueIds: row.issueId === null ? '' : String(row.issueId),
    EditionIds: '',
    SectionId: row.categoryId === null ? '' : String(row.categoryId),
    StateId: '',
    RouteTo: '',
    LockedBy: '',
    Version: row.itemVersion ?? (row.itemKind === 'file' ? FIRST_VERSION : ''),
  }
  const deleted = { Deleted: enterpriseDateTime(row.deletedAt), Deleter: row.deleterLogin ?? '' }
  // Enterprise's UserId is the acting user's full name
  const userId = row.actorName ?? row.actorLogin ?? ''
  const subject: EventSubject = {
    tenantId: row.tenantId,
    actorId: row.actorId,
    brandId: row.brandId,
    ownerId: row.ownerId,
    deletedBy: row.deletedBy,
  }
  const base = { id: row.id, tenantId: row.tenantId, at: row.at, subject }
  switch (row.action) {
    case 'trash':
      // the first half of a permanent delete from the workflow: its purge row is the event
      if (row.detail?.permanent === true) return null
      return {
        ...base,
        type: 'DeleteObject',
        eventId: 4,
        data: { ...common, ...deleted, UserId: userId, Permanent: 'false' },
      }
    case 'purge':
    case 'expire':
    case 'empty_bin':
      return {
        ...base,
        type: 'DeleteObject',
        eventId: 4,
        data: { ...common, ...deleted, UserId: userId, Permanent: 'true' },
      }
    case 'restore':
      return {
        ...base,
        type: 'RestoreObject',
        eventId: 23,
        data: {
          ...common,
          Modified: enterpriseDateTime(row.at),
          Modifier: row.actorLogin ?? '',
          ...deleted,
          UserId: userId,
        },
      }
    default:
      return null
  }
}
