import { setImmediate as nextTurn } from 'node:timers/promises'

/**
 * How long work on one batch runs before the event loop gets a turn: a 10,000-item batch is a second or more
 * of work on a loaded machine, and every other request, timer and socket waits while it runs.
 */
export const TURN_MS = 8

/** Items between two looks at the clock. */
const CHECK_EVERY = 64

/** A stretch of batch work: `due()` says when it has run TURN_MS, `turn()` lets the event loop run. */
export class Turns {
  private since = performance.now()
  private count = 0

  /** Whether this stretch ran long enough to give the loop a turn (looked at every 64 calls). */
  due(): boolean {
    return ++this.count % CHECK_EVERY === 0 && performance.now() - this.since > TURN_MS
  }

  async turn(): Promise<void> {
    await nextTurn()
    this.since = performance.now()
  }
}

/** Calls `fn` on each item in order, giving the event loop a turn every TURN_MS. */
export async function eachInTurns<T>(items: Iterable<T>, fn: (item: T) => void): Promise<void> {
  const turns = new Turns()
  for (const item of items) {
    fn(item)
    if (turns.due()) await turns.turn()
  }
}

/** `items.map(fn)`, giving the event loop a turn every TURN_MS. */
export async function mapInTurns<T, U>(items: readonly T[], fn: (item: T) => U): Promise<U[]> {
  const out = new Array<U>(items.length)
  const turns = new Turns()
  for (let i = 0; i < items.length; i++) {
    out[i] = fn(items[i]!)
    if (turns.due()) await turns.turn()
  }
  return out
}
