import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import type { Requirement } from './requirements.js'

/**
 * Real SOAP toolkits from Debian, driven by the client tests: each generates its proxy from a WSDL this server
 * serves, compiles it and runs a door's flow. A test whose toolkit is missing is skipped with one line saying
 * what to install; under CI=true (where .ci/run installs them) a missing toolkit fails instead.
 */

const run = promisify(execFile)

export interface Toolkit {
  name: string
  /** the Debian packages that bring it */
  packages: string
  /** files that must exist */
  needs: string[]
}

export const MONO: Toolkit = {
  name: 'Mono (.NET wsdl + mcs)',
  packages: 'mono-devel',
  needs: ['/usr/bin/wsdl', '/usr/bin/mcs', '/usr/bin/mono'],
}

export const AXIS: Toolkit = {
  name: 'Apache Axis 1.4 WSDL2Java',
  packages: 'libaxis-java default-jdk-headless',
  needs: ['/usr/share/java/axis.jar', '/usr/share/java/wsdl4j.jar', '/usr/bin/java', '/usr/bin/javac'],
}

export const SUDS: Toolkit = {
  name: 'python suds',
  packages: 'python3-suds',
  needs: ['/usr/bin/python3', '/usr/lib/python3/dist-packages/suds/__init__.py'],
}

/**
 * Whether the toolkit's tests run here: met, or (outside CI) not, with why and how to install it (printed at the
 * end of the run for the tests skipped with `needs`).
 */
export function toolkitAvailable(toolkit: Toolkit): Requirement {
  const missing = toolkit.needs.filter((file) => !existsSync(file))
  return {
    // under CI the tests run, and fail on the missing files
    met: missing.length === 0 || process.env.CI === 'true',
    missing: `${toolkit.name} is not installed (no ${missing[0]}); install it with apt-get install ${toolkit.packages}`,
  }
}

/** Runs a command, bounded in time, and returns its standard output (stderr joins it in the error). */
export async function sh(
  command: string,
  args: string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<string> {
  try {
    const { stdout } = await run(command, args, {
      cwd: options.cwd,
      timeout: options.timeoutMs ?? 120_000,
      maxBuffer: 16 * 1024 * 1024,
    })
    return stdout
  } catch (error) {
    const failure = error as Error & { stdout?: string; stderr?: string }
    throw new Error(
      `${command} ${args.join(' ')} failed: ${failure.message}\n${failure.stdout ?? ''}\n${failure.stderr ?? ''}`,
    )
  }
}

/** A scratch directory for generated proxies and builds, removed afterwards. */
export async function withScratch<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'trashd-toolkit-'))
  try {
    return await run(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** `key=value` lines a client program printed, as a map (a key printed twice keeps the last value). */
export function printedValues(stdout: string): Record<string, string> {
  const values: Record<string, string> = {}
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=')
    if (eq > 0) values[line.slice(0, eq).trim()] = line.slice(eq + 1).replace(/\r$/, '')
  }
  return values
}

export const CLIENTS_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../clients')
