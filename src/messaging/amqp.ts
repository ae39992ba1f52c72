import type { Channel, ChannelModel } from 'amqplib'
import type { Logger } from 'pino'
import type { EventPublisher, TrashEvent } from '../core/events.js'
import type { ClientConnection, ClientQueues } from '../core/ports/client-queues.js'

/**
 * Enterprise 10's message queue integration over AMQP 0-9-1 (RabbitMQ): each event is published as JSON
 * `{"EventHeaders":{"EventVersion":1,"EventId":4},"EventData":{…}}` to a fanout exchange, persistent, as
 * application/json, expiring after 3 seconds (a live update nobody took by then is stale). Exchanges: `system.events`
 * and one per brand, `object.p<brandId>.events` (Enterprise also has `object.i<issueId>.events` for overrule issues,
 * which trashd does not have); an object's events go to its brand's exchange.
 *
 * The broker is never in a request's way: publish only queues the event (at most MAX_PENDING of them) and returns;
 * while the broker is away events are dropped and counted, and the connection is re-established with backoff.
 */

export const SYSTEM_EXCHANGE = 'system.events'
export const brandExchange = (brandId: number) => `object.p${brandId}.events`
export const issueExchange = (issueId: number) => `object.i${issueId}.events`
/** Enterprise's per-message TTL (ms) */
export const MESSAGE_EXPIRATION = '3000'

const MAX_PENDING = 1000
const CONNECT_TIMEOUT_MS = 5000
const RETRY_MIN_MS = 500
const RETRY_MAX_MS = 30_000
/** at most one "dropped" log line per this many ms */
const DROP_LOG_INTERVAL_MS = 10_000

/** The message body Enterprise publishes for an event. */
export function messageBody(event: TrashEvent): Buffer {
  return Buffer.from(
    JSON.stringify({
      EventHeaders: { EventVersion: 1, EventId: event.eventId },
      EventData: event.data,
    }),
  )
}

/** The announced connection of an amqp:// URL: scheme, host and port; its user; its virtual host ('/' by default). */
export function clientConnectionOf(url: string): ClientConnection {
  const parsed = new URL(url)
  return {
    url: `${parsed.protocol}//${parsed.host}`,
    user: decodeURIComponent(parsed.username),
    virtualHost: decodeURIComponent(parsed.pathname.slice(1)) || '/',
  }
}

/**
 * An Enterprise client's queue (Enterprise: `user.<userId>.ticket.<ticket>`). The session is named by its event tag
 * (first 12 characters of the md5 of the ticket) rather than the ticket: queue names are visible to whoever may list
 * the broker's queues, and a ticket there would be a session to take over.
 */
export const clientQueueName = (userId: number, eventTicket: string) => `user.${userId}.ticket.${eventTicket}`

export interface AmqpOptions {
  url: string
  /** the connection LogOn announces to clients (default: url's scheme, host, port, user and virtual host) */
  clientUrl?: string
  /** names this instance's connection on the broker (its management and rabbitmqctl show it) */
  connectionName: string
  /** the brands whose exchanges are declared on connecting */
  brandIds: () => Promise<number[]>
  logger?: Logger
}

export class AmqpPublisher implements EventPublisher, ClientQueues {
  readonly name = 'amqp'
  private connection: ChannelModel | null = null
  private channel: Channel | null = null
  private readonly declared = new Set<string>()
  private pending = 0
  private chain: Promise<void> = Promise.resolve()
  private retryTimer: NodeJS.Timeout | null = null
  private attempts = 0
  private closed = false
  private droppedSinceLog = 0
  private lastDropLog = 0
  /** messages handed to the broker, events dropped (broker away, or too many waiting) and connections made */
  readonly counts = { published: 0, dropped: 0, connections: 0 }

  private constructor(private readonly options: AmqpOptions) {}

  /** Connects in the background: a broker that is down at start delays nothing. */
  static start(options: AmqpOptions): AmqpPublisher {
    const publisher = new AmqpPublisher(options)
    publisher.connect()
    return publisher
  }

  get connected() {
    return this.channel !== null
  }

  private connect() {
    if (this.closed) return
    this.retryTimer = null
    void this.open().catch((error: unknown) => {
      this.options.logger?.warn(
        { err: error, attempts: this.attempts },
        'message queue unavailable; retrying',
      )
      this.scheduleReconnect()
    })
  }

  private async open() {
    const amqp = await import('amqplib')
    const connection = await amqp.connect(this.options.url, {
      timeout: CONNECT_TIMEOUT_MS,
      clientProperties: { connection_name: this.options.connectionName },
    })
    if (this.closed) {
      await connection.close().catch(() => {})
      return
    }
    connection.on('error', (error) =>
      this.options.logger?.warn({ err: error }, 'message queue connection error'),
    )
    connection.on('close', () => this.lost(connection))
    try {
      const channel = await connection.createChannel()
      channel.on('error', (error) => this.options.logger?.warn({ err: error }, 'message queue channel error'))
      // a channel the broker closed (say, a refused declaration) takes the connection with it: start afresh
      channel.on('close', () => {
        if (this.connection === connection) void connection.close().catch(() => {})
      })
      this.declared.clear()
      await this.declare(channel, SYSTEM_EXCHANGE)
      for (const brandId of await this.options.brandIds()) await this.declare(channel, brandExchange(brandId))
      this.connection = connection
      this.channel = channel
      this.attempts = 0
      this.counts.connections++
      this.options.logger?.info('message queue connected')
    } catch (error) {
      await connection.close().catch(() => {})
      throw error
    }
  }

  private async declare(channel: Channel, exchange: string) {
    if (this.declared.has(exchange)) return
    await channel.assertExchange(exchange, 'fanout', { durable: true })
    this.declared.add(exchange)
  }

  private lost(connection: ChannelModel) {
    if (this.connection !== connection) return
    this.connection = null
    this.channel = null
    if (this.closed) return
    this.options.logger?.warn('message queue connection lost; reconnecting')
    this.scheduleReconnect()
  }

  private scheduleReconnect() {
    if (this.closed || this.retryTimer) return
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** this.attempts) * (0.5 + Math.random() / 2)
    this.attempts++
    this.retryTimer = setTimeout(() => this.connect(), delay)
    this.retryTimer.unref()
  }

  publish(event: TrashEvent): void {
    const brandId = event.subject.brandId
    // Enterprise publishes an object's events to its brand's exchange; an object without a brand has none
    if (brandId === null) return
    if (!this.channel || this.pending >= MAX_PENDING) {
      this.drop()
      return
    }
    this.pending++
    this.chain = this.chain
      .then(() => this.send(brandExchange(brandId), messageBody(event)))
      .catch((error: unknown) => {
        this.drop()
        this.options.logger?.debug({ err: error }, 'message queue publish failed')
      })
      .finally(() => {
        this.pending--
      })
  }

  private async send(exchange: string, body: Buffer) {
    const channel = this.channel
    if (!channel) throw new Error('message queue not connected')
    await this.declare(channel, exchange)
    channel.publish(exchange, '', body, {
      contentType: 'application/json',
      expiration: MESSAGE_EXPIRATION,
      persistent: true,
    })
    this.counts.published++
  }

  private drop() {
    this.counts.dropped++
    this.droppedSinceLog++
    const now = Date.now()
    if (now - this.lastDropLog < DROP_LOG_INTERVAL_MS) return
    this.options.logger?.warn(
      { dropped: this.droppedSinceLog, droppedTotal: this.counts.dropped },
      'message queue unavailable: events dropped',
    )
    this.lastDropLog = now
    this.droppedSinceLog = 0
  }

  clientQueueName(userId: number, eventTicket: string): string {
    return clientQueueName(userId, eventTicket)
  }

  /** The broker as clients are told about it. */
  get clientConnection(): ClientConnection {
    return clientConnectionOf(this.options.clientUrl ?? this.options.url)
  }

  /**
   * Creates a client's queue and binds it to the system exchange and the exchanges of the brands it may see, as
   * Enterprise does at LogOn: the client consumes only its queue, so it receives only those brands' events. The
   * queue goes away once unused for `idleSeconds` (the session's lifetime). Resolves false, without waiting longer
   * than timeoutMs, when the broker is away or refuses.
   */
  async prepareClientQueue(
    queue: string,
    brandIds: number[],
    idleSeconds: number,
    timeoutMs = 3000,
  ): Promise<boolean> {
    const channel = this.channel
    if (!channel) return false
    const work = (async () => {
      await channel.assertQueue(queue, { durable: true, arguments: { 'x-expires': idleSeconds * 1000 } })
      for (const exchange of [SYSTEM_EXCHANGE, ...brandIds.map(brandExchange)]) {
        await this.declare(channel, exchange)
        await channel.bindQueue(queue, exchange, '')
      }
      return true
    })()
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs)
    })
    try {
      return await Promise.race([work, timeout])
    } catch (error) {
      this.options.logger?.warn({ err: error, queue }, 'message queue: client queue not prepared')
      return false
    } finally {
      clearTimeout(timer)
      work.catch(() => {})
    }
  }

  async close() {
    this.closed = true
    if (this.retryTimer) clearTimeout(this.retryTimer)
    await this.chain
    const connection = this.connection
    this.connection = null
    this.channel = null
    await connection?.close().catch(() => {})
  }
}
