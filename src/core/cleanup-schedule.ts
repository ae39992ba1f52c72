import { Cron } from 'croner'
import type { CleanupJob, CleanupLogger } from './cleanup-job.js'

/**
 * Runs the cleanup job on a cron schedule inside a server. Every instance ticks; each tick is identified by its
 * scheduled time (the same on every instance), and the run row keyed by that time is created by exactly one of
 * them (unique index), so a tick runs once however many instances serve. A tick that comes while this instance
 * still runs the previous one is left to the other instances (protect).
 */
export interface CleanupSchedule {
  /** the scheduled time of the next tick */
  next(): Date | null
  /** stops ticking, interrupts a running job between batches and waits for it */
  stop(): Promise<void>
}

/** How far back a late timer may still find its tick (an event loop blocked longer skips that tick). */
const TICK_LOOKBACK_MS = 60_000

/** The scheduled time a tick firing at `now` serves: the latest time of the pattern not after now. */
export function tickTime(cron: Cron, now: Date): Date | null {
  let tick: Date | null = null
  let candidate = cron.nextRun(new Date(now.getTime() - TICK_LOOKBACK_MS))
  while (candidate && candidate.getTime() <= now.getTime()) {
    tick = candidate
    candidate = cron.nextRun(candidate)
  }
  return tick
}

/** When a schedule expression fires next ('off': never). */
export function nextTick(expression: string, after = new Date()): Date | null {
  if (expression === 'off') return null
  const cron = new Cron(expression, { paused: true })
  const next = cron.nextRun(after)
  cron.stop()
  return next
}

export function scheduleCleanup(
  job: CleanupJob,
  expression: string,
  logger?: CleanupLogger,
): CleanupSchedule {
  const controller = new AbortController()
  let running: Promise<unknown> | null = null
  const cron = new Cron(
    expression,
    {
      protect: () => logger?.debug({}, 'cleanup tick skipped: the previous run is still going'),
      catch: (error) => logger?.error({ err: error }, 'cleanup tick failed'),
    },
    async (self: Cron) => {
      const scheduledFor = tickTime(self, new Date())
      if (!scheduledFor) return
      running = job.run({ trigger: 'schedule', scheduledFor, signal: controller.signal })
      try {
        await running
      } finally {
        running = null
      }
    },
  )
  return {
    next: () => cron.nextRun(),
    stop: async () => {
      cron.stop()
      controller.abort()
      await running?.catch(() => {})
    },
  }
}
