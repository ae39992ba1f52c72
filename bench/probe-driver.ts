import { createInterface } from 'node:readline'

/**
 * The restore probe as a child process (restoreProbeProcess in lib.ts): reads ProbeOptions as one JSON line on
 * stdin, restores single items of the user's bin through the IPS door one after the other, prints `ready` once
 * the warm-up restores are done, and stops at a `stop` line on stdin (or when its ids or time run out), printing
 * ProbeResult as JSON. Imports nothing of the server, so that the probe's own requests and timing do not share
 * the measured server's event loop (nor wait behind it): what it times is the server's answer alone.
 */
export interface ProbeOptions {
  baseUrl: string
  user: { login: string; password: string }
  tenantId: number
  ids: number[]
  maxSeconds: number
  /** restores made before the measurement starts (not counted) */
  warmUp: number
  /** ms between one answer and the next request */
  pauseMs: number
}

export interface ProbeResult {
  latencies: number[]
  /** when each counted restore started, ms since the epoch (to match a slow one with what ran then) */
  startedAt: number[]
  failures: number
  /** the first failed answer */
  sample?: string
  /** ids restored, warm-up included */
  used: number
}

const IPS_PATH = '/scene7/services/IpsApiService'
const IPS_NS = 'http://www.scene7.com/IpsApi/xsd'

const envelope = (options: ProbeOptions, id: number) =>
  `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">` +
  `<soapenv:Header><authHeader xmlns="${IPS_NS}"><user>${options.user.login}</user><password>${options.user.password}</password>` +
  '<appName>trashd-bench</appName><appVersion>1.0</appVersion></authHeader></soapenv:Header>' +
  `<soapenv:Body><restoreAssetsFromTrashParam xmlns="${IPS_NS}/2014-04-03"><companyHandle>c|${options.tenantId}</companyHandle>` +
  `<assetHandleArray><items>a|${id}</items></assetHandleArray>` +
  '</restoreAssetsFromTrashParam></soapenv:Body></soapenv:Envelope>'

const lines = createInterface({ input: process.stdin })
const iterator = lines[Symbol.asyncIterator]()
const first = await iterator.next()
const options = JSON.parse(String(first.value)) as ProbeOptions
if (!new URL(options.baseUrl).hostname.startsWith('127.')) throw new Error('probe only to loopback')
let stopped = false
void (async () => {
  for (let line = await iterator.next(); !line.done; line = await iterator.next())
    if (String(line.value).trim() === 'stop') break
  stopped = true
})()

const result: ProbeResult = { latencies: [], startedAt: [], failures: 0, used: 0 }
const deadline = Date.now() + options.maxSeconds * 1000
let ready = false
for (const [index, id] of options.ids.entries()) {
  if (index === options.warmUp) {
    ready = true
    process.stdout.write('ready\n')
    result.latencies.length = 0
    result.startedAt.length = 0
    result.failures = 0
    result.sample = undefined
  }
  if (stopped || Date.now() > deadline) break
  result.used++
  const startedAt = Date.now()
  const start = process.hrtime.bigint()
  let ok = false
  let text = ''
  try {
    const response = await fetch(`${options.baseUrl}${IPS_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '"restoreAssetsFromTrash"' },
      body: envelope(options, id),
      signal: AbortSignal.timeout(120_000),
    })
    text = await response.text()
    ok = response.status === 200 && text.includes('<successCount>1</successCount>')
  } catch (error) {
    text = String(error)
  }
  result.latencies.push(Number(process.hrtime.bigint() - start) / 1e6)
  result.startedAt.push(startedAt)
  if (!ok) {
    result.failures++
    result.sample ??= text.slice(0, 300)
  }
  await new Promise((resolve) => setTimeout(resolve, options.pauseMs))
}
// ids or time ran out before the warm-up ended: the parent waits for `ready` all the same
if (!ready) process.stdout.write('ready\n')
while (!stopped) await new Promise((resolve) => setTimeout(resolve, 20))
process.stdout.write(`${JSON.stringify(result)}\n`)
process.exit(0)
