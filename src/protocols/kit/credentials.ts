import type { DoorContext } from '../../context.js'
import type { Actor, Door } from '../../core/types.js'

export interface Credentials {
  user: string
  password: string
}

/** HTTP Basic (`Basic base64(user:password)`, the scheme in any case); null when the header is not that. */
export function basicCredentials(authorization: string | undefined): Credentials | null {
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '')
  if (!basic) return null
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon < 0 ? null : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

/**
 * The actor of a live session ticket opened at this door (the expiry slides), or null; a session checked lately
 * may answer unread (AUTH_CACHE_SECONDS).
 */
export async function ticketActor(ctx: DoorContext, door: Door, ticket: string): Promise<Actor | null> {
  return (await ctx.auth.resolveSession(ticket, door, { cached: true }))?.actor ?? null
}

/** As ticketActor, with the door's own refusal when the ticket is not a live session of the door. */
export async function requireTicketActor(
  ctx: DoorContext,
  door: Door,
  ticket: string,
  refuse: () => Error,
): Promise<Actor> {
  const actor = await ticketActor(ctx, door, ticket)
  if (!actor) throw refuse()
  return actor
}
