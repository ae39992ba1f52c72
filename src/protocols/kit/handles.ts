import type { ItemKind } from '../../core/types.js'
import { parseId, parseRecordId } from './ids.js'

/**
 * How each door names an item, written and read in one place; the id underneath is the same everywhere.
 *
 * IPS: company `c|<tenant id>`, asset `a|<item id>` (read as well: the long forms `a|<id>|<n>|<n>` and the
 * unprefixed pre-4.0 forms `47`, `24265|1|17061`), user `u|<id>`, `u|<id>|<email>`, pre-4.0 `<id>|<email>`.
 * srv.asmx: `D<id>` a document, `F<id>` a folder (prefix in any case); `~D<id>` / `~F<id>` as a path.
 * Enterprise: the id itself.
 */

export const ipsCompany = {
  format: (tenantId: number) => `c|${tenantId}`,
  /** the tenant id, or null when the string is not a company handle */
  parse(handle: string): number | null {
    const match = /^(?:c\|)?(\d+)$/.exec(handle.trim())
    return match ? parseId(match[1]!) : null
  },
}

export const ipsAsset = {
  format: (id: number) => `a|${id}`,
  /** the item id, or null when the string is not an asset handle */
  parse(handle: string): number | null {
    const match = /^(?:a\|)?(\d+)(?:\|[^|]*)*$/.exec(handle.trim())
    return match ? parseRecordId(match[1]!) : null
  },
}

export const ipsUser = {
  /** the user id, or null */
  parse(handle: string): number | null {
    const match = /^(?:u\|)?(\d+)(?:\|.*)?$/.exec(handle.trim())
    return match ? parseId(match[1]!) : null
  },
}

export interface AsmxHandler {
  id: number
  kind: ItemKind
}

function handlerOf(match: RegExpExecArray | null): AsmxHandler | null {
  const id = match ? parseId(match[2]!) : null
  return id === null ? null : { id, kind: match![1]!.toUpperCase() === 'F' ? 'folder' : 'file' }
}

export const asmxHandler = {
  format: (id: number, kind: ItemKind) => `${kind === 'folder' ? 'F' : 'D'}${id}`,
  /** `D9871` (document) / `F4312` (folder), prefix in any case; null for anything else */
  parse: (value: string | null | undefined) => handlerOf(/^([DdFf])(\d+)$/.exec(value?.trim() ?? '')),
  /** infoRouter's short path `~D<id>` / `~F<id>` as one path segment, or null */
  parsePath: (segment: string) => handlerOf(/^~([DdFf])(\d+)$/.exec(segment)),
}

export const enterpriseId = {
  format: (id: number) => String(id),
  /** a record id as written (no sign, no spaces, not 0), or null */
  parse: parseRecordId,
}

/** Every door's handle of one item. */
export function allHandles(id: number, kind: ItemKind) {
  return { ips: ipsAsset.format(id), asmx: asmxHandler.format(id, kind), enterprise: enterpriseId.format(id) }
}

/** The handle writers by door (REST lists them). */
export const handles = {
  ips: ipsAsset.format,
  ipsCompany: ipsCompany.format,
  asmx: asmxHandler.format,
  enterprise: enterpriseId.format,
}
