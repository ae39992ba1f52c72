import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AppContext } from '../../context.js'
import type { TrashEvent } from '../../core/events.js'
import type { Actor } from '../../core/types.js'
import { problem, sendProblem } from '../../http/problem.js'

const REPLAY_PAGE = 500
const HEARTBEAT_MS = 15_000
/** how often a stream re-reads what its user may see (rights granted or revoked while it is open) */
const RIGHTS_REFRESH_MS = 15_000

/** Open event streams per context, ended when the server closes (they would keep it open otherwise). */
const openStreams = new WeakMap<AppContext, Set<() => void>>()

export function endEventStreams(ctx: AppContext) {
  for (const end of openStreams.get(ctx) ?? []) end()
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

/**
 * GET /api/v1/events: the tenant's DeleteObject (#4) and RestoreObject (#23) events as Server-Sent Events, from
 * every server instance on the database, of the items the user may see. `Last-Event-ID` (or `?after=`) replays
 * the audit log after that id first, then the stream goes live without gaps or repeats.
 */
export async function streamEvents(
  ctx: AppContext,
  actor: Actor,
  request: FastifyRequest,
  reply: FastifyReply,
  after: number | undefined,
) {
  const resumeAfter = resumePoint(request, after)
  if (resumeAfter === 'invalid') return sendProblem(reply, problem(400, 'Last-Event-ID must be an event id'))

  let replaying = resumeAfter !== null
  const pending: TrashEvent[] = []
  const res = reply.raw
  let visible = await ctx.trash.eventFilter(actor)
  const write = (event: TrashEvent) => {
    if (visible(event)) res.write(sseMessage(event))
  }
  const unsubscribe = await ctx.events.subscribe(actor.tenantId, (event) => {
    if (replaying) pending.push(event)
    else write(event)
  })

  reply.hijack()
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': request.id,
  })
  res.write('retry: 3000\n\n')

  let ended = false
  const streams = openStreams.get(ctx) ?? new Set()
  openStreams.set(ctx, streams)
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS)
  heartbeat.unref()
  const refresh = setInterval(() => {
    ctx.trash.eventFilter(actor).then(
      (filter) => {
        visible = filter
      },
      (error: unknown) => request.log.warn({ err: error }, 'event stream could not re-read rights'),
    )
  }, RIGHTS_REFRESH_MS)
  refresh.unref()
  const end = () => {
    if (ended) return
    ended = true
    clearInterval(heartbeat)
    clearInterval(refresh)
    unsubscribe()
    streams.delete(end)
    res.end()
  }
  streams.add(end)
  request.raw.on('close', end)

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
