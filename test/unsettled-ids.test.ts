import { describe, expect, it } from 'vitest'
import { MAX_GAPS, OPEN_END, SETTLE_DELAY_MS, UnsettledIds } from '../src/db/unsettled-ids.js'

describe("the audit follower's unsettled ids", () => {
  it("starts after the newest rows and watches the holes among them, from the window's start", () => {
    const ids = UnsettledIds.startingAt(4, [5, 6, 9], 0)
    expect(ids.ranges()).toEqual({ from: [4, 7, 10], to: [4, 8, OPEN_END] })
    expect(UnsettledIds.startingAt(-9_996, [3], 0).ranges()).toEqual({ from: [1, 4], to: [2, OPEN_END] })
    expect(UnsettledIds.startingAt(-9_999, [], 0).ranges()).toEqual({ from: [1], to: [OPEN_END] })
  })

  it('splits a hole when part of it fills, and moves on past what it read', () => {
    const ids = UnsettledIds.startingAt(10, [10], 0)
    ids.settle([14, 20], true, 1n, 2n, 0)
    expect(ids.ranges()).toEqual({ from: [11, 15, 21], to: [13, 19, OPEN_END] })
    ids.settle([12, 16, 17], true, 1n, 2n, 0)
    expect(ids.ranges()).toEqual({ from: [11, 13, 15, 18, 21], to: [11, 13, 15, 19, OPEN_END] })
  })

  it('gives a hole up only once every transaction running a while after it was seen has ended', () => {
    const ids = UnsettledIds.startingAt(1, [1], 0)
    ids.settle([3], true, 100n, 105n, 0)
    expect(ids.watchedGaps).toBe(1)
    // too soon for a horizon: the writer may not have its transaction id yet
    ids.settle([], true, 200n, 210n, SETTLE_DELAY_MS - 1)
    expect(ids.watchedGaps).toBe(1)
    // the horizon is this read's xmax (300); a transaction below it still runs
    ids.settle([], true, 250n, 300n, SETTLE_DELAY_MS)
    ids.settle([], true, 299n, 320n, SETTLE_DELAY_MS + 10)
    expect(ids.watchedGaps).toBe(1)
    // once every transaction below the horizon has ended, a read that covered the hole settles it
    ids.settle([], true, 300n, 330n, SETTLE_DELAY_MS + 20)
    expect(ids.watchedGaps).toBe(0)
    expect(ids.ranges()).toEqual({ from: [4], to: [OPEN_END] })
  })

  it('does not settle a hole that a read cut at its limit did not reach', () => {
    const ids = UnsettledIds.startingAt(1, [1], 0)
    ids.settle([3, 5, 6], true, 1n, 2n, 0)
    ids.settle([], true, 1n, 50n, SETTLE_DELAY_MS)
    // the read stopped at id 2 (its limit): the hole at 4 was not read in this snapshot
    ids.settle([2], false, 60n, 70n, SETTLE_DELAY_MS + 1)
    expect(ids.ranges()).toEqual({ from: [4, 7], to: [4, OPEN_END] })
  })

  it('watches at most MAX_GAPS holes, giving up the oldest', () => {
    const ids = UnsettledIds.startingAt(1, [1], 0)
    const many = Array.from({ length: MAX_GAPS + 5 }, (_, i) => 3 + 2 * i)
    ids.settle(many, true, 1n, 2n, 0)
    expect(ids.watchedGaps).toBe(MAX_GAPS)
    expect(ids.abandoned).toBe(5)
    expect(ids.ranges().from[0]).toBe(12)
  })
})
