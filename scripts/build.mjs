#!/usr/bin/env node
// `npm run build`: compiles the server (src/ → build/, with tsc) and the Trash Can page (web/ → dist/web, with
// Vite); `--server` only the server. `--if-stale` (npm start, bin/trashd.js) builds only what changed since its
// last build, and an install without devDependencies runs what was built before. Builds by several processes at
// once (a test run, npm start) take turns. Plain JavaScript, so that node runs it without a loader.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const SERVER_OUTPUT = path.join(root, 'build')
const STAMP = '.source-hash'
const require = createRequire(import.meta.url)

/** A hash of everything the server's build is made from: src/ and the TypeScript configuration. */
function serverSourceHash() {
  const hash = createHash('sha256')
  const add = (file) => hash.update(path.relative(root, file)).update('\0').update(readFileSync(file))
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) walk(full)
      else add(full)
    }
  }
  walk(path.join(root, 'src'))
  add(path.join(root, 'tsconfig.json'))
  add(path.join(root, 'tsconfig.build.json'))
  return hash.digest('hex')
}

function resolveOrNull(specifier) {
  try {
    return require.resolve(specifier)
  } catch {
    return null
  }
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

/** Runs `fn` holding build.lock (waits for another builder, at most 5 minutes; a lock older than that is dead). */
function whileLocked(fn) {
  const lock = path.join(root, 'build.lock')
  for (let waited = 0; ; waited += 200) {
    try {
      closeSync(openSync(lock, 'wx'))
      break
    } catch (error) {
      if (error.code !== 'EEXIST') throw error
      const age = Date.now() - (existsSync(lock) ? statSync(lock).mtimeMs : Date.now())
      if (age > 300_000 || waited > 300_000) rmSync(lock, { force: true })
      else sleep(200)
    }
  }
  try {
    return fn()
  } finally {
    rmSync(lock, { force: true })
  }
}

/** Compiles src/ into build/ (into a directory of its own first, so that a failed build leaves the last one). */
export function buildServer(options = {}) {
  return whileLocked(() => compileServer(options))
}

function compileServer({ ifStale = false }) {
  const wanted = serverSourceHash()
  const built = existsSync(path.join(SERVER_OUTPUT, 'cli.js'))
  if (ifStale && built) {
    const stamp = existsSync(path.join(SERVER_OUTPUT, STAMP))
      ? readFileSync(path.join(SERVER_OUTPUT, STAMP), 'utf8').trim()
      : ''
    if (stamp === wanted) return 'up to date'
  }
  const tsc = resolveOrNull('typescript/bin/tsc')
  if (!tsc) {
    if (ifStale && built) {
      process.stderr.write(
        'the server was not rebuilt: typescript is not installed (npm install with devDependencies)\n',
      )
      return 'no typescript'
    }
    throw new Error('typescript is not installed: run npm install (with devDependencies), then npm run build')
  }
  const staging = `${SERVER_OUTPUT}.${process.pid}.tmp`
  rmSync(staging, { recursive: true, force: true })
  const compiled = spawnSync(
    process.execPath,
    [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--outDir', staging],
    {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  )
  if (compiled.status !== 0) {
    rmSync(staging, { recursive: true, force: true })
    throw new Error(`compiling the server failed (tsc exited ${compiled.status ?? compiled.signal})`)
  }
  writeFileSync(path.join(staging, STAMP), `${wanted}\n`)
  rmSync(SERVER_OUTPUT, { recursive: true, force: true })
  renameSync(staging, SERVER_OUTPUT)
  return 'built'
}

/** Builds the page through web/build.ts (TypeScript, run with tsx: both are devDependencies, like Vite). */
export function buildWeb({ ifStale = false } = {}) {
  const tsx = resolveOrNull('tsx')
  if (!tsx) {
    if (ifStale) {
      process.stderr.write(
        'the web page was not rebuilt: tsx and vite are not installed (npm install with devDependencies)\n',
      )
      return 'no vite'
    }
    throw new Error('tsx is not installed: run npm install (with devDependencies), then npm run build')
  }
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(root, 'web', 'build.ts'), ...(ifStale ? ['--if-stale'] : [])],
    { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] },
  )
  if (result.status !== 0)
    throw new Error(`building the web page failed (exit ${result.status ?? result.signal})`)
  return 'done'
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const ifStale = process.argv.includes('--if-stale')
  try {
    if (buildServer({ ifStale }) === 'built') process.stdout.write('server built into build/\n')
    if (!process.argv.includes('--server')) buildWeb({ ifStale })
  } catch (error) {
    process.stderr.write(`${error.message}\n`)
    process.exit(1)
  }
}
