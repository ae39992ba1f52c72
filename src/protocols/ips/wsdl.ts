import { escapeXml } from '../soap/xml.js'
import {
  AUTH_HEADER_FIELDS,
  COMPLEX_TYPES,
  type ComplexTypeName,
  type ElementSpec,
  FAULT_ELEMENTS,
  OPERATIONS,
  type OperationSpec,
} from './schema.js'
import { defines, definesSpec, IPS_COMMON_NS, IPS_WSDL_NS, type IpsVersion, PRE_40 } from './versions.js'

/** The address written into the committed WSDL files; a served WSDL replaces it (see serveWsdl). */
export const DEFAULT_SERVICE_URL = 'http://localhost:8080/scene7/services/IpsApiService'
export const SERVICE_PATH = '/scene7/services/IpsApiService'

const WSDL_NS = 'http://schemas.xmlsoap.org/wsdl/'
const WSDL_SOAP11_NS = 'http://schemas.xmlsoap.org/wsdl/soap/'
const WSDL_SOAP12_NS = 'http://schemas.xmlsoap.org/wsdl/soap12/'
const XSD_NS = 'http://www.w3.org/2001/XMLSchema'
const HTTP_TRANSPORT = 'http://schemas.xmlsoap.org/soap/http'

/** The operations a version defines. */
export function operationsOf(version: IpsVersion): OperationSpec[] {
  return OPERATIONS.filter((op) => defines(version, op.since))
}

function elementDecl(spec: ElementSpec, indent: string): string {
  const type = spec.type.startsWith('xsd:') ? spec.type : `types:${spec.type}`
  const occurs = `${spec.optional ? ' minOccurs="0"' : ''}${spec.many ? ' maxOccurs="unbounded"' : ''}`
  return `${indent}<xsd:element name="${spec.name}" type="${type}"${occurs}/>`
}

function sequence(elements: ElementSpec[], version: IpsVersion, indent: string): string[] {
  const defined = elements.filter((e) => definesSpec(version, e))
  if (defined.length === 0) return [`${indent}<xsd:sequence/>`]
  return [
    `${indent}<xsd:sequence>`,
    ...defined.map((e) => elementDecl(e, `${indent}  `)),
    `${indent}</xsd:sequence>`,
  ]
}

function versionedDeclarations(version: IpsVersion, indent: string): string[] {
  const lines: string[] = []
  for (const [name, type] of Object.entries(COMPLEX_TYPES) as [
    ComplexTypeName,
    (typeof COMPLEX_TYPES)[ComplexTypeName],
  ][]) {
    if (!defines(version, type.since)) continue
    lines.push(`${indent}<xsd:complexType name="${name}">`)
    lines.push(...sequence(type.elements, version, `${indent}  `))
    lines.push(`${indent}</xsd:complexType>`)
  }
  for (const op of operationsOf(version)) {
    for (const [suffix, elements] of [
      ['Param', op.param],
      ['Return', op.result],
    ] as const) {
      lines.push(`${indent}<xsd:element name="${op.name}${suffix}">`)
      lines.push(`${indent}  <xsd:complexType>`)
      lines.push(...sequence(elements, version, `${indent}    `))
      lines.push(`${indent}  </xsd:complexType>`)
      lines.push(`${indent}</xsd:element>`)
    }
  }
  return lines
}

function commonDeclarations(indent: string): string[] {
  const lines = [`${indent}<xsd:element name="authHeader">`, `${indent}  <xsd:complexType>`]
  lines.push(`${indent}    <xsd:all>`)
  for (const field of AUTH_HEADER_FIELDS) lines.push(elementDecl(field, `${indent}      `))
  lines.push(`${indent}    </xsd:all>`, `${indent}  </xsd:complexType>`, `${indent}</xsd:element>`)
  for (const fault of FAULT_ELEMENTS) {
    lines.push(
      `${indent}<xsd:element name="${fault}">`,
      `${indent}  <xsd:complexType>`,
      `${indent}    <xsd:sequence>`,
      `${indent}      <xsd:element name="code" type="xsd:int"/>`,
      `${indent}      <xsd:element name="reason" type="xsd:string"/>`,
      `${indent}    </xsd:sequence>`,
      `${indent}  </xsd:complexType>`,
      `${indent}</xsd:element>`,
    )
  }
  return lines
}

function binding(name: string, soap: 'soap' | 'soap12', ops: OperationSpec[]): string[] {
  const lines = [
    `  <wsdl:binding name="${name}" type="tns:IpsApiPortType">`,
    `    <${soap}:binding style="document" transport="${HTTP_TRANSPORT}"/>`,
  ]
  for (const op of ops) {
    lines.push(
      `    <wsdl:operation name="${op.name}">`,
      `      <${soap}:operation soapAction="${op.name}" style="document"/>`,
      '      <wsdl:input>',
      `        <${soap}:body use="literal"/>`,
      `        <${soap}:header message="tns:authHeader" part="authHeader" use="literal"/>`,
      '      </wsdl:input>',
      '      <wsdl:output>',
      `        <${soap}:body use="literal"/>`,
      '      </wsdl:output>',
    )
    // Axis 1.4's WSDL2Java knows no soap12:fault and refuses a SOAP 1.2 binding fault without a soap:fault
    // ("Missing <soap:fault> element"): the faults are bound in the SOAP 1.1 binding only, so every toolkit
    // loads the WSDL as served (the SOAP 1.2 port still answers with the same fault details).
    if (soap === 'soap') {
      for (const fault of FAULT_ELEMENTS) {
        lines.push(
          `      <wsdl:fault name="${fault}">`,
          `        <${soap}:fault name="${fault}" use="literal"/>`,
          '      </wsdl:fault>',
        )
      }
    }
    lines.push('    </wsdl:operation>')
  }
  lines.push('  </wsdl:binding>')
  return lines
}

/** The WSDL of one version: document/literal, SOAP 1.1 and 1.2 bindings, one service with both ports. */
export function generateWsdl(version: IpsVersion, serviceUrl = DEFAULT_SERVICE_URL): string {
  const ops = operationsOf(version)
  const address = escapeXml(serviceUrl)
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<!-- IPS API ${version.key === '' ? '(pre-4.0, unversioned)' : version.key}: generated by scripts/generate-wsdl.ts from src/protocols/ips/schema.ts; do not edit. -->`,
    `<wsdl:definitions xmlns:wsdl="${WSDL_NS}" xmlns:soap="${WSDL_SOAP11_NS}" xmlns:soap12="${WSDL_SOAP12_NS}"`,
    `    xmlns:xsd="${XSD_NS}" xmlns:tns="${IPS_WSDL_NS}" xmlns:common="${IPS_COMMON_NS}"`,
    `    xmlns:types="${version.ns}" targetNamespace="${IPS_WSDL_NS}">`,
    '  <wsdl:types>',
  ]
  if (version.ns === PRE_40.ns) {
    lines.push(`    <xsd:schema targetNamespace="${IPS_COMMON_NS}" elementFormDefault="qualified">`)
    lines.push(...commonDeclarations('      '), ...versionedDeclarations(version, '      '))
    lines.push('    </xsd:schema>')
  } else {
    lines.push(`    <xsd:schema targetNamespace="${IPS_COMMON_NS}" elementFormDefault="qualified">`)
    lines.push(...commonDeclarations('      '))
    lines.push('    </xsd:schema>')
    lines.push(`    <xsd:schema targetNamespace="${version.ns}" elementFormDefault="qualified">`)
    lines.push(...versionedDeclarations(version, '      '))
    lines.push('    </xsd:schema>')
  }
  lines.push('  </wsdl:types>')
  lines.push(
    '  <wsdl:message name="authHeader">',
    '    <wsdl:part name="authHeader" element="common:authHeader"/>',
    '  </wsdl:message>',
  )
  for (const fault of FAULT_ELEMENTS) {
    lines.push(
      `  <wsdl:message name="${fault}">`,
      `    <wsdl:part name="fault" element="common:${fault}"/>`,
      '  </wsdl:message>',
    )
  }
  for (const op of ops) {
    lines.push(
      `  <wsdl:message name="${op.name}Request">`,
      `    <wsdl:part name="parameters" element="types:${op.name}Param"/>`,
      '  </wsdl:message>',
      `  <wsdl:message name="${op.name}Response">`,
      `    <wsdl:part name="parameters" element="types:${op.name}Return"/>`,
      '  </wsdl:message>',
    )
  }
  lines.push('  <wsdl:portType name="IpsApiPortType">')
  for (const op of ops) {
    lines.push(
      `    <wsdl:operation name="${op.name}">`,
      `      <wsdl:input message="tns:${op.name}Request"/>`,
      `      <wsdl:output message="tns:${op.name}Response"/>`,
      ...FAULT_ELEMENTS.map((fault) => `      <wsdl:fault name="${fault}" message="tns:${fault}"/>`),
      '    </wsdl:operation>',
    )
  }
  lines.push('  </wsdl:portType>')
  lines.push(...binding('IpsApiSoapBinding', 'soap', ops), ...binding('IpsApiSoap12Binding', 'soap12', ops))
  lines.push(
    '  <wsdl:service name="IpsApiService">',
    '    <wsdl:port name="IpsApiSoapPort" binding="tns:IpsApiSoapBinding">',
    `      <soap:address location="${address}"/>`,
    '    </wsdl:port>',
    '    <wsdl:port name="IpsApiSoap12Port" binding="tns:IpsApiSoap12Binding">',
    `      <soap12:address location="${address}"/>`,
    '    </wsdl:port>',
    '  </wsdl:service>',
    '</wsdl:definitions>',
    '',
  )
  return lines.join('\n')
}

/** A committed WSDL file with its service address replaced. */
export function withServiceUrl(wsdl: string, serviceUrl: string): string {
  return wsdl.replaceAll(
    `location="${escapeXml(DEFAULT_SERVICE_URL)}"`,
    `location="${escapeXml(serviceUrl)}"`,
  )
}
