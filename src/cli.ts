import { parseArgs } from 'node:util'
import { ConfigError, loadConfig } from './config.js'
import { type AppContext, createContext } from './context.js'
import { describeDueUnit } from './core/cleanup-job.js'
import { CoreError } from './core/errors.js'
import { describeSweep, sweep } from './core/sweep.js'
import { migrate } from './db/migrate.js'
import { demoInstructions, seedDemo } from './demo.js'
import { startServer } from './http/server.js'

const USAGE = `Usage: trashd <command>

Commands:
  start        migrate, seed the demo data on a new embedded database, and serve HTTP
  migrate      apply pending database migrations and exit
  seed-demo    create the demo tenant, users, brands, folders and files (once)
  purge        run the cleanup job once: purge emptied items, items past their retention, failed purges,
               and purges a crashed process left unfinished
                 --dry-run     print what would be purged per tenant and why; change nothing
                 --tenant ID   only this tenant
  sweep        find stored files no row refers to and rows whose file is missing, and remove them (a file
               without a row is deleted; an item without its file is purged; an older version without its
               file loses its row). Each run goes on from where the last one stopped.
                 --dry-run     report what would be removed; change nothing
                 --limit N     look at up to N stored files and N rows (default 100000)
                 --min-age S   keep files written less than S seconds ago: uploads in progress (default 3600)
`

async function main(argv: string[]) {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
    options: {
      'dry-run': { type: 'boolean' },
      tenant: { type: 'string' },
      limit: { type: 'string' },
      'min-age': { type: 'string' },
    },
  })
  const command = positionals[0]
  if (!command || command === 'help' || command === '--help') {
    process.stdout.write(USAGE)
    return 0
  }
  const config = loadConfig()
  switch (command) {
    case 'start': {
      await startServer(config)
      return null
    }
    case 'migrate': {
      const ctx = await createContext(config, { migrate: false })
      try {
        const applied = await migrate(ctx.db)
        process.stdout.write(
          applied.length ? `applied migrations ${applied.join(', ')}\n` : 'nothing to migrate\n',
        )
      } finally {
        await ctx.close()
      }
      return 0
    }
    case 'seed-demo': {
      const ctx = await createContext(config)
      try {
        const { tenantId, created } = await seedDemo(ctx)
        process.stdout.write(`${created ? 'created' : 'already present:'} demo tenant ${tenantId}\n`)
        process.stdout.write(`${demoInstructions(`http://localhost:${config.PORT}`, tenantId)}\n`)
      } finally {
        await ctx.close()
      }
      return 0
    }
    case 'purge': {
      const tenant = values.tenant
      if (tenant !== undefined && (typeof tenant !== 'string' || !/^\d+$/.test(tenant))) {
        process.stderr.write('--tenant needs a tenant id (a number)\n')
        return 2
      }
      const ctx = await createContext(config)
      try {
        return await purgeCommand(ctx, {
          dryRun: values['dry-run'] === true,
          tenantId: tenant === undefined ? undefined : Number(tenant),
        })
      } finally {
        await ctx.close()
      }
    }
    case 'sweep': {
      const limit = wholeNumber(values.limit, 100_000)
      const minAge = wholeNumber(values['min-age'], 3600)
      if (limit === null || limit < 1 || minAge === null) {
        process.stderr.write('--limit needs a number of at least 1, --min-age a number of seconds\n')
        return 2
      }
      const ctx = await createContext(config)
      try {
        const report = await sweep(ctx.db, ctx.blobs, {
          dryRun: values['dry-run'] === true,
          limit,
          minAgeSeconds: minAge,
        })
        process.stdout.write(describeSweep(report))
        return report.objects.failed + report.rows.failed > 0 ? 1 : 0
      } finally {
        await ctx.close()
      }
    }
    default:
      process.stderr.write(`Unknown command: ${command}\n\n${USAGE}`)
      return 2
  }
}

/** A flag's whole number, `fallback` when it is absent, null when it is not one. */
function wholeNumber(value: string | boolean | undefined, fallback: number): number | null {
  if (value === undefined) return fallback
  return typeof value === 'string' && /^\d{1,12}$/.test(value) ? Number(value) : null
}

async function purgeCommand(ctx: AppContext, options: { dryRun: boolean; tenantId?: number }) {
  const out = (line: string) => process.stdout.write(`${line}\n`)
  if (options.dryRun) {
    out('dry run: nothing is changed')
    const tenants = await ctx.cleanup.preview({ tenantId: options.tenantId }, (unit) => {
      out(`tenant ${unit.tenantId}\t${describeDueUnit(unit)}`)
    })
    for (const t of tenants) {
      out(
        `tenant ${t.tenantId}: would purge ${t.units} unit(s), ${t.rows} item(s), ${t.bytes} bytes ` +
          `(emptied ${t.emptied}, expired ${t.expired}, failed before ${t.retry}); ` +
          `under legal hold ${t.held}; unfinished purges to finish ${t.unfinished}`,
      )
    }
    if (tenants.length === 0) out('nothing to purge')
    return 0
  }
  const report = await ctx.cleanup.run({ trigger: 'cli', tenantId: options.tenantId })
  if (!report) return 1
  const { run, errors } = report
  out(
    `run ${run.id} ${run.status}: purged ${run.purged} item(s) (emptied ${run.emptied}, expired ${run.expired}, ` +
      `retried ${run.retried}, recovered ${run.recovered}), failed ${run.failed}, under legal hold ${run.held}`,
  )
  for (const error of errors) {
    out(
      `  tenant ${error.tenantId} item ${error.id}${error.name ? ` (${error.name})` : ''}: ${error.message}`,
    )
  }
  if (run.error) out(`  error: ${run.error}`)
  return run.status === 'succeeded' ? 0 : 1
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== null) process.exit(code)
  },
  (error) => {
    process.stderr.write(
      `${error instanceof ConfigError || error instanceof CoreError ? error.message : (error as Error).stack}\n`,
    )
    process.exit(1)
  },
)
