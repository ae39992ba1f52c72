import { readFileSync } from 'node:fs'
import { Command, CommanderError, InvalidArgumentError } from 'commander'
import type { AppContext } from './context.js'
import { CoreError, ErrorCodes } from './core/errors.js'
import type { OperationRow } from './core/operation-service.js'
import type { Actor } from './core/types.js'
import { DatabaseUnavailableError } from './db/embedded-lock.js'

// The server, the database and the configuration are imported by the commands that use them, not up front:
// --help, --version and a refused argument answer without loading them.
const loadConfig = async () => (await import('./config.js')).loadConfig()
const createContext = async (...args: Parameters<typeof import('./context.js').createContext>) =>
  (await import('./context.js')).createContext(...args)

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
      const config = await loadConfig()
      const { startServer } = await import('./server.js')
      await startServer(config)
    })

  program
    .command('migrate')
    .description('apply pending database migrations and exit')
    .action(async () => {
      const ctx = await createContext(await loadConfig(), { migrate: false })
      try {
        const applied = await ctx.database.migrate()
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
      const config = await loadConfig()
      const ctx = await createContext(config)
      try {
        const { demoInstructions, seedDemo } = await import('./demo.js')
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
      const ctx = await createContext(await loadConfig()).catch((error: unknown) => {
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
      const ctx = await createContext(await loadConfig())
      try {
        const { describeSweep } = await import('./core/sweep.js')
        const report = await ctx.sweep({
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

  const operations = program
    .command('operations')
    .description(
      'the operation log: list what was trashed, restored, emptied or purged, show one operation, undo a trash ' +
        'operation; each acts as the account named by --as, with its rights',
    )
  const asOption = ['--as <login>', 'the account to act as (its rights apply; the log names it)'] as const

  operations
    .command('list')
    .description('operations the account may see, newest first, one per line')
    .requiredOption(...asOption)
    .option('--actor-login <login>', 'only operations by this login')
    .option('--door <door>', 'only through this door (rest, ips, asmx, enterprise, web, cleanup, cli)')
    .option('--action <action>', 'only this action (trash, restore, empty, purge, undo)')
    .option('--from <time>', 'started at or after (ISO 8601)', isoTime('--from'))
    .option('--to <time>', 'started at or before (ISO 8601)', isoTime('--to'))
    .option(
      '--min-items <n>',
      'only operations that touched at least N items',
      wholeNumber(0, '--min-items needs a number'),
    )
    .option('--limit <n>', 'at most N operations', wholeNumber(1, '--limit needs a number of at least 1'), 50)
    .action(async (options: OperationListOptions) => {
      exitCode = await withOperator(options.as, async (ctx, actor) => {
        const page = await ctx.operations.list(
          actor,
          {
            actorLogin: options.actorLogin,
            door: options.door,
            action: options.action,
            from: options.from,
            to: options.to,
            minItems: options.minItems,
          },
          { limit: options.limit },
        )
        for (const op of page.operations) process.stdout.write(`${describeOperation(op)}\n`)
        if (page.operations.length === 0) process.stdout.write('no operations\n')
        return 0
      })
    })

  operations
    .command('show')
    .description('one operation and the units it changed, with their state now')
    .argument('<id>', 'the operation id')
    .requiredOption(...asOption)
    .option('--limit <n>', 'at most N units', wholeNumber(1, '--limit needs a number of at least 1'), 1000)
    .action(async (id: string, options: { as: string; limit: number }) => {
      exitCode = await withOperator(options.as, async (ctx, actor) => {
        const page = await ctx.operations.units(actor, id, 0, options.limit)
        process.stdout.write(`${describeOperation(page.operation)}\n`)
        for (const unit of page.units)
          process.stdout.write(
            `  ${unit.action}\t${unit.kind ?? ''} ${unit.itemId}\t${unit.path ?? unit.name ?? ''}\t` +
              `${unit.items} item(s)\tnow ${unit.state ?? 'purged'}${unit.stillTrashed ? ' (undoable)' : ''}\n`,
          )
        if (page.next !== null) process.stdout.write(`  … more units than --limit ${options.limit}\n`)
        return 0
      })
    })

  operations
    .command('undo')
    .description(
      'restore every unit a trash operation trashed that is still in the trash, as one operation of its own; ' +
        'exits 1 when a unit could not be restored',
    )
    .argument('<id>', 'the operation id')
    .requiredOption(...asOption)
    .option('--dry-run', 'print what the undo would do per unit; change nothing')
    .action(async (id: string, options: { as: string; dryRun?: boolean }) => {
      exitCode = await withOperator(options.as, async (ctx, actor) => {
        const dryRun = options.dryRun === true
        const outcome = await ctx.operations.undo(actor, id, { dryRun })
        const out = (line: string) => process.stdout.write(`${line}\n`)
        out(dryRun ? 'dry run: nothing is changed' : `undo operation ${outcome.operationId}`)
        for (const result of outcome.results) {
          const extra = [
            result.renamedTo ? `as ${result.renamedTo}` : '',
            result.recreatedFolders?.length
              ? `folders made again: ${result.recreatedFolders.join(', ')}`
              : '',
          ].filter(Boolean)
          out(
            `  ${result.status}\t${result.kind ?? ''} ${result.id}\t${result.name ?? ''}` +
              `${result.message ? `\t${result.message}` : ''}${extra.length ? `\t${extra.join('; ')}` : ''}`,
          )
        }
        for (const skipped of outcome.skipped)
          out(`  skipped\t${skipped.kind ?? ''} ${skipped.id}\t${skipped.name ?? ''}\t${skipped.reason}`)
        const failed = outcome.results.filter((result) => result.status === 'error').length
        out(
          `${dryRun ? 'would restore' : 'restored'} ${outcome.results.length - failed} unit(s), refused ${failed}, ` +
            `skipped ${outcome.skipped.length} (restored, emptied, purged or trashed again since)`,
        )
        return failed > 0 ? 1 : 0
      })
    })

  return program
}

interface OperationListOptions {
  as: string
  actorLogin?: string
  door?: string
  action?: string
  from?: Date
  to?: Date
  minItems?: number
  limit: number
}

function isoTime(option: string) {
  return (value: string): Date => {
    const time = new Date(value)
    if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(time.getTime()))
      throw new InvalidArgumentError(
        `${option} needs a time in ISO 8601 (2026-12-05 or 2026-12-05T10:02:00Z)`,
      )
    return time
  }
}

function describeOperation(op: OperationRow): string {
  return [
    op.id,
    op.startedAt.toISOString(),
    op.actorLogin ?? '-',
    op.door,
    op.action,
    `${op.items} item(s)`,
    `ok ${op.okCount} warning ${op.warningCount} error ${op.errorCount}`,
    op.undoOf ? `undo of ${op.undoOf}` : '',
  ]
    .filter(Boolean)
    .join('\t')
}

/** Opens the database, finds the account to act as, runs the command, closes. */
async function withOperator(login: string, run: (ctx: AppContext, actor: Actor) => Promise<number>) {
  const ctx = await createContext(await loadConfig()).catch((error: unknown) => {
    if (!(error instanceof DatabaseUnavailableError)) throw error
    throw new DatabaseUnavailableError(
      `${error.message}. Ask the running server instead: GET /api/v1/operations, ` +
        'POST /api/v1/operations/{id}/undo (see the README)',
    )
  })
  try {
    const actor = await ctx.auth.operatorActing(login)
    if (!actor) throw new CoreError(ErrorCodes.NOT_FOUND, `--as ${login}: no enabled account has this login`)
    return await run(ctx, actor)
  } finally {
    await ctx.close()
  }
}

async function purgeCommand(ctx: AppContext, options: { dryRun: boolean; tenantId?: number }) {
  const out = (line: string) => process.stdout.write(`${line}\n`)
  if (options.dryRun) {
    const { describeDueUnit } = await import('./core/cleanup-job.js')
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

/**
 * Errors an operator fixes (configuration, a database in use or out of reach, a migration the database refuses):
 * one message, no stack.
 */
async function expected(error: unknown): Promise<boolean> {
  if (error instanceof CoreError || error instanceof DatabaseUnavailableError) return true
  const [{ ConfigError }, { MigrationError }] = await Promise.all([
    import('./config.js'),
    import('./db/migrate.js'),
  ])
  return error instanceof ConfigError || error instanceof MigrationError
}

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
      return expected(error).then((plain) => {
        process.stderr.write(`${plain ? (error as Error).message : (error as Error).stack}\n`)
        process.exit(1)
      })
    },
  )
