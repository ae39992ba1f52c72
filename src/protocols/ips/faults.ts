import type { SoapVersion } from '../soap/envelope.js'
import { soapFault } from '../soap/fault.js'
import { type Markup, TEXT, textStyle as w } from '../soap/writer.js'
import type { FaultElement } from './schema.js'
import { IPS_COMMON_NS } from './versions.js'

/** Adobe's fault codes (IpsApiCommon / fault reference). */
export const IpsFaultCodes = {
  NO_CREDENTIALS: 10000,
  INVALID_CREDENTIALS: 10001,
  NO_OPERATION_PERMISSION: 20003,
  ILLEGAL_REQUEST_USER: 20007,
  ILLEGAL_COMPANY: 20006,
  MISSING_PERMISSION: 20009,
  EXCEPTION: 30000,
  INVALID_PARAMETER: 30001,
  MISSING_PARAMETER: 30002,
  INVALID_REQUEST_XML: 30003,
} as const

/** The XML declaration Adobe's service (Axis2) writes. */
export const IPS_XML_DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>"

export class IpsFault extends Error {
  constructor(
    readonly element: FaultElement,
    readonly code: number,
    readonly reason: string,
  ) {
    super(reason)
    this.name = 'IpsFault'
  }
}

/** The fault element that carries a code: 1xxxx authentication, 2xxxx authorization, 3xxxx the API. */
export function faultElementOf(code: number): FaultElement {
  if (code < 20000) return 'authenticationFault'
  if (code < 30000) return 'authorizationFault'
  return 'ipsApiFault'
}

export const faults = {
  noCredentials: () =>
    new IpsFault(
      'authenticationFault',
      IpsFaultCodes.NO_CREDENTIALS,
      'No authentication credentials provided',
    ),
  invalidCredentials: () =>
    new IpsFault('authenticationFault', IpsFaultCodes.INVALID_CREDENTIALS, 'Invalid username/password'),
  /** the same fault as bad credentials: the login or the address is locked after too many failures */
  signInLocked: (retryAfter = 1) =>
    new IpsFault(
      'authenticationFault',
      IpsFaultCodes.INVALID_CREDENTIALS,
      `Too many failed logins: try again in ${retryAfter} seconds`,
    ),
  operationPermission: (operation: string) =>
    new IpsFault(
      'authorizationFault',
      IpsFaultCodes.NO_OPERATION_PERMISSION,
      `User does not have permission to access operation '${operation}'`,
    ),
  illegalCompany: (handle: string) =>
    new IpsFault(
      'authorizationFault',
      IpsFaultCodes.ILLEGAL_COMPANY,
      `User does not have access to company '${handle}'`,
    ),
  illegalUser: (handle: string) =>
    new IpsFault(
      'authorizationFault',
      IpsFaultCodes.ILLEGAL_REQUEST_USER,
      `User does not have access to user '${handle}'`,
    ),
  invalidParameter: (reason: string) => new IpsFault('ipsApiFault', IpsFaultCodes.INVALID_PARAMETER, reason),
  missingParameter: (reason: string) => new IpsFault('ipsApiFault', IpsFaultCodes.MISSING_PARAMETER, reason),
  invalidXml: (reason: string) => new IpsFault('ipsApiFault', IpsFaultCodes.INVALID_REQUEST_XML, reason),
  exception: (reason = 'An internal error occurred') =>
    new IpsFault('ipsApiFault', IpsFaultCodes.EXCEPTION, reason),
}

/** `<tns:ipsApiFault xmlns:tns="http://www.scene7.com/IpsApi/xsd"><tns:code>…</tns:code><tns:reason>…` */
export function faultElementXml(fault: IpsFault): Markup {
  return w.element(
    `tns:${fault.element}`,
    [w.text('tns:code', fault.code), `<tns:reason>${w.style.escape(fault.reason)}</tns:reason>`],
    { xmlns: { tns: IPS_COMMON_NS } },
  )
}

/**
 * A SOAP fault as Adobe's service writes it: SOAP 1.1 `faultcode`/`faultstring`/`detail`, SOAP 1.2
 * `Code/Value`, `Reason/Text`, `Detail`; the fault element's name is the fault string; authentication and
 * authorization faults blame the client, ipsApiFault the server (as captured from the real service).
 */
export function soapFaultXml(fault: IpsFault, version: SoapVersion): string {
  return soapFault(
    {
      code: fault.element === 'ipsApiFault' ? 'Server' : 'Client',
      reason: fault.element,
      detail: faultElementXml(fault),
    },
    { version, prefix: 'soapenv', xml: TEXT, lang: 'en-US', declaration: IPS_XML_DECLARATION },
  )
}

/** The plain-XML form (`/scene7/api/IpsApiService`) answers a fault with the bare fault element document. */
export function bareFaultXml(fault: IpsFault): string {
  return `${IPS_XML_DECLARATION}${faultElementXml(fault)}`
}
