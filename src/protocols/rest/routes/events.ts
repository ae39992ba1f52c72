import { streamEvents } from '../events.js'
import { route, type Route } from '../route.js'
import * as s from '../schemas.js'

/** The tenant's trash events as Server-Sent Events. */
export const eventRoutes: Route[] = [
  route({
    method: 'GET',
    url: '/events',
    operationId: 'streamEvents',
    response: 'text/event-stream',
    auth: 'user',
    tag: 'trash',
    summary:
      "Server-Sent Events of the user's tenant: DeleteObject (#4, with Permanent) and RestoreObject (#23), with the Enterprise v8 properties; resumable with Last-Event-ID (or ?after=<id>)",
    query: s.eventsQuery,
    handler: async (ctx, { actor, request, reply, query }) => {
      await streamEvents(ctx, actor, request, reply, query.after)
      return reply
    },
  }),
]
