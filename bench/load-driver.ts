import autocannon, { type Request } from 'autocannon'
import type { LoadOptions, LoadResult } from './lib.js'

/** lib.ts has the same; importing it here would load the whole server into the load generator's process */
function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = Float64Array.from(values).sort()
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

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
const method = options.method ?? 'POST'
const headers =
  options.body !== undefined
    ? { 'content-type': 'text/xml; charset=utf-8', ...options.headers }
    : options.headers
const withId = (text: string, id: number) => text.replaceAll('{ID}', String(id))
let finished: (result: autocannon.Result) => void = () => {}
let failed: (error: Error) => void = () => {}
const done = new Promise<autocannon.Result>((resolve, reject) => {
  finished = resolve
  failed = reject
})
const instance = autocannon(
  {
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    requests: [
      {
        method,
        headers,
        // the caller sizes the ids for the run's time; past the last one the last is repeated (and answered as a warning)
        setupRequest: (request: Request) => {
          const id = Math.min(next++, last)
          return {
            ...request,
            ...(options.path !== undefined ? { path: withId(options.path, id) } : {}),
            ...(options.body !== undefined
              ? { body: options.ids ? withId(options.body, id) : options.body }
              : {}),
          }
        },
      },
    ],
  },
  (error, result) => (error ? failed(error) : finished(result)),
)
// autocannon's own percentiles are whole milliseconds: single requests take a few, so every latency is kept
// (bounded by the run's time and the server's rate)
const latencies: number[] = []
instance.on('response', (_client, statusCode, _bytes, responseTime) => {
  if (statusCode >= 200 && statusCode < 300 && latencies.length < 5_000_000) latencies.push(responseTime)
})
const result = await done
const seconds = result.duration
const ok = result['2xx']
const out: LoadResult = {
  rps: ok / seconds,
  total: result.requests.total,
  non2xx: result.non2xx,
  errors: result.errors + result.timeouts,
  p50: percentile(latencies, 50),
  p99: percentile(latencies, 99),
  lastId: next - 1,
}
process.stdout.write(JSON.stringify(out))
