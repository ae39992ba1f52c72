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
  /** the file's MIME type (Enterprise Format) */
  itemFormat: string | null
  /** the acting session's tag (first 12 characters of the md5 of its ticket); null: no session */
  eventTicket: string | null
  detail: Record<string, unknown> | null
}

/** The version of a file stored without a history (Enterprise numbers the first version 0.1). */
export const FIRST_VERSION = '0.1'

/** The audit actions that are events (the others, such as IPS empty or a failed purge, are not). */
export const EVENT_ACTIONS = ['trash', 'purge', 'expire', 'empty_bin', 'restore'] as const

export type EventListener = (event: TrashEvent) => void

/**
 * A channel that carries this instance's own events to clients after commit (n-casting, RabbitMQ). Every
 * channel gets the same TrashEvent the SSE stream shows. publish never throws and never waits on the network:
 * a channel that cannot deliver drops the event and counts it.
 */
export interface EventPublisher {
  readonly name: string
  publish(event: TrashEvent): void
  close(): Promise<void>
}

/** Where events come from: live per tenant, and replayed from the log after a cursor. */
export interface EventBus {
  /** Live events of a tenant from now on, in commit order; resolves once listening. Returns unsubscribe. */
  subscribe(tenantId: number, listener: EventListener): Promise<() => void>
  /** Events after a cursor, oldest first. */
  replay(tenantId: number, afterId: number, limit: number): Promise<TrashEvent[]>
  /**
   * Hands every event this instance causes from now on (whatever the door or tenant) to the publisher, once
   * committed. Each instance publishes only its own events, so a change is announced once however many run.
   */
  publishOwnEvents(publisher: EventPublisher): Promise<void>
  /** Live subscriptions, all tenants. */
  readonly subscriptions: number
  close(): Promise<void>
}

/** Enterprise writes dates as `YYYY-MM-DDTHH:MM:SS` without a zone; trashd's are UTC. */
export function enterpriseDateTime(date: Date | null): string {
  return date ? date.toISOString().slice(0, 19) : ''
}

/**
 * The event an audit row stands for, or null when the row is not one. Its properties come in the order Enterprise
 * writes them (smartevent addObjectFields), which the n-cast packet keeps: Ticket (when a session acted), the
 * object's ID, Name, Type, PublicationId, SectionId, StateId, RouteTo, LockedBy, [Modified, Modifier for #23],
 * Deleter, Deleted, Version, Format, IssueIds, EditionIds, then UserId and, for #4, Permanent.
 */
export function toTrashEvent(row: AuditEventRow): TrashEvent | null {
  const restore = row.action === 'restore'
  let permanent: boolean
  switch (row.action) {
    case 'trash':
      // the first half of a permanent delete from the workflow: its purge row is the event
      if (row.detail?.permanent === true) return null
      permanent = false
      break
    case 'purge':
    case 'expire':
    case 'empty_bin':
      permanent = true
      break
    case 'restore':
      permanent = false
      break
    default:
      return null
  }
  const data: Record<string, string> = {}
  if (row.eventTicket) data.Ticket = row.eventTicket
  Object.assign(data, {
    ID: String(row.itemId),
    Name: row.itemName ?? '',
    Type: row.itemType ?? '',
    PublicationId: row.brandId === null ? '' : String(row.brandId),
    SectionId: row.categoryId === null ? '' : String(row.categoryId),
    StateId: '',
    RouteTo: '',
    LockedBy: '',
  })
  if (restore) {
    data.Modified = enterpriseDateTime(row.at)
    data.Modifier = row.actorLogin ?? ''
  }
  Object.assign(data, {
    Deleter: row.deleterLogin ?? '',
    Deleted: enterpriseDateTime(row.deletedAt),
    Version: row.itemVersion ?? (row.itemKind === 'file' ? FIRST_VERSION : ''),
    Format: row.itemFormat ?? '',
    IssueIds: row.issueId === null ? '' : String(row.issueId),
    EditionIds: '',
    // Enterprise's UserId is the acting user's full name (seed 004)
    UserId: row.actorName ?? row.actorLogin ?? '',
  })
  if (!restore) data.Permanent = permanent ? 'true' : 'false'
  return {
    id: row.id,
    tenantId: row.tenantId,
    at: row.at,
    subject: {
      tenantId: row.tenantId,
      actorId: row.actorId,
      brandId: row.brandId,
      ownerId: row.ownerId,
      deletedBy: row.deletedBy,
    },
    ...(restore
      ? { type: 'RestoreObject' as const, eventId: 23 as const }
      : { type: 'DeleteObject' as const, eventId: 4 as const }),
    data,
  }
}
