import { existsSync } from 'node:fs'
import net from 'node:net'
import type { TestOptions } from 'vitest'

declare module 'vitest' {
  interface TaskMeta {
    /** why a test or suite is skipped on this machine and how to run it; printed by the summary reporter */
    skipReason?: string
  }
}

/** Something a test needs that a fresh machine may lack: whether it is here, and if not, why and how to get it. */
export interface Requirement {
  met: boolean
  /** what is missing and how to run the tests that need it (one line) */
  missing: string
}

export const POSTGRES: Requirement = {
  met: Boolean(process.env.TEST_DATABASE_URL),
  missing:
    'needs a PostgreSQL server (the embedded database serves one connection in one process); ' +
    'run with TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres',
}

const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Debian's Chromium (never a downloaded browser); under CI=true the browser tests run, and fail without it. */
export const CHROMIUM: Requirement = {
  met: existsSync(CHROMIUM_PATH) || process.env.CI === 'true',
  missing: `needs Chromium at ${CHROMIUM_PATH}; install it with apt-get install chromium, or set CHROMIUM_PATH`,
}

export const chromiumPath = () => CHROMIUM_PATH

/** Whether something answers on a loopback TCP port (a service the tests use when it runs). */
export function portAnswers(port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/** The machine's RabbitMQ (guest/guest on 127.0.0.1:5672); under CI=true the broker tests run, and fail without it. */
export const RABBITMQ: Requirement = {
  met: process.env.CI === 'true' || (await portAnswers(5672)),
  missing: 'needs RabbitMQ on 127.0.0.1:5672 (guest/guest); start it with rabbitmq-server -detached',
}

/**
 * Options for `describe` or `it`: runs when the requirement is met, else skipped, with `why` and the way to run
 * it printed at the end of the run (test/helpers/summary-reporter.ts).
 */
export function needs(requirement: Requirement, why?: string): TestOptions {
  if (requirement.met) return {}
  return { skip: true, meta: { skipReason: why ? `${why}: ${requirement.missing}` : requirement.missing } }
}
