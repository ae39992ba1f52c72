import { parseArgs } from 'node:util'
import { ConfigError, loadConfig } from './config.js'
import { createContext } from './context.js'
import { migrate } from './db/migrate.js'
import { demoInstructions, seedDemo } from './demo.js'
import { startServer } from './http/server.js'

const USAGE = `Usage: trashd <command>

Commands:
  start        migrate, seed the demo data on a new embedded database, and serve HTTP
  migrate      apply pending database migrations and exit
  seed-demo    create the demo tenant, users, brands, folders and files (once)
`

async function main(argv: string[]) {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: false })
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
    default:
      process.stderr.write(`Unknown command: ${command}\n\n${USAGE}`)
      return 2
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== null) process.exit(code)
  },
  (error) => {
    process.stderr.write(`${error instanceof ConfigError ? error.message : (error as Error).stack}\n`)
    process.exit(1)
  },
)
