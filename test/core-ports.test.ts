import { describe, expect, it } from 'vitest'
import { AuthService } from '../src/core/auth-service.js'
import { CoreError } from '../src/core/errors.js'
import { OperationService } from '../src/core/operation-service.js'
import { PasswordHasher } from '../src/core/passwords.js'
import { sweep } from '../src/core/sweep.js'
import type { TrashService } from '../src/core/trash-service.js'
import type { Actor } from '../src/core/types.js'
import {
  MemoryBlobStore,
  MemoryLoginFailureStore,
  MemoryOperationStore,
  MemoryPersistence,
  MemorySweepStore,
  MemoryUserStore,
} from './helpers/memory-ports.js'

// Core services over in-memory ports: no database, no server.

const actor = (over: Partial<Actor> = {}): Actor => ({
  tenantId: 1,
  userId: 10,
  login: 'u',
  displayName: null,
  admin: false,
  ipsRole: 'IpsUser',
  door: 'rest',
  ...over,
})

describe('core over in-memory ports: sign-in throttle', () => {
  it('locks a login past its threshold, refuses its right password while locked, and forgets on success', async () => {
    const hasher = new PasswordHasher(10)
    const users = new MemoryUserStore()
    const failures = new MemoryLoginFailureStore()
    users.users.push({
      tenantId: 1,
      id: 10,
      login: 'ann',
      passwordHash: await hasher.hash('right password'),
      displayName: null,
      email: null,
      admin: false,
      ipsRole: 'IpsUser',
      disabled: false,
    })
    const auth = new AuthService(new MemoryPersistence({ users, loginFailures: failures }), {
      sessionTtlSeconds: 60,
      sessionMaxAgeSeconds: 3600,
      hasher,
    })
    for (let i = 1; i <= 5; i++) {
      expect(await auth.signIn('ann', `wrong ${i}`, 'rest')).toEqual({ ok: false, reason: 'invalid' })
    }
    expect(failures.rows.get('login:ann')?.lockedUntil).toBe(0)
    // the sixth failure is past the threshold (5): locked for the first lock time, 30 s
    expect(await auth.signIn('ann', 'wrong 6', 'rest')).toEqual({ ok: false, reason: 'invalid' })
    expect(await auth.signIn('ann', 'right password', 'rest')).toEqual({
      ok: false,
      reason: 'locked',
      retryAfter: 30,
    })
    failures.now += 31
    const signedIn = await auth.signIn('ann', 'right password', 'rest')
    expect(signedIn.ok && signedIn.actor.userId).toBe(10)
    expect(failures.rows.has('login:ann')).toBe(false)
  })

  it('opens a session whose ticket finds the user, and closes it', async () => {
    const users = new MemoryUserStore()
    users.users.push({
      tenantId: 1,
      id: 10,
      login: 'ann',
      passwordHash: 'unused',
      displayName: null,
      email: null,
      admin: false,
      ipsRole: 'IpsUser',
      disabled: false,
    })
    const auth = new AuthService(
      new MemoryPersistence({ users, loginFailures: new MemoryLoginFailureStore() }),
      { sessionTtlSeconds: 60, sessionMaxAgeSeconds: 3600 },
    )
    const { ticket } = await auth.openSession(actor({ login: 'ann' }), 'token')
    expect(users.sessions).toHaveLength(1)
    expect((await auth.resolveSession(ticket, 'rest'))?.actor.login).toBe('ann')
    expect(await auth.resolveSession(ticket, 'ips')).toBeNull()
    expect(await auth.closeSession(ticket, 'rest')).toBe(true)
    expect(await auth.resolveSession(ticket, 'rest')).toBeNull()
  })
})

describe('core over in-memory ports: the operation log', () => {
  const op = (id: string, actorId: number) => ({
    tenantId: 1,
    id,
    actorId,
    actorLogin: `user${actorId}`,
    door: 'rest',
    action: 'trash',
    client: null,
    remoteAddress: null,
    startedAt: new Date('2026-01-01T00:00:00Z'),
    requested: 1,
    okCount: 1,
    warningCount: 0,
    errorCount: 0,
    items: 1,
    undoOf: null,
    session: null,
  })

  it("shows a user their own operations only; another user's does not exist for them; an admin sees all", async () => {
    const operations = new MemoryOperationStore()
    const mine = '00000000-0000-4000-8000-000000000001'
    const theirs = '00000000-0000-4000-8000-000000000002'
    await operations.insertOperation(op(mine, 10))
    await operations.insertOperation(op(theirs, 11))
    const service = new OperationService(new MemoryPersistence({ operations }), {} as TrashService)
    expect((await service.get(actor(), mine)).id).toBe(mine)
    await expect(service.get(actor(), theirs)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await expect(service.get(actor(), 'not-a-uuid')).rejects.toBeInstanceOf(CoreError)
    expect((await service.list(actor(), { actorId: 11 }, { limit: 10 })).operations).toEqual([])
    expect((await service.list(actor(), {}, { limit: 10 })).operations.map((o) => o.id)).toEqual([mine])
    const all = await service.list(actor({ admin: true }), {}, { limit: 10 })
    expect(all.operations.map((o) => o.id)).toEqual([mine, theirs])
  })
})

describe('core over in-memory ports: the orphan sweep', () => {
  it('removes old files no row holds, keeps young ones and held ones; a dry run changes nothing', async () => {
    const blobs = new MemoryBlobStore()
    const sweepStore = new MemorySweepStore()
    const old = new Date(Date.now() - 7200_000)
    blobs.blobs.set('a-held', old)
    blobs.blobs.set('b-orphan', old)
    blobs.blobs.set('c-young', new Date())
    sweepStore.referenced.add('a-held')
    const persistence = new MemoryPersistence({ sweep: sweepStore })
    const options = { dryRun: true, limit: 100, minAgeSeconds: 3600 }

    const dry = await sweep(persistence, blobs, options)
    expect(dry.objects).toMatchObject({ scanned: 3, found: 1, removed: 0, complete: true })
    expect(dry.objects.examples).toEqual(['b-orphan'])
    expect([...blobs.blobs.keys()]).toEqual(['a-held', 'b-orphan', 'c-young'])
    expect(sweepStore.positions.size).toBe(0)

    const done = await sweep(persistence, blobs, { ...options, dryRun: false })
    expect(done.objects).toMatchObject({ scanned: 3, found: 1, removed: 1, failed: 0, complete: true })
    expect([...blobs.blobs.keys()]).toEqual(['a-held', 'c-young'])
    expect(done.rows).toMatchObject({ scanned: 0, complete: true })
    expect(sweepStore.positions.get('objects')).toBeNull()
  })

  it('goes on from where the last run stopped when a run reaches its limit', async () => {
    const blobs = new MemoryBlobStore()
    const sweepStore = new MemorySweepStore()
    const old = new Date(Date.now() - 7200_000)
    for (const key of ['k1', 'k2', 'k3']) blobs.blobs.set(key, old)
    const persistence = new MemoryPersistence({ sweep: sweepStore })
    const first = await sweep(persistence, blobs, { dryRun: false, limit: 2, minAgeSeconds: 0 })
    expect(first.objects).toMatchObject({ scanned: 2, removed: 2, complete: false })
    expect(sweepStore.positions.get('objects')).toBe('k2')
    const second = await sweep(persistence, blobs, { dryRun: false, limit: 2, minAgeSeconds: 0 })
    expect(second.objects).toMatchObject({ scanned: 1, removed: 1, complete: true })
    expect(blobs.blobs.size).toBe(0)
  })
})
