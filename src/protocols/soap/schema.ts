import type { Markup, XmlWriter } from './writer.js'

/**
 * Replies rendered from reply objects by a versioned schema, for any door: a door describes its types as element
 * specs (in schema order, each with the version that introduced or dropped it), builds a plain reply object, and
 * this module writes, with the door's writer, only the elements the request's version defines, in that order.
 */

/** A simple XSD type: written as the element's text. */
export type SimpleXsdType = `xsd:${string}`

export interface ElementSpec<T extends string = string> {
  name: string
  /** a simple XSD type, or the name of one of the schema's complex types */
  type: SimpleXsdType | T
  /** minOccurs="0": left out when the reply has no value for it */
  optional?: boolean
  /** nillable="true": written `<name xsi:nil="true"/>` when the reply's value is null */
  nillable?: boolean
  /** maxOccurs="unbounded" */
  many?: boolean
  /** the version that introduced the element (absent: every version) */
  since?: string
  /** the version from which on the element no longer exists (absent: it still does) */
  until?: string
}

export interface ComplexTypeSpec<T extends string = string> {
  since?: string
  elements: ElementSpec<T>[]
}

/** A reply value: simple values, objects keyed by element name, arrays for repeated elements. */
export type ReplyValue = string | number | boolean | Date | null | undefined | ReplyObject | ReplyValue[]
export interface ReplyObject {
  [element: string]: ReplyValue
}

/** Decides per element path (e.g. `assetArray/items/name`) whether it is written. */
export type FieldFilter = (path: string) => boolean

export interface ReplySchema<V, T extends string = string> {
  /** the door's name, for the error a reply missing a required element raises */
  door: string
  types: Readonly<Record<T, ComplexTypeSpec<T>>>
  /** whether an element or type (its since/until) exists in a version */
  defines: (version: V, spec: { since?: string; until?: string }) => boolean
  /** how the door writes text and empty elements */
  writer: XmlWriter
}

function simple(value: ReplyValue): string {
  return value instanceof Date ? value.toISOString() : String(value)
}

const isSimple = (type: string) => type.startsWith('xsd:')

/**
 * The elements of `specs` the version defines, in their order, with the values of `value`. A nillable element is
 * nil when its value is null, and when it has none but must be there (not optional); otherwise a missing value
 * (undefined or null) leaves an optional element out and is an error for a required one.
 */
export function renderElements<V, T extends string>(
  schema: ReplySchema<V, T>,
  specs: readonly ElementSpec<NoInfer<T>>[],
  value: ReplyObject,
  version: V,
  path = '',
  filter?: FieldFilter,
): Markup {
  let out = ''
  for (const spec of specs) {
    if (!schema.defines(version, spec)) continue
    const elementPath = path ? `${path}/${spec.name}` : spec.name
    if (filter && !filter(elementPath)) continue
    const raw = value[spec.name]
    if (spec.nillable && (raw === null || (raw === undefined && !spec.optional))) {
      out += schema.writer.nil(spec.name)
      continue
    }
    if (raw === undefined || raw === null) {
      if (!spec.optional) throw new Error(`${schema.door} reply is missing required element ${elementPath}`)
      continue
    }
    const values = spec.many ? (raw as ReplyValue[]) : [raw]
    for (const item of values) out += renderElement(schema, spec, item, version, elementPath, filter)
  }
  return out
}

/**
 * One element of a spec. A complex value given as an array stands for the one repeated element of its type (an
 * ArrayOfX given as its items).
 */
export function renderElement<V, T extends string>(
  schema: ReplySchema<V, T>,
  spec: ElementSpec<NoInfer<T>>,
  value: ReplyValue,
  version: V,
  path: string,
  filter?: FieldFilter,
): Markup {
  if (isSimple(spec.type)) return schema.writer.text(spec.name, simple(value))
  const type = schema.types[spec.type as T]
  let object = value as ReplyObject
  if (Array.isArray(value)) {
    const repeated = type.elements.filter((e) => e.many && schema.defines(version, e))
    if (repeated.length !== 1) throw new Error(`${schema.door} type ${spec.type} is not an array type`)
    object = { [repeated[0]!.name]: value }
  }
  return schema.writer.element(
    spec.name,
    renderElements(schema, type.elements, object, version, path, filter),
  )
}
