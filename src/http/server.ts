import type { Config } from '../config.js'
import { createContext } from '../context.js'
import { scheduleCleanup } from '../core/cleanup-schedule.js'
import { demoInstructions, seedDemo } from '../demo.js'
import { buildApp } from './app.js'

/** Starts a server: database, migrations, demo data on a fresh embedded database, HTTP, graceful shutdown. */
export async function startServer(config: Config) {
  const ctx = await createContext(config)
  const seed = config.SEED_DEMO === 'true' || (config.SEED_DEMO === 'auto' && ctx.db.kind === 'embedded')
  const demo = seed ? await seedDemo(ctx) : null
  const app = await buildApp(ctx)
  const address = await app.listen({ port: config.PORT, host: config.HOST })
  const base = `http://localhost:${new URL(address).port}`
  const schedule =
    config.CLEANUP_SCHEDULE === 'off'
      ? null
      : scheduleCleanup(ctx.cleanup, config.CLEANUP_SCHEDULE, ctx.logger.child({ component: 'cleanup' }))
  process.stdout.write(
    [
      '',
      `trashd is listening on ${address} (${ctx.db.kind === 'embedded' ? `embedded database in ${config.DATA_DIR}` : 'PostgreSQL'})`,
      `  REST        ${base}/api/v1   (OpenAPI: ${base}/api/v1/openapi.json)`,
      `  IPS (SOAP)  ${base}/scene7/services/IpsApiService   (WSDL: ${base}/scene7/webservice/IpsApi-2014-04-03.wsdl)`,
      `  srv.asmx    ${base}/srv.asmx   (GET/POST ${base}/srv.asmx/<Method>, SOAP 1.1/1.2, WSDL: ${base}/srv.asmx?WSDL)`,
      `  Enterprise  ${base}/Enterprise/index.php   (SOAP 1.1, WSDL: ${base}/Enterprise/index.php?wsdl)`,
      `  Events      ${base}/api/v1/events   (Server-Sent Events)`,
      `  cleanup     ${schedule ? `schedule "${config.CLEANUP_SCHEDULE}", next run ${schedule.next()?.toISOString()}` : 'schedule off (CLEANUP_SCHEDULE=off)'}`,
      `  Web page    ${base}/   (the Trash Can: sign in with a tenant login)`,
      demo ? demoInstructions(base, demo.tenantId) : '',
      '',
    ].join('\n'),
  )
  let closing = false
  const shutdown = async (signal: string) => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down')
    const timer = setTimeout(() => process.exit(1), 10_000)
    timer.unref()
    await schedule?.stop()
    await app.close()
    await ctx.close()
    process.exit(0)
  }
  process.on('SIGINT', () => void shutdown('SIGINT'))
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  return { app, ctx, schedule }
}
