import net from 'node:net'
import type { Database } from '../../src/db/database.js'

/**
 * A fingerprint of everything a request could change: row counts and an md5 over the rows of items, audit,
 * users, tenants and brands. Equal fingerprints mean nothing was written.
 */
export async function databaseFingerprint(db: Database): Promise<Record<string, string>> {
  const result = await db.query(
    `select
       (select count(*) || ':' || coalesce(md5(string_agg(i::text, ',' order by i.id)), '') from items i) as items,
       (select count(*) || ':' || coalesce(md5(string_agg(a::text, ',' order by a.id)), '') from audit a) as audit,
       (select count(*) || ':' || coalesce(md5(string_agg(u::text, ',' order by u.id)), '') from users u) as users,
       (select count(*) || ':' || coalesce(md5(string_agg(t::text, ',' order by t.id)), '') from tenants t) as tenants,
       (select count(*) || ':' || coalesce(md5(string_agg(b::text, ',' order by b.id)), '') from brands b) as brands`,
  )
  return result.rows[0] as Record<string, string>
}

export interface RawReply {
  status: number
  contentType: string
  text: string
  /** bytes of the request body written */
  sent: number
  /** the server cut the connection (reset or closed) before the whole body was sent */
  cutOff: boolean
}

/**
 * POSTs a body produced chunk by chunk (never held in memory as a whole) with chunked transfer encoding over
 * a raw socket, and keeps sending all of it even once the server has answered, as simple clients do: the
 * answer must arrive intact and the connection must not be cut under the client while it is still sending.
 */
export function postStream(
  url: string,
  headers: Record<string, string>,
  chunks: () => Generator<Buffer>,
  timeoutMs: number,
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const target = new URL(url)
    const socket = net.connect({ host: target.hostname, port: Number(target.port) })
    const received: Buffer[] = []
    let sent = 0
    let bodyDone = false
    let cutOff = false
    let settled = false
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
    const finish = (error?: Error) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      if (error) return reject(error)
      try {
        resolve({ ...parseResponse(Buffer.concat(received)), sent, cutOff })
      } catch (parseError) {
        reject(parseError)
      }
    }
    const maybeDone = () => {
      if ((bodyDone || cutOff) && responseComplete(Buffer.concat(received))) finish()
    }
    socket.on('data', (part: Buffer) => {
      received.push(part)
      maybeDone()
    })
    const cut = () => {
      if (!bodyDone) cutOff = true
      finish()
    }
    socket.on('end', cut)
    socket.on('close', cut)
    socket.on('error', cut)
    socket.on('connect', () => {
      const head = [
        `POST ${target.pathname}${target.search} HTTP/1.1`,
        `Host: ${target.host}`,
        ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
        '',
        '',
      ].join('\r\n')
      socket.write(head)
      const iterator = chunks()
      const pump = () => {
        while (!socket.destroyed) {
          const next = iterator.next()
          if (next.done) {
            socket.write('0\r\n\r\n', () => {
              bodyDone = true
              maybeDone()
            })
            return
          }
          sent += next.value.length
          const framed = Buffer.concat([
            Buffer.from(`${next.value.length.toString(16)}\r\n`),
            next.value,
            Buffer.from('\r\n'),
          ])
          if (!socket.write(framed)) {
            socket.once('drain', pump)
            return
          }
        }
      }
      pump()
    })
  })
}

function splitResponse(raw: Buffer) {
  const end = raw.indexOf('\r\n\r\n')
  if (end < 0) return null
  const lines = raw.subarray(0, end).toString('latin1').split('\r\n')
  const headers = new Map<string, string>()
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
  }
  return { status: Number(lines[0]!.split(' ')[1]), headers, body: raw.subarray(end + 4) }
}

function decodeChunked(body: Buffer): Buffer | null {
  const parts: Buffer[] = []
  let offset = 0
  for (;;) {
    const lineEnd = body.indexOf('\r\n', offset)
    if (lineEnd < 0) return null
    const size = Number.parseInt(body.subarray(offset, lineEnd).toString('latin1'), 16)
    if (size === 0) return Buffer.concat(parts)
    if (body.length < lineEnd + 2 + size) return null
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size))
    offset = lineEnd + 2 + size + 2
  }
}

function bodyOf(split: NonNullable<ReturnType<typeof splitResponse>>): Buffer | null {
  const length = split.headers.get('content-length')
  if (length !== undefined)
    return split.body.length >= Number(length) ? split.body.subarray(0, Number(length)) : null
  if (split.headers.get('transfer-encoding') === 'chunked') return decodeChunked(split.body)
  return null
}

function responseComplete(raw: Buffer): boolean {
  const split = splitResponse(raw)
  return split !== null && bodyOf(split) !== null
}

function parseResponse(raw: Buffer): Omit<RawReply, 'sent' | 'cutOff'> {
  const split = splitResponse(raw)
  if (!split) throw new Error(`the server closed the connection without an answer (${raw.length} bytes)`)
  const body = bodyOf(split)
  if (!body) throw new Error('the server closed the connection in the middle of its answer')
  return {
    status: split.status,
    contentType: split.headers.get('content-type') ?? '',
    text: body.toString('utf8'),
  }
}

/** `prefix`, then `total` bytes of filler in 1 MiB chunks, then `suffix`. */
export function* filler(prefix: string, total: number, suffix: string): Generator<Buffer> {
  yield Buffer.from(prefix)
  const chunk = Buffer.alloc(1024 * 1024, 'x')
  for (let written = 0; written < total; written += chunk.length) {
    yield written + chunk.length <= total ? chunk : chunk.subarray(0, total - written)
  }
  yield Buffer.from(suffix)
}

/** Resident set size in MiB. */
export const rssMiB = () => Math.round(process.memoryUsage().rss / (1024 * 1024))

/** The same fingerprint restricted to one tenant's items and audit rows. */
export async function tenantFingerprint(
  db: Database,
  tenantId: number,
  /** the operation log too (a refused request is recorded there as an attempt, in the actor's own tenant) */
  options: { operations?: boolean } = {},
): Promise<Record<string, string>> {
  const result = await db.query(
    `select
       (select count(*) || ':' || coalesce(md5(string_agg(i::text, ',' order by i.id)), '')
          from items i where i.tenant_id = $1) as items,
       (select count(*) || ':' || coalesce(md5(string_agg(a::text, ',' order by a.id)), '')
          from audit a where a.tenant_id = $1) as audit,
       case when $2 then (select count(*) || ':' || coalesce(md5(string_agg(o::text, ',' order by o.started_at, o.id)), '')
          from operations o where o.tenant_id = $1) end as operations`,
    [tenantId, options.operations === true],
  )
  const row = result.rows[0] as Record<string, string | null>
  if (!options.operations) delete row.operations
  return row as Record<string, string>
}
