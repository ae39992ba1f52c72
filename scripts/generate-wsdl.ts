/**
 * Writes wsdl/IpsApi*.wsdl from src/protocols/ips/schema.ts (one file per supported IPS version).
 * Run after changing the schema: `npm run generate:wsdl`. test/ips-wsdl.test.ts fails when the committed files
 * differ from what this produces.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { IPS_VERSIONS, wsdlFileName } from '../src/protocols/ips/versions.js'
import { generateWsdl } from '../src/protocols/ips/wsdl.js'

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'wsdl')
await mkdir(dir, { recursive: true })
for (const version of IPS_VERSIONS) {
  await writeFile(path.join(dir, wsdlFileName(version)), generateWsdl(version))
}
process.stdout.write(
  `wrote ${IPS_VERSIONS.length} IPS WSDL files to ${path.relative(process.cwd(), dir) || '.'}\n`,
)
