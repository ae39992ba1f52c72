/**
 * The one description of the IPS types and operations this server speaks. The WSDL files (wsdl/, written by
 * scripts/generate-wsdl.ts) and every reply are produced from it, so the two cannot drift: a reply element is
 * emitted only when the request's version defines it, in this order (the order of Adobe's schemas).
 */

export type SimpleType = 'xsd:string' | 'xsd:int' | 'xsd:boolean' | 'xsd:dateTime'

export interface ElementSpec {
  name: string
  /** a simple XSD type, or the name of a complex type below */
  type: SimpleType | ComplexTypeName
  optional?: boolean
  /** maxOccurs="unbounded" */
  many?: boolean
  /** the version date that introduced the element (absent: every version) */
  since?: string
  /** the version date from which on the element no longer exists (absent: it still does) */
  until?: string
}

export type ComplexTypeName =
  | 'HandleArray'
  | 'StringArray'
  | 'AssetOperationFault'
  | 'AssetOperationFaultArray'
  | 'Asset'
  | 'AssetArray'
  | 'Company'
  | 'CompanyMembership'
  | 'CompanyMembershipArray'

export const COMPLEX_TYPES: Record<ComplexTypeName, { since?: string; elements: ElementSpec[] }> = {
  HandleArray: { elements: [{ name: 'items', type: 'xsd:string', optional: true, many: true }] },
  StringArray: { elements: [{ name: 'items', type: 'xsd:string', optional: true, many: true }] },
  AssetOperationFault: {
    since: '2008-01-15',
    elements: [
      { name: 'assetHandle', type: 'xsd:string' },
      { name: 'code', type: 'xsd:int' },
      { name: 'reason', type: 'xsd:string' },
    ],
  },
  AssetOperationFaultArray: {
    since: '2008-01-15',
    elements: [{ name: 'items', type: 'AssetOperationFault', optional: true, many: true }],
  },
  // The subset of Adobe's Asset this server fills, in Adobe's order (assetHandle, type, subType, name,
  // fileName, folder, folderHandle, readyForPublish, trashState, projects, ipsImageUrl, created, ...).
  Asset: {
    elements: [
      { name: 'assetHandle', type: 'xsd:string', optional: true },
      { name: 'type', type: 'xsd:string', optional: true },
      { name: 'name', type: 'xsd:string', optional: true },
      { name: 'fileName', type: 'xsd:string', optional: true, since: '2010-01-31' },
      { name: 'folder', type: 'xsd:string', optional: true },
      { name: 'folderHandle', type: 'xsd:string', optional: true },
      { name: 'trashState', type: 'xsd:string', optional: true, since: '2008-09-10' },
      { name: 'created', type: 'xsd:dateTime', optional: true },
      { name: 'createUser', type: 'xsd:string', optional: true },
      { name: 'lastModified', type: 'xsd:dateTime', optional: true },
      { name: 'lastModifyUser', type: 'xsd:string', optional: true },
    ],
  },
  AssetArray: { elements: [{ name: 'items', type: 'Asset', optional: true, many: true }] },
  // Adobe's Company: expires is left out (companies here do not expire)
  Company: {
    elements: [
      { name: 'companyHandle', type: 'xsd:string' },
      { name: 'name', type: 'xsd:string' },
      { name: 'rootPath', type: 'xsd:string' },
      { name: 'expires', type: 'xsd:dateTime', optional: true },
    ],
  },
  // a membership with the user's role in the company (the versioned schemas); the pre-4.0 API listed companies
  CompanyMembership: {
    since: '2008-01-15',
    elements: [
      { name: 'company', type: 'Company' },
      { name: 'role', type: 'xsd:string' },
      { name: 'isActive', type: 'xsd:boolean' },
    ],
  },
  CompanyMembershipArray: {
    elements: [
      { name: 'items', type: 'Company', optional: true, many: true, until: '2008-01-15' },
      { name: 'items', type: 'CompanyMembership', optional: true, many: true, since: '2008-01-15' },
    ],
  },
}

/** Who may call an operation: the trash roles (seeds 000/001) or the wider read roles. */
export type OperationAccess = 'trash' | 'read'

export interface OperationSpec {
  name: IpsOperationName
  since?: string
  access: OperationAccess
  param: ElementSpec[]
  result: ElementSpec[]
}

export type IpsOperationName =
  | 'checkLogin'
  | 'deleteAsset'
  | 'deleteAssets'
  | 'emptyAssetsFromTrash'
  | 'restoreAssetsFromTrash'
  | 'searchAssets'
  | 'getAssets'
  | 'getCompanyInfo'
  | 'getCompanyMembership'

const batchParam: ElementSpec[] = [
  { name: 'companyHandle', type: 'xsd:string' },
  { name: 'assetHandleArray', type: 'HandleArray' },
]

const batchResult: ElementSpec[] = [
  { name: 'successCount', type: 'xsd:int' },
  { name: 'warningCount', type: 'xsd:int' },
  { name: 'errorCount', type: 'xsd:int' },
  { name: 'warningDetailArray', type: 'AssetOperationFaultArray', optional: true },
  { name: 'errorDetailArray', type: 'AssetOperationFaultArray', optional: true },
]

const fieldFilters: ElementSpec[] = [
  { name: 'responseFieldArray', type: 'StringArray', optional: true, since: '2008-01-15' },
  { name: 'excludeFieldArray', type: 'StringArray', optional: true, since: '2008-01-15' },
]

export const OPERATIONS: readonly OperationSpec[] = [
  {
    name: 'checkLogin',
    access: 'read',
    param: [
      { name: 'companyHandle', type: 'xsd:string', optional: true },
      { name: 'email', type: 'xsd:string' },
      { name: 'password', type: 'xsd:string' },
    ],
    result: [{ name: 'status', type: 'xsd:string' }],
  },
  {
    name: 'deleteAsset',
    access: 'trash',
    param: [
      { name: 'companyHandle', type: 'xsd:string' },
      { name: 'assetHandle', type: 'xsd:string' },
    ],
    result: [],
  },
  { name: 'deleteAssets', since: '2008-01-15', access: 'trash', param: batchParam, result: batchResult },
  {
    name: 'emptyAssetsFromTrash',
    since: '2008-01-15',
    access: 'trash',
    param: batchParam,
    result: batchResult,
  },
  {
    name: 'restoreAssetsFromTrash',
    since: '2008-01-15',
    access: 'trash',
    param: batchParam,
    result: batchResult,
  },
  {
    name: 'searchAssets',
    access: 'read',
    param: [
      { name: 'companyHandle', type: 'xsd:string' },
      { name: 'folder', type: 'xsd:string', optional: true },
      { name: 'includeSubfolders', type: 'xsd:boolean', optional: true },
      { name: 'trashState', type: 'xsd:string', optional: true, since: '2008-01-15' },
      { name: 'assetTypeArray', type: 'StringArray', optional: true },
      { name: 'excludeAssetTypeArray', type: 'StringArray', optional: true },
      { name: 'recordsPerPage', type: 'xsd:int', optional: true },
      { name: 'resultsPage', type: 'xsd:int', optional: true },
      ...fieldFilters,
    ],
    result: [
      { name: 'totalRows', type: 'xsd:int', optional: true },
      { name: 'assetArray', type: 'AssetArray', optional: true },
    ],
  },
  {
    name: 'getAssets',
    access: 'read',
    param: [
      { name: 'companyHandle', type: 'xsd:string' },
      { name: 'assetHandleArray', type: 'HandleArray' },
      ...fieldFilters,
    ],
    result: [{ name: 'assetArray', type: 'AssetArray', optional: true }],
  },
  {
    name: 'getCompanyInfo',
    access: 'read',
    param: [
      { name: 'companyHandle', type: 'xsd:string', optional: true },
      { name: 'companyName', type: 'xsd:string', optional: true },
    ],
    result: [{ name: 'companyInfo', type: 'Company' }],
  },
  {
    name: 'getCompanyMembership',
    access: 'read',
    param: [{ name: 'userHandle', type: 'xsd:string', optional: true }],
    result: [{ name: 'membershipArray', type: 'CompanyMembershipArray' }],
  },
]

export function operationByName(name: string): OperationSpec | undefined {
  return OPERATIONS.find((op) => op.name === name)
}

/** The fault elements every operation declares, all in the unversioned namespace. */
export const FAULT_ELEMENTS = ['authenticationFault', 'authorizationFault', 'ipsApiFault'] as const
export type FaultElement = (typeof FAULT_ELEMENTS)[number]

/** The common authHeader: an xsd:all (any order), every child optional (Adobe's IpsApiCommon.xsd). */
export const AUTH_HEADER_FIELDS: ElementSpec[] = [
  { name: 'user', type: 'xsd:string', optional: true },
  { name: 'password', type: 'xsd:string', optional: true },
  { name: 'locale', type: 'xsd:string', optional: true },
  { name: 'appName', type: 'xsd:string', optional: true },
  { name: 'appVersion', type: 'xsd:string', optional: true },
  { name: 'gzipResponse', type: 'xsd:boolean', optional: true },
  { name: 'faultHttpStatusCode', type: 'xsd:int', optional: true },
]
