import type { FastifyReply, FastifyRequest } from 'fastify'
import type { DoorContext } from '../../context.js'
import type { EventBus, TrashEvent } from '../../core/events.js'
import type { Actor } from '../../core/types.js'
import { UserSlots } from '../../core/user-slots.js'
import { problem, sendProblem } from './problem.js'

const REPLAY_PAGE = 500
const HEARTBEAT_MS = 15_000
/** how often a stream re-reads what its user may see (rights granted or revoked while it is open) */
const RIGHTS_REFRESH_MS = 15_000

/**
 * Open event streams per server, ended when the server closes (they would keep it open otherwise). Keyed by the
 * event bus: each request sees a context of its own, the bus is the server's.
 */
const openStreams = new WeakMap<EventBus, Set<() => void>>()

export function endEventStreams(ctx: DoorContext) {
  for (const end of openStreams.get(ctx.events) ?? []) end()
}

/** One SSE message: the audit id as `id`, the Enterprise event name as `event`, the properties as JSON. */
export function sseMessage(event: TrashEvent): string {
  const data = {
    EventHeaders: { EventVersion: 1, EventId: event.eventId, EventType: event.type },
    EventData: event.data,
  }
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(data)}\n\n`
}

function resumePoint(request: FastifyRequest, after: number | undefined): number | null | 'invalid' {
  const header = request.headers['last-event-id']
  const given = Array.isArray(header) ? header[0] : header
  if (given !== undefined && given.trim() !== '')
    return /^\d{1,15}$/.test(given.trim()) ? Number(given) : 'invalid'
  return after ?? null
}

/** Each server's slots of event streams per user (EVENT_STREAMS_PER_USER). */
const streamSlots = new WeakMap<EventBus, UserSlots>()

/** How many event streams are open on this server (all users). */
export function openEventStreams(ctx: DoorContext): number {
  return openStreams.get(ctx.events)?.size ?? 0
}

/**
 * GET /api/v1/events: the tenant's DeleteObject (#4) and RestoreObject (#23) events as Server-Sent Events, from
 * every server instance on the database, of the items the user may see. `Last-Event-ID` (or `?after=`) replays
 * the audit log after that id first, then the stream goes live without gaps or repeats.
 *
 * The stream's end is registered before the first await: a client that hangs up at any moment of the setup is
 * released as soon as whatever the setup was waiting for arrives (its subscription, timers and slot).
 */
export async function streamEvents(
  ctx: DoorContext,
  actor: Actor,
  request: FastifyRequest,
  reply: FastifyReply,
  after: number | undefined,
) {
  const resumeAfter = resumePoint(request, after)
  if (resumeAfter === 'invalid') return sendProblem(reply, problem(400, 'Last-Event-ID must be an event id'))

  const slots = streamSlots.get(ctx.events) ?? new UserSlots(ctx.config.EVENT_STREAMS_PER_USER)
  streamSlots.set(ctx.events, slots)
  const releaseSlot = slots.take(actor.tenantId, actor.userId)
  if (!releaseSlot) {
    reply.header('retry-after', '30')
    return sendProblem(
      reply,
      problem(429, `At most ${slots.limit} event streams per user are open at a time`),
    )
  }

  const res = reply.raw
  let ended = false
  let unsubscribe: (() => void) | null = null
  let heartbeat: NodeJS.Timeout | undefined
  let refresh: NodeJS.Timeout | undefined
  const streams = openStreams.get(ctx.events) ?? new Set()
  openStreams.set(ctx.events, streams)
  const end = () => {
    if (ended) return
    ended = true
    clearInterval(heartbeat)
    clearInterval(refresh)
    unsubscribe?.()
    unsubscribe = null
    streams.delete(end)
    releaseSlot()
    // a stream under way is ended; before that, fastify still answers (an error of the setup as a problem)
    if (res.headersSent) res.end()
  }
  streams.add(end)
  res.once('close', end)
  // gone already (during authentication): 'close' will not come again
  if (res.destroyed) end()

  let replaying = resumeAfter !== null
  const pending: TrashEvent[] = []
  let visible: (event: TrashEvent) => boolean
  const write = (event: TrashEvent) => {
    if (visible(event)) res.write(sseMessage(event))
  }
  try {
    if (ended) return reply.hijack()
    visible = await ctx.trash.eventFilter(actor)
    if (ended) return reply.hijack()
    const subscribed = await ctx.events.subscribe(actor.tenantId, (event) => {
      if (replaying) pending.push(event)
      else write(event)
    })
    // the client left while this was being set up: end() ran before there was anything to unsubscribe
    if (ended) {
      subscribed()
      return reply.hijack()
    }
    unsubscribe = subscribed
  } catch (error) {
    end()
    throw error
  }

  reply.hijack()
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': request.id,
  })
  res.write('retry: 3000\n\n')

  heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS)
  heartbeat.unref()
  refresh = setInterval(() => {
    ctx.trash.eventFilter(actor).then(
      (filter) => {
        visible = filter
      },
      (error: unknown) => request.log.warn({ err: error }, 'event stream could not re-read rights'),
    )
  }, RIGHTS_REFRESH_MS)
  refresh.unref()

  if (resumeAfter !== null) {
    const replayed = new Set<number>()
    try {
      let cursor = resumeAfter
      for (;;) {
        const page = await ctx.events.replay(actor.tenantId, cursor, REPLAY_PAGE)
        for (const event of page) {
          if (ended) return
          replayed.add(event.id)
          write(event)
          cursor = event.id
        }
        if (page.length < REPLAY_PAGE) break
      }
    } catch (error) {
      request.log.warn({ err: error }, 'event replay failed')
      end()
      return
    }
    // what arrived live during the replay, without what the replay already sent
    replaying = false
    for (const event of pending.splice(0)) if (!replayed.has(event.id)) write(event)
  }
}
