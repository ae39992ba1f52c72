import type { z } from 'zod'
import * as r from '../responses.js'
import { type Route, route } from '../route.js'
import * as s from '../schemas.js'
import { operationJson, undoJson } from '../serialize.js'

/** `to` as a day means the end of that day */
const endOf = (to: string) => new Date(to.length === 10 ? `${to}T23:59:59.999Z` : to)

function undoFilter(body: z.infer<typeof s.undoFilterBody>) {
  return {
    actorId: body.actor,
    actorLogin: body.actorLogin,
    door: body.door,
    from: new Date(body.from),
    to: body.to ? endOf(body.to) : undefined,
  }
}

/** The operations log (who trashed, restored, emptied or purged what, through which door) and undo. */
export const operationRoutes: Route[] = [
  route({
    method: 'GET',
    url: '/operations',
    operationId: 'listOperations',
    response: r.operationPage,
    auth: 'user',
    tag: 'trash',
    summary:
      "Operations (requests that trashed, restored, emptied or purged, cleanup runs), newest first: the user's own; an administrator's: the tenant's",
    query: s.operationsQuery,
    handler: async (ctx, { actor, query }) => {
      const page = await ctx.operations.list(
        actor,
        {
          actorId: query.actor,
          actorLogin: query.actorLogin,
          door: query.door,
          action: query.action,
          from: query.from ? new Date(query.from) : undefined,
          to: query.to
            ? new Date(query.to.length === 10 ? `${query.to}T23:59:59.999Z` : query.to)
            : undefined,
          minItems: query.minItems,
        },
        { limit: query.limit, cursor: query.cursor },
      )
      return { operations: page.operations.map(operationJson), next: page.next }
    },
  }),
  route({
    method: 'GET',
    url: '/operations/:id',
    operationId: 'getOperation',
    response: r.operationUnits,
    auth: 'user',
    tag: 'trash',
    summary: 'One operation: its summary and the units it changed with their state now (paged by audit id)',
    params: s.operationParams,
    query: s.operationUnitsQuery,
    handler: async (ctx, { actor, params, query }) => {
      const page = await ctx.operations.units(actor, params.id, query.after, query.limit)
      return { ...operationJson(page.operation), units: page.units, next: page.next }
    },
  }),
  route({
    method: 'POST',
    url: '/operations/undo/preview',
    operationId: 'previewUndoMatching',
    response: r.undoMatching,
    auth: 'user',
    tag: 'trash',
    summary:
      'What undoing every trash operation that matches a filter (actor, door, time window) would do per unit, changing nothing',
    body: s.undoFilterBody,
    handler: async (ctx, { actor, body }) => {
      const outcome = await ctx.operations.undoMatching(actor, undoFilter(body), { dryRun: true })
      return { ...undoJson(null, outcome), operations: outcome.operations }
    },
  }),
  route({
    method: 'POST',
    url: '/operations/undo',
    idempotent: true,
    operationId: 'undoMatching',
    response: r.undoMatching,
    auth: 'user',
    tag: 'trash',
    summary:
      'Undo every trash operation that matches a filter (actor, door, time window; a client that deleted item by item) as one operation',
    body: s.undoFilterBody,
    handler: async (ctx, { actor, body }) => {
      const outcome = await ctx.operations.undoMatching(actor, undoFilter(body))
      return { ...undoJson(null, outcome), operations: outcome.operations }
    },
  }),
  route({
    method: 'GET',
    url: '/operations/:id/undo/preview',
    operationId: 'previewUndo',
    response: r.undo,
    auth: 'user',
    tag: 'trash',
    summary:
      'What undoing a trash operation would do per unit (restored where, renamed to, folders made again, refusals; units since restored, emptied or purged), changing nothing',
    params: s.operationParams,
    handler: async (ctx, { actor, params }) =>
      undoJson(params.id, await ctx.operations.undo(actor, params.id, { dryRun: true })),
  }),
  route({
    method: 'POST',
    url: '/operations/:id/undo',
    idempotent: true,
    operationId: 'undoOperation',
    response: r.undo,
    auth: 'user',
    tag: 'trash',
    summary:
      'Undo a trash operation: every unit it trashed that is still in the trash is restored (restore rules: rights on every member, folders made again, taken names renamed), as one operation of its own',
    params: s.operationParams,
    handler: async (ctx, { actor, params }) =>
      undoJson(params.id, await ctx.operations.undo(actor, params.id)),
  }),
]
