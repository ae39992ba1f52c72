import { handles } from '../handles.js'

/**
 * IPS handles. Emitted: company `c|<tenant id>`, asset `a|<item id>`, folder `f|<path>/`. Accepted as well:
 * the long asset forms `a|<id>|<n>|<n>` and the unprefixed pre-4.0 forms (`47`, `24265|1|17061`).
 *
 * Folder paths: every IPS path starts with the company's root folder, named after the company without
 * spaces (`Demo Company` → `DemoCompany/`), as in Adobe's `SampleCompany/` and `Example.com/…` examples. Below
 * it lies the tenant's item tree: the top-level folder `Library` is `DemoCompany/Library/`. A path given
 * without the root segment is read from the tenant's top level.
 */

const MAX_ID_DIGITS = 15

export function companyHandle(tenantId: number): string {
  return handles.ipsCompany(tenantId)
}

export function assetHandle(id: number): string {
  return handles.ips(id)
}

/** The tenant id of `c|<id>` (or pre-4.0 `<id>`), or null when the string is not a company handle. */
export function parseCompanyHandle(handle: string): number | null {
  const match = /^(?:c\|)?(\d{1,15})$/.exec(handle.trim())
  return match ? Number(match[1]) : null
}

/** The item id of `a|<id>`, `a|<id>|…` or pre-4.0 `<id>|…`, or null when the string is not an asset handle. */
export function parseAssetHandle(handle: string): number | null {
  const match = /^(?:a\|)?(\d+)(?:\|[^|]*)*$/.exec(handle.trim())
  if (!match || match[1]!.length > MAX_ID_DIGITS) return null
  const id = Number(match[1])
  return id > 0 ? id : null
}

/** The company's root folder name: its name without white space (`Sample Company` → `SampleCompany`). */
export function companyRootName(companyName: string): string {
  return companyName.replace(/\s+/g, '') || 'Company'
}

/** `DemoCompany/Library/images/` for the folder path `Library/images/` of the item tree. */
export function ipsFolderPath(rootName: string, treeFolderPath: string): string {
  return `${rootName}/${treeFolderPath}`
}

/**
 * The item-tree folder names of an IPS folder (`f|DemoCompany/Library/`, `DemoCompany/Library/`, `Library`),
 * or null when a segment is empty or a relative step.
 */
export function parseFolder(folder: string, rootName: string): string[] | null {
  const path = folder.trim().replace(/^f\|/, '')
  const segments = path
    .split('/')
    .filter((segment, index, all) => !(segment === '' && index === all.length - 1))
  if (segments[0] === '') segments.shift()
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) return null
  if (segments[0] === rootName) segments.shift()
  return segments
}
