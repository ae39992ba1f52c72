import type { CleanupRun } from '../../../core/cleanup-job.js'
import { route, type Route } from '../route.js'
import * as r from '../responses.js'
import * as s from '../schemas.js'
import { cleanupRunJson, dryRunUnitJson } from '../serialize.js'

const DRY_RUN_LISTED_UNITS = 1000

/** The cleanup job, for the operator (ADMIN_TOKEN): its runs, and a run (or a dry run) now. */
export const cleanupRoutes: Route[] = [
  route({
    method: 'GET',
    url: '/cleanup/runs',
    operationId: 'listCleanupRuns',
    response: r.cleanupRunPage,
    auth: 'admin',
    tag: 'admin',
    summary: 'Cleanup job runs, newest first (trigger, started, finished, purged, failed, status)',
    query: s.cleanupRunsQuery,
    handler: async (ctx, { query }) => {
      const runs = await ctx.cleanup.runs(query.limit, query.before)
      return {
        runs: runs.map(cleanupRunJson),
        next: runs.length === query.limit ? runs[runs.length - 1]!.id : null,
      }
    },
  }),
  route({
    method: 'POST',
    url: '/cleanup/run',
    operationId: 'runCleanup',
    response: r.cleanupRunDone,
    otherResponses: { 202: r.cleanupRunStarted },
    auth: 'admin',
    tag: 'admin',
    summary:
      'Run the cleanup job now (202 when started; wait=true: 200 when finished); dryRun=true reports what it would purge',
    body: s.cleanupRunBody.optional(),
    handler: async (ctx, { body, reply }) => {
      const options = s.cleanupRunBody.parse(body ?? {})
      if (options.dryRun) {
        const units: ReturnType<typeof dryRunUnitJson>[] = []
        const tenants = await ctx.cleanup.preview({ tenantId: options.tenantId }, (unit) => {
          if (units.length < DRY_RUN_LISTED_UNITS) units.push(dryRunUnitJson(unit))
        })
        return { dryRun: true as const, tenants, units, unitsListed: units.length }
      }
      let started: (run: CleanupRun) => void = () => {}
      const startedRun = new Promise<CleanupRun>((resolve) => {
        started = resolve
      })
      const finished = ctx.cleanup.run({ trigger: 'api', tenantId: options.tenantId, onStarted: started })
      if (options.wait) {
        const report = await finished
        return { run: cleanupRunJson(report!.run), errors: report!.errors }
      }
      finished.catch((error) => ctx.logger.error({ err: error }, 'cleanup run failed'))
      const run = await Promise.race([startedRun, finished.then((report) => report!.run)])
      return reply.code(202).send({ run: cleanupRunJson(run) })
    },
  }),
]
