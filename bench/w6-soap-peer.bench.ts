import { readFile } from 'node:fs/promises'
import http from 'node:http'
import path from 'node:path'
import soap from 'soap'
import type { AppContext } from '../src/context.js'
import type { BatchResult } from '../src/core/types.js'
import { IPS_PATH, ipsRestoreEnvelope, runLoad, startBenchServer, type Workload } from './lib.js'

const SECONDS = Number(process.env.BENCH_W6_SECONDS ?? 5)
/** throughput on a shared 2-core machine varies from run to run: more, shorter runs give a steadier median */
const MIN_REPETITIONS = 5
const WARM_UP_SECONDS = 2
const CONNECTIONS = 50
const WSDL = path.join(import.meta.dirname, '..', 'wsdl', 'IpsApi-2014-04-03.wsdl')
const USER = { login: 'soap-peer', password: 'no-database' }

/**
 * Our IPS door with the core answered in memory: credentials accepted, every restore succeeds. Each request's
 * context binds the sign-in service to the request (`from`); here it binds to the stand-in itself.
 */
function withoutDatabase(ctx: AppContext): () => void {
  const auth = ctx.auth
  const restore = ctx.trash.restore
  auth.from = () => ctx.auth
  auth.signIn = async (login) => {
    const actor = {
      tenantId: 1,
      userId: 1,
      login,
      displayName: null,
      admin: true,
      ipsRole: 'Admin',
      door: 'ips',
    } as const
    return { ok: true, actor, actors: [actor] }
  }
  ctx.trash.restore = async (_actor, ids): Promise<BatchResult> => ({
    results: ids.map((id) => ({ id, status: 'ok', affected: 1 })),
    successCount: ids.length,
    warningCount: 0,
    errorCount: 0,
  })
  return () => {
    // the service's own methods, from its prototype, again
    Reflect.deleteProperty(auth, 'from')
    Reflect.deleteProperty(auth, 'signIn')
    ctx.trash.restore = restore
  }
}

/** node-soap's own server hosting the same WSDL, with a handler that answers like ours without a database. */
async function startNodeSoap(): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const wsdl = await readFile(WSDL, 'utf8')
  const server = http.createServer()
  const service = {
    IpsApiService: {
      IpsApiSoapPort: {
        restoreAssetsFromTrash(args: { assetHandleArray?: { items?: string | string[] } }) {
          const items = args.assetHandleArray?.items
          const count = Array.isArray(items) ? items.length : items ? 1 : 0
          return { successCount: count, warningCount: 0, errorCount: 0 }
        },
      },
    },
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  soap.listen(server, IPS_PATH, service, wsdl)
  const { port } = server.address() as { port: number }
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

function peerWorkload(handles: number): Workload {
  return {
    id: `W6-${handles}`,
    title: `SOAP layer vs node-soap: restoreAssetsFromTrash of ${handles.toLocaleString('en')} handle(s), no database`,
    target: '≥ 1.5 (throughput)',
    meets: (ratio) => ratio >= 1.5,
    async run({ ctx, repetitions, log }) {
      const restoreCore = withoutDatabase(ctx)
      const ours = await startBenchServer(ctx)
      const peer = await startNodeSoap()
      const body = ipsRestoreEnvelope(
        USER,
        1,
        Array.from({ length: handles }, (_, i) => i + 1),
      )
      try {
        // both answer the request in kind before anything is timed
        for (const baseUrl of [ours.baseUrl, peer.baseUrl]) {
          const reply = await fetch(`${baseUrl}${IPS_PATH}`, {
            method: 'POST',
            headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '"restoreAssetsFromTrash"' },
            body,
          })
          const text = await reply.text()
          if (reply.status !== 200 || !text.includes(`successCount>${handles}</`))
            throw new Error(`${baseUrl} answered ${reply.status}: ${text.slice(0, 300)}`)
        }
        const headers = { soapaction: '"restoreAssetsFromTrash"' }
        // an untimed load on each first, so that neither is timed while its code is still being optimised
        for (const baseUrl of [ours.baseUrl, peer.baseUrl]) {
          await runLoad({
            url: `${baseUrl}${IPS_PATH}`,
            body,
            connections: CONNECTIONS,
            seconds: WARM_UP_SECONDS,
            headers,
          })
        }
        const oursRps: number[] = []
        const peerRps: number[] = []
        for (let run = 0; run < Math.max(repetitions, MIN_REPETITIONS); run++) {
          const a = await runLoad({
            url: `${ours.baseUrl}${IPS_PATH}`,
            body,
            connections: CONNECTIONS,
            seconds: SECONDS,
            headers,
          })
          const b = await runLoad({
            url: `${peer.baseUrl}${IPS_PATH}`,
            body,
            connections: CONNECTIONS,
            seconds: SECONDS,
            headers,
          })
          if (a.non2xx + a.errors > 0 || b.non2xx + b.errors > 0)
            throw new Error(`failed requests: ours ${a.non2xx + a.errors}, node-soap ${b.non2xx + b.errors}`)
          oursRps.push(a.rps)
          peerRps.push(b.rps)
          log(
            `run ${run + 1}: ours ${a.rps.toFixed(0)} req/s (p99 ${a.p99} ms), node-soap ${b.rps.toFixed(0)} req/s (p99 ${b.p99} ms)`,
          )
        }
        return {
          ours: oursRps,
          limit: peerRps,
          kind: 'throughput',
          extra: { connections: CONNECTIONS, seconds: SECONDS },
        }
      } finally {
        await ours.close()
        await peer.close()
        restoreCore()
      }
    },
  }
}

/** W6: our IPS door against node-soap's server on the same WSDL, for a 1-handle and a 1,000-handle request. */
export const workloads: Workload[] = [peerWorkload(1), peerWorkload(1000)]
