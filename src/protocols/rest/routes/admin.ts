import { handles } from '../../kit/handles.js'
import { route, type Route } from '../route.js'
import * as r from '../responses.js'
import * as s from '../schemas.js'

/** Administration (Authorization: Bearer ADMIN_TOKEN): tenants, users and their sessions, brands with their issues and categories, brand rights. */
export const adminRoutes: Route[] = [
  route({
    method: 'POST',
    url: '/tenants',
    operationId: 'createTenant',
    response: r.tenantCreated,
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
    operationId: 'listTenants',
    response: r.tenantList,
    auth: 'admin',
    tag: 'admin',
    summary: 'List tenants',
    handler: async (ctx) => ({ tenants: await ctx.admin.listTenants() }),
  }),
  route({
    method: 'PATCH',
    url: '/tenants/:tenantId',
    operationId: 'updateTenant',
    response: r.tenant,
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
    operationId: 'createUser',
    response: r.created,
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
    operationId: 'listUsers',
    response: r.userList,
    auth: 'admin',
    tag: 'admin',
    summary: 'List users',
    params: s.tenantParams,
    handler: async (ctx, { params }) => ({ users: await ctx.admin.listUsers(params.tenantId) }),
  }),
  route({
    method: 'PUT',
    url: '/tenants/:tenantId/users/:userId/password',
    operationId: 'setUserPassword',
    response: r.ok,
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
    operationId: 'updateUser',
    response: r.userDisabled,
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
    operationId: 'endUserSessions',
    response: r.sessionsEnded,
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
    operationId: 'createBrand',
    response: r.created,
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
    operationId: 'listBrands',
    response: r.brandList,
    auth: 'admin',
    tag: 'admin',
    summary: 'List brands',
    params: s.tenantParams,
    handler: async (ctx, { params }) => ({ brands: await ctx.admin.listBrands(params.tenantId) }),
  }),
  route({
    method: 'PATCH',
    url: '/tenants/:tenantId/brands/:brandId',
    operationId: 'updateBrand',
    response: r.ok,
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
    operationId: 'deleteBrand',
    response: r.ok,
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
    operationId: 'createIssue',
    response: r.created,
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
    operationId: 'createCategory',
    response: r.created,
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
    operationId: 'deleteIssue',
    response: r.ok,
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
    operationId: 'deleteCategory',
    response: r.ok,
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
    operationId: 'setBrandAccess',
    response: r.ok,
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
]
