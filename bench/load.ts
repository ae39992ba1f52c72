import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createLoadTenant, runMixedLoad } from './mixed-load.js'

/**
 * `npm run load`: starts the server as a child process (on DATABASE_URL, or embedded PGlite), runs the mixed
 * workload of every door against it with autocannon (LOAD_SECONDS, default 60; LOAD_CONNECTIONS, default 20)
 * and prints requests, errors, latency and the server's resident memory at start and end. Exits 1 on any
 * error reply.
 */
const root = path.resolve(import.meta.dirname, '..')
const seconds = Number(process.env.LOAD_SECONDS ?? 60)
const connections = Number(process.env.LOAD_CONNECTIONS ?? 20)
const adminToken = `load-${Math.random().toString(36).slice(2)}-token`
const dataDir = await mkdtemp(path.join(tmpdir(), 'trashd-load-'))

const child = spawn(
  process.execPath,
  // node itself runs the server (tsx as a loader, not as a wrapper process), so its pid is the server's
  ['--import', 'tsx', path.join(root, 'src', 'cli.ts'), 'start'],
  {
    cwd: root,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      ADMIN_TOKEN: adminToken,
      SEED_DEMO: 'false',
      LOG_LEVEL: 'warn',
      CLEANUP_SCHEDULE: 'off',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  },
)
let output = ''
const baseUrl = await new Promise<string>((resolve, reject) => {
  const onData = (chunk: Buffer) => {
    output += chunk.toString()
    const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
    if (match) resolve(match[1]!)
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  child.on('exit', (code) => reject(new Error(`server exited (${code}) before listening:\n${output}`)))
})

/** The server's resident set size in MiB (Linux /proc). */
const serverRssMiB = () => {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024)
}

try {
  const tenant = await createLoadTenant(baseUrl, adminToken)
  // a short warm-up, so that start-up allocations are not counted as growth
  await runMixedLoad(baseUrl, tenant, { seconds: 3, connections })
  const rssStart = serverRssMiB()
  // sampled every 5 s: growth that levels off is the heap settling, growth that keeps climbing a leak
  const rssSeries: number[] = [rssStart]
  const sampler = setInterval(() => rssSeries.push(serverRssMiB()), 5000)
  const summary = await runMixedLoad(baseUrl, tenant, { seconds, connections })
  clearInterval(sampler)
  const rssEnd = serverRssMiB()
  rssSeries.push(rssEnd)
  const { failureSamples, ...figures } = summary
  console.log(
    JSON.stringify({
      ...figures,
      connections,
      rssStartMiB: rssStart,
      rssEndMiB: rssEnd,
      rssSeriesMiB: rssSeries,
    }),
  )
  for (const sample of failureSamples) console.log(`failure: ${sample}`)
  const errors = summary.non2xx + summary.socketErrors + summary.serverFailures
  console.log(
    `${summary.requests} requests in ${summary.seconds} s (${summary.rps}/s), ${errors} errors, ` +
      `p50 ${summary.p50} ms, p99 ${summary.p99} ms, server RSS ${rssStart} MiB -> ${rssEnd} MiB`,
  )
  process.exitCode = errors === 0 ? 0 : 1
} finally {
  child.kill('SIGTERM')
  await new Promise((resolve) => child.once('exit', resolve))
  await rm(dataDir, { recursive: true, force: true })
}
