import { z } from 'zod'
import { ErrorCodes } from '../../core/errors.js'

// What the REST door answers. Their input side is the JSON on the wire (timestamps are the ISO strings
// Date.toJSON writes), which the OpenAPI document describes and the router checks answers against when response
// checks are on (the tests): an answer with a field the schema lacks, or without one it requires, fails. Their
// output side is what a handler returns (timestamps as Dates), which the compiler checks each handler against.
// They describe the bytes; they never produce them (the answer stays the handler's object, serialised as it was).

/** on the wire an ISO 8601 string; to a handler (and the type its answer is checked against) a Date */
const timestamp = z.codec(z.iso.datetime(), z.date(), {
  decode: (text) => new Date(text),
  encode: (date) => date.toISOString(),
})
const id = z.int().positive()
const count = z.int().min(0)
const errorCode = z.enum(Object.values(ErrorCodes) as [string, ...string[]])
const kind = z.enum(['folder', 'file'])
const itemState = z.enum(['active', 'trashed', 'emptied', 'purging'])
const door = z.enum(['rest', 'ips', 'asmx', 'enterprise', 'cleanup', 'cli', 'web'])

export const ok = z.strictObject({ ok: z.boolean() })
export const created = z.strictObject({ id })

/** An item's ids at each door: IPS handle, infoRouter path handle, Enterprise object id. */
const handles = z.strictObject({ ips: z.string(), asmx: z.string(), enterprise: z.string() })

// ---- problems (RFC 9457)

/** application/problem+json: the status's title, a detail, the core's code; a single-item refusal adds its result. */
export const problemSchema = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.int().min(400).max(599),
  detail: z.string().optional(),
  code: z.string().optional(),
  errors: z.array(z.strictObject({ path: z.string(), message: z.string() })).optional(),
})

// ---- administration

export const tenant = z.strictObject({ id, name: z.string(), retentionDays: count })
export const tenantCreated = z.strictObject({ id, handle: z.string() })
export const tenantList = z.strictObject({ tenants: z.array(tenant) })
export const userList = z.strictObject({
  users: z.array(
    z.strictObject({
      id,
      login: z.string(),
      displayName: z.string().nullable(),
      email: z.string().nullable(),
      admin: z.boolean(),
      ipsRole: z.string(),
      disabled: z.boolean(),
    }),
  ),
})
export const userDisabled = z.strictObject({ ok: z.boolean(), disabled: z.boolean() })
export const sessionsEnded = z.strictObject({ ended: count })
export const brandList = z.strictObject({
  brands: z.array(
    z.strictObject({ id, name: z.string(), autoPurgeDays: count.nullable(), legalHold: z.boolean() }),
  ),
})

// ---- items

export const item = z.strictObject({
  id,
  kind,
  type: z.string(),
  name: z.string(),
  path: z.string(),
  parentId: id.nullable(),
  brandId: id.nullable(),
  issueId: id.nullable(),
  categoryId: id.nullable(),
  size: count,
  contentType: z.string().nullable(),
  ownerId: id.nullable(),
  createdAt: timestamp,
  modifiedAt: timestamp,
  state: itemState,
  deletedAt: timestamp.nullable(),
  deletedBy: id.nullable(),
  deletedVia: z.string().nullable(),
  trashRoot: id.nullable(),
  originalParentId: id.nullable(),
  originalPath: z.string().nullable(),
  legalHold: z.boolean(),
  purgeError: z.string().nullable(),
  handles,
})
export const itemCreated = z.strictObject({ id, path: z.string(), handles })
export const itemUploaded = z.strictObject({ id, path: z.string(), size: count, handles })
export const versionAdded = z.strictObject({ version: z.string() })
export const trashColumns = z.strictObject({ columns: z.array(z.string()) })
/** the ids that moved (an id of another tenant, or being purged, is left out) */
export const itemsMoved = z.strictObject({ moved: z.array(id) })
export const auditPage = z.strictObject({
  audit: z.array(
    z.strictObject({
      id,
      at: timestamp,
      actorId: id.nullable(),
      actorLogin: z.string().nullable(),
      door: z.string(),
      action: z.string(),
      itemId: id,
      itemKind: z.string().nullable(),
      itemType: z.string().nullable(),
      itemName: z.string().nullable(),
      itemPath: z.string().nullable(),
      unitRoot: id.nullable(),
      detail: z.unknown(),
    }),
  ),
  /** the cursor of the next page (`after`) */
  next: count,
})

// ---- cleanup

const runCounters = {
  purged: count,
  expired: count,
  emptied: count,
  retried: count,
  recovered: count,
  failed: count,
  held: count,
}
const runFields = {
  id,
  trigger: z.enum(['schedule', 'api', 'cli']),
  scheduledFor: timestamp.nullable(),
  startedAt: timestamp,
  heartbeatAt: timestamp,
  finishedAt: timestamp.nullable(),
  status: z.enum(['running', 'succeeded', 'partial', 'failed', 'abandoned']),
  error: z.string().nullable(),
  ...runCounters,
}
export const cleanupRun = z.strictObject({ ...runFields, tenantId: id.nullable(), instance: z.string() })
export const cleanupRunPage = z.strictObject({ runs: z.array(cleanupRun), next: id.nullable() })
export const tenantCleanupRuns = z.strictObject({
  runs: z.array(z.strictObject({ ...runFields, tenantPurged: count })),
})
const dryRunTenant = z.strictObject({
  tenantId: id,
  units: count,
  rows: count,
  bytes: count,
  emptied: count,
  expired: count,
  retry: count,
  held: count,
  unfinished: count,
})
const dryRunUnit = z.strictObject({
  tenantId: id,
  id,
  kind: z.string(),
  name: z.string(),
  path: z.string().nullable(),
  reason: z.enum(['emptied', 'expired', 'retry', 'legal_hold']),
  wouldPurge: z.boolean(),
  items: count,
  bytes: count,
  deletedAt: timestamp.nullable(),
  emptiedAt: timestamp.nullable(),
  retentionDays: count,
  retentionFrom: z.enum(['brand', 'tenant']),
  purgeError: z.string().nullable(),
  explanation: z.string(),
})
const cleanupDryRun = z.strictObject({
  dryRun: z.literal(true),
  tenants: z.array(dryRunTenant),
  units: z.array(dryRunUnit),
  unitsListed: count,
})
const cleanupFinished = z.strictObject({
  run: cleanupRun,
  errors: z.array(
    z.strictObject({
      tenantId: id,
      id,
      code: errorCode,
      message: z.string(),
      name: z.string().optional(),
    }),
  ),
})
/** 200: a dry run's report, or (wait=true) the finished run with the errors of the items it could not purge */
export const cleanupRunDone = z.union([cleanupDryRun, cleanupFinished])
/** 202: the run that started */
export const cleanupRunStarted = z.strictObject({ run: cleanupRun })
export const cleanupPlan = z.strictObject({
  nextRunAt: timestamp.nullable(),
  summary: dryRunTenant,
  units: z.array(dryRunUnit),
})

// ---- sessions

export const me = z.strictObject({
  id,
  tenantId: id,
  login: z.string(),
  displayName: z.string().nullable(),
  admin: z.boolean(),
})
export const session = z.strictObject({ token: z.string(), expiresAt: timestamp, user: me })

// ---- trash

const trashEntry = z.strictObject({
  id,
  kind,
  type: z.string(),
  name: z.string(),
  originalPath: z.string().nullable(),
  /** bytes in the unit (a folder counts its subtree) */
  size: count,
  /** items in the unit */
  items: count,
  state: itemState,
  deletedAt: timestamp.nullable(),
  deletedBy: z.strictObject({ id: id.nullable(), login: z.string().nullable(), name: z.string().nullable() }),
  deletedVia: z.string().nullable(),
  /** when the cleanup job purges it; null: never (retention 0 or legal hold) */
  expiresAt: timestamp.nullable(),
  brand: z.strictObject({ id, name: z.string().nullable() }).nullable(),
  legalHold: z.boolean(),
  purgeError: z.string().nullable(),
  handles,
  mayRestore: z.boolean(),
  mayPurge: z.boolean(),
})
export const trashPage = z.strictObject({
  total: count,
  items: z.array(trashEntry),
  nextCursor: z.string().nullable(),
})
export const trashFilters = z.strictObject({
  brands: z.array(z.strictObject({ id, name: z.string() })),
  deleters: z.array(z.strictObject({ id, login: z.string(), name: z.string().nullable() })),
  types: z.array(z.string()),
})

/** The outcome for one id of a batch. */
export const itemResult = z.strictObject({
  id: z.int(),
  status: z.enum(['ok', 'warning', 'error']),
  code: errorCode.optional(),
  message: z.string().optional(),
  name: z.string().optional(),
  kind: kind.optional(),
  renamedTo: z.string().optional(),
  recreatedFolders: z.array(z.string()).optional(),
  affected: count.optional(),
  failures: z.array(z.strictObject({ id, name: z.string(), message: z.string() })).optional(),
})
const batchFields = {
  successCount: count,
  warningCount: count,
  errorCount: count,
  results: z.array(itemResult),
}
export const batch = z.strictObject(batchFields)
/** What a restore would do per id: the restore's own results, and where each restored unit would go. */
export const restorePreview = z.strictObject({
  preview: z.literal(true),
  ...batchFields,
  results: z.array(
    z.strictObject({
      ...itemResult.shape,
      /** id null: the top level ('/'), or a folder the restore would make again (the last of recreatedFolders) */
      targetFolder: z.strictObject({ id: id.nullable(), path: z.string() }).optional(),
    }),
  ),
})
export const binEmptied = z.strictObject({ purged: count, errorCount: count, failed: z.array(itemResult) })

// ---- operations

const operationFields = {
  id: z.string(),
  actor: z.strictObject({ id, login: z.string().nullable() }).nullable(),
  door,
  action: z.string(),
  client: z.string().nullable(),
  remoteAddress: z.string().nullable(),
  startedAt: timestamp,
  finishedAt: timestamp,
  requested: count,
  outcomes: z.strictObject({ ok: count, warning: count, error: count }),
  items: count,
  undoOf: z.string().nullable(),
  /** the session tag of the request (as events carry it), null without a session */
  session: z.string().nullable(),
}
export const operationPage = z.strictObject({
  operations: z.array(z.strictObject(operationFields)),
  next: z.string().nullable(),
})
export const operationUnits = z.strictObject({
  ...operationFields,
  units: z.array(
    z.strictObject({
      auditId: id,
      at: timestamp,
      action: z.string(),
      itemId: id,
      kind: z.string().nullable(),
      name: z.string().nullable(),
      path: z.string().nullable(),
      items: count,
      state: z.string().nullable(),
      stillTrashed: z.boolean(),
    }),
  ),
  next: id.nullable(),
})
const undoFields = {
  /** the undo's own operation; a preview has `preview: true` instead */
  operation: z.string().optional(),
  preview: z.literal(true).optional(),
  undoOf: z.string().nullable(),
  ...batchFields,
  skippedCount: count,
  skipped: z.array(
    z.strictObject({
      id,
      name: z.string().nullable(),
      kind: z.string().nullable(),
      state: z.string().nullable(),
      reason: z.enum(['restored', 'emptied', 'purged', 'trashed_again']),
    }),
  ),
}
export const undo = z.strictObject(undoFields)
/** an undo by filter also says how many operations matched */
export const undoMatching = z.strictObject({ ...undoFields, operations: count })

// ---- bulk jobs

export const job = z.strictObject({
  id: z.string(),
  /** an undo, or a restore, empty or purge of a request's ids */
  kind: z.enum(['undo', 'restore', 'empty', 'purge']),
  status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']),
  /** the operation the job's work is recorded as (listed once the job has ended) */
  operation: z.string(),
  undoOf: z.string().nullable(),
  /** units to go through, and gone through so far */
  total: count,
  done: count,
  outcomes: z.strictObject({ ok: count, warning: count, error: count }),
  skippedCount: count,
  items: count,
  cancelRequested: z.boolean(),
  attempts: count,
  error: z.string().nullable(),
  createdAt: timestamp,
  startedAt: timestamp.nullable(),
  finishedAt: timestamp.nullable(),
})
/** 202: the work is a job; `Location` names it */
export const jobAccepted = z.strictObject({ job })
export const jobResults = z.strictObject({
  job,
  results: z.array(
    z.union([
      z.strictObject({ outcome: z.enum(['restore', 'empty', 'purge']), ...itemResult.shape }),
      z.strictObject({
        outcome: z.literal('skipped'),
        id,
        name: z.string().nullable(),
        state: z.string().nullable(),
        reason: z.enum(['restored', 'emptied', 'purged', 'trashed_again']),
      }),
    ]),
  ),
  next: count.nullable(),
})
