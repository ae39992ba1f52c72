import { setImmediate as nextTurn } from 'node:timers/promises'

export { nextTurn }

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

/**
 * Rows per statement of a batch: a bigger batch is sent in pieces of this many, one after another in its
 * transaction, the event loop given a turn between them. A 10,000-row statement held the database's CPU for
 * seconds and its answer (decoded at once, kept whole until the last row came) made the garbage collector copy
 * 10,000 rows at a stretch: other clients' requests waited behind both.
 */
export const PIECE = 1000

/** `fn` over consecutive pieces of at most `size` items, in order, a turn between two; the answers in order. */
export async function inPieces<T, R>(
  items: readonly T[],
  fn: (piece: T[]) => Promise<R>,
  size = PIECE,
): Promise<R[]> {
  if (items.length <= size) return [await fn(items as T[])]
  const answers: R[] = []
  for (let start = 0; start < items.length; start += size) {
    if (start > 0) await nextTurn()
    answers.push(await fn(items.slice(start, start + size)))
  }
  return answers
}

/** inPieces for a statement answering a map: the pieces' maps as one. */
export async function mapInPieces<T, K, V>(
  items: readonly T[],
  fn: (piece: T[]) => Promise<Map<K, V>>,
  size = PIECE,
): Promise<Map<K, V>> {
  const answers = await inPieces(items, fn, size)
  if (answers.length === 1) return answers[0]!
  const merged = new Map<K, V>()
  for (const answer of answers) for (const [key, value] of answer) merged.set(key, value)
  return merged
}
