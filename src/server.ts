import net from 'node:net'
import { type Config, ConfigError } from './config.js'
import { type AppContext, createContext } from './context.js'
import { scheduleCleanup } from './core/cleanup-schedule.js'
import { demoInstructions, seedDemo, usersWithPublishedPasswords } from './demo.js'
import { buildApp } from './http/app.js'
import { isLoopbackAddress, metricsAccess } from './http/metrics.js'

/** Whether a listen address keeps the server to this machine. */
export const isLoopback = isLoopbackAddress

/**
 * A server reachable from other machines must not let anyone in with a password printed in the README: it
 * refuses to start while a demo user still has one, and says how to fix it.
 */
async function refuseExposedDemo(ctx: AppContext, config: Config) {
  const published = await usersWithPublishedPasswords(ctx)
  if (published.length === 0) return
  const names = published.map((user) => `${user.login} (tenant ${user.tenantId}, user ${user.id})`).join(', ')
  const first = published[0]!
  throw new ConfigError(
    [
      `Refusing to start: HOST=${config.HOST} makes this server reachable from other machines, and these users still have the demo passwords published in the README: ${names}.`,
      'Fix one of:',
      '  - serve this machine only: HOST=127.0.0.1 (the default);',
      `  - give them new passwords while the server listens on 127.0.0.1: curl -X PUT http://127.0.0.1:${config.PORT}/api/v1/tenants/${first.tenantId}/users/${first.id}/password -H "authorization: Bearer <admin token>" -H 'content-type: application/json' -d '{"password":"<12 or more characters>"}'`,
      `    or disable them: PATCH /api/v1/tenants/<tenant>/users/<user> with {"disabled":true}.`,
    ].join('\n'),
  )
}

/** Why HOST:PORT cannot be listened on, as an operator fixes it; null for other errors. */
function listenRefusal(error: unknown, config: Config): ConfigError | null {
  const at = `${config.HOST}:${config.PORT}`
  switch ((error as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE':
      return new ConfigError(
        `PORT=${config.PORT}: ${at} is in use by another process; stop it or set another PORT`,
      )
    case 'EACCES':
      return new ConfigError(
        `PORT=${config.PORT}: this user may not listen on ${at} (ports below 1024 need privileges); set another PORT`,
      )
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new ConfigError(
        `HOST=${config.HOST}: no such address on this machine; set HOST to one of its addresses`,
      )
    default:
      return null
  }
}

/** Fails at once when HOST:PORT cannot be listened on, before the database is opened and migrated. */
async function checkListenable(config: Config) {
  if (config.PORT === 0) return
  const probe = net.createServer()
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (error) => reject(listenRefusal(error, config) ?? error))
    probe.listen({ port: config.PORT, host: config.HOST, exclusive: true }, () =>
      probe.close(() => resolve()),
    )
  })
}

/** Where /metrics is served and to whom (see metricsAccess). */
function metricsLine(config: Config, base: string): string {
  switch (metricsAccess(config)) {
    case 'token':
      return `${base}/metrics   (Prometheus; Authorization: Bearer <METRICS_TOKEN>)`
    case 'loopback':
      return `${base}/metrics   (Prometheus; this machine only, no proxy: METRICS_TOKEN serves others)`
    default:
      return 'off: this HOST serves other machines and METRICS_TOKEN is unset'
  }
}

/** Starts a server: database, migrations, demo data on a fresh embedded database, HTTP, graceful shutdown. */
export async function startServer(config: Config) {
  const exposed = !isLoopback(config.HOST)
  await checkListenable(config)
  const ctx = await createContext(config)
  let demo: Awaited<ReturnType<typeof seedDemo>> | null = null
  try {
    // `auto` seeds the demo only where its published passwords reach nobody else
    const seed =
      config.SEED_DEMO === 'true' ||
      (config.SEED_DEMO === 'auto' && ctx.database.kind === 'embedded' && !exposed)
    demo = seed ? await seedDemo(ctx) : null
    if (exposed) await refuseExposedDemo(ctx, config)
  } catch (error) {
    await ctx.close()
    throw error
  }
  const app = await buildApp(ctx)
  app.metrics.collectProcessMetrics()
  let closing = false
  let address: string
  try {
    address = await app.listen({ port: config.PORT, host: config.HOST })
  } catch (error) {
    // taken between the check and now
    await app.close().catch(() => {})
    await ctx.close()
    throw listenRefusal(error, config) ?? error
  }
  const port = new URL(address).port
  const listening = `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${port}`
  // every interface includes this machine's loopback; a named address is reached by that address
  const base = ['0.0.0.0', '::', '[::]'].includes(config.HOST) ? `http://localhost:${port}` : listening
  const schedule =
    config.CLEANUP_SCHEDULE === 'off'
      ? null
      : scheduleCleanup(ctx.cleanup, config.CLEANUP_SCHEDULE, ctx.logger.child({ component: 'cleanup' }))
  process.stdout.write(
    [
      '',
      `trashd is listening on ${listening} (${exposed ? 'reachable from other machines' : 'this machine only; HOST serves others'}, ${ctx.database.kind === 'embedded' ? `embedded database in ${config.DATA_DIR}` : 'PostgreSQL'})`,
      `  REST        ${base}/api/v1   (OpenAPI: ${base}/api/v1/openapi.json)`,
      `  IPS (SOAP)  ${base}/scene7/services/IpsApiService   (WSDL: ${base}/scene7/webservice/IpsApi-2014-04-03.wsdl)`,
      `  srv.asmx    ${base}/srv.asmx   (GET/POST ${base}/srv.asmx/<Method>, SOAP 1.1/1.2, WSDL: ${base}/srv.asmx?WSDL)`,
      `  Enterprise  ${base}/Enterprise/index.php   (SOAP 1.1, WSDL: ${base}/Enterprise/index.php?wsdl)`,
      `  Events      ${base}/api/v1/events   (Server-Sent Events)`,
      `  cleanup     ${schedule ? `schedule "${config.CLEANUP_SCHEDULE}", next run ${schedule.next()?.toISOString()}` : 'schedule off (CLEANUP_SCHEDULE=off)'}`,
      `  Web page    ${base}/   (the Trash Can: sign in with a tenant login)`,
      `  Health      ${base}/healthz, ${base}/readyz`,
      `  Metrics     ${metricsLine(config, base)}`,
      `  Admin token ${ctx.adminTokenFile ? `in ${ctx.adminTokenFile} (readable by this user only)` : 'from ADMIN_TOKEN'}`,
      demo ? demoInstructions(base, demo.tenantId) : '',
      '',
    ].join('\n'),
  )
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
