/**
 * At most `limit` of one kind of long-lived work per user at a time in this process (streamed listings, event
 * streams): a slow or stuck client of one user cannot take what every other user needs.
 */
export class UserSlots {
  private readonly taken = new Map<string, number>()

  constructor(readonly limit: number) {}

  /**
   * A slot for the user, or null when all of theirs are taken. The function returned gives it back; calling it
   * again does nothing, so every way a piece of work can end may call it.
   */
  take(tenantId: number, userId: number | null): (() => void) | null {
    const key = `${tenantId}:${userId}`
    const used = this.taken.get(key) ?? 0
    if (used >= this.limit) return null
    this.taken.set(key, used + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      const left = (this.taken.get(key) ?? 1) - 1
      if (left > 0) this.taken.set(key, left)
      else this.taken.delete(key)
    }
  }

  /** Slots taken now, all users. */
  get inUse(): number {
    let count = 0
    for (const used of this.taken.values()) count += used
    return count
  }
}

/**
 * One piece of work at a time per user, in the order asked: the database reads of a user's streamed listings
 * (a page each) go one after another, so that one user's listings keep one connection busy at a time, not one
 * each. Only the read waits its turn, never the client's reading of what was read.
 */
export class UserQueue {
  private readonly tails = new Map<string, Promise<void>>()

  run<T>(tenantId: number, userId: number | null, work: () => Promise<T>): Promise<T> {
    const key = `${tenantId}:${userId}`
    const previous = this.tails.get(key)
    const result = previous ? previous.then(work) : work()
    const tail = result.then(
      () => {},
      () => {},
    )
    this.tails.set(key, tail)
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key)
    })
    return result
  }

  /** Users with work queued or running. */
  get users(): number {
    return this.tails.size
  }
}

/**
 * At most `limit` pieces of heavy work at a time in this process, the others waiting their turn in the order they
 * came for at most `waitMs` each; one that waited that long is refused (`busy` makes its error). Whatever the
 * work does, its place is given back when it ends.
 */
export class WorkGate {
  private running = 0
  private readonly waiting: (() => void)[] = []

  constructor(
    readonly limit: number,
    readonly waitMs: number,
    private readonly busy: () => Error,
  ) {}

  /** `patient`: wait for a place however long it takes, never refused (work that must go on, such as a job's page). */
  async run<T>(work: () => Promise<T>, patient = false): Promise<T> {
    await this.enter(patient)
    try {
      return await work()
    } finally {
      this.running--
      this.waiting.shift()?.()
    }
  }

  private enter(patient: boolean): Promise<void> {
    if (this.running < this.limit && this.waiting.length === 0) {
      this.running++
      return Promise.resolve()
    }
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined
      const grant = () => {
        clearTimeout(timer)
        this.running++
        resolve()
      }
      if (patient) {
        this.waiting.push(grant)
        return
      }
      timer = setTimeout(() => {
        const at = this.waiting.indexOf(grant)
        if (at >= 0) this.waiting.splice(at, 1)
        reject(this.busy())
      }, this.waitMs)
      this.waiting.push(grant)
    })
  }

  /** Work running now, and waiting. */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length }
  }
}
