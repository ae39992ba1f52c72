import dgram from 'node:dgram'
import { isIPv6 } from 'node:net'
import type { Logger } from 'pino'
import type { EventPublisher, TrashEvent } from '../core/events.js'

/**
 * N-casting: the UDP messages Enterprise (v8) servers broadcast or multicast so that every client's Search
 * results, Inbox and Trash Can stay current (Enterprise's smartevent). A packet is a 4-byte header (format version
 * 1, event number, event type 1 = system, 0 reserved) followed by fields, each a big-endian uint16 byte length and
 * the UTF-8 name, then a big-endian uint16 byte length and the UTF-8 value. A packet never exceeds 1,024 bytes:
 * a field that would not fit is left out whole (a cut value would be corrupt data on the client), and the
 * fields after it still get their chance.
 */

export const NCAST_EVENT_VERSION = 1
export const NCAST_EVENT_TYPE_SYSTEM = 1
export const NCAST_MAX_BYTES = 1024

export interface NcastDestination {
  host: string
  port: number
}

export function ncastPacket(
  eventId: number,
  fields: Record<string, string>,
  maxBytes = NCAST_MAX_BYTES,
): Buffer {
  const parts: Buffer[] = [Buffer.from([NCAST_EVENT_VERSION, eventId, NCAST_EVENT_TYPE_SYSTEM, 0])]
  let size = 4
  for (const [name, value] of Object.entries(fields)) {
    const nameBytes = Buffer.from(name, 'utf8')
    const valueBytes = Buffer.from(value, 'utf8')
    const fieldSize = 4 + nameBytes.length + valueBytes.length
    if (size + fieldSize > maxBytes) continue
    const field = Buffer.alloc(fieldSize)
    field.writeUInt16BE(nameBytes.length, 0)
    nameBytes.copy(field, 2)
    field.writeUInt16BE(valueBytes.length, 2 + nameBytes.length)
    valueBytes.copy(field, 4 + nameBytes.length)
    parts.push(field)
    size += fieldSize
  }
  return Buffer.concat(parts, size)
}

/** The packet of one trash event: DeleteObject (#4) or RestoreObject (#23) with its properties in order. */
export function ncastEventPacket(event: TrashEvent): Buffer {
  return ncastPacket(event.eventId, event.data)
}

function familyOf(host: string): 'udp4' | 'udp6' {
  return isIPv6(host) ? 'udp6' : 'udp4'
}

export interface NcastOptions {
  /** unicast or broadcast destinations (NCAST_TARGETS) */
  targets: NcastDestination[]
  /** a multicast group and port (NCAST_MULTICAST), sent with this TTL */
  multicast?: NcastDestination & { ttl: number }
  logger?: Logger
}

/**
 * Sends each event as one packet to every configured destination. Sending never waits: a packet the network
 * refuses is counted as dropped and logged, and the change that caused it stands.
 */
export class NcastPublisher implements EventPublisher {
  readonly name = 'ncast'
  private readonly sockets = new Map<'udp4' | 'udp6', dgram.Socket>()
  private readonly destinations: NcastDestination[]
  /** packets handed to the network, and packets that could not be sent */
  readonly counts = { sent: 0, dropped: 0 }
  /** packets handed to a socket and not yet sent */
  private inFlight = 0
  private readonly idle = new Set<() => void>()

  private constructor(private readonly options: NcastOptions) {
    this.destinations = [...options.targets, ...(options.multicast ? [options.multicast] : [])]
  }

  static async start(options: NcastOptions): Promise<NcastPublisher> {
    const publisher = new NcastPublisher(options)
    await publisher.open()
    return publisher
  }

  private async open() {
    const families = new Set(this.destinations.map((d) => familyOf(d.host)))
    for (const family of families) {
      const socket = dgram.createSocket({ type: family })
      socket.on('error', (error) => this.options.logger?.warn({ err: error }, 'n-cast socket error'))
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject)
        socket.bind(0, () => {
          socket.off('error', reject)
          resolve()
        })
      })
      // a broadcast address is among the allowed targets (the v8 default is 255.255.255.255)
      socket.setBroadcast(true)
      const multicast = this.options.multicast
      if (multicast && familyOf(multicast.host) === family) socket.setMulticastTTL(multicast.ttl)
      socket.unref()
      this.sockets.set(family, socket)
    }
  }

  publish(event: TrashEvent): void {
    const packet = ncastEventPacket(event)
    for (const destination of this.destinations) {
      const socket = this.sockets.get(familyOf(destination.host))
      if (!socket) continue
      this.inFlight++
      socket.send(packet, destination.port, destination.host, (error) => {
        this.inFlight--
        if (this.inFlight === 0) for (const wake of this.idle) wake()
        if (!error) {
          this.counts.sent++
          return
        }
        this.counts.dropped++
        this.options.logger?.warn(
          {
            err: error,
            destination: `${destination.host}:${destination.port}`,
            dropped: this.counts.dropped,
          },
          'n-cast packet dropped',
        )
      })
    }
  }

  /** Waits (at most a second) for the packets still being sent, then closes the sockets. */
  async close() {
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000)
        this.idle.add(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    for (const socket of this.sockets.values())
      await new Promise<void>((resolve) => socket.close(() => resolve()))
    this.sockets.clear()
  }
}
