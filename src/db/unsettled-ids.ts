/**
 * Which audit ids a follower of the audit table has yet to settle. Ids are taken at insert but transactions
 * commit in any order, so "everything after the highest id read" misses a row whose transaction commits late.
 * The follower therefore keeps the holes it has seen below its highest id (gaps) and reads them again until they
 * can no longer fill: a hole is either a row of a transaction still running or an id that will never be used
 * (a rolled-back insert). Once every transaction that was running a while after the hole was seen has ended (the
 * snapshot's xmin has passed that moment's xmax), and the hole was read in that snapshot, it is dropped.
 */

/** Ids above every id ever used: the open end of the follower's ranges. */
export const OPEN_END = Number.MAX_SAFE_INTEGER

/**
 * How long a hole is watched before its horizon is taken. The id is drawn just before its transaction gets a
 * transaction id (both inside the same insert), so a snapshot taken in between would not list the writer as
 * running; a snapshot taken a second later does.
 */
export const SETTLE_DELAY_MS = 1000

/** At most this many holes are watched; beyond it the oldest are given up (and counted). */
export const MAX_GAPS = 1000

interface Gap {
  lo: number
  hi: number
  seenAt: number
  /** the xmax of a snapshot taken at least SETTLE_DELAY_MS after the hole was seen */
  horizon: bigint | null
}

export interface Ranges {
  from: number[]
  to: number[]
}

export class UnsettledIds {
  private gaps: Gap[] = []
  /** every id from here on is unread */
  private next: number
  /** holes given up because there were too many */
  abandoned = 0

  private constructor(next: number) {
    this.next = next
  }

  /**
   * The follower's starting point, from one read of the ids from `windowStart` on (ascending). Those rows are
   * history, not news; the holes between them may still fill.
   */
  static startingAt(windowStart: number, ids: number[], now: number): UnsettledIds {
    const unsettled = new UnsettledIds(Math.max(1, windowStart))
    unsettled.readTail(ids, now)
    return unsettled
  }

  /** The ranges to read: the watched holes, then everything from the highest id read on. */
  ranges(): Ranges {
    const from = this.gaps.map((gap) => gap.lo)
    const to = this.gaps.map((gap) => gap.hi)
    from.push(this.next)
    to.push(OPEN_END)
    return { from, to }
  }

  get watchedGaps(): number {
    return this.gaps.length
  }

  /**
   * Records one read of ranges(): the ids it returned (ascending), whether it returned everything in them (or
   * stopped at its limit after the last id), and its snapshot's bounds.
   */
  settle(ids: number[], complete: boolean, xmin: bigint, xmax: bigint, now: number): void {
    const checkedUpTo = complete || ids.length === 0 ? OPEN_END : ids[ids.length - 1]!
    const kept: Gap[] = []
    let i = 0
    for (const gap of this.gaps) {
      while (i < ids.length && ids[i]! < gap.lo) i++
      let lo = gap.lo
      while (i < ids.length && ids[i]! <= gap.hi) {
        if (ids[i]! > lo) kept.push({ ...gap, lo, hi: ids[i]! - 1 })
        lo = ids[i]! + 1
        i++
      }
      if (lo <= gap.hi) kept.push({ ...gap, lo })
    }
    this.gaps = []
    for (const gap of kept) {
      const read = gap.hi <= checkedUpTo
      if (read && gap.horizon !== null && xmin >= gap.horizon) continue
      if (gap.horizon === null && now - gap.seenAt >= SETTLE_DELAY_MS) gap.horizon = xmax
      this.gaps.push(gap)
    }
    this.readTail(
      ids.filter((id) => id >= this.next),
      now,
    )
    if (this.gaps.length > MAX_GAPS) {
      const over = this.gaps.length - MAX_GAPS
      this.gaps.splice(0, over)
      this.abandoned += over
    }
  }

  /** New ids at or above `next` (ascending): the holes between them become gaps. */
  private readTail(ids: number[], now: number) {
    for (const id of ids) {
      if (id > this.next) this.gaps.push({ lo: this.next, hi: id - 1, seenAt: now, horizon: null })
      this.next = id + 1
    }
  }
}
