import type { ItemKind } from '../core/types.js'

/** How each door names an item; the id underneath is the same everywhere. */
export const handles = {
  ips: (id: number) => `a|${id}`,
  ipsCompany: (tenantId: number) => `c|${tenantId}`,
  asmx: (id: number, kind: ItemKind) => `${kind === 'folder' ? 'F' : 'D'}${id}`,
  enterprise: (id: number) => String(id),
}

export function allHandles(id: number, kind: ItemKind) {
  return { ips: handles.ips(id), asmx: handles.asmx(id, kind), enterprise: handles.enterprise(id) }
}
