import type { Logger } from 'pino'
import {
  type AuditEventRow,
  EVENT_ACTIONS,
  type EventBus,
  type EventListener,
  type EventPublisher,
  type TrashEvent,
  toTrashEvent,
} from '../core/events.js'
import type { Database } from './database.js'
import {
  type AuditMark,
  type AuditScan,
  eventRowsAfter,
  eventRowsByIds,
  scanAuditRanges,
  newestAuditId,
} from './event-repository.js'
import { OPEN_END, UnsettledIds } from './unsettled-ids.js'

/** how often an instance with subscribers or publishers reads the audit table */
export const EVENT_POLL_MS = 200
/** rows read per statement; a tick reads on while pages come back full, up to TICK_PAGES */
const PAGE = 1000
const TICK_PAGES = 20
/** the newest ids read when following starts: the holes among them may still fill */
const START_WINDOW = 10_000

const EVENT_ACTION_SET: ReadonlySet<string> = new Set(EVENT_ACTIONS)

function eventsOf(rows: AuditEventRow[]): TrashEvent[] {
  return rows.map(toTrashEvent).filter((event): event is TrashEvent => event !== null)
}

/**
 * The event bus over the audit table. Each instance that has subscribers or publishers follows the table itself:
 * every EVENT_POLL_MS one statement reads the ids written since its last read and the holes it still watches
 * (see UnsettledIds), then the rows someone here wants. Writers pay nothing for it: no trigger, no NOTIFY (which
 * serialises every notifying commit), and an instance without subscribers reads nothing. The same code serves
 * PostgreSQL and the embedded database.
 *
 * Publishers (n-casting, RabbitMQ) get the events this instance caused: the rows whose origin is this instance's
 * connection name (embedded: every row, one process owns the database). Events written while the database could
 * not be read are delivered and published when it can again.
 */
export class DatabaseEventBus implements EventBus {
  private readonly listeners = new Map<number, Set<EventListener>>()
  private readonly publishers: EventPublisher[] = []
  private unsettled: UnsettledIds | null = null
  private starting: Promise<void> | null = null
  private timer: NodeJS.Timeout | null = null
  private reading = false
  /** subscriptions being set up: the follower keeps going for them */
  private joining = 0
  private closed = false
  /** reads run one after another, so listeners get events in the order they were read */
  private queue: Promise<void> = Promise.resolve()

  constructor(
    private readonly db: Database,
    private readonly logger?: Logger,
    private readonly pollIntervalMs = EVENT_POLL_MS,
  ) {}

  async subscribe(tenantId: number, listener: EventListener): Promise<() => void> {
    if (this.closed) throw new Error('event bus closed')
    this.joining++
    try {
      await this.follow()
      // what committed before this subscription is read first (and handed to the listeners already here):
      // the new listener gets what commits from now on, as a stream that replays from Last-Event-ID expects
      await this.enqueue(() => this.readPages())
    } finally {
      this.joining--
    }
    if (this.closed) throw new Error('event bus closed')
    let set = this.listeners.get(tenantId)
    if (!set) {
      set = new Set()
      this.listeners.set(tenantId, set)
    }
    set.add(listener)
    return () => {
      const current = this.listeners.get(tenantId)
      current?.delete(listener)
      if (current && current.size === 0) this.listeners.delete(tenantId)
    }
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
    await this.follow()
  }

  async replay(tenantId: number, afterId: number, limit: number): Promise<TrashEvent[]> {
    return eventsOf(await eventRowsAfter(this.db, tenantId, afterId, limit))
  }

  private get watching() {
    return this.listeners.size > 0 || this.publishers.length > 0 || this.joining > 0
  }

  private own(mark: AuditMark): boolean {
    return this.publishers.length > 0 && (this.db.kind === 'embedded' || mark.origin === this.db.origin)
  }

  private wanted(mark: AuditMark): boolean {
    return EVENT_ACTION_SET.has(mark.action) && (this.listeners.has(mark.tenantId) || this.own(mark))
  }

  private follow(): Promise<void> {
    if (this.unsettled) return Promise.resolve()
    this.starting ??= (async () => {
      // the newest ids are read in a window of their own: ids are global, so the window holds at most
      // START_WINDOW rows however many tenants there are
      const windowStart = (await newestAuditId(this.db)) - START_WINDOW + 1
      const scan = await scanAuditRanges(this.db, [windowStart], [OPEN_END], START_WINDOW)
      this.unsettled = UnsettledIds.startingAt(
        windowStart,
        scan.rows.map((row) => row.id),
        Date.now(),
      )
      this.timer ??= setInterval(() => this.tick(), this.pollIntervalMs)
      this.timer.unref()
    })().finally(() => {
      this.starting = null
    })
    return this.starting
  }

  private stopFollowing() {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    this.unsettled = null
  }

  private enqueue(work: () => Promise<void>) {
    const run = this.queue.then(work)
    this.queue = run.catch((error) => {
      this.logger?.warn({ err: error }, 'reading events failed; retrying')
    })
    return run
  }

  private tick() {
    if (this.reading) return
    if (!this.watching) {
      this.stopFollowing()
      return
    }
    this.reading = true
    this.enqueue(() => this.readPages()).finally(() => {
      this.reading = false
    })
  }

  /** Reads until a page comes back short (or TICK_PAGES pages), delivering what someone here wants. */
  private async readPages() {
    for (let page = 0; page < TICK_PAGES; page++) {
      const unsettled = this.unsettled
      if (!unsettled) return
      const { from, to } = unsettled.ranges()
      const scan = await scanAuditRanges(this.db, from, to, PAGE)
      const events = await this.eventsWanted(scan)
      // settled only once the rows are in hand: a failed read is read again next time
      const before = unsettled.abandoned
      unsettled.settle(
        scan.rows.map((row) => row.id),
        scan.rows.length < PAGE,
        scan.xmin,
        scan.xmax,
        Date.now(),
      )
      if (unsettled.abandoned > before)
        this.logger?.warn(
          { abandoned: unsettled.abandoned - before },
          'too many audit id holes watched; oldest given up',
        )
      this.dispatch(events, scan)
      if (scan.rows.length < PAGE) return
    }
  }

  private async eventsWanted(scan: AuditScan): Promise<TrashEvent[]> {
    const wanted = scan.rows.filter((row) => this.wanted(row))
    if (wanted.length === 0) return []
    return eventsOf(
      await eventRowsByIds(
        this.db,
        wanted.map((row) => row.tenantId),
        wanted.map((row) => row.id),
      ),
    )
  }

  private dispatch(events: TrashEvent[], scan: AuditScan) {
    const marks = new Map(scan.rows.map((row) => [row.id, row]))
    for (const event of events) {
      for (const listener of this.listeners.get(event.tenantId) ?? []) {
        try {
          listener(event)
        } catch (error) {
          this.logger?.warn({ err: error }, 'event listener failed')
        }
      }
      const mark = marks.get(event.id)
      if (mark && this.own(mark)) this.publish(event)
    }
  }

  private publish(event: TrashEvent) {
    for (const publisher of this.publishers) {
      try {
        publisher.publish(event)
      } catch (error) {
        this.logger?.warn({ err: error, channel: publisher.name }, 'event publisher failed')
      }
    }
  }

  async close() {
    // this instance's last events still reach its publishers: a CLI purge exits right after it commits
    if (this.publishers.length > 0 && this.unsettled)
      await this.enqueue(() => this.readPages()).catch((error) =>
        this.logger?.warn({ err: error }, 'last events not published'),
      )
    this.closed = true
    this.listeners.clear()
    await this.starting?.catch(() => {})
    this.stopFollowing()
    await this.queue
  }
}
