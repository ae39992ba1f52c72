import type { DoorContext } from '../../context.js'
import type { ErrorCode } from '../../core/errors.js'
import * as policy from '../../core/policy.js'
import type { Actor, BatchResult, ItemListing, ItemResult, ItemSearchFilter } from '../../core/types.js'
import { faultElementOf, faults, IpsFault, IpsFaultCodes } from './faults.js'
import { itemErrorMap } from '../kit/errors.js'
import { ipsAsset, ipsCompany, ipsUser } from '../kit/handles.js'
import { firstOfEach } from '../kit/ids.js'
import { companyRootName, ipsFolderPath, parseFolder } from './handles.js'
import { type FieldFilter, fieldFilter, type ReplyObject } from './render.js'
import { type IpsCall, Params } from './request.js'
import type { IpsOperationName } from './schema.js'
import { defines } from './versions.js'

/** Adobe documents at most 1000 assets per searchAssets page. */
export const MAX_RECORDS_PER_PAGE = 1000

export interface OperationOutcome {
  value: ReplyObject
  filter?: FieldFilter
}

/**
 * `actor` is who the request acts as; `signedIn` every user the credentials sign in as (an e-mail address used
 * in several companies signs in once per company), the actor first.
 */
type Handler = (
  ctx: DoorContext,
  actor: Actor,
  call: IpsCall,
  params: Params,
  signedIn: Actor[],
) => Promise<OperationOutcome>

/** Trash states of Asset/trashState and of the searchAssets filter. */
const TRASH_STATE_OF = { active: 'NotInTrash', trashed: 'InTrash', emptied: 'InEmptiedTrash' } as const
const STATES_OF_FILTER: Record<string, ItemSearchFilter['states']> = {
  NotInTrash: ['active'],
  InTrash: ['trashed'],
  Any: ['active', 'trashed', 'emptied'],
}

/**
 * searchAssets filters of Adobe's schema that this server cannot apply (no metadata, tags, projects, publish
 * states or per-user access views): refused rather than ignored, so a client never takes an unfiltered
 * answer for a filtered one.
 */
const UNSUPPORTED_SEARCH_FILTERS = [
  'accessUserHandle',
  'accessGroupHandle',
  'publishState',
  'keywordArray',
  'systemFieldConditionArray',
  'tagConditionArray',
  'metadataConditionArray',
  'assetSubTypeArray',
  'excludeByproductArray',
  'projectHandle',
]

/** The company handle must name the caller's own tenant. */
function requireCompany(actor: Actor, handle: string) {
  const tenantId = ipsCompany.parse(handle)
  if (tenantId === null) throw faults.invalidParameter(`Invalid company handle '${handle}'`)
  if (tenantId !== actor.tenantId) throw faults.illegalCompany(handle)
}

async function companyRoot(ctx: DoorContext, actor: Actor): Promise<string> {
  const tenant = await ctx.admin.requireTenant(actor.tenantId)
  return companyRootName(tenant.name)
}

/** How a core outcome reads on the IPS wire: code and reason of an AssetOperationFault (or a fault). */
type ItemFault = (handle: string, op: IpsOperationName) => [number, string]

const failed: ItemFault = (handle, op) => [
  IpsFaultCodes.EXCEPTION,
  `Operation '${op}' failed for asset '${handle}'`,
]
const denied: ItemFault = (handle, op) => [
  IpsFaultCodes.MISSING_PERMISSION,
  `User does not have permission to access asset '${handle}' with operation '${op}'`,
]

const ITEM_FAULTS = itemErrorMap<ItemFault>(
  {
    NOT_FOUND: (handle) => [IpsFaultCodes.INVALID_PARAMETER, `Asset '${handle}' does not exist`],
    ACCESS_DENIED: denied,
    TOP_LEVEL_FOLDER: denied,
    ALREADY_TRASHED: (handle) => [
      IpsFaultCodes.INVALID_PARAMETER,
      `Asset '${handle}' is already in the trash`,
    ],
    NOT_IN_TRASH: (handle) => [IpsFaultCodes.INVALID_PARAMETER, `Asset '${handle}' is not in the trash`],
    ALREADY_EMPTIED: (handle) => [
      IpsFaultCodes.INVALID_PARAMETER,
      `Asset '${handle}' has already been emptied from the trash`,
    ],
    NOT_RESTORABLE: (handle) => [
      IpsFaultCodes.INVALID_PARAMETER,
      `Asset '${handle}' has been emptied from the trash and can no longer be restored`,
    ],
    LEGAL_HOLD: (handle) => [IpsFaultCodes.EXCEPTION, `Asset '${handle}' is under legal hold`],
    ORIGINAL_LOCATION_GONE: (handle) => [
      IpsFaultCodes.EXCEPTION,
      `The folder of asset '${handle}' cannot be recreated`,
    ],
    TARGET_NOT_FOUND: failed,
    STORAGE_FAILURE: failed,
  },
  failed,
)

function itemFault(code: ErrorCode | undefined, handle: string, op: IpsOperationName): [number, string] {
  return ((code && ITEM_FAULTS[code]) || failed)(handle, op)
}

interface DetailItem extends ReplyObject {
  assetHandle: string
  code: number
  reason: string
}

/**
 * A batch over asset handles: malformed handles are errors, handles naming the same asset (`a|942` and
 * `a|942|1|579`) count once, and each detail item echoes the handle as first given.
 */
async function assetBatch(
  ctx: DoorContext,
  actor: Actor,
  call: IpsCall,
  params: Params,
  run: (ids: number[]) => Promise<BatchResult>,
): Promise<OperationOutcome> {
  requireCompany(actor, params.string('companyHandle'))
  const given = params.array('assetHandleArray')
  // an asset once by id, a malformed handle once by its text
  const entries = firstOfEach(
    given.map((handle) => ({ handle, id: ipsAsset.parse(handle) })),
    (entry) => entry.id ?? entry.handle,
  )
  // loops rather than flatMap, map and filter: this runs for every single-item request
  const ids: number[] = []
  for (const entry of entries) if (entry.id !== null) ids.push(entry.id)
  const batch = ids.length > 0 ? await run(ids) : null
  const byId = new Map<number, ItemResult>()
  const refused: number[] = []
  for (const result of batch?.results ?? []) {
    byId.set(result.id, result)
    if (result.status === 'error') refused.push(result.id)
  }
  const warnings: DetailItem[] = []
  const errors: DetailItem[] = []
  let successCount = 0
  const folders = refused.length > 0 ? await deletedWithFolder(ctx, actor, refused) : new Map()
  for (const entry of entries) {
    if (entry.id === null) {
      errors.push({
        assetHandle: entry.handle,
        code: IpsFaultCodes.INVALID_PARAMETER,
        reason: `Invalid asset handle '${entry.handle}'`,
      })
      continue
    }
    const result = byId.get(entry.id)!
    if (result.status === 'ok') {
      successCount++
      continue
    }
    const [code, reason] = itemFault(result.code, entry.handle, call.op.name)
    const folder = result.status === 'error' ? folders.get(entry.id) : undefined
    ;(result.status === 'warning' ? warnings : errors).push({
      assetHandle: entry.handle,
      code,
      reason: folder ? `${reason}: it was deleted with folder '${folder}'` : reason,
    })
  }
  return {
    value: {
      successCount,
      warningCount: warnings.length,
      errorCount: errors.length,
      warningDetailArray: warnings.length > 0 ? { items: warnings } : undefined,
      errorDetailArray: errors.length > 0 ? { items: errors } : undefined,
    },
  }
}

/**
 * The folders that assets among these went to the trash with (a folder deleted through any door takes its
 * assets along as one unit), by asset id: what a refusal names so that the client knows why the asset alone
 * cannot be restored or emptied. Folders the actor may not see are not named.
 */
async function deletedWithFolder(
  ctx: DoorContext,
  actor: Actor,
  ids: number[],
): Promise<Map<number, string>> {
  const items = await ctx.trash.getItems(actor, ids)
  const members = items.filter((item) => item.trashRoot !== null && item.trashRoot !== item.id)
  if (members.length === 0) return new Map()
  const roots = new Map(
    (await ctx.trash.getItems(actor, [...new Set(members.map((item) => item.trashRoot!))])).map((root) => [
      root.id,
      root,
    ]),
  )
  const rootName = await companyRoot(ctx, actor)
  const named = new Map<number, string>()
  for (const member of members) {
    const root = roots.get(member.trashRoot!)
    if (root) named.set(member.id, ipsFolderPath(rootName, `${root.folderPath}${root.name}/`))
  }
  return named
}

/** The company of a tenant as IPS describes it (Company: handle, name, root folder). */
async function companyOf(ctx: DoorContext, tenantId: number): Promise<ReplyObject> {
  const tenant = await ctx.admin.requireTenant(tenantId)
  return {
    companyHandle: ipsCompany.format(tenant.id),
    name: tenant.name,
    rootPath: `${companyRootName(tenant.name)}/`,
  }
}

function assetOf(item: ItemListing, root: string): ReplyObject {
  const folder = ipsFolderPath(root, item.folderPath)
  return {
    assetHandle: ipsAsset.format(item.id),
    type: item.type,
    name: item.name,
    fileName: item.kind === 'file' ? item.name : undefined,
    folder,
    folderHandle: `f|${folder}`,
    trashState: TRASH_STATE_OF[item.state as keyof typeof TRASH_STATE_OF],
    created: item.createdAt,
    createUser: item.createdByUser,
    lastModified: item.modifiedAt,
    lastModifyUser: item.modifiedByUser,
  }
}

function responseFields(params: Params): FieldFilter | undefined {
  const include = params.optionalArray('responseFieldArray')
  const exclude = params.optionalArray('excludeFieldArray')
  return include?.length || exclude?.length ? fieldFilter(include, exclude) : undefined
}

const handlers: Record<IpsOperationName, Handler> = {
  async checkLogin(ctx, actor, _call, params) {
    const company = params.optionalString('companyHandle')
    if (company) requireCompany(actor, company)
    const email = params.string('email')
    const password = params.string('password')
    // the address (or login) of a user of the caller's company
    const checked = await ctx.auth.authenticate(email, password, 'ips', {
      email: true,
      tenantId: actor.tenantId,
    })
    const valid = checked !== null && checked.tenantId === actor.tenantId
    return { value: { status: valid ? 'ValidLogin' : 'InvalidLogin' } }
  },

  async getCompanyInfo(ctx, actor, _call, params, signedIn) {
    const handle = params.optionalString('companyHandle')
    const name = params.optionalString('companyName')
    if (!handle && !name)
      throw faults.missingParameter("Missing required parameter 'companyHandle' or 'companyName'")
    if (handle) {
      requireCompany(actor, handle)
      return { value: { companyInfo: await companyOf(ctx, actor.tenantId) } }
    }
    // a company by its name (or its root folder's): one of the caller's own, never another one
    const wanted = name!.trim().toLowerCase()
    for (const member of signedIn) {
      const company = await companyOf(ctx, member.tenantId)
      const names = [String(company.name).toLowerCase(), String(company.rootPath).slice(0, -1).toLowerCase()]
      if (names.includes(wanted)) return { value: { companyInfo: company } }
    }
    throw faults.invalidParameter(`Company '${name}' was not found`)
  },

  async getCompanyMembership(ctx, actor, call, params, signedIn) {
    const userHandle = params.optionalString('userHandle')
    let members = signedIn
    if (userHandle) {
      const userId = ipsUser.parse(userHandle)
      if (userId === null) throw faults.invalidParameter(`Invalid user handle '${userHandle}'`)
      if (userId !== actor.userId) {
        // company administrators may look at their own company's users; nobody at anyone else's
        const user = policy.isIpsCompanyAdmin(actor) ? await ctx.admin.findUser(actor.tenantId, userId) : null
        if (!user) throw faults.illegalUser(userHandle)
        members = [{ ...actor, userId: user.id, login: user.login, ipsRole: user.ipsRole, admin: user.admin }]
      }
    }
    const items: ReplyObject[] = []
    for (const member of members) {
      items.push({ company: await companyOf(ctx, member.tenantId), role: member.ipsRole, isActive: true })
    }
    // the pre-4.0 API lists the companies themselves
    const listed = call.version.date < '2008-01-15' ? items.map((item) => item.company as ReplyObject) : items
    return { value: { membershipArray: { items: listed } } }
  },

  async deleteAsset(ctx, actor, call, params) {
    requireCompany(actor, params.string('companyHandle'))
    const handle = params.string('assetHandle')
    const id = ipsAsset.parse(handle)
    if (id === null) throw faults.invalidParameter(`Invalid asset handle '${handle}'`)
    const result = (await ctx.trash.trash(actor, [id])).results[0]!
    // Deleting an asset already in the trash leaves it there: nothing to report on a single delete.
    if (result.status === 'error') {
      const [code, reason] = itemFault(result.code, handle, call.op.name)
      throw new IpsFault(faultElementOf(code), code, reason)
    }
    return { value: {} }
  },

  deleteAssets: (ctx, actor, call, params) =>
    assetBatch(ctx, actor, call, params, (ids) => ctx.trash.trash(actor, ids)),

  emptyAssetsFromTrash: (ctx, actor, call, params) =>
    assetBatch(ctx, actor, call, params, (ids) => ctx.trash.empty(actor, ids)),

  restoreAssetsFromTrash: (ctx, actor, call, params) =>
    assetBatch(ctx, actor, call, params, (ids) =>
      ctx.trash.restore(actor, ids, { onMissingParent: 'recreate' }),
    ),

  async searchAssets(ctx, actor, call, params) {
    requireCompany(actor, params.string('companyHandle'))
    const unsupported = UNSUPPORTED_SEARCH_FILTERS.find((name) => params.given(name))
    if (unsupported) {
      throw faults.invalidParameter(`Parameter '${unsupported}' is not supported by this server`)
    }
    const root = await companyRoot(ctx, actor)
    const folderParam = params.optionalString('folder')
    const folder = folderParam ? parseFolder(folderParam, root) : undefined
    if (folder === null) throw faults.invalidParameter(`Invalid folder '${folderParam}'`)
    // No folder: the whole company (subfolders included unless asked otherwise); a folder: only its own
    // assets unless includeSubfolders says otherwise.
    const includeSubfolders = params.optionalBoolean('includeSubfolders') ?? folder === undefined
    // Before 2008-01-15 searchAssets had no trashState: such clients only ever see assets not in the trash.
    const trashStateSpec = call.op.param.find((e) => e.name === 'trashState')
    const trashState = defines(call.version, trashStateSpec?.since)
      ? (params.optionalString('trashState') ?? 'NotInTrash')
      : 'NotInTrash'
    const states = STATES_OF_FILTER[trashState]
    if (!states) {
      throw faults.invalidParameter(
        `Invalid value for parameter 'trashState': '${trashState}' (NotInTrash, InTrash or Any)`,
      )
    }
    const types = params.optionalArray('assetTypeArray')?.filter(Boolean)
    const excludeTypes = params.optionalArray('excludeAssetTypeArray')?.filter(Boolean)
    const recordsPerPage = Math.min(
      params.optionalInt('recordsPerPage', 1, 1_000_000) ?? MAX_RECORDS_PER_PAGE,
      MAX_RECORDS_PER_PAGE,
    )
    const resultsPage = params.optionalInt('resultsPage', 1, 1_000_000_000) ?? 1
    const found = await ctx.trash.searchItems(
      actor,
      {
        states,
        kind: 'file',
        folder: folder ?? (includeSubfolders ? undefined : []),
        includeSubfolders,
        types: types?.length ? types : undefined,
        excludeTypes,
      },
      { limit: recordsPerPage, offset: (resultsPage - 1) * recordsPerPage },
    )
    return {
      value: {
        totalRows: found.total,
        assetArray: found.items.length > 0 ? { items: found.items.map((i) => assetOf(i, root)) } : undefined,
      },
      filter: responseFields(params),
    }
  },

  async getAssets(ctx, actor, _call, params) {
    requireCompany(actor, params.string('companyHandle'))
    const ids: number[] = []
    for (const handle of params.array('assetHandleArray')) {
      const id = ipsAsset.parse(handle)
      if (id === null) throw faults.invalidParameter(`Invalid asset handle '${handle}'`)
      ids.push(id)
    }
    const root = await companyRoot(ctx, actor)
    const items = await ctx.trash.getItems(actor, ids)
    return {
      value: { assetArray: items.length > 0 ? { items: items.map((i) => assetOf(i, root)) } : undefined },
      filter: responseFields(params),
    }
  },
}

/**
 * Runs an operation for the users the credentials signed in as (the first is the actor): role check (policy),
 * then the handler.
 */
export async function runOperation(
  ctx: DoorContext,
  signedIn: Actor[],
  call: IpsCall,
): Promise<OperationOutcome> {
  const actor = signedIn[0]!
  const allowed = call.op.access === 'trash' ? policy.ipsRoleMayUseTrash(actor) : policy.ipsRoleMayRead(actor)
  if (!allowed) throw faults.operationPermission(call.op.name)
  return handlers[call.op.name](ctx, actor, call, new Params(call.param), signedIn)
}

/** The tenant a request names by its companyHandle, if any: e-mail sign-ins are looked up in that company. */
export function companyOfRequest(call: IpsCall): number | undefined {
  const handle = new Params(call.param).optionalString('companyHandle')
  return handle ? (ipsCompany.parse(handle) ?? undefined) : undefined
}
