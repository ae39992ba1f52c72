import { createHash } from 'node:crypto'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Builds the Trash Can page (web/ → dist/web) with Vite. `--if-stale` builds only when web/ changed since the
 * last build, so `npm start` and the test run can call it every time.
 */
export const WEB_SOURCE = fileURLToPath(new URL('.', import.meta.url))
export const WEB_OUTPUT = fileURLToPath(new URL('../dist/web', import.meta.url))
const STAMP = path.join(WEB_OUTPUT, '.source-hash')

async function sourceHash(): Promise<string> {
  const hash = createHash('sha256')
  const walk = async (dir: string) => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))
    for (const entry of entries) {
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) await walk(full)
      else
        hash
          .update(path.relative(WEB_SOURCE, full))
          .update('\0')
          .update(await readFile(full))
    }
  }
  await walk(WEB_SOURCE)
  return hash.digest('hex')
}

export async function buildWebPage(
  options: { ifStale?: boolean } = {},
): Promise<'built' | 'up to date' | 'no vite'> {
  const wanted = await sourceHash()
  if (options.ifStale) {
    const stamp = await readFile(STAMP, 'utf8').catch(() => '')
    const index = await readFile(path.join(WEB_OUTPUT, 'index.html')).catch(() => null)
    if (stamp.trim() === wanted && index) return 'up to date'
  }
  let build: typeof import('vite').build
  try {
    ;({ build } = await import('vite'))
  } catch {
    // an install without devDependencies: serve what was built before (or answer 503 for the page)
    if (!options.ifStale) throw new Error('vite is not installed: run npm install (with devDependencies)')
    process.stderr.write(
      'the web page was not rebuilt: vite is not installed (npm install with devDependencies)\n',
    )
    return 'no vite'
  }
  await build({ configFile: path.join(WEB_SOURCE, 'vite.config.ts') })
  await writeFile(STAMP, `${wanted}\n`)
  return 'built'
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outcome = await buildWebPage({ ifStale: process.argv.includes('--if-stale') })
  if (outcome === 'built')
    process.stdout.write(`web page built into ${path.relative(process.cwd(), WEB_OUTPUT)}\n`)
}
