/**
 * The REST door's OpenAPI document, as GET /api/v1/openapi.json serves it (servers: http://127.0.0.1:$PORT, the default HOST, or
 * PUBLIC_URL). `npm run --silent openapi > openapi.json` prints it; `npm run lint:openapi` lints it with Redocly
 * (redocly.yaml: every rule of the recommended set is an error).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { routes } from '../src/protocols/rest/index.js'
import { openApiDocument } from '../src/protocols/rest/openapi.js'

const server = process.env.PUBLIC_URL?.replace(/\/+$/, '') || `http://127.0.0.1:${process.env.PORT || 8080}`
const document = `${JSON.stringify(openApiDocument(routes, server), null, 2)}\n`

if (!process.argv.includes('--lint')) {
  process.stdout.write(document)
} else {
  const dir = mkdtempSync(path.join(tmpdir(), 'trashd-openapi-'))
  try {
    const file = path.join(dir, 'openapi.json')
    writeFileSync(file, document)
    const lint = spawnSync(
      process.execPath,
      [path.resolve('node_modules/@redocly/cli/bin/cli.js'), 'lint', file, '--config', 'redocly.yaml'],
      { stdio: 'inherit', timeout: 120_000 },
    )
    process.exitCode = lint.status ?? 1
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
