import type { FastifyReply } from 'fastify'
import type { z } from 'zod'
import { nothingDue } from '../../../core/cleanup-job.js'
import { nextTick } from '../../../core/cleanup-schedule.js'
import { CoreError } from '../../../core/errors.js'
import * as policy from '../../../core/policy.js'
import { summarize } from '../../../core/trash-service.js'
import type { BatchResult, TrashFilter } from '../../../core/types.js'
import { accepted, asksAsync } from '../async.js'
import { problem, STATUS_OF, sendProblem } from '../problem.js'
import * as r from '../responses.js'
import { type Route, route } from '../route.js'
import * as s from '../schemas.js'
import { batchJson, dryRunUnitJson, trashEntryJson } from '../serialize.js'

/** the web page's plan lists this many units; the summary counts all of them */
const PLAN_LISTED_UNITS = 100

/** Single-item operations answer with the item's own HTTP status; warnings are successes. */
function sendSingle(reply: FastifyReply, batch: BatchResult) {
  const result = batch.results[0]!
  if (result.status === 'error') {
    const { status: _status, ...rest } = result
    return sendProblem(reply, {
      ...problem(STATUS_OF[result.code!], result.message),
      ...rest,
      result: 'error',
    } as never)
  }
  return reply.send(result)
}

function trashFilter(query: z.infer<typeof s.trashQuery>): TrashFilter {
  return {
    scope: query.scope,
    states: query.state === 'any' ? ['trashed', 'emptied'] : [query.state],
    rootsOnly: query.roots === 'true',
    name: query.name,
    deletedByLogin: query.deletedBy,
    type: query.type,
    kind: query.kind,
    brandId: query.brandId,
    deletedFrom: query.from ? new Date(query.from) : undefined,
    deletedTo: query.to
      ? new Date(query.to.length === 10 ? `${query.to}T23:59:59.999Z` : query.to)
      : undefined,
  }
}

/**
 * The trash as a signed-in user sees it (HTTP Basic login:password, or Bearer session token): listing and its
 * filter choices, the tenant's cleanup runs and plan (tenant administrators), trash, restore, empty, purge.
 */
export const trashRoutes: Route[] = [
  route({
    method: 'GET',
    url: '/trash',
    operationId: 'listTrash',
    response: r.trashPage,
    auth: 'user',
    tag: 'trash',
    summary: 'List the trash: own bin (scope=own) or everything the user may see',
    query: s.trashQuery,
    handler: async (ctx, { actor, query }) => {
      const filter = trashFilter(query)
      const page = await ctx.trash.list(actor, filter, {
        limit: query.limit,
        offset: query.offset,
        cursor: query.cursor,
        sort: query.sort,
        direction: query.direction,
      })
      const total = await ctx.trash.count(actor, filter)
      const last = page[page.length - 1]
      return {
        total,
        items: page.map((entry) => {
          const may = policy.trashEntryRights(actor, entry)
          return { ...trashEntryJson(entry), mayRestore: may.restore, mayPurge: may.purge }
        }),
        nextCursor:
          query.offset === undefined && last && page.length === query.limit
            ? ctx.trash.cursorAfter(last, query.sort, query.direction)
            : null,
      }
    },
  }),
  route({
    method: 'GET',
    url: '/trash/filters',
    operationId: 'getTrashFilters',
    response: r.trashFilters,
    auth: 'user',
    tag: 'trash',
    summary: 'The brands, deleters and types present in the trash the user may see (filter choices)',
    query: s.trashFiltersQuery,
    handler: async (ctx, { actor, query }) =>
      ctx.trash.facets(actor, { scope: query.scope, states: ['trashed'], rootsOnly: true }),
  }),
  route({
    method: 'GET',
    url: '/trash/cleanup/runs',
    operationId: 'listTenantCleanupRuns',
    response: r.tenantCleanupRuns,
    auth: 'user',
    tag: 'trash',
    summary:
      'Tenant administrators: the last cleanup runs that covered the tenant, with how many of its items each purged',
    query: s.tenantCleanupRunsQuery,
    handler: async (ctx, { actor, query }) => {
      const denied = policy.requireAdmin(actor)
      if (denied) throw new CoreError(denied)
      const runs = await ctx.cleanup.tenantRuns(actor.tenantId, query.limit)
      return { runs: runs.map(({ instance: _instance, tenantId: _tenant, ...run }) => run) }
    },
  }),
  route({
    method: 'GET',
    url: '/trash/cleanup/plan',
    operationId: 'getCleanupPlan',
    response: r.cleanupPlan,
    auth: 'user',
    tag: 'trash',
    summary: 'Tenant administrators: what the next cleanup run would purge in the tenant, and why (dry run)',
    handler: async (ctx, { actor }) => {
      const denied = policy.requireAdmin(actor)
      if (denied) throw new CoreError(denied)
      const units: ReturnType<typeof dryRunUnitJson>[] = []
      const [summary] = await ctx.cleanup.preview({ tenantId: actor.tenantId }, (unit) => {
        if (units.length < PLAN_LISTED_UNITS) units.push(dryRunUnitJson(unit))
      })
      return {
        nextRunAt: nextTick(ctx.config.CLEANUP_SCHEDULE),
        summary: summary ?? nothingDue(actor.tenantId),
        units,
      }
    },
  }),
  route({
    method: 'POST',
    url: '/items/trash',
    idempotent: true,
    operationId: 'trashItems',
    response: r.batch,
    auth: 'user',
    tag: 'trash',
    summary: 'Move items to the trash (a folder takes its subtree along)',
    body: s.idsBody,
    handler: async (ctx, { actor, body }) => batchJson(await ctx.trash.trash(actor, body.ids)),
  }),
  route({
    method: 'POST',
    url: '/items/:id/trash',
    idempotent: true,
    operationId: 'trashItem',
    response: r.itemResult,
    auth: 'user',
    tag: 'trash',
    summary: 'Move one item to the trash',
    params: s.idParams,
    handler: async (ctx, { actor, params, reply }) =>
      sendSingle(reply, await ctx.trash.trash(actor, [params.id])),
  }),
  route({
    method: 'POST',
    url: '/trash/restore',
    idempotent: true,
    operationId: 'restoreItems',
    response: r.batch,
    auth: 'user',
    tag: 'trash',
    summary:
      'Restore items (original folder, a target folder, or recreate the missing path); over more than JOB_THRESHOLD items, or with Prefer: respond-async, as a job (202)',
    otherResponses: { 202: r.jobAccepted },
    body: s.restoreBody,
    handler: async (ctx, { actor, body, request, reply }) => {
      const options = { targetFolderId: body.targetFolderId, onMissingParent: body.onMissingParent }
      const job = await ctx.jobs.enqueueIfLarge(actor, 'restore', body.ids, options, asksAsync(request))
      if (job) return accepted(reply, job)
      return batchJson(await ctx.trash.restore(actor, body.ids, options))
    },
  }),
  route({
    method: 'POST',
    url: '/trash/restore/preview',
    operationId: 'previewRestore',
    response: r.restorePreview,
    auth: 'user',
    tag: 'trash',
    summary:
      'What restoring items would do per id (outcome, target folder, renamed to, folders made again, items), changing nothing',
    body: s.restoreBody,
    handler: async (ctx, { actor, body }) => {
      const results = await ctx.trash.previewRestore(actor, body.ids, {
        targetFolderId: body.targetFolderId,
        onMissingParent: body.onMissingParent,
      })
      const { successCount, warningCount, errorCount } = summarize(results)
      return { preview: true as const, successCount, warningCount, errorCount, results }
    },
  }),
  route({
    method: 'POST',
    url: '/trash/:id/restore',
    idempotent: true,
    operationId: 'restoreItem',
    response: r.itemResult,
    auth: 'user',
    tag: 'trash',
    summary: 'Restore one item',
    params: s.idParams,
    body: s.restoreOneBody.optional(),
    handler: async (ctx, { actor, params, body, reply }) =>
      sendSingle(
        reply,
        await ctx.trash.restore(actor, [params.id], {
          targetFolderId: body?.targetFolderId,
          onMissingParent: body?.onMissingParent,
        }),
      ),
  }),
  route({
    method: 'POST',
    url: '/trash/purge',
    idempotent: true,
    operationId: 'purgeItems',
    response: r.batch,
    auth: 'user',
    tag: 'trash',
    summary:
      'Delete items permanently (rows and stored files); over more than JOB_THRESHOLD items, or with Prefer: respond-async, as a job (202)',
    otherResponses: { 202: r.jobAccepted },
    body: s.idsBody,
    handler: async (ctx, { actor, body, request, reply }) => {
      const job = await ctx.jobs.enqueueIfLarge(actor, 'purge', body.ids, {}, asksAsync(request))
      if (job) return accepted(reply, job)
      return batchJson(await ctx.trash.purge(actor, body.ids))
    },
  }),
  route({
    method: 'DELETE',
    url: '/trash/:id',
    idempotent: true,
    operationId: 'purgeItem',
    response: r.itemResult,
    auth: 'user',
    tag: 'trash',
    summary: 'Delete one item permanently',
    params: s.idParams,
    handler: async (ctx, { actor, params, reply }) =>
      sendSingle(reply, await ctx.trash.purge(actor, [params.id])),
  }),
  route({
    method: 'POST',
    url: '/trash/empty',
    idempotent: true,
    operationId: 'emptyItems',
    response: r.batch,
    auth: 'user',
    tag: 'trash',
    summary:
      'Empty items from the trash: no longer restorable, removed by the next cleanup run; over more than JOB_THRESHOLD items, or with Prefer: respond-async, as a job (202)',
    otherResponses: { 202: r.jobAccepted },
    body: s.idsBody,
    handler: async (ctx, { actor, body, request, reply }) => {
      const job = await ctx.jobs.enqueueIfLarge(actor, 'empty', body.ids, {}, asksAsync(request))
      if (job) return accepted(reply, job)
      return batchJson(await ctx.trash.empty(actor, body.ids))
    },
  }),
  route({
    method: 'POST',
    url: '/bin/empty',
    idempotent: true,
    operationId: 'emptyOwnBin',
    response: r.binEmptied,
    auth: 'user',
    tag: 'trash',
    summary: "Permanently delete everything in the user's own bin",
    handler: async (ctx, { actor }) => {
      const outcome = await ctx.trash.emptyOwnBin(actor)
      return { purged: outcome.purged, errorCount: outcome.failed.length, failed: outcome.failed }
    },
  }),
]
