import {
  type FieldFilter,
  type ReplyObject,
  type ReplySchema,
  type ReplyValue,
  renderElements,
} from '../soap/schema.js'
import { type Markup, textStyle as w } from '../soap/writer.js'
import { COMPLEX_TYPES, type ComplexTypeName, type OperationSpec } from './schema.js'
import { definesSpec, type IpsVersion } from './versions.js'

export type { FieldFilter, ReplyObject, ReplyValue }

/**
 * The FieldFilter of responseFieldArray and excludeFieldArray: responseFieldArray keeps the listed paths (with
 * their ancestors and descendants); excludeFieldArray then drops the listed paths and everything under them.
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

/** The IPS schema as the renderer reads it: Adobe's types, the version's dates, Axis2's text escaping. */
const IPS_SCHEMA: ReplySchema<IpsVersion, ComplexTypeName> = {
  door: 'IPS',
  types: COMPLEX_TYPES,
  defines: definesSpec,
  writer: w,
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
  return w.element(`${op.name}Return`, renderElements(IPS_SCHEMA, op.result, value, version, '', filter), {
    xmlns: { '': version.ns },
    empty: ' />',
  })
}
