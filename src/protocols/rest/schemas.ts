import { z } from 'zod'
import { MAX_BATCH_IDS } from '../../core/types.js'

// ids arrive as JSON numbers or as decimal digits (paths, queries); never as '0x1', '1e3' or ' 1'
const id = z
  .union([z.number(), z.string().regex(/^\d{1,16}$/, 'must be a decimal id')])
  .pipe(z.coerce.number<string | number>().int().positive().max(Number.MAX_SAFE_INTEGER))
const name = z
  .string()
  .min(1)
  .max(255)
  .refine(
    (value) => !/[/\\\u0000-\u001f]/.test(value) && value.trim() === value && value !== '.' && value !== '..',
    {
      message: 'must not contain slashes, backslashes or control characters, nor be . or ..',
    },
  )
const ids = z.array(id).min(1).max(MAX_BATCH_IDS)

export const tenantParams = z.object({ tenantId: id }).strict()
export const tenantItemParams = z.object({ tenantId: id, id }).strict()
export const tenantBrandParams = z.object({ tenantId: id, brandId: id }).strict()
export const tenantUserParams = z.object({ tenantId: id, userId: id }).strict()
export const accessParams = z.object({ tenantId: id, brandId: id, userId: id }).strict()
export const idParams = z.object({ id }).strict()

export const createTenantBody = z
  .object({ name: z.string().min(1).max(200), retentionDays: z.number().int().min(0).max(36_500).optional() })
  .strict()
export const updateTenantBody = z.object({ retentionDays: z.number().int().min(0).max(36_500) }).strict()

export const createUserBody = z
  .object({
    login: z.string().min(1).max(200),
    password: z.string().min(1).max(1000),
    displayName: z.string().max(200).optional(),
    email: z.string().max(320).optional(),
    admin: z.boolean().optional(),
    ipsRole: z.string().max(100).optional(),
  })
  .strict()
export const passwordBody = z.object({ password: z.string().min(1).max(1000) }).strict()
export const updateUserBody = z.object({ disabled: z.boolean() }).strict()

export const createBrandBody = z
  .object({
    name: z.string().min(1).max(200),
    autoPurgeDays: z.number().int().min(0).max(36_500).nullable().optional(),
  })
  .strict()
export const updateBrandBody = z
  .object({
    autoPurgeDays: z.number().int().min(0).max(36_500).nullable().optional(),
    legalHold: z.boolean().optional(),
  })
  .strict()
export const namedBody = z.object({ name: z.string().min(1).max(200) }).strict()
export const accessBody = z
  .object({
    // a right left out is not granted: purge, above all, is never on by default
    view: z.boolean().default(false),
    delete: z.boolean().default(false),
    purge: z.boolean().default(false),
    // Enterprise's Read right (files, versions, properties); granted when left out
    read: z.boolean().optional(),
  })
  .strict()

export const createItemBody = z
  .object({
    kind: z.enum(['folder', 'file']),
    name,
    parentId: id.nullable().optional(),
    type: z.string().min(1).max(100).optional(),
    brandId: id.nullable().optional(),
    issueId: id.nullable().optional(),
    categoryId: id.nullable().optional(),
    ownerId: id.nullable().optional(),
    content: z
      .base64()
      .max(8 * 1024 * 1024)
      .optional(),
    contentType: z.string().max(200).optional(),
  })
  .strict()
export const addVersionBody = z
  .object({
    content: z.base64().max(8 * 1024 * 1024),
    contentType: z.string().max(200).optional(),
    // stored renditions (base64); images derive theirs from the file when left out
    thumb: z
      .base64()
      .max(2 * 1024 * 1024)
      .optional(),
    preview: z
      .base64()
      .max(4 * 1024 * 1024)
      .optional(),
    comment: z.string().max(2000).optional(),
    // true: the next major version (1.0, 2.0); else the next minor one (0.2, 1.1)
    major: z.boolean().optional(),
    createdBy: id.nullable().optional(),
  })
  .strict()
// raw uploads: the body is the file, its Content-Type the file's type, the rest in the query string
const flag = z.enum(['true', 'false']).transform((value) => value === 'true')
export const uploadItemQuery = z
  .object({
    name,
    parentId: id.optional(),
    type: z.string().min(1).max(100).optional(),
    brandId: id.optional(),
    issueId: id.optional(),
    categoryId: id.optional(),
    ownerId: id.optional(),
  })
  .strict()
export const uploadVersionQuery = z
  .object({
    comment: z.string().max(2000).optional(),
    major: flag.optional(),
    createdBy: id.optional(),
  })
  .strict()
// Enterprise property names (ID, Name, Deleted, Deletor...); null: back to the standard set
export const trashColumnsBody = z
  .object({
    columns: z
      .array(z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/))
      .max(100)
      .nullable(),
  })
  .strict()
export const legalHoldBody = z.object({ hold: z.boolean() }).strict()
export const moveItemsBody = z
  .object({ ids, issueId: id.nullable().optional(), categoryId: id.nullable().optional() })
  .strict()
export const auditQuery = z
  .object({
    after: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(10_000).default(100),
    action: z.string().max(50).optional(),
    itemId: id.optional(),
  })
  .strict()

export const loginBody = z
  .object({ login: z.string().min(1).max(200), password: z.string().min(1).max(1000) })
  .strict()

export const idsBody = z.object({ ids }).strict()
export const restoreBody = z
  .object({
    ids,
    targetFolderId: id.nullable().optional(),
    onMissingParent: z.enum(['recreate', 'error']).optional(),
  })
  .strict()
export const restoreOneBody = z
  .object({
    targetFolderId: id.nullable().optional(),
    onMissingParent: z.enum(['recreate', 'error']).optional(),
  })
  .strict()

const isoDate = z.iso.datetime({ offset: true }).or(z.iso.date())
export const trashQuery = z
  .object({
    scope: z.enum(['own', 'visible']).default('visible'),
    state: z.enum(['trashed', 'emptied', 'any']).default('trashed'),
    roots: z.enum(['true', 'false']).default('true'),
    name: z.string().max(255).optional(),
    deletedBy: z.string().max(200).optional(),
    type: z.string().max(100).optional(),
    kind: z.enum(['folder', 'file']).optional(),
    brandId: id.optional(),
    from: isoDate.optional(),
    to: isoDate.optional(),
    sort: z
      .enum(['deletedAt', 'name', 'size', 'type', 'deletedBy', 'path', 'brand', 'expiresAt'])
      .default('deletedAt'),
    direction: z.enum(['asc', 'desc']).default('desc'),
    limit: z.coerce.number().int().min(1).max(1000).default(50),
    offset: z.coerce.number().int().min(0).max(10_000_000).optional(),
    cursor: z.string().max(200).optional(),
  })
  .strict()

export const cleanupRunsQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(50),
    before: id.optional(),
  })
  .strict()

export const cleanupRunBody = z
  .object({
    /** report what would be purged, change nothing */
    dryRun: z.boolean().default(false),
    tenantId: id.optional(),
    /** answer when the run finished (200) instead of when it started (202) */
    wait: z.boolean().default(false),
  })
  .strict()

export const eventsQuery = z.object({ after: z.coerce.number().int().min(0).optional() }).strict()

export const trashFiltersQuery = z.object({ scope: z.enum(['own', 'visible']).default('visible') }).strict()
export const tenantCleanupRunsQuery = z
  .object({ limit: z.coerce.number().int().min(1).max(100).default(10) })
  .strict()

const DOORS = ['rest', 'ips', 'asmx', 'enterprise', 'cleanup', 'cli', 'web'] as const
export const operationsQuery = z
  .object({
    /** a user id; only an administrator sees other users' operations */
    actor: id.optional(),
    actorLogin: z.string().min(1).max(255).optional(),
    door: z.enum(DOORS).optional(),
    action: z
      .enum(['trash', 'restore', 'empty', 'purge', 'empty_bin', 'expire', 'cleanup', 'undo'])
      .optional(),
    from: isoDate.optional(),
    to: isoDate.optional(),
    minItems: z.coerce.number().int().min(0).optional(),
    /** the session tag operations carry (`session` in their answers) */
    session: z
      .string()
      .regex(/^[0-9a-f]{12}$/)
      .optional(),
    /** a ticket (srv.asmx, Enterprise, a REST session token): the operations its requests made */
    ticket: z.string().min(1).max(512).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().max(200).optional(),
  })
  .strict()
export const undoFilterBody = z
  .object({
    actor: id.optional(),
    actorLogin: z.string().min(1).max(255).optional(),
    door: z.enum(DOORS).optional(),
    session: z
      .string()
      .regex(/^[0-9a-f]{12}$/)
      .optional(),
    ticket: z.string().min(1).max(512).optional(),
    /** the time window the operations started in: a start is required, so that no filter undoes a whole history */
    from: isoDate,
    to: isoDate.optional(),
  })
  .strict()
export const operationParams = z.object({ id: z.string().max(64) }).strict()
export const undoBody = z
  .object({
    /** undoing an undo trashes again what it restored: only when this is true */
    trashAgain: z.boolean().optional(),
  })
  .strict()
export const jobParams = z.object({ id: z.string().max(64) }).strict()
export const jobResultsQuery = z
  .object({
    after: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict()
export const operationUnitsQuery = z
  .object({
    after: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict()
