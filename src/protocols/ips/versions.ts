/**
 * IPS API versions. The namespace of the body's `<op>Param` selects the version; the reply uses the same
 * namespace and only the elements that version defines. Versions are ordered by their date, so "defined
 * since X" is a string comparison of dates.
 */

/** The unversioned namespace: the pre-4.0 API, and the home of authHeader and the three fault elements. */
export const IPS_COMMON_NS = 'http://www.scene7.com/IpsApi/xsd'
/** WSDL-level namespace (messages, port type, bindings) and the deprecated AuthUser/AuthPassword headers. */
export const IPS_WSDL_NS = 'http://www.scene7.com/IpsApi'

export interface IpsVersion {
  /** the WSDL name suffix: `IpsApi-<key>.wsdl`; '' is the pre-4.0 `IpsApi.wsdl` */
  key: string
  ns: string
  /** sort key: the release date; '0000-00-00' for pre-4.0 */
  date: string
  beta: boolean
}

const version = (key: string): IpsVersion => ({
  key,
  ns: `${IPS_COMMON_NS}/${key}`,
  date: key.slice(0, 10),
  beta: key.endsWith('-beta'),
})

export const PRE_40: IpsVersion = { key: '', ns: IPS_COMMON_NS, date: '0000-00-00', beta: false }

/**
 * Every namespace accepted: the documented releases, the beta namespaces real clients use, the non-beta
 * spellings some documentation examples show, and seed 000's 2023-01-15.
 */
export const IPS_VERSIONS: readonly IpsVersion[] = [
  PRE_40,
  ...[
    '2008-01-15',
    '2008-09-10',
    '2009-07-31',
    '2010-01-31',
    '2011-11-04',
    '2011-11-04-beta',
    '2012-02-14',
    '2012-07-31',
    '2012-07-31-beta',
    '2013-02-15',
    '2013-08-29-beta',
    '2014-04-03',
    '2016-01-14-beta',
    '2017-10-29-beta',
    '2021-01-11-beta',
    '2021-04-26-beta',
    '2022-11-01-beta',
    '2023-01-15',
  ].map(version),
]

/** The newest documented (non-beta) release: what `IpsApi.wsdl`-less clients are pointed at in examples. */
export const LATEST_DOCUMENTED = '2014-04-03'

const byNs = new Map(IPS_VERSIONS.map((v) => [v.ns, v]))
const byKey = new Map(IPS_VERSIONS.map((v) => [v.key, v]))

export function versionByNamespace(ns: string): IpsVersion | undefined {
  return byNs.get(ns)
}

export function versionByKey(key: string): IpsVersion | undefined {
  return byKey.get(key)
}

/** Whether something introduced in `since` (a date, or undefined: always) exists in this version. */
export function defines(version: IpsVersion, since: string | undefined): boolean {
  return since === undefined || version.date >= since
}

/** Whether an element or type exists in this version: introduced in `since`, dropped from `until` on. */
export function definesSpec(version: IpsVersion, spec: { since?: string; until?: string }): boolean {
  return defines(version, spec.since) && (spec.until === undefined || version.date < spec.until)
}

/** The WSDL file name of a version. */
export function wsdlFileName(version: IpsVersion): string {
  return version.key === '' ? 'IpsApi.wsdl' : `IpsApi-${version.key}.wsdl`
}
