import type { Logger } from 'pino'
import type pg from 'pg'
import {
  type AuditEventRow,
  type EventBus,
  type EventListener,
  type EventPublisher,
  type TrashEvent,
  toTrashEvent,
} from '../core/events.js'
import type { Database } from './database.js'
import {
  eventRowsAfter,
  eventRowsAcrossTenantsAfter,
  eventRowsBetween,
  lastAuditId,
  lastAuditIdAcrossTenants,
} from './event-repository.js'

/** the channel the audit insert trigger (migration 0003) notifies */
export const AUDIT_CHANNEL = 'trashd_audit'
const RECONNECT_DELAY_MS = 1000
const POLL_BATCH = 500

interface Notice {
  tenant: number
  from: number
  to: number
  /** the application_name of the connection that wrote the rows: which instance made the change */
  origin?: string
}

function eventsOf(rows: AuditEventRow[]): TrashEvent[] {
  return rows.map(toTrashEvent).filter((event): event is TrashEvent => event !== null)
}

function parseNotice(payload: string | undefined): Notice | null {
  try {
    const notice = JSON.parse(payload ?? '') as Partial<Notice>
    const ok = [notice.tenant, notice.from, notice.to].every((value) => Number.isSafeInteger(value))
    if (notice.origin !== undefined && typeof notice.origin !== 'string') return null
    return ok ? (notice as Notice) : null
  } catch {
    return null
  }
}

/**
 * The event bus over the audit table. With PostgreSQL, one dedicated connection LISTENs to the audit trigger's
 * notifications, so every server instance on the database sees every event; a notification names the id range
 * written, and exactly those rows are read. The embedded database (PGlite) serves a single connection, which
 * a LISTEN would hold forever, so there the bus polls the audit table by cursor while anyone is subscribed (one
 * process owns an embedded database, and its commits are serialized, so a cursor misses nothing).
 *
 * Publishers (n-casting, RabbitMQ) get the events this instance caused: with PostgreSQL the notifications whose
 * origin is this instance's connection name, embedded every event (the process owns the database). Events
 * written while the LISTEN connection is down reach SSE clients by catch-up, but are not published late: live
 * channels announce what happens now, as Enterprise does.
 */
export class DatabaseEventBus implements EventBus {
  private readonly listeners = new Map<number, Set<EventListener>>()
  /** per tenant: the last audit id delivered (poll cursor, and catch-up point after a lost connection) */
  private readonly cursors = new Map<number, number>()
  private listenClient: pg.PoolClient | null = null
  private connecting: Promise<void> | null = null
  private pollTimer: NodeJS.Timeout | null = null
  private polling = false
  private closed = false
  /** deliveries run one after another, so listeners get events in notification order */
  private queue: Promise<void> = Promise.resolve()
  private readonly publishers: EventPublisher[] = []
  /** embedded: the last audit id (of any tenant) handed to the publishers */
  private ownCursor: number | null = null

  constructor(
    private readonly db: Database,
    private readonly logger?: Logger,
    private readonly pollIntervalMs = 250,
  ) {}

  get mode(): 'listen' | 'poll' {
    return this.db.kind === 'embedded' ? 'poll' : 'listen'
  }

  async subscribe(tenantId: number, listener: EventListener): Promise<() => void> {
    if (this.closed) throw new Error('event bus closed')
    let set = this.listeners.get(tenantId)
    const first = !set
    if (!set) {
      set = new Set()
      this.listeners.set(tenantId, set)
    }
    set.add(listener)
    const unsubscribe = () => {
      const current = this.listeners.get(tenantId)
      current?.delete(listener)
      if (current && current.size === 0) {
        this.listeners.delete(tenantId)
        this.cursors.delete(tenantId)
      }
    }
    try {
      // listen first, then note where "now" is: whatever commits after the LISTEN is announced
      if (this.mode === 'listen') await this.ensureListening()
      if (first && this.listeners.has(tenantId) && !this.cursors.has(tenantId))
        this.cursors.set(tenantId, await lastAuditId(this.db, tenantId))
    } catch (error) {
      // a subscription that could not be set up is not left behind
      unsubscribe()
      throw error
    }
    if (this.mode === 'poll') this.ensurePolling()
    return unsubscribe
  }

  /** Live subscriptions, all tenants. */
  get subscriptions(): number {
    let count = 0
    for (const set of this.listeners.values()) count += set.size
    return count
  }

  async publishOwnEvents(publisher: EventPublisher): Promise<void> {
    if (this.closed) throw new Error('event bus closed')
    this.publishers.push(publisher)
    if (this.mode === 'listen') {
      await this.ensureListening()
      return
    }
    this.ownCursor ??= await lastAuditIdAcrossTenants(this.db)
    this.ensurePolling()
  }

  private publish(events: TrashEvent[]) {
    for (const event of events) {
      for (const publisher of this.publishers) {
        try {
          publisher.publish(event)
        } catch (error) {
          this.logger?.warn({ err: error, channel: publisher.name }, 'event publisher failed')
        }
      }
    }
  }

  private get watching() {
    return this.listeners.size > 0 || this.publishers.length > 0
  }

  async replay(tenantId: number, afterId: number, limit: number): Promise<TrashEvent[]> {
    const rows = await eventRowsAfter(this.db, tenantId, afterId, limit)
    return rows.map(toTrashEvent).filter((event): event is TrashEvent => event !== null)
  }

  private deliver(tenantId: number, events: TrashEvent[], lastId: number) {
    const cursor = this.cursors.get(tenantId)
    if (cursor !== undefined && lastId > cursor) this.cursors.set(tenantId, lastId)
    for (const event of events) {
      for (const listener of this.listeners.get(tenantId) ?? []) {
        try {
          listener(event)
        } catch (error) {
          this.logger?.warn({ err: error }, 'event listener failed')
        }
      }
    }
  }

  private enqueue(work: () => Promise<void>) {
    this.queue = this.queue.then(work).catch((error) => {
      this.logger?.warn({ err: error }, 'reading events failed')
    })
  }

  // ---- PostgreSQL: LISTEN on a dedicated connection

  private ensureListening(): Promise<void> {
    if (this.listenClient) return Promise.resolve()
    this.connecting ??= this.connectListener().finally(() => {
      this.connecting = null
    })
    return this.connecting
  }

  private async connectListener() {
    const client = await this.db.connect()
    client.on('notification', (message) => {
      if (message.channel !== AUDIT_CHANNEL) return
      const notice = parseNotice(message.payload)
      if (!notice) return
      const own = this.publishers.length > 0 && notice.origin === this.db.origin
      if (!own && !this.listeners.has(notice.tenant)) return
      this.enqueue(async () => {
        const rows = await eventRowsBetween(this.db, notice.tenant, notice.from, notice.to)
        const events = eventsOf(rows)
        if (this.listeners.has(notice.tenant)) this.deliver(notice.tenant, events, notice.to)
        if (own) this.publish(events)
      })
    })
    client.on('error', (error) => {
      this.logger?.warn({ err: error }, 'event listener connection lost; reconnecting')
      this.dropListener(client, true)
    })
    try {
      await client.query(`listen ${AUDIT_CHANNEL}`)
    } catch (error) {
      client.release(true)
      throw error
    }
    this.listenClient = client
  }

  private dropListener(client: pg.PoolClient, reconnect: boolean) {
    if (this.listenClient !== client) return
    this.listenClient = null
    client.release(true)
    if (!reconnect || this.closed) return
    setTimeout(() => {
      if (this.closed || !this.watching) return
      this.ensureListening()
        .then(() => this.catchUp())
        .catch((error) => this.logger?.warn({ err: error }, 'event listener reconnect failed'))
    }, RECONNECT_DELAY_MS).unref()
  }

  /** After a lost connection: whatever was written meanwhile, from each tenant's cursor. */
  private catchUp() {
    this.enqueue(async () => {
      for (const tenantId of this.listeners.keys()) await this.readAfterCursor(tenantId)
    })
  }

  private async readAfterCursor(tenantId: number) {
    for (;;) {
      const cursor = this.cursors.get(tenantId)
      if (cursor === undefined) return
      const rows = await eventRowsAfter(this.db, tenantId, cursor, POLL_BATCH)
      if (rows.length === 0) return
      this.deliver(tenantId, eventsOf(rows), rows[rows.length - 1]!.id)
      if (rows.length < POLL_BATCH) return
    }
  }

  /** Hands the publishers every own event committed so far. */
  private async flushOwnEvents() {
    await this.connecting?.catch(() => {})
    // a listening connection is sent every notification committed before a query it answers
    if (this.listenClient) await this.listenClient.query('select 1')
    else if (this.mode === 'poll') this.enqueue(() => this.readOwnAfterCursor())
    await this.queue
  }

  // ---- embedded: poll by cursor

  /** Every tenant's events after the publishers' cursor (embedded: all of them are this process's own). */
  private async readOwnAfterCursor() {
    for (;;) {
      if (this.ownCursor === null || this.publishers.length === 0) return
      const rows = await eventRowsAcrossTenantsAfter(this.db, this.ownCursor, POLL_BATCH)
      if (rows.length === 0) return
      this.ownCursor = rows[rows.length - 1]!.id
      this.publish(eventsOf(rows))
      if (rows.length < POLL_BATCH) return
    }
  }

  private ensurePolling() {
    if (this.pollTimer) return
    this.pollTimer = setInterval(() => {
      if (this.polling) return
      if (!this.watching) {
        clearInterval(this.pollTimer!)
        this.pollTimer = null
        return
      }
      this.polling = true
      this.enqueue(async () => {
        try {
          for (const tenantId of [...this.listeners.keys()]) await this.readAfterCursor(tenantId)
          await this.readOwnAfterCursor()
        } finally {
          this.polling = false
        }
      })
    }, this.pollIntervalMs)
    this.pollTimer.unref()
  }

  async close() {
    // this instance's last events still reach its publishers: a CLI purge exits right after it commits
    if (this.publishers.length > 0)
      await this.flushOwnEvents().catch((error) =>
        this.logger?.warn({ err: error }, 'last events not published'),
      )
    this.closed = true
    this.listeners.clear()
    if (this.pollTimer) clearInterval(this.pollTimer)
    this.pollTimer = null
    await this.connecting?.catch(() => {})
    const client = this.listenClient
    if (client) {
      this.listenClient = null
      await client.query(`unlisten ${AUDIT_CHANNEL}`).catch(() => {})
      client.release()
    }
    await this.queue
  }
}
