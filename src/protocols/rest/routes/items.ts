import type { Readable } from 'node:stream'
import type { FastifyRequest } from 'fastify'
import type { DoorContext } from '../../../context.js'
import { CoreError, ErrorCodes } from '../../../core/errors.js'
import { allHandles } from '../../kit/handles.js'
import { route, type Route } from '../route.js'
import * as r from '../responses.js'
import * as s from '../schemas.js'
import { itemJson } from '../serialize.js'

/**
 * The body of a raw upload. A Content-Length over UPLOAD_MAX_BYTES is refused before a byte is stored; a body
 * without one (chunked) is held to the limit as it streams.
 */
function uploadStream(ctx: DoorContext, request: FastifyRequest): Readable {
  const declared = Number(request.headers['content-length'] ?? 0)
  if (declared > ctx.config.UPLOAD_MAX_BYTES) throw new CoreError(ErrorCodes.TOO_LARGE)
  return request.body as Readable
}

/**
 * A tenant's items as the administrator sees them (any state): create and upload, versions, legal hold, moves
 * between issues and categories, the Enterprise Trash Can columns, the audit log.
 */
export const adminItemRoutes: Route[] = [
  route({
    method: 'POST',
    url: '/tenants/:tenantId/items',
    operationId: 'createItem',
    response: r.itemCreated,
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
    operationId: 'uploadItem',
    response: r.itemUploaded,
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
    operationId: 'getTenantItem',
    response: r.item,
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
    operationId: 'setItemLegalHold',
    response: r.ok,
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
    operationId: 'addVersion',
    response: r.versionAdded,
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
    operationId: 'uploadVersion',
    response: r.versionAdded,
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
    operationId: 'getTrashColumns',
    response: r.trashColumns,
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
    operationId: 'setTrashColumns',
    response: r.trashColumns,
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
    operationId: 'moveItems',
    response: r.itemsMoved,
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
    operationId: 'listAudit',
    response: r.auditPage,
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
]

/** An item as a signed-in user sees it. */
export const itemRoutes: Route[] = [
  route({
    method: 'GET',
    url: '/items/:id',
    operationId: 'getItem',
    response: r.item,
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
