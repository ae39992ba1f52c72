import { MAX_BATCH_IDS } from '../../core/types.js'
import { basicCredentials, type Credentials } from '../kit/credentials.js'
import { isNil, type XmlElement } from '../soap/xml.js'
import { faults } from './faults.js'
import { type OperationSpec, operationByName } from './schema.js'
import { IPS_COMMON_NS, IPS_WSDL_NS, type IpsVersion, versionByNamespace } from './versions.js'
import { operationsOf } from './wsdl.js'

/** What a request says once its wire form (SOAP 1.1/1.2 or plain XML) is peeled off. */
export interface IpsCall {
  op: OperationSpec
  version: IpsVersion
  param: XmlElement
}

/** The `<op>Param` element names the operation; its namespace the version (dispatch never uses SOAPAction). */
export function resolveCall(param: XmlElement): IpsCall {
  const version = versionByNamespace(param.ns)
  const opName = param.name.endsWith('Param') ? param.name.slice(0, -'Param'.length) : ''
  const op = operationByName(opName)
  if (!version || !op || !operationsOf(version).includes(op)) {
    const ns = param.ns ? `{${param.ns}}` : ''
    throw faults.missingParameter(`Unknown operation: no operation is defined for element ${ns}${param.name}`)
  }
  return { op, version, param }
}

function isAuthHeader(element: XmlElement): boolean {
  return element.name === 'authHeader' && (element.ns === IPS_COMMON_NS || !!versionByNamespace(element.ns))
}

function childValue(element: XmlElement, name: string): string | undefined {
  const found = element.children.find((c) => c.name === name)
  return found && !isNil(found) ? found.text.trim() : undefined
}

/**
 * The HTTP status a fault should carry: authHeader/faultHttpStatusCode when present and sensible, else 500.
 * Read before anything else can fail, so that even authentication faults honour it.
 */
export function faultStatusOf(headers: XmlElement[]): number {
  for (const header of headers) {
    if (!isAuthHeader(header)) continue
    const value = childValue(header, 'faultHttpStatusCode')
    if (value && /^\d{3}$/.test(value)) {
      const status = Number(value)
      if (status >= 200 && status <= 599) return status
    }
  }
  return 500
}

/**
 * Whether to gzip the reply: authHeader/gzipResponse when given, else whenever the client accepts gzip (the
 * real service's default, `webservice.gzip.response=accept`).
 */
export function gzipWanted(headers: XmlElement[], acceptEncoding: string | undefined): boolean {
  const accepts = (acceptEncoding ?? '').split(',').some((part) => {
    const [coding, ...options] = part.split(';').map((p) => p.trim().toLowerCase())
    const q = options.find((o) => o.startsWith('q='))
    return (coding === 'gzip' || coding === '*') && (q === undefined || Number(q.slice(2)) > 0)
  })
  if (!accepts) return false
  for (const header of headers) {
    if (!isAuthHeader(header)) continue
    const value = childValue(header, 'gzipResponse')
    if (value === 'false' || value === '0') return false
  }
  return true
}

/** The client as the authHeader names it (appName and appVersion), or null. */
export function clientOf(headers: XmlElement[]): string | null {
  for (const header of headers) {
    if (!isAuthHeader(header)) continue
    const name = childValue(header, 'appName')
    if (!name) continue
    const version = childValue(header, 'appVersion')
    return version ? `${name} ${version}` : name
  }
  return null
}

/**
 * Credentials, in order: authHeader (unversioned or any versioned namespace, children in any order), the
 * deprecated AuthUser/AuthPassword headers, then HTTP Basic. Null when none is given.
 */
export function credentialsOf(headers: XmlElement[], authorization: string | undefined): Credentials | null {
  for (const header of headers) {
    if (!isAuthHeader(header)) continue
    const user = childValue(header, 'user') ?? ''
    const password = childValue(header, 'password') ?? ''
    if (user || password) return { user, password }
  }
  const legacyUser = headers.find((h) => h.name === 'AuthUser' && h.ns === IPS_WSDL_NS)
  const legacyPassword = headers.find((h) => h.name === 'AuthPassword' && h.ns === IPS_WSDL_NS)
  if (legacyUser || legacyPassword) {
    return { user: legacyUser?.text.trim() ?? '', password: legacyPassword?.text ?? '' }
  }
  return basicCredentials(authorization)
}

/** Reading parameters: by local name (clients qualify children or not), xsi:nil counts as absent. */
export class Params {
  constructor(private readonly param: XmlElement) {}

  private find(name: string): XmlElement | undefined {
    const found = this.param.children.find((c) => c.name === name)
    return found && !isNil(found) ? found : undefined
  }

  /** Whether a parameter carries a value (text, or child elements). */
  given(name: string): boolean {
    const found = this.find(name)
    return !!found && (found.text.trim() !== '' || found.children.length > 0)
  }

  optionalString(name: string): string | undefined {
    return this.find(name)?.text.trim()
  }

  string(name: string): string {
    const value = this.optionalString(name)
    if (value === undefined || value === '')
      throw faults.missingParameter(`Missing required parameter '${name}'`)
    return value
  }

  optionalBoolean(name: string): boolean | undefined {
    const value = this.optionalString(name)
    if (value === undefined || value === '') return undefined
    if (value === 'true' || value === '1') return true
    if (value === 'false' || value === '0') return false
    throw faults.invalidParameter(`Invalid value for parameter '${name}': '${value}' is not a boolean`)
  }

  optionalInt(name: string, min: number, max: number): number | undefined {
    const value = this.optionalString(name)
    if (value === undefined || value === '') return undefined
    if (!/^[+-]?\d{1,10}$/.test(value) || Number(value) < min || Number(value) > max) {
      throw faults.invalidParameter(
        `Invalid value for parameter '${name}': '${value}' (an integer from ${min} to ${max} is expected)`,
      )
    }
    return Number(value)
  }

  /** The `items` of an array parameter; undefined when the array is absent. */
  optionalArray(name: string): string[] | undefined {
    const array = this.find(name)
    if (!array) return undefined
    if (array.children.length > MAX_BATCH_IDS) {
      throw faults.invalidParameter(`Parameter '${name}' has more than ${MAX_BATCH_IDS} items`)
    }
    return array.children.filter((c) => c.name === 'items' && !isNil(c)).map((c) => c.text.trim())
  }

  array(name: string): string[] {
    const items = this.optionalArray(name)
    if (items === undefined) throw faults.missingParameter(`Missing required parameter '${name}'`)
    return items
  }
}
