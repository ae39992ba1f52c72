import { readFileSync } from 'node:fs'
import { Command, CommanderError, InvalidArgumentError } from 'commander'
import { ConfigError, loadConfig } from './config.js'
import { type AppContext, createContext } from './context.js'
import { describeDueUnit } from './core/cleanup-job.js'
import { CoreError } from './core/errors.js'
import { describeSweep, sweep } from './core/sweep.js'
import { DatabaseUnavailableError } from './db/embedded-lock.js'
import { migrate } from './db/migrate.js'
import { demoInstructions, seedDemo } from './demo.js'
import { startServer } from './http/server.js'

// src/cli.ts and its build, build/cli.js, are both one level below package.json
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string
}

/** Exit status of a command that finished; `start` leaves it unset and keeps serving. */
let exitCode: number | undefined

function tenantId(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('--tenant needs a tenant id (a number)')
  return Number(value)
}

/** A whole number of at least `min` (an option's value), or the option is refused saying what it needs. */
function wholeNumber(min: number, needs: string) {
  return (value: string): number => {
    if (!/^\d{1,12}$/.test(value) || Number(value) < min) throw new InvalidArgumentError(needs)
    return Number(value)
  }
}

/**
 * The command line. Every command and option is declared here: an unknown command, option or argument, or a
 * typo, is refused (exit 2, with a suggestion) before anything runs.
 */
export function buildProgram(): Command {
  const program = new Command('trashd')
    .description(
      'Trash / recycle-bin server speaking Scene7 IPS, infoRouter srv.asmx, WoodWing Enterprise and JSON REST. ' +
        'Configured by environment variables (see the README); with no DATABASE_URL it keeps an embedded ' +
        'database under DATA_DIR (default ./data), which one process at a time may open.',
    )
    .version(version, '-v, --version', 'print the version and exit')
    .helpOption('-h, --help', 'print this help and exit')
    .helpCommand('help [command]', 'print the help of a command')
    .showSuggestionAfterError(true)
    .showHelpAfterError('(trashd --help lists the commands; trashd <command> --help describes one)')
    .exitOverride()

  program
    .command('start')
    .description(
      'migrate, seed the demo data on a new embedded database, and serve HTTP until SIGTERM or SIGINT',
    )
    .action(async () => {
      await startServer(loadConfig())
    })

  program
    .command('migrate')
    .description('apply pending database migrations and exit')
    .action(async () => {
      const ctx = await createContext(loadConfig(), { migrate: false })
      try {
        const applied = await migrate(ctx.db)
        process.stdout.write(
          applied.length ? `applied migrations ${applied.join(', ')}\n` : 'nothing to migrate\n',
        )
      } finally {
        await ctx.close()
      }
      exitCode = 0
    })

  program
    .command('seed-demo')
    .description('create the demo tenant, users, brands, folders and files (once)')
    .action(async () => {
      const config = loadConfig()
      const ctx = await createContext(config)
      try {
        const { tenantId, created } = await seedDemo(ctx)
        process.stdout.write(`${created ? 'created' : 'already present:'} demo tenant ${tenantId}\n`)
        process.stdout.write(`${demoInstructions(`http://localhost:${config.PORT}`, tenantId)}\n`)
      } finally {
        await ctx.close()
      }
      exitCode = 0
    })

  program
    .command('purge')
    .description(
      'run the cleanup job once: purge emptied items, items past their retention, failed purges, and purges a ' +
        'crashed process left unfinished; exits 1 when an item could not be purged',
    )
    .option('--dry-run', 'print what would be purged per tenant and why; change nothing')
    .option('--tenant <id>', 'only this tenant', tenantId)
    .action(async (options: { dryRun?: boolean; tenant?: number }) => {
      const ctx = await createContext(loadConfig()).catch((error: unknown) => {
        if (!(error instanceof DatabaseUnavailableError)) throw error
        throw new DatabaseUnavailableError(
          `${error.message}. A running server purges on its CLEANUP_SCHEDULE; to purge now, ask it: ` +
            'POST /api/v1/cleanup/run with the admin token (see the README)',
        )
      })
      try {
        exitCode = await purgeCommand(ctx, { dryRun: options.dryRun === true, tenantId: options.tenant })
      } finally {
        await ctx.close()
      }
    })

  program
    .command('sweep')
    .description(
      'find stored files no row refers to and rows whose file is missing, and remove them (a file without a row ' +
        'is deleted; an item without its file is purged; an older version without its file loses its row). ' +
        'Each run goes on from where the last one stopped; exits 1 when something could not be removed',
    )
    .option('--dry-run', 'report what would be removed; change nothing')
    .option(
      '--limit <n>',
      'look at up to N stored files and N rows',
      wholeNumber(1, '--limit needs a number of at least 1'),
      100_000,
    )
    .option(
      '--min-age <seconds>',
      'keep files written less than this long ago: uploads in progress',
      wholeNumber(0, '--min-age needs a number of seconds'),
      3600,
    )
    .action(async (options: { dryRun?: boolean; limit: number; minAge: number }) => {
      const ctx = await createContext(loadConfig())
      try {
        const report = await sweep(ctx.db, ctx.blobs, {
          dryRun: options.dryRun === true,
          limit: options.limit,
          minAgeSeconds: options.minAge,
        })
        process.stdout.write(describeSweep(report))
        exitCode = report.objects.failed + report.rows.failed > 0 ? 1 : 0
      } finally {
        await ctx.close()
      }
    })

  return program
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

/** Errors an operator fixes (configuration, a database in use or out of reach): one message, no stack. */
const expected = (error: unknown) =>
  error instanceof ConfigError || error instanceof CoreError || error instanceof DatabaseUnavailableError

buildProgram()
  .parseAsync(process.argv)
  .then(
    () => {
      if (exitCode !== undefined) process.exit(exitCode)
    },
    (error: unknown) => {
      if (error instanceof CommanderError) {
        // --help and --version end with 0; a usage error (already printed) with 2
        process.exit(error.exitCode === 0 ? 0 : 2)
      }
      process.stderr.write(`${expected(error) ? (error as Error).message : (error as Error).stack}\n`)
      process.exit(1)
    },
  )
