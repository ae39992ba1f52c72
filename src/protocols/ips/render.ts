import { type Markup, textStyle as w } from '../soap/writer.js'
import { COMPLEX_TYPES, type ElementSpec, type OperationSpec } from './schema.js'
import { definesSpec, type IpsVersion } from './versions.js'

/** A reply value: simple values, objects keyed by element name, arrays for repeated elements. */
export type ReplyValue = string | number | boolean | Date | null | undefined | ReplyObject | ReplyValue[]
export interface ReplyObject {
  [element: string]: ReplyValue
}

/** Decides per element path (e.g. `assetArray/items/name`) whether it is written: responseFieldArray et al. */
export type FieldFilter = (path: string) => boolean

/**
 * responseFieldArray keeps the listed paths (with their ancestors and descendants); excludeFieldArray then
 * drops the listed paths and everything under them.
 */
export function fieldFilter(include: string[] | undefined, exclude: string[] | undefined): FieldFilter {
  const keep = (include ?? []).map((p) => p.trim().replace(/\/+$/, '')).filter(Boolean)
  const drop = (exclude ?? []).map((p) => p.trim().replace(/\/+$/, '')).filter(Boolean)
  return (path) => {
    if (keep.length > 0) {
      const kept = keep.some((k) => k === path || k.startsWith(`${path}/`) || path.startsWith(`${k}/`))
      if (!kept) return false
    }
    return !drop.some((d) => d === path || path.startsWith(`${d}/`))
  }
}

function simple(value: ReplyValue): string {
  return value instanceof Date ? value.toISOString() : String(value)
}

function renderElements(
  specs: ElementSpec[],
  value: ReplyObject,
  version: IpsVersion,
  path: string,
  filter: FieldFilter | undefined,
): Markup {
  let out = ''
  for (const spec of specs) {
    if (!definesSpec(version, spec)) continue
    const elementPath = path ? `${path}/${spec.name}` : spec.name
    if (filter && !filter(elementPath)) continue
    const raw = value[spec.name]
    if (raw === undefined || raw === null) {
      if (!spec.optional) throw new Error(`IPS reply is missing required element ${elementPath}`)
      continue
    }
    const values = spec.many ? (raw as ReplyValue[]) : [raw]
    for (const item of values) out += renderOne(spec, item, version, elementPath, filter)
  }
  return out
}

function renderOne(
  spec: ElementSpec,
  value: ReplyValue,
  version: IpsVersion,
  path: string,
  filter: FieldFilter | undefined,
): Markup {
  if (spec.type.startsWith('xsd:')) return w.text(spec.name, simple(value))
  const type = COMPLEX_TYPES[spec.type as keyof typeof COMPLEX_TYPES]
  return w.element(spec.name, renderElements(type.elements, value as ReplyObject, version, path, filter))
}

/**
 * `<opReturn xmlns="<version ns>">…</opReturn>`: the default-namespace form of the real service (and of the
 * seeds), with only the elements the version defines, in schema order.
 */
export function renderReturn(
  op: OperationSpec,
  version: IpsVersion,
  value: ReplyObject,
  filter?: FieldFilter,
): Markup {
  return w.element(`${op.name}Return`, renderElements(op.result, value, version, '', filter), {
    xmlns: { '': version.ns },
    empty: ' />',
  })
}
