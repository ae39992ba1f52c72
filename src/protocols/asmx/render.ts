import type { DeleteLogRow } from '../../core/ports/trash-store.js'
import type { TrashListingEntry } from '../../core/types.js'
import { asmxHandler } from '../kit/handles.js'
import { envelopeParts, type SoapVersion } from '../soap/envelope.js'
import { type SoapFaultCode, soapFault as writeSoapFault } from '../soap/fault.js'
import {
  DOTNET,
  type Markup,
  streamElement,
  dotnet as w,
  type XmlAttributes,
  XSD_NS,
  XSI_NS,
} from '../soap/writer.js'

export const TEMPURI = 'http://tempuri.org/'
const XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'
/** The envelope ASP.NET writes: prefix soap, xsi and xsd declared. */
const ENVELOPE = { prefix: 'soap', namespaces: { xsi: XSI_NS, xsd: XSD_NS } }

/**
 * What an infoRouter method answers: the attributes of `<response>` and, for listings, its children as
 * pre-rendered XML chunks (a listing of any size is written as it is read, never built as one string).
 */
export interface AsmxReply {
  success: boolean
  error: string
  attrs?: [string, string | number][]
  children?: AsyncIterable<string>
}

export const ok = (attrs?: AsmxReply['attrs'], children?: AsyncIterable<string>): AsmxReply => ({
  success: true,
  error: '',
  ...(attrs ? { attrs } : {}),
  ...(children ? { children } : {}),
})

export const failed = (error: string, children?: AsyncIterable<string>): AsmxReply => ({
  success: false,
  error,
  ...(children ? { children } : {}),
})

function openTag(reply: AsmxReply, soap: boolean): Markup {
  const attrs: XmlAttributes = [
    ['success', reply.success ? 'true' : 'false'],
    ['error', reply.error],
    ...(reply.attrs ?? []),
  ]
  // inside the SOAP Result element the payload resets the default namespace (it belongs to none)
  return w.open('response', soap ? { attrs, xmlns: { '': '' } } : { attrs })
}

/** `2024-06-15T10:23:45.000Z` (infoRouter's yyyy-MM-ddTHH:mm:ss.fffZ). */
export const isoMillis = (date: Date) => date.toISOString()
/** `2026-03-20T14:35:00Z` */
export const isoSeconds = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z')
/** `2024-06-15 14:30:00` (delete log, UTC) */
export const logDate = (date: Date) => date.toISOString().slice(0, 19).replace('T', ' ')

/** `/Finance/Reports/Q1.pdf` → `\\Finance\\Reports`: the containing folder with backslashes. */
export function containingPath(fullPath: string | null): string {
  const path = fullPath ?? ''
  // the usual form (`/a/b/c`, no empty segments) without splitting
  if (path.charCodeAt(0) === 47 && !path.includes('//') && !path.endsWith('/')) {
    return `\\${path.slice(1, path.lastIndexOf('/')).replaceAll('/', '\\')}`
  }
  const segments = path.split('/').filter(Boolean)
  return `\\${segments.slice(0, -1).join('\\')}`
}

/** A `<document>` or `<folder>` of GetRecycleBinContent / SearchRecycledItems . */
export function recycledItem(entry: TrashListingEntry): Markup {
  const folder = entry.kind === 'folder'
  const emptied = entry.state === 'emptied'
  // emptied (IPS emptyAssetsFromTrash) items wait for the cleanup job: infoRouter's system recycle bin
  return w.element(folder ? 'folder' : 'document', [], {
    attrs: [
      ['Name', entry.name],
      ['DateDeleted', entry.deletedAt ? isoMillis(entry.deletedAt) : ''],
      ['TotalSize', folder ? entry.unitBytes : entry.size],
      ['OriginalFolderId', entry.originalParentId ?? 0],
      ['DeletePath', containingPath(entry.originalPath)],
      ['DeletedById', entry.deletedBy ?? ''],
      ['DeletedByName', entry.deletedByLogin ?? ''],
      ['RecycledItemStatusId', emptied ? 1 : 0],
      ['RecycledItemStatus', emptied ? 'In System Recycle Bin' : 'In User Recycle Bin'],
      ['Handler', asmxHandler.format(entry.id, entry.kind)],
    ],
  })
}

const LOG_ACTIONS: Record<string, string> = {
  trash: 'RECYCLE',
  restore: 'RESTORE',
  purge: 'PURGE',
  expire: 'PURGE',
  empty: 'RECYCLE EMPTIED',
  empty_bin: 'RECYCLE EMPTIED',
}
/** the audit actions a delete log shows */
export const DELETE_LOG_ACTIONS = Object.keys(LOG_ACTIONS)

/** A `<LOGITEM>` of GetDeleteLog. */
export function deleteLogItem(row: DeleteLogRow): Markup {
  const segments = (row.itemPath ?? '').split('/').filter(Boolean)
  const type = row.itemKind === 'file' ? 'DOCUMENT' : segments.length <= 1 ? 'DOMAIN' : 'FOLDER'
  return w.element('LOGITEM', [], {
    attrs: [
      ['TYPE', type],
      ['NAME', row.itemName],
      ['PATH', containingPath(row.itemPath)],
      ['DATE', logDate(row.at)],
      ['ID', row.itemId],
      ['DOMAINID', row.libraryId],
      ['DOMAINNAME', row.libraryName],
      ['ACTION', LOG_ACTIONS[row.action] ?? row.action.toUpperCase()],
      ['USERID', row.actorId],
      ['FULLNAME', row.actorName],
    ],
  })
}

/** `<logitem name message/>` lines of an `error="[log]"` answer. */
export async function* logItems(entries: { name: string; message: string }[]): AsyncGenerator<Markup> {
  for (const entry of entries)
    yield w.element('logitem', [], {
      attrs: [
        ['name', entry.name],
        ['message', entry.message],
      ],
    })
}

export async function* once(xml: string): AsyncGenerator<string> {
  yield xml
}

/** The SOAP envelope around `<{Method}Response><{Method}Result>`, split where the payload goes. */
export function soapParts(version: SoapVersion, method: string): [string, string] {
  const [head, tail] = envelopeParts({ version, ...ENVELOPE })
  const response = `${method}Response`
  const result = `${method}Result`
  return [
    `${head}${w.open(response, { xmlns: { '': TEMPURI } })}>${w.open(result)}>`,
    `${w.close(result)}${w.close(response)}${tail}`,
  ]
}

export interface Framing {
  /** set for SOAP answers */
  soap?: { version: SoapVersion; method: string }
}

/**
 * Renders a reply as a stream of strings. The first child chunk is read before anything is written, so
 * that a failure at the start still becomes an ordinary `success="false"` answer (see `prepare`).
 */
export function renderReply(
  reply: AsmxReply,
  framing: Framing,
  first: IteratorResult<Markup> | null,
  rest: AsyncIterator<Markup> | null,
): AsyncGenerator<Markup> {
  const soap = framing.soap
  const around: [Markup, Markup] = soap ? soapParts(soap.version, soap.method) : [XML_DECLARATION, '']
  return streamElement('response', openTag(reply, Boolean(soap)), first, rest, DOTNET.empty, around)
}

/** Reads the first chunk of a reply's children (which may throw: the caller answers with SystemError). */
export async function prepare(reply: AsmxReply) {
  if (!reply.children) return { first: null, rest: null }
  const iterator = reply.children[Symbol.asyncIterator]()
  const first = await iterator.next()
  return { first, rest: iterator }
}

/** A SOAP fault as ASMX writes it (HTTP 500). */
export function soapFault(version: SoapVersion, code: SoapFaultCode, message: string) {
  return writeSoapFault({ code, reason: message }, { version, xml: DOTNET, lang: 'en', ...ENVELOPE })
}
