import autocannon, { type Request } from 'autocannon'

/**
 * A mixed workload over every door: listings and searches, trash and restore of random items of one pool,
 * through IPS (SOAP 1.1 and plain XML), srv.asmx (GET, POST, SOAP), Enterprise and REST. Items are never
 * purged, so it can run for any time. A reply counts as an error when it is not 2xx (IPS faults are 500) or
 * when it is a server-side failure in a door's own format (srv.asmx SystemError, Enterprise Server fault).
 */

export interface LoadTenant {
  tenantId: number
  login: string
  password: string
  itemIds: number[]
  asmxTicket: string
  enterpriseTicket: string
}

export interface LoadSummary {
  seconds: number
  requests: number
  rps: number
  non2xx: number
  socketErrors: number
  serverFailures: number
  p50: number
  p99: number
}

const json = (body: unknown) => JSON.stringify(body)

async function call(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
) {
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body })
  const text = await response.text()
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`)
  return text
}

/** A tenant, an admin user and a pool of items (half of them trashed) made through the REST admin API. */
export async function createLoadTenant(
  baseUrl: string,
  adminToken: string,
  items = 200,
): Promise<LoadTenant> {
  const admin = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }
  const suffix = Math.random().toString(36).slice(2, 8)
  const tenantId = JSON.parse(
    await call(baseUrl, 'POST', '/api/v1/tenants', admin, json({ name: `load ${suffix}` })),
  ).id
  const login = `load-${suffix}`
  const password = `load-password-${suffix}`
  await call(
    baseUrl,
    'POST',
    `/api/v1/tenants/${tenantId}/users`,
    admin,
    json({ login, password, admin: true }),
  )
  const brandId = JSON.parse(
    await call(baseUrl, 'POST', `/api/v1/tenants/${tenantId}/brands`, admin, json({ name: 'Load' })),
  ).id
  const itemIds: number[] = []
  for (let n = 0; n < items; n++) {
    const created = await call(
      baseUrl,
      'POST',
      `/api/v1/tenants/${tenantId}/items`,
      admin,
      json({ kind: 'file', name: `load-${n}.txt`, brandId }),
    )
    itemIds.push(JSON.parse(created).id)
  }
  const user = { authorization: `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}` }
  await call(
    baseUrl,
    'POST',
    '/api/v1/items/trash',
    { ...user, 'content-type': 'application/json' },
    json({ ids: itemIds.slice(0, items / 2) }),
  )
  const auth = await call(
    baseUrl,
    'GET',
    `/srv.asmx/AuthenticateUser?${new URLSearchParams({ UID: login, PWD: password })}`,
    {},
  )
  const asmxTicket = /ticket="([^"]+)"/.exec(auth)![1]!
  const logOn = await call(
    baseUrl,
    'POST',
    '/Enterprise/index.php',
    { 'content-type': 'text/xml; charset=utf-8' },
    enterpriseEnvelope(
      `<ns1:LogOn><User>${login}</User><Password>${password}</Password><Ticket/><Server>Enterprise Server</Server>` +
        '<ClientName>load</ClientName><Domain/><ClientAppName>Content Station</ClientAppName>' +
        '<ClientAppVersion>v10.0 build 1</ClientAppVersion><ClientAppSerial/><ClientAppProductKey/></ns1:LogOn>',
    ),
  )
  const enterpriseTicket = /<Ticket>([0-9a-f]{40})<\/Ticket>/.exec(logOn)![1]!
  return { tenantId, login, password, itemIds, asmxTicket, enterpriseTicket }
}

function enterpriseEnvelope(body: string) {
  return (
    '<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"' +
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:ns1="urn:SmartConnection">' +
    `<SOAP-ENV:Body>${body}</SOAP-ENV:Body></SOAP-ENV:Envelope>`
  )
}

const IPS_NS = 'http://www.scene7.com/IpsApi/xsd/2012-02-14'

function requestsFor(t: LoadTenant, failures: { count: number; samples: string[] }): Request[] {
  const pick = () => t.itemIds[Math.floor(Math.random() * t.itemIds.length)]!
  const authHeader = `<authHeader xmlns="http://www.scene7.com/IpsApi/xsd"><user>${t.login}</user><password>${t.password}</password></authHeader>`
  const soap = (body: string) =>
    `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header>${authHeader}</soapenv:Header><soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`
  const ipsBatch = (op: string) =>
    `<${op}Param xmlns="${IPS_NS}"><companyHandle>c|${t.tenantId}</companyHandle><assetHandleArray><items>a|${pick()}</items><items>a|${pick()}</items></assetHandleArray></${op}Param>`
  const xml = { 'content-type': 'text/xml; charset=utf-8' }
  const rest = {
    authorization: `Basic ${Buffer.from(`${t.login}:${t.password}`).toString('base64')}`,
    'content-type': 'application/json',
  }
  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  const watch = (status: number, body: string) => {
    if (/SystemError|<faultcode>SOAP-ENV:Server<\/faultcode>|An internal error occurred/.test(body)) {
      failures.count++
      if (failures.samples.length < 5) failures.samples.push(`${status} ${body.slice(0, 300)}`)
    }
  }
  const dynamic = (
    method: 'GET' | 'POST',
    path: () => string,
    headers: Record<string, string>,
    body?: () => string,
  ) => ({
    method,
    headers,
    setupRequest: (request: Request) => ({ ...request, path: path(), ...(body ? { body: body() } : {}) }),
    onResponse: (status: number, responseBody: string) => watch(status, responseBody),
  })
  return [
    dynamic('GET', () => '/api/v1/trash?limit=50', rest),
    dynamic(
      'POST',
      () => '/api/v1/items/trash',
      rest,
      () => json({ ids: [pick(), pick()] }),
    ),
    dynamic(
      'POST',
      () => '/scene7/services/IpsApiService',
      xml,
      () => soap(ipsBatch('restoreAssetsFromTrash')),
    ),
    dynamic(
      'POST',
      () => '/scene7/api/IpsApiService',
      xml,
      () =>
        `<Request>${authHeader}<searchAssetsParam xmlns="${IPS_NS}"><companyHandle>c|${t.tenantId}</companyHandle><trashState>InTrash</trashState><recordsPerPage>50</recordsPerPage></searchAssetsParam></Request>`,
    ),
    dynamic('GET', () => `/srv.asmx/GetRecycleBinContent?AuthenticationTicket=${t.asmxTicket}`, {}),
    dynamic(
      'POST',
      () => '/srv.asmx/DeleteDocument',
      form,
      () => new URLSearchParams({ authenticationTicket: t.asmxTicket, Path: `~D${pick()}` }).toString(),
    ),
    dynamic(
      'POST',
      () => '/srv.asmx',
      { ...xml, soapaction: '"http://tempuri.org/RestoreRecycleBinItem"' },
      () =>
        `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tns="http://tempuri.org/"><soap:Body><tns:RestoreRecycleBinItem><tns:AuthenticationTicket>${t.asmxTicket}</tns:AuthenticationTicket><tns:ItemHandler>D${pick()}</tns:ItemHandler><tns:RestorePath></tns:RestorePath></tns:RestoreRecycleBinItem></soap:Body></soap:Envelope>`,
    ),
    dynamic(
      'POST',
      () => '/Enterprise/index.php',
      xml,
      () =>
        enterpriseEnvelope(
          `<ns1:DeleteObjects><Ticket>${t.enterpriseTicket}</Ticket><IDs><String>${pick()}</String></IDs><Permanent>false</Permanent><Params xsi:nil="true"/><Areas><AreaType>Workflow</AreaType></Areas></ns1:DeleteObjects>`,
        ),
    ),
    dynamic(
      'POST',
      () => '/Enterprise/index.php',
      xml,
      () =>
        enterpriseEnvelope(
          `<ns1:RestoreObjects><Ticket>${t.enterpriseTicket}</Ticket><IDs><String>${pick()}</String></IDs></ns1:RestoreObjects>`,
        ),
    ),
    dynamic(
      'POST',
      () => '/Enterprise/index.php',
      xml,
      () =>
        enterpriseEnvelope(
          `<ns1:QueryObjects><Ticket>${t.enterpriseTicket}</Ticket><Params xsi:nil="true"/><FirstEntry>1</FirstEntry><MaxEntries>50</MaxEntries><Hierarchical>false</Hierarchical><Order xsi:nil="true"/><MinimalProps xsi:nil="true"/><RequestProps xsi:nil="true"/><Areas><AreaType>Trash</AreaType></Areas></ns1:QueryObjects>`,
        ),
    ),
  ]
}

/** Runs the mixed workload for `seconds` with `connections` keep-alive connections. */
export async function runMixedLoad(
  baseUrl: string,
  tenant: LoadTenant,
  options: { seconds: number; connections: number },
): Promise<LoadSummary & { failureSamples: string[] }> {
  if (!new URL(baseUrl).hostname.startsWith('127.')) throw new Error('load only to loopback')
  const failures = { count: 0, samples: [] as string[] }
  const result = await autocannon({
    url: baseUrl,
    connections: options.connections,
    duration: options.seconds,
    requests: requestsFor(tenant, failures),
  })
  return {
    seconds: result.duration,
    requests: result.requests.total,
    rps: Math.round(result.requests.total / result.duration),
    non2xx: result.non2xx,
    socketErrors: result.errors + result.timeouts,
    serverFailures: failures.count,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failureSamples: failures.samples,
  }
}
