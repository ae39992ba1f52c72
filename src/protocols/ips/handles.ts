/**
 * IPS folder handles `f|<path>/` (company, asset and user handles: ../kit/handles.ts).
 *
 * Folder paths: every IPS path starts with the company's root folder, named after the company without
 * spaces (`Demo Company` → `DemoCompany/`), as in Adobe's `SampleCompany/` and `Example.com/…` examples. Below
 * it lies the tenant's item tree: the top-level folder `Library` is `DemoCompany/Library/`. A path given
 * without the root segment is read from the tenant's top level.
 */

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
