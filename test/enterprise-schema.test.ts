import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { WSDL_FILE } from '../src/protocols/enterprise/index.js'
import {
  definesSpec,
  ENTERPRISE_SCHEMA,
  RESPONSES,
  SERVED_VERSION,
  TYPES,
} from '../src/protocols/enterprise/schema.js'
import { renderElements } from '../src/protocols/soap/schema.js'
import { parseXml, type XmlElement } from '../src/protocols/soap/xml.js'

/**
 * The replies are rendered from enterprise/schema.ts while clients read wsdl/SCEnterprise.wsdl: each reply type and
 * response element of the schema must be the WSDL's, member for member (name, type, nillable, minOccurs="0",
 * maxOccurs="unbounded"), in the WSDL's order.
 */

interface Member {
  name: string
  type: string
  nillable: boolean
  optional: boolean
  many: boolean
}

async function wsdlSchema() {
  const root = parseXml(await readFile(WSDL_FILE, 'utf8'))
  const schema = root.children.find((c) => c.name === 'types')!.children.find((c) => c.name === 'schema')!
  const byName = (kind: string) =>
    new Map(schema.children.filter((c) => c.name === kind).map((c) => [c.attrs.name!, c]))
  return {
    complexTypes: byName('complexType'),
    simpleTypes: byName('simpleType'),
    elements: byName('element'),
  }
}

describe('the Enterprise reply schema', () => {
  it('is the WSDL, type for type and member for member', async () => {
    const { complexTypes, simpleTypes, elements } = await wsdlSchema()
    // a simple type of the WSDL (an enumeration) is written as its base type
    const typeName = (qname: string) => {
      const local = qname.replace(/^tns:/, '')
      const simple = simpleTypes.get(local)
      if (simple) return simple.children.find((c) => c.name === 'restriction')!.attrs.base!
      return qname.startsWith('tns:') ? local : qname
    }
    const membersOf = (complexType: XmlElement): Member[] => {
      const group = complexType.children.find((c) => c.name === 'sequence' || c.name === 'all')
      return (group?.children ?? []).map((e) => ({
        name: e.attrs.name!,
        type: typeName(e.attrs.type!),
        nillable: e.attrs.nillable === 'true',
        optional: e.attrs.minOccurs === '0',
        many: e.attrs.maxOccurs === 'unbounded',
      }))
    }
    const specMembers = (specs: (typeof TYPES)[keyof typeof TYPES]['elements']): Member[] =>
      specs.map((spec) => ({
        name: spec.name,
        type: spec.type,
        nillable: spec.nillable ?? false,
        optional: spec.optional ?? false,
        many: spec.many ?? false,
      }))

    for (const [name, type] of Object.entries(TYPES)) {
      const declared = complexTypes.get(name)
      expect(declared, `${name} is not a complex type of the WSDL`).toBeDefined()
      expect(specMembers(type.elements), name).toEqual(membersOf(declared!))
    }
    for (const [operation, response] of Object.entries(RESPONSES)) {
      const declared = elements.get(`${operation}Response`)
      expect(declared, `${operation}Response is not an element of the WSDL`).toBeDefined()
      const complexType = declared!.children.find((c) => c.name === 'complexType')!
      expect(specMembers(response.elements), `${operation}Response`).toEqual(membersOf(complexType))
    }
  })

  it('writes an element only in the versions that define it', () => {
    const reply = { IDs: ['1'], Reports: null }
    const render = (version: string) =>
      renderElements(ENTERPRISE_SCHEMA, RESPONSES.DeleteObjects.elements, reply, version)
    expect(render(SERVED_VERSION)).toBe('<IDs><String>1</String></IDs><Reports xsi:nil="true"/>')
    expect(render('8.0')).toBe('<IDs><String>1</String></IDs><Reports xsi:nil="true"/>')
    expect(render('7.5')).toBe('<IDs><String>1</String></IDs>')
    expect(definesSpec('10.13', { since: '10.5' })).toBe(true)
    expect(definesSpec('10.4', { since: '10.5' })).toBe(false)
    expect(definesSpec('9.0', { until: '10.0' })).toBe(true)
    expect(definesSpec('10.0', { until: '10.0' })).toBe(false)
  })

  it('refuses a reply that leaves out a required element', () => {
    expect(() =>
      renderElements(ENTERPRISE_SCHEMA, RESPONSES.GetVersion.elements, {}, SERVED_VERSION),
    ).toThrow('Enterprise reply is missing required element VersionInfo')
  })
})
