import type { z } from 'zod'
import { accepted, asksAsync } from '../async.js'
import * as r from '../responses.js'
import { type Route, route } from '../route.js'
import * as s from '../schemas.js'
import { jobJson, operationJson, undoJson } from '../serialize.js'

/** `to` as a day means the end of that day */
const endOf = (to: string) => new Date(to.length === 10 ? `${to}T23:59:59.999Z` : to)

function undoFilter(body: z.infer<typeof s.undoFilterBody>) {
  return {
    actorId: body.actor,
    actorLogin: body.actorLogin,
    door: body.door,
    session: body.session,
    ticket: body.ticket,
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
          session: query.session,
          ticket: query.ticket,
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
    otherResponses: { 202: r.jobAccepted },
    body: s.undoFilterBody,
    handler: async (ctx, { actor, body, request, reply }) => {
      const outcome = await ctx.operations.undoMatching(actor, undoFilter(body), { job: asksAsync(request) })
      if (outcome.job) return accepted(reply, outcome.job)
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
      'Undo a trash operation: every unit it trashed that is still in the trash is restored (restore rules: rights on every member, folders made again, taken names renamed), as one operation of its own; an undo is undone (its units trashed again) only with trashAgain: true',
    otherResponses: { 202: r.jobAccepted },
    params: s.operationParams,
    body: s.undoBody.optional(),
    handler: async (ctx, { actor, params, body, request, reply }) => {
      const outcome = await ctx.operations.undo(actor, params.id, {
        job: asksAsync(request),
        trashAgain: body?.trashAgain === true,
      })
      if (outcome.job) return accepted(reply, outcome.job)
      return undoJson(params.id, outcome)
    },
  }),
  route({
    method: 'GET',
    url: '/jobs/:id',
    operationId: 'getJob',
    response: r.job,
    auth: 'user',
    tag: 'trash',
    summary:
      'A bulk job (an undo, restore, empty or purge over more than JOB_THRESHOLD items, or asked with Prefer: respond-async): its status and progress (done of total, outcomes)',
    params: s.jobParams,
    handler: async (ctx, { actor, params }) => jobJson(await ctx.jobs.get(actor, params.id)),
  }),
  route({
    method: 'POST',
    url: '/jobs/:id/cancel',
    operationId: 'cancelJob',
    response: r.job,
    auth: 'user',
    tag: 'trash',
    summary:
      'Stop a job: a queued one at once, a running one after its current page (what it did stays done, recorded as its operation)',
    params: s.jobParams,
    handler: async (ctx, { actor, params }) => jobJson(await ctx.jobs.cancel(actor, params.id)),
  }),
  route({
    method: 'GET',
    url: '/jobs/:id/results',
    operationId: 'listJobResults',
    response: r.jobResults,
    auth: 'user',
    tag: 'trash',
    summary: "A page of a job's results, one per unit in the order it went through them (after= keyset)",
    params: s.jobParams,
    query: s.jobResultsQuery,
    handler: async (ctx, { actor, params, query }) => {
      const page = await ctx.jobs.results(actor, params.id, query.after, query.limit)
      return { job: jobJson(page.job), results: page.results, next: page.next }
    },
  }),
]
