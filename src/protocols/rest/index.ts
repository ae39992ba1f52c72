import { timingSafeEqual } from 'node:crypto'
import type { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import type { Config } from '../../config.js'
import type { AppContext } from '../../context.js'
import type { CleanupRun } from '../../core/cleanup-job.js'
import { type DryRunUnit, describeDueUnit, nothingDue } from '../../core/cleanup-job.js'
import { nextTick } from '../../core/cleanup-schedule.js'
import { CoreError, ErrorCodes } from '../../core/errors.js'
import type { OperationRow } from '../../core/operation-service.js'
import * as policy from '../../core/policy.js'
import { summarize, type UndoOutcome } from '../../core/trash-service.js'
import type { Actor, BatchResult, TrashFilter } from '../../core/types.js'
import { problem, STATUS_OF, sendProblem } from '../../http/problem.js'
import { contextFor } from '../../http/request-context.js'
import { allHandles, handles } from '../handles.js'
import { endEventStreams, streamEvents } from './events.js'
import * as s from './schemas.js'
import { batchJson, itemJson, trashEntryJson } from './serialize.js'

type Auth = 'admin' | 'user' | 'none'

interface RouteContext<P, Q, B> {
  params: P
  query: Q
  body: B
  actor: Actor
  request: FastifyRequest
  reply: FastifyReply
}

interface Route<P = unknown, Q = unknown, B = unknown> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  url: string
  auth: Auth
  summary: string
  tag: 'admin' | 'trash' | 'session'
  params?: z.ZodType<P>
  query?: z.ZodType<Q>
  body?: z.ZodType<B>
  status?: number
  /** the body is the request's bytes as a stream (a file upload), whatever its Content-Type */
  raw?: true
  handler: (ctx: AppContext, route: RouteContext<P, Q, B>) => Promise<unknown>
}

// Each route keeps its own schema types; the table only needs the common shape.
// biome-ignore lint/suspicious/noExplicitAny: heterogeneous route table
const route = <P, Q, B>(definition: Route<P, Q, B>): Route<any, any, any> => definition

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

/**
 * The body of a raw upload. A Content-Length over UPLOAD_MAX_BYTES is refused before a byte is stored; a body
 * without one (chunked) is held to the limit as it streams.
 */
function uploadStream(ctx: AppContext, request: FastifyRequest): Readable {
  const declared = Number(request.headers['content-length'] ?? 0)
  if (declared > ctx.config.UPLOAD_MAX_BYTES) throw new CoreError(ErrorCodes.TOO_LARGE)
  return request.body as Readable
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

export const routes: Route[] = [
  // ---- admin (Authorization: Bearer ADMIN_TOKEN)
  route({
    method: 'POST',
    url: '/tenants',
    auth: 'admin',
    tag: 'admin',
    summary: 'Create a tenant (an IPS company)',
    body: s.createTenantBody,
    status: 201,
    handler: async (ctx, { body }) => {
      const id = await ctx.admin.createTenant(body.name, body.retentionDays)
      return { id, handle: handles.ipsCompany(id) }
    },
  }),
  route({
    method: 'GET',
    url: '/tenants',
    auth: 'admin',
    tag: 'admin',
    summary: 'List tenants',
    handler: async (ctx) => ({ tenants: await ctx.admin.listTenants() }),
  }),
  route({
    method: 'PATCH',
    url: '/tenants/:tenantId',
    auth: 'admin',
    tag: 'admin',
    summary: "Change a tenant's trash retention (days, 0 = never expire)",
    params: s.tenantParams,
    body: s.updateTenantBody,
    handler: async (ctx, { params, body }) => {
      await ctx.admin.setTenantRetention(params.tenantId, body.retentionDays)
      return ctx.admin.requireTenant(params.tenantId)
    },
  }),
  route({
    method: 'POST',
    url: '/tenants/:tenantId/users',
    auth: 'admin',
    tag: 'admin',
    summary: 'Create a user',
    params: s.tenantParams,
    body: s.createUserBody,
    status: 201,
    handler: async (ctx, { params, body }) => ({ id: await ctx.admin.createUser(params.tenantId, body) }),
  }),
  route({
    method: 'GET',
    url: '/tenants/:tenantId/users',
    auth: 'admin',
    tag: 'admin',
    summary: 'List users',
    params: s.tenantParams,
    handler: async (ctx, { params }) => ({ users: await ctx.admin.listUsers(params.tenantId) }),
  }),
  route({
    method: 'PUT',
    url: '/tenants/:tenantId/users/:userId/password',
    auth: 'admin',
    tag: 'admin',
    summary: "Set a user's password (at least 12 characters); every session of the user ends",
    params: s.tenantUserParams,
    body: s.passwordBody,
    handler: async (ctx, { params, body }) => {
      await ctx.admin.setPassword(params.tenantId, params.userId, body.password)
      ctx.auth.forgetVerifiedPasswords()
      return { ok: true }
    },
  }),
  route({
    method: 'PATCH',
    url: '/tenants/:tenantId/users/:userId',
    auth: 'admin',
    tag: 'admin',
    summary: 'Disable a user (no sign-in, every session ends) or enable it again',
    params: s.tenantUserParams,
    body: s.updateUserBody,
    handler: async (ctx, { params, body }) => {
      await ctx.admin.setDisabled(params.tenantId, params.userId, body.disabled)
      return { ok: true, disabled: body.disabled }
    },
  }),
  route({
    method: 'DELETE',
    url: '/tenants/:tenantId/users/:userId/sessions',
    auth: 'admin',
    tag: 'admin',
    summary: 'End every session of a user, at every door',
    params: s.tenantUserParams,
    handler: async (ctx, { params }) => ({
      ended: await ctx.admin.endSessions(params.tenantId, params.userId),
    }),
  }),
  route({
    method: 'POST',
    url: '/tenants/:tenantId/brands',
    auth: 'admin',
    tag: 'admin',
    summary: 'Create a brand (Enterprise publication)',
    params: s.tenantParams,
    body: s.createBrandBody,
    status: 201,
    handler: async (ctx, { params, body }) => ({
      id: await ctx.admin.createBrand(params.tenantId, body.name, body.autoPurgeDays ?? null),
    }),
  }),
  route({
    method: 'GET',
    url: '/tenants/:tenantId/brands',
    auth: 'admin',
    tag: 'admin',
    summary: 'List brands',
    params: s.tenantParams,
    handler: async (ctx, { params }) => ({ brands: await ctx.admin.listBrands(params.tenantId) }),
  }),
  route({
    method: 'PATCH',
    url: '/tenants/:tenantId/brands/:brandId',
    auth: 'admin',
    tag: 'admin',
    summary: "Change a brand's auto purge days (null: tenant retention, 0: never) or legal hold",
    params: s.tenantBrandParams,
    body: s.updateBrandBody,
    handler: async (ctx, { params, body }) => {
      await ctx.admin.updateBrand(params.tenantId, params.brandId, body)
      return { ok: true }
    },
  }),
  route({
    method: 'DELETE',
    url: '/tenants/:tenantId/brands/:brandId',
    auth: 'admin',
    tag: 'admin',
    summary:
      'Delete a brand (with its issues and categories) that no item, trashed ones included, belongs to',
    params: s.tenantBrandParams,
    handler: async (ctx, { params }) => {
      await ctx.admin.deleteBrand(params.tenantId, params.brandId)
      return { ok: true }
    },
  }),
  route({
    method: 'POST',
    url: '/tenants/:tenantId/brands/:brandId/issues',
    auth: 'admin',
    tag: 'admin',
    summary: 'Create an issue in a brand',
    params: s.tenantBrandParams,
    body: s.namedBody,
    status: 201,
    handler: async (ctx, { params, body }) => ({
      id: await ctx.admin.createIssue(params.tenantId, params.brandId, body.name),
    }),
  }),
  route({
    method: 'POST',
    url: '/tenants/:tenantId/brands/:brandId/categories',
    auth: 'admin',
    tag: 'admin',
    summary: 'Create a category in a brand',
    params: s.tenantBrandParams,
    body: s.namedBody,
    status: 201,
    handler: async (ctx, { params, body }) => ({
      id: await ctx.admin.createCategory(params.tenantId, params.brandId, body.name),
    }),
  }),
  route({
    method: 'DELETE',
    url: '/tenants/:tenantId/issues/:id',
    auth: 'admin',
    tag: 'admin',
    summary: 'Delete an issue that no item (trashed ones included) references',
    params: s.tenantItemParams,
    handler: async (ctx, { params }) => {
      await ctx.admin.deleteIssueOrCategory('issues', params.tenantId, params.id)
      return { ok: true }
    },
  }),
  route({
    method: 'DELETE',
    url: '/tenants/:tenantId/categories/:id',
    auth: 'admin',
    tag: 'admin',
    summary: 'Delete a category that no item (trashed ones included) references',
    params: s.tenantItemParams,
    handler: async (ctx, { params }) => {
      await ctx.admin.deleteIssueOrCategory('categories', params.tenantId, params.id)
      return { ok: true }
    },
  }),
  route({
    method: 'PUT',
    url: '/tenants/:tenantId/brands/:brandId/access/:userId',
    auth: 'admin',
    tag: 'admin',
    summary: "Set a user's rights on a brand (view, delete, purge)",
    params: s.accessParams,
    body: s.accessBody,
    handler: async (ctx, { params, body }) => {
      await ctx.admin.setAccess(params.tenantId, params.brandId, params.userId, body)
      return { ok: true }
    },
  }),
  route({
    method: 'POST',
    url: '/tenants/:tenantId/items',
    auth: 'admin',
    tag: 'admin',
    summary: 'Create a folder or a file (content base64)',
    params: s.tenantParams,
    body: s.createItemBody,
    status: 201,
    handler: async (ctx, { params, body }) => {
      const { content, ...rest } = body
      const { item, path } = await ctx.admin.createItem(params.tenantId, {
        ...rest,
        content: content === undefined ? undefined : Buffer.from(content, 'base64'),
      })
      return { id: item.id, path, handles: allHandles(item.id, item.kind) }
    },
  }),
  route({
    method: 'POST',
    url: '/tenants/:tenantId/items/upload',
    auth: 'admin',
    tag: 'admin',
    summary:
      'Create a file from the raw request body (streamed to storage, up to UPLOAD_MAX_BYTES); its Content-Type is the file type',
    params: s.tenantParams,
    query: s.uploadItemQuery,
    raw: true,
    status: 201,
    handler: async (ctx, { params, query, request }) => {
      const { item, path } = await ctx.admin.createItem(params.tenantId, {
        kind: 'file',
        ...query,
        content: uploadStream(ctx, request),
        contentType: request.headers['content-type']?.slice(0, 200) ?? null,
      })
      return { id: item.id, path, size: item.size, handles: allHandles(item.id, item.kind) }
    },
  }),
  route({
    method: 'GET',
    url: '/tenants/:tenantId/items/:id',
    auth: 'admin',
    tag: 'admin',
    summary: 'An item in any state, with deletedAt/deletedBy',
    params: s.tenantItemParams,
    handler: async (ctx, { params }) => {
      const { item, path } = await ctx.admin.getItem(params.tenantId, params.id)
      return itemJson(item, path)
    },
  }),
  route({
    method: 'PUT',
    url: '/tenants/:tenantId/items/:id/legal-hold',
    auth: 'admin',
    tag: 'admin',
    summary: 'Put an item under legal hold (no purge path removes it) or release it',
    params: s.tenantItemParams,
    body: s.legalHoldBody,
    handler: async (ctx, { params, body }) => {
      await ctx.admin.setItemLegalHold(params.tenantId, params.id, body.hold)
      return { ok: true }
    },
  }),
  route({
    method: 'POST',
    url: '/tenants/:tenantId/items/:id/versions',
    auth: 'admin',
    tag: 'admin',
    summary: 'Add a version to an active file (content base64); it becomes the current one',
    params: s.tenantItemParams,
    body: s.addVersionBody,
    status: 201,
    handler: async (ctx, { params, body }) => {
      const decode = (value: string | undefined) =>
        value === undefined ? undefined : Buffer.from(value, 'base64')
      return ctx.objects.addVersion(params.tenantId, params.id, {
        content: Buffer.from(body.content, 'base64'),
        contentType: body.contentType,
        thumb: decode(body.thumb),
        preview: decode(body.preview),
        comment: body.comment,
        major: body.major,
        createdBy: body.createdBy,
      })
    },
  }),
  route({
    method: 'POST',
    url: '/tenants/:tenantId/items/:id/versions/upload',
    auth: 'admin',
    tag: 'admin',
    summary:
      'Add a version from the raw request body (streamed to storage, up to UPLOAD_MAX_BYTES); its Content-Type is the file type',
    params: s.tenantItemParams,
    query: s.uploadVersionQuery,
    raw: true,
    status: 201,
    handler: async (ctx, { params, query, request }) =>
      ctx.objects.addVersion(params.tenantId, params.id, {
        content: uploadStream(ctx, request),
        contentType: request.headers['content-type']?.slice(0, 200),
        comment: query.comment,
        major: query.major,
        createdBy: query.createdBy,
      }),
  }),
  route({
    method: 'GET',
    url: '/tenants/:tenantId/trash-columns',
    auth: 'admin',
    tag: 'admin',
    summary:
      'The columns an Enterprise Trash Can query shows (Dialog Setup: Query Result Columns for Trash Can)',
    params: s.tenantParams,
    handler: async (ctx, { params }) => {
      await ctx.admin.requireTenant(params.tenantId)
      return { columns: await ctx.objects.trashColumns(params.tenantId) }
    },
  }),
  route({
    method: 'PUT',
    url: '/tenants/:tenantId/trash-columns',
    auth: 'admin',
    tag: 'admin',
    summary: 'Set the Trash Can query columns (null: the standard set, which includes Deleted and Deletor)',
    params: s.tenantParams,
    body: s.trashColumnsBody,
    handler: async (ctx, { params, body }) => {
      if (!(await ctx.objects.setTrashColumns(params.tenantId, body.columns))) {
        throw new CoreError(ErrorCodes.NOT_FOUND, 'Tenant not found')
      }
      return { columns: await ctx.objects.trashColumns(params.tenantId) }
    },
  }),
  route({
    method: 'POST',
    url: '/tenants/:tenantId/items/move',
    auth: 'admin',
    tag: 'admin',
    summary: 'Move items (trashed ones too) to another issue or category',
    params: s.tenantParams,
    body: s.moveItemsBody,
    handler: async (ctx, { params, body }) => ({
      moved: await ctx.admin.moveItems(params.tenantId, body.ids, body),
    }),
  }),
  route({
    method: 'GET',
    url: '/tenants/:tenantId/audit',
    auth: 'admin',
    tag: 'admin',
    summary: 'Audit rows after a cursor (id), oldest first',
    params: s.tenantParams,
    query: s.auditQuery,
    handler: async (ctx, { params, query }) => {
      const rows = await ctx.admin.listAudit(params.tenantId, query.after, query.limit, {
        actions: query.action ? [query.action] : undefined,
        itemId: query.itemId,
      })
      return { audit: rows, next: rows.length > 0 ? rows[rows.length - 1]!.id : query.after }
    },
  }),

  route({
    method: 'GET',
    url: '/cleanup/runs',
    auth: 'admin',
    tag: 'admin',
    summary: 'Cleanup job runs, newest first (trigger, started, finished, purged, failed, status)',
    query: s.cleanupRunsQuery,
    handler: async (ctx, { query }) => {
      const runs = await ctx.cleanup.runs(query.limit, query.before)
      return {
        runs: runs.map(cleanupRunJson),
        next: runs.length === query.limit ? runs[runs.length - 1]!.id : null,
      }
    },
  }),
  route({
    method: 'POST',
    url: '/cleanup/run',
    auth: 'admin',
    tag: 'admin',
    summary:
      'Run the cleanup job now (202 when started; wait=true: 200 when finished); dryRun=true reports what it would purge',
    body: s.cleanupRunBody.optional(),
    handler: async (ctx, { body, reply }) => {
      const options = s.cleanupRunBody.parse(body ?? {})
      if (options.dryRun) {
        const units: unknown[] = []
        const tenants = await ctx.cleanup.preview({ tenantId: options.tenantId }, (unit) => {
          if (units.length < DRY_RUN_LISTED_UNITS) units.push(dryRunUnitJson(unit))
        })
        return { dryRun: true, tenants, units, unitsListed: units.length }
      }
      let started: (run: CleanupRun) => void = () => {}
      const startedRun = new Promise<CleanupRun>((resolve) => {
        started = resolve
      })
      const finished = ctx.cleanup.run({ trigger: 'api', tenantId: options.tenantId, onStarted: started })
      if (options.wait) {
        const report = await finished
        return { run: cleanupRunJson(report!.run), errors: report!.errors }
      }
      finished.catch((error) => ctx.logger.error({ err: error }, 'cleanup run failed'))
      const run = await Promise.race([startedRun, finished.then((report) => report!.run)])
      return reply.code(202).send({ run: cleanupRunJson(run) })
    },
  }),

  // ---- sessions
  route({
    method: 'POST',
    url: '/sessions',
    auth: 'none',
    tag: 'session',
    summary: 'Sign in with a login and password; answers a bearer token for the user endpoints',
    body: s.loginBody,
    status: 201,
    handler: async (ctx, { body, reply }) => {
      const signedIn = await ctx.auth.signIn(body.login, body.password, 'rest')
      if (!signedIn.ok) {
        if (signedIn.reason === 'locked') return tooManyFailures(reply, signedIn.retryAfter)
        throw new CoreError(ErrorCodes.AUTHENTICATION_FAILED)
      }
      const session = await ctx.auth.openSession(signedIn.actor, 'token')
      return { token: session.ticket, expiresAt: session.expiresAt, user: me(signedIn.actor) }
    },
  }),
  route({
    method: 'DELETE',
    url: '/sessions',
    auth: 'user',
    tag: 'session',
    summary: 'Sign out (ends the bearer token session)',
    handler: async (ctx, { request }) => {
      const token = bearer(request)
      if (token) await ctx.auth.closeSession(token, 'rest')
      return { ok: true }
    },
  }),
  route({
    method: 'GET',
    url: '/me',
    auth: 'user',
    tag: 'session',
    summary: 'The signed-in user',
    handler: async (_ctx, { actor }) => me(actor),
  }),

  // ---- trash (HTTP Basic login:password, or Bearer session token)
  route({
    method: 'GET',
    url: '/trash',
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
    auth: 'user',
    tag: 'trash',
    summary: 'Move items to the trash (a folder takes its subtree along)',
    body: s.idsBody,
    handler: async (ctx, { actor, body }) => batchJson(await ctx.trash.trash(actor, body.ids)),
  }),
  route({
    method: 'POST',
    url: '/items/:id/trash',
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
    auth: 'user',
    tag: 'trash',
    summary: 'Restore items (original folder, a target folder, or recreate the missing path)',
    body: s.restoreBody,
    handler: async (ctx, { actor, body }) =>
      batchJson(
        await ctx.trash.restore(actor, body.ids, {
          targetFolderId: body.targetFolderId,
          onMissingParent: body.onMissingParent,
        }),
      ),
  }),
  route({
    method: 'POST',
    url: '/trash/:id/restore',
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
    auth: 'user',
    tag: 'trash',
    summary: 'Delete items permanently (rows and stored files)',
    body: s.idsBody,
    handler: async (ctx, { actor, body }) => batchJson(await ctx.trash.purge(actor, body.ids)),
  }),
  route({
    method: 'DELETE',
    url: '/trash/:id',
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
    auth: 'user',
    tag: 'trash',
    summary: 'Empty items from the trash: no longer restorable, removed by the next cleanup run',
    body: s.idsBody,
    handler: async (ctx, { actor, body }) => batchJson(await ctx.trash.empty(actor, body.ids)),
  }),
  route({
    method: 'POST',
    url: '/bin/empty',
    auth: 'user',
    tag: 'trash',
    summary: "Permanently delete everything in the user's own bin",
    handler: async (ctx, { actor }) => {
      const outcome = await ctx.trash.emptyOwnBin(actor)
      return { purged: outcome.purged, errorCount: outcome.failed.length, failed: outcome.failed }
    },
  }),
  route({
    method: 'GET',
    url: '/operations',
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
    auth: 'user',
    tag: 'trash',
    summary:
      'Undo a trash operation: every unit it trashed that is still in the trash is restored (restore rules: rights on every member, folders made again, taken names renamed), as one operation of its own',
    params: s.operationParams,
    handler: async (ctx, { actor, params }) =>
      undoJson(params.id, await ctx.operations.undo(actor, params.id)),
  }),
  route({
    method: 'GET',
    url: '/events',
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
  route({
    method: 'GET',
    url: '/items/:id',
    auth: 'user',
    tag: 'trash',
    summary: 'One item the user may see, in any state',
    params: s.idParams,
    handler: async (ctx, { actor, params }) => {
      const item = await ctx.trash.get(actor, params.id)
      if (!item) throw new CoreError(ErrorCodes.NOT_FOUND)
      const { path } = await ctx.admin.getItem(actor.tenantId, item.id)
      return itemJson(item, path)
    },
  }),
]

const DRY_RUN_LISTED_UNITS = 1000
/** the web page's plan lists this many units; the summary counts all of them */
const PLAN_LISTED_UNITS = 100

function cleanupRunJson(run: CleanupRun) {
  return { ...run }
}

function dryRunUnitJson(unit: DryRunUnit) {
  return {
    tenantId: unit.tenantId,
    id: unit.id,
    kind: unit.kind,
    name: unit.name,
    path: unit.path,
    reason: unit.held ? 'legal_hold' : unit.reason,
    wouldPurge: !unit.held,
    items: unit.rows,
    bytes: unit.bytes,
    deletedAt: unit.deletedAt,
    emptiedAt: unit.emptiedAt,
    retentionDays: unit.retentionDays,
    retentionFrom: unit.retentionSource,
    purgeError: unit.purgeError,
    explanation: describeDueUnit(unit),
  }
}

function operationJson(op: OperationRow) {
  return {
    id: op.id,
    actor: op.actorId === null ? null : { id: op.actorId, login: op.actorLogin },
    door: op.door,
    action: op.action,
    client: op.client,
    remoteAddress: op.remoteAddress,
    startedAt: op.startedAt,
    finishedAt: op.finishedAt,
    requested: op.requested,
    outcomes: { ok: op.okCount, warning: op.warningCount, error: op.errorCount },
    items: op.items,
    undoOf: op.undoOf,
  }
}

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

function undoJson(undoOf: string | null, outcome: UndoOutcome) {
  const batch = batchJson(summarize(outcome.results))
  return {
    ...(outcome.operationId ? { operation: outcome.operationId } : { preview: true }),
    undoOf,
    ...batch,
    skippedCount: outcome.skipped.length,
    skipped: outcome.skipped,
  }
}

function me(actor: Actor) {
  return {
    id: actor.userId,
    tenantId: actor.tenantId,
    login: actor.login,
    displayName: actor.displayName,
    admin: actor.admin,
  }
}

function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization
  return header?.startsWith('Bearer ') ? header.slice(7).trim() : null
}

function basic(request: FastifyRequest): { login: string; password: string } | null {
  const header = request.headers.authorization
  if (!header?.startsWith('Basic ')) return null
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon < 0 ? null : { login: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

function sameSecret(given: string, expected: string) {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * Signs of a browser: fetch metadata, an Origin, a page navigation, or the page's bearer token. A browser is
 * never challenged for Basic credentials: it would remember them and send them with every later request,
 * cross-site form posts included.
 */
function fromBrowser(request: FastifyRequest) {
  const { headers } = request
  return (
    headers['sec-fetch-mode'] !== undefined ||
    headers.origin !== undefined ||
    (headers.accept ?? '').includes('text/html') ||
    bearer(request) !== null
  )
}

const unauthorized = (request: FastifyRequest, reply: FastifyReply, detail: string) =>
  sendProblem(
    reply.header('www-authenticate', fromBrowser(request) ? 'Bearer realm="trashd"' : 'Basic realm="trashd"'),
    problem(401, detail),
  )

const tooManyFailures = (reply: FastifyReply, retryAfter = 1) =>
  sendProblem(
    reply.header('retry-after', String(retryAfter)),
    problem(429, `Too many failed sign-ins: try again in ${retryAfter} s`),
  )

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/**
 * Cross-site request forgery: a state-changing request must come from this origin (when the browser names
 * one) and carry what a plain HTML form cannot send: a JSON body, an X-Requested-With header, or a bearer
 * token (which browsers never add on their own).
 */
function forgeryRefusal(request: FastifyRequest, config: Config): string | null {
  if (!STATE_CHANGING.has(request.method)) return null
  const origin = request.headers.origin
  if (origin !== undefined) {
    let host: string | null = null
    try {
      host = new URL(origin).host
    } catch {
      // "null" (sandboxed or privacy-sensitive contexts) and garbage are not this origin
    }
    // this origin: the Host the request names (behind a trusted proxy, the host it forwards) or PUBLIC_URL's
    const own = [request.host, config.PUBLIC_URL ? new URL(config.PUBLIC_URL).host : null]
    if (host === null || !own.some((candidate) => candidate?.toLowerCase() === host.toLowerCase())) {
      return `Cross-site request refused (Origin ${origin})`
    }
  }
  if (request.headers['sec-fetch-site'] === 'cross-site') return 'Cross-site request refused'
  const type = request.headers['content-type'] ?? ''
  if (/^application\/([\w.-]+\+)?json\s*(;|$)/i.test(type)) return null
  if (request.headers['x-requested-with'] !== undefined || bearer(request) !== null) return null
  return 'A state-changing request needs a JSON body (Content-Type: application/json) or an X-Requested-With header'
}

export async function restDoor(app: FastifyInstance, { ctx: appCtx }: { ctx: AppContext }) {
  // event streams never finish on their own: end them so that closing the server does not wait for them
  app.addHook('preClose', async () => endEventStreams(appCtx))
  await app.register(
    async (api) => {
      const register = (scope: FastifyInstance, definition: Route) =>
        scope.route({
          method: definition.method,
          url: definition.url,
          handler: async (request, reply) => {
            const forged = forgeryRefusal(request, appCtx.config)
            if (forged) return sendProblem(reply, problem(403, forged))
            const ctx = contextFor(appCtx, request)
            let actor: Actor | null = null
            if (definition.auth === 'admin') {
              const token = bearer(request)
              if (!token || !sameSecret(token, ctx.adminToken)) {
                return sendProblem(
                  reply,
                  problem(401, 'Admin endpoints need Authorization: Bearer <ADMIN_TOKEN>'),
                )
              }
            } else if (definition.auth === 'user') {
              const credentials = basic(request)
              const token = bearer(request)
              const checked = credentials
                ? await ctx.auth.signIn(credentials.login, credentials.password, 'rest')
                : token
                  ? await ctx.auth.checkTicket(token, 'rest')
                  : null
              if (checked?.ok) actor = checked.actor
              else if (checked?.reason === 'locked') return tooManyFailures(reply, checked.retryAfter)
              else
                return unauthorized(
                  request,
                  reply,
                  'Valid HTTP Basic credentials or a session token are required',
                )
            }
            const params = definition.params ? definition.params.parse(request.params) : {}
            const query = definition.query ? definition.query.parse(request.query) : {}
            if (definition.body && Buffer.isBuffer(request.body)) {
              return sendProblem(reply, problem(415, 'Send the body as application/json'))
            }
            const body = definition.body ? definition.body.parse(request.body ?? undefined) : undefined
            const result = await definition.handler(ctx, {
              params,
              query,
              body,
              actor: actor as Actor,
              request,
              reply,
            })
            if (reply.sent || result === reply) return reply
            return reply.code(definition.status ?? 200).send(result)
          },
        })
      for (const definition of routes) if (!definition.raw) register(api, definition)
      // uploads get the body as the request stream (never buffered), whatever its type
      await api.register(async (uploads) => {
        uploads.removeAllContentTypeParsers()
        uploads.addContentTypeParser('*', (_request, payload, done) => done(null, payload))
        for (const definition of routes) if (definition.raw) register(uploads, definition)
      })
      api.get('/openapi.json', async () => openApiDocument())
    },
    { prefix: '/api/v1' },
  )
}

/** The OpenAPI 3.1 description, generated from the same route table and schemas that validate requests. */
export function openApiDocument() {
  const paths: Record<string, Record<string, unknown>> = {}
  const jsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' })
  for (const definition of routes) {
    const path = `/api/v1${definition.url.replace(/:(\w+)/g, '{$1}')}`
    const parameters: unknown[] = []
    for (const [where, schema] of [
      ['path', definition.params],
      ['query', definition.query],
    ] as const) {
      if (!schema) continue
      const properties = jsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] }
      for (const [name, property] of Object.entries(properties.properties ?? {})) {
        parameters.push({
          name,
          in: where,
          required: where === 'path' || properties.required?.includes(name),
          schema: property,
        })
      }
    }
    paths[path] ??= {}
    paths[path]![definition.method.toLowerCase()] = {
      summary: definition.summary,
      tags: [definition.tag],
      security:
        definition.auth === 'admin'
          ? [{ adminToken: [] }]
          : definition.auth === 'user'
            ? [{ basic: [] }, { session: [] }]
            : [],
      parameters,
      ...(definition.raw
        ? {
            requestBody: {
              required: true,
              content: { '*/*': { schema: { type: 'string', format: 'binary' } } },
            },
          }
        : {}),
      ...(definition.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: jsonSchema(definition.body) } },
            },
          }
        : {}),
      responses: {
        [String(definition.status ?? 200)]: { description: 'Success' },
        default: { description: 'Problem', content: { 'application/problem+json': {} } },
      },
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: 'trashd REST API', version: '1' },
    components: {
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' },
        basic: { type: 'http', scheme: 'basic' },
        session: { type: 'http', scheme: 'bearer', description: 'token from POST /api/v1/sessions' },
      },
    },
    paths,
  }
}
