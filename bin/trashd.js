#!/usr/bin/env node
// `trashd <command>`: the compiled CLI (build/cli.js), rebuilt first when src/ changed (with devDependencies
// installed), run in this very process, so that the signals a service manager sends reach the server.
import { buildServer, buildWeb } from '../scripts/build.mjs'

try {
  const outcome = buildServer({ ifStale: true })
  if (outcome === 'built') process.stderr.write('trashd: src/ changed, server rebuilt into build/\n')
  if (process.argv[2] === 'start') buildWeb({ ifStale: true })
} catch (error) {
  process.stderr.write(`trashd: ${error.message}\n`)
  process.exit(1)
}
await import('../build/cli.js')
