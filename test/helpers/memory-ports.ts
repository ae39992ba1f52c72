import type { Readable } from 'node:stream'
import type { BlobDeleteFailure, BlobStore, ListedBlob } from '../../src/core/ports/blob-store.js'
import type {
  KeptAnswer,
  KeyClaim,
  OperationRow,
  OperationStore,
} from '../../src/core/ports/operation-store.js'
import type { Stores } from '../../src/core/ports/stores.js'
import type { StoredFileRow, SweepStore, SweepWalk } from '../../src/core/ports/sweep-store.js'
import type { Persistence, UnitOfWorkOptions } from '../../src/core/ports/unit-of-work.js'
import type { LoginFailureStore, NewSession, UserRow, UserStore } from '../../src/core/ports/user-store.js'

/**
 * The core's ports held in memory, for unit tests of core services without any database. Only the stores a
 * test gives are there; asking for another one fails the test at once. A unit of work runs its function on the
 * same stores (no rollback) and records the options it was asked for.
 */
export class MemoryPersistence implements Persistence {
  readonly units: UnitOfWorkOptions[] = []
  readonly stores: Stores

  constructor(given: Partial<Stores>) {
    this.stores = new Proxy(given as Stores, {
      get(target, name) {
        const store = target[name as keyof Stores]
        if (!store) throw new Error(`no in-memory ${String(name)} store in this test`)
        return store
      },
    })
  }

  async unitOfWork<T>(work: (tx: Stores) => Promise<T>, options: UnitOfWorkOptions = {}): Promise<T> {
    this.units.push(options)
    return work(this.stores)
  }
}

export class MemoryUserStore implements UserStore {
  readonly users: UserRow[] = []
  readonly sessions: (NewSession & { expiresAt: Date })[] = []

  async findUserByLogin(login: string) {
    return this.users.find((user) => user.login.toLowerCase() === login.toLowerCase()) ?? null
  }
  async findUsersForSignIn(name: string) {
    const user = await this.findUserByLogin(name)
    return user ? [user] : []
  }
  async findUser(tenantId: number, id: number) {
    return this.users.find((user) => user.tenantId === tenantId && user.id === id) ?? null
  }
  async findUserInTenant(tenantId: number, login: string) {
    const user = await this.findUserByLogin(login)
    return user?.tenantId === tenantId ? user : null
  }
  async replacePasswordHash(user: { tenantId: number; id: number }, oldHash: string, newHash: string) {
    const row = await this.findUser(user.tenantId, user.id)
    if (!row || row.passwordHash !== oldHash) return false
    row.passwordHash = newHash
    return true
  }
  async insertSession(session: NewSession) {
    const expiresAt = new Date(Date.now() + session.ttlSeconds * 1000)
    this.sessions.push({ ...session, expiresAt })
    return expiresAt
  }
  async touchSession(ticketHash: string, door: string) {
    const found = this.sessions.find((s) => s.ticketHash === ticketHash && s.door === door)
    const user = found ? await this.findUser(found.tenantId, found.userId) : null
    return {
      lockedForSeconds: 0,
      session: found && user ? { user, expiresAt: found.expiresAt, client: found.client ?? null } : null,
    }
  }
  async deleteSession(ticketHash: string, door: string) {
    const index = this.sessions.findIndex((s) => s.ticketHash === ticketHash && s.door === door)
    if (index >= 0) this.sessions.splice(index, 1)
    return index >= 0
  }
  async deleteUserSessions(tenantId: number, userId: number) {
    const before = this.sessions.length
    for (let i = this.sessions.length - 1; i >= 0; i--) {
      const session = this.sessions[i]!
      if (session.tenantId === tenantId && session.userId === userId) this.sessions.splice(i, 1)
    }
    return before - this.sessions.length
  }
  async deleteExpiredSessions() {
    return 0
  }
}

/** Failure counts on a clock the test moves (`now`, in seconds). */
export class MemoryLoginFailureStore implements LoginFailureStore {
  now = 0
  readonly rows = new Map<string, { failures: number; lastFailedAt: number; lockedUntil: number }>()

  async readFailures(keys: string[]) {
    const present = keys.filter((key) => this.rows.has(key))
    const lockedFor = present.map((key) => Math.max(0, Math.ceil(this.rows.get(key)!.lockedUntil - this.now)))
    return { lockedForSeconds: Math.max(0, ...lockedFor), keysWithFailures: present }
  }
  async countFailure(keys: string[], forgetAfterSeconds: number) {
    return keys.map((key) => {
      const row = this.rows.get(key)
      const failures = row && row.lastFailedAt > this.now - forgetAfterSeconds ? row.failures + 1 : 1
      this.rows.set(key, { failures, lastFailedAt: this.now, lockedUntil: row?.lockedUntil ?? 0 })
      return { key, failures }
    })
  }
  async lockKey(key: string, seconds: number) {
    const row = this.rows.get(key)!
    row.lockedUntil = Math.max(row.lockedUntil, this.now + seconds)
  }
  async clearFailures(key: string) {
    this.rows.delete(key)
  }
  async deleteForgottenFailures() {
    return 0
  }
}

export class MemoryOperationStore implements OperationStore {
  readonly rows: OperationRow[] = []

  async insertOperation(op: Omit<OperationRow, 'finishedAt'>) {
    this.rows.push({ ...op, finishedAt: new Date() })
  }
  async recordLateFailures() {}
  async insertRunOperations() {}
  async listOperations(tenantId: number, filter: { actorId?: number }, _after: unknown, limit: number) {
    return this.rows
      .filter(
        (op) => op.tenantId === tenantId && (filter.actorId === undefined || op.actorId === filter.actorId),
      )
      .slice(0, limit)
  }
  async getOperation(tenantId: number, id: string) {
    return this.rows.find((op) => op.tenantId === tenantId && op.id === id) ?? null
  }
  async listOperationUnits() {
    return []
  }
  async countTrashed() {
    return { units: 0, items: 0 }
  }
  /** keys by tenant/user/key; without time: nothing expires or goes stale in memory */
  readonly keys = new Map<string, { fingerprint: string; answer: KeptAnswer | null }>()
  async claimKey(tenantId: number, userId: number, key: string, fingerprint: string): Promise<KeyClaim> {
    const id = `${tenantId}/${userId}/${key}`
    const held = this.keys.get(id)
    if (held) return { claimed: false, ...held }
    this.keys.set(id, { fingerprint, answer: null })
    return { claimed: true }
  }
  async keepAnswer(tenantId: number, userId: number, key: string, answer: KeptAnswer) {
    const held = this.keys.get(`${tenantId}/${userId}/${key}`)
    if (held) held.answer = answer
  }
  async releaseKey(tenantId: number, userId: number, key: string) {
    this.keys.delete(`${tenantId}/${userId}/${key}`)
  }
}

/** The sweep's view of the rows: the keys rows hold, and where each walk stopped. */
export class MemorySweepStore implements SweepStore {
  readonly referenced = new Set<string>()
  readonly positions = new Map<SweepWalk, string | null>()

  async position(walk: SweepWalk) {
    return this.positions.get(walk) ?? null
  }
  async savePosition(walk: SweepWalk, position: string | null) {
    this.positions.set(walk, position)
  }
  async referencedKeys(keys: string[]) {
    return new Set(keys.filter((key) => this.referenced.has(key)))
  }
  async storedFileRows(): Promise<StoredFileRow[]> {
    return []
  }
  async markItemsWithoutFile() {
    return 0
  }
  async deleteVersionsWithoutFile() {
    return 0
  }
}

/** Keys with the time each was written; content is not kept. */
export class MemoryBlobStore implements BlobStore {
  readonly blobs = new Map<string, Date>()

  async put(): Promise<string> {
    throw new Error('not used')
  }
  async putStream(): Promise<never> {
    throw new Error('not used')
  }
  async get(): Promise<Readable | null> {
    return null
  }
  async delete(key: string) {
    this.blobs.delete(key)
  }
  async deleteMany(keys: readonly string[]): Promise<BlobDeleteFailure[]> {
    for (const key of keys) this.blobs.delete(key)
    return []
  }
  async exists(key: string) {
    return this.blobs.has(key)
  }
  async list(after: string | null, limit: number): Promise<ListedBlob[]> {
    return [...this.blobs.keys()]
      .sort()
      .filter((key) => after === null || key > after)
      .slice(0, limit)
      .map((key) => ({ key, modifiedAt: this.blobs.get(key)! }))
  }
}
