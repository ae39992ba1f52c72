import autocannon, { type Request } from 'autocannon'
import type { LoadOptions, LoadResult } from './lib.js'

/**
 * The load generator of the HTTP workloads, run as a child process by lib.ts runLoad: reads LoadOptions as JSON
 * on stdin, runs autocannon for the given time (or until the ids run out) and prints a LoadResult as JSON.
 */
const chunks: Buffer[] = []
for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
const options = JSON.parse(Buffer.concat(chunks).toString()) as LoadOptions
const url = new URL(options.url)
if (!url.hostname.startsWith('127.')) throw new Error('load only to loopback')

let next = options.ids?.first ?? 0
const last = options.ids?.last ?? Number.POSITIVE_INFINITY
const headers = { 'content-type': 'text/xml; charset=utf-8', ...options.headers }
const instance = autocannon({
  url: options.url,
  connections: options.connections,
  duration: options.seconds,
  requests: [
    {
      method: 'POST',
      headers,
      // the caller sizes the ids for the run's time; past the last one the last is repeated (and answered as a warning)
      setupRequest: (request: Request) => ({
        ...request,
        body: options.ids ? options.body.replaceAll('{ID}', String(Math.min(next++, last))) : options.body,
      }),
    },
  ],
})
const result = await instance
const seconds = result.duration
const ok = result['2xx']
const out: LoadResult = {
  rps: ok / seconds,
  total: result.requests.total,
  non2xx: result.non2xx,
  errors: result.errors + result.timeouts,
  p50: result.latency.p50,
  p99: result.latency.p99,
}
process.stdout.write(JSON.stringify(out))
