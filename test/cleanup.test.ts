import { randomUUID } from 'node:crypto'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { Cron } from 'croner'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CleanupJob } from '../src/core/cleanup-job.js'
import { tickTime } from '../src/core/cleanup-schedule.js'
import { completePurge } from '../src/core/purge-protocol.js'
import * as repo from '../src/db/purge-statements.js'
import {
  ageTrash,
  auditOf,
  blobOnDisk,
  type CleanupTestContext,
  createFile,
  createFolder,
  rowState,
  startCleanupContext,
} from './helpers/cleanup.js'
import { needs, POSTGRES } from './helpers/requirements.js'
import { ADMIN_TOKEN, createFixture, type Fixture } from './helpers/server.js'

let t: CleanupTestContext
let f: Fixture

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }

async function call(method: string, url: string, body?: unknown, auth = admin.authorization) {
  const response = await t.app.inject({
    method: method as 'GET',
    url,
    headers: auth ? { authorization: auth } : {},
    ...(body !== undefined ? { payload: body as object } : {}),
  })
  return { status: response.statusCode, body: response.json() }
}

/** A fresh tenant per test keeps the tests independent (the job runs per tenant with --tenant). */
async function tenant(prefix: string, retentionDays = 7) {
  const fixture = await createFixture(t.ctx, `${prefix}-${randomUUID().slice(0, 6)}`)
  if (retentionDays !== 7) await t.ctx.admin.setTenantRetention(fixture.tenantId, retentionDays)
  return fixture
}

const runFor = (fixture: Fixture, options: { staleAfterSeconds?: number } = {}) =>
  t.ctx.cleanup.run({ trigger: 'cli', tenantId: fixture.tenantId, ...options })

async function trash(fixture: Fixture, ids: number[]) {
  const result = await t.ctx.trash.trash(fixture.users.admin!.actor, ids)
  expect(result.errorCount).toBe(0)
}

async function snapshot() {
  const items = await t.database.db.query(
    `select id, state, purge_token, purge_error, purge_attempts, deleted_at, emptied_at from items order by id`,
  )
  const audit = await t.database.db.query('select count(*)::int as n, max(id) as last from audit')
  const runs = await t.database.db.query('select count(*)::int as n from cleanup_runs')
  return { items: items.rows, audit: audit.rows[0], runs: runs.rows[0] }
}

beforeAll(async () => {
  t = await startCleanupContext()
  f = await createFixture(t.ctx, 'cl')
})

afterAll(async () => {
  await t?.close()
})

describe('retention', () => {
  it('expires trashed items older than the tenant retention, row and file, with an expire audit row', async () => {
    const a = await tenant('ret')
    const old = await createFile(t.ctx, a, 'old.txt')
    const young = await createFile(t.ctx, a, 'young.txt')
    const active = await createFile(t.ctx, a, 'active.txt')
    await trash(a, [old.id, young.id])
    await ageTrash(t.database.db, [old.id], 8)
    await ageTrash(t.database.db, [young.id, active.id], 6)

    const report = await runFor(a)
    expect(report?.run).toMatchObject({ status: 'succeeded', purged: 1, expired: 1, failed: 0, held: 0 })
    expect(await rowState(t.database.db, old.id)).toBeNull()
    expect(blobOnDisk(t.blobs, old.blobKey)).toBe(false)
    expect(await rowState(t.database.db, young.id)).toBe('trashed')
    expect(blobOnDisk(t.blobs, young.blobKey)).toBe(true)
    expect(await rowState(t.database.db, active.id)).toBe('active')
    const audit = await auditOf(t.database.db, old.id)
    expect(audit.map((row) => row.action)).toEqual(['trash', 'expire'])
    expect(audit[1]).toMatchObject({
      door: 'cleanup',
      actor_id: null,
      detail: { run: report!.run.id, reason: 'expired', retentionDays: 7, retentionFrom: 'tenant' },
    })
  })

  it('never expires anything of a tenant whose retention is 0', async () => {
    const a = await tenant('never', 0)
    const file = await createFile(t.ctx, a, 'kept.txt')
    await trash(a, [file.id])
    await ageTrash(t.database.db, [file.id], 4000)
    const report = await runFor(a)
    expect(report?.run).toMatchObject({ status: 'succeeded', purged: 0 })
    expect(await rowState(t.database.db, file.id)).toBe('trashed')
    expect(blobOnDisk(t.blobs, file.blobKey)).toBe(true)
  })

  it("uses the brand's auto purge days when set (shorter, longer, or 0 = never) over the tenant's", async () => {
    const a = await tenant('brand')
    const short = await t.ctx.admin.createBrand(a.tenantId, 'short', 2)
    const long = await t.ctx.admin.createBrand(a.tenantId, 'long', 30)
    const never = await t.ctx.admin.createBrand(a.tenantId, 'never', 0)
    const shortOld = await createFile(t.ctx, a, 's-old.txt', { brandId: short })
    const shortYoung = await createFile(t.ctx, a, 's-young.txt', { brandId: short })
    const longMid = await createFile(t.ctx, a, 'l-mid.txt', { brandId: long })
    const longOld = await createFile(t.ctx, a, 'l-old.txt', { brandId: long })
    const neverOld = await createFile(t.ctx, a, 'n-old.txt', { brandId: never })
    const plain = await createFile(t.ctx, a, 'plain.txt')
    await trash(a, [shortOld.id, shortYoung.id, longMid.id, longOld.id, neverOld.id, plain.id])
    await ageTrash(t.database.db, [shortOld.id], 3)
    await ageTrash(t.database.db, [shortYoung.id], 1)
    await ageTrash(t.database.db, [longMid.id, plain.id], 10)
    await ageTrash(t.database.db, [longOld.id], 31)
    await ageTrash(t.database.db, [neverOld.id], 4000)

    const report = await runFor(a)
    expect(report?.run).toMatchObject({ status: 'succeeded', purged: 3, expired: 3 })
    const states = await Promise.all(
      [shortOld, shortYoung, longMid, longOld, neverOld, plain].map((item) =>
        rowState(t.database.db, item.id),
      ),
    )
    expect(states).toEqual([null, 'trashed', 'trashed', null, 'trashed', null])
    expect((await auditOf(t.database.db, shortOld.id))[1]?.detail).toMatchObject({
      retentionDays: 2,
      retentionFrom: 'brand',
    })
    expect((await auditOf(t.database.db, longOld.id))[1]?.detail).toMatchObject({ retentionDays: 30 })
    for (const item of [shortOld, longOld, plain]) expect(blobOnDisk(t.blobs, item.blobKey)).toBe(false)
    for (const item of [shortYoung, longMid, neverOld]) expect(blobOnDisk(t.blobs, item.blobKey)).toBe(true)
  })

  it('expires a trashed folder as one unit, leaving a child trashed separately later to its own retention', async () => {
    const a = await tenant('unit')
    const folder = await createFolder(t.ctx, a, 'Reports')
    const inside = await createFile(t.ctx, a, 'q1.pdf', { parentId: folder.id })
    const sub = await createFolder(t.ctx, a, 'Sub', folder.id)
    const deep = await createFile(t.ctx, a, 'deep.pdf', { parentId: sub.id })
    const separate = await createFile(t.ctx, a, 'separate.pdf', { parentId: folder.id })
    await trash(a, [separate.id])
    await trash(a, [folder.id])
    await ageTrash(t.database.db, [folder.id, inside.id, sub.id, deep.id], 8)

    const report = await runFor(a)
    expect(report?.run).toMatchObject({ purged: 4, expired: 1 })
    for (const item of [folder, inside, sub, deep]) expect(await rowState(t.database.db, item.id)).toBeNull()
    expect(await rowState(t.database.db, separate.id)).toBe('trashed')
    expect(blobOnDisk(t.blobs, separate.blobKey)).toBe(true)
    expect(blobOnDisk(t.blobs, deep.blobKey)).toBe(false)
    for (const item of [folder, inside, sub, deep]) {
      expect((await auditOf(t.database.db, item.id)).map((row) => row.action)).toEqual(['trash', 'expire'])
    }
  })
})

describe('emptied items', () => {
  it('purges emptied items at the next run whatever their age, even where retention is 0', async () => {
    const a = await tenant('emp', 0)
    const folder = await createFolder(t.ctx, a, 'Emptied folder')
    const child = await createFile(t.ctx, a, 'child.png', { parentId: folder.id })
    const file = await createFile(t.ctx, a, 'just-now.png')
    const keep = await createFile(t.ctx, a, 'keep.png')
    await trash(a, [folder.id, file.id, keep.id])
    const emptied = await t.ctx.trash.empty(a.users.admin!.actor, [folder.id, file.id])
    expect(emptied.errorCount).toBe(0)

    const report = await runFor(a)
    expect(report?.run).toMatchObject({ status: 'succeeded', purged: 3, emptied: 2, expired: 0 })
    for (const item of [folder, child, file]) {
      expect(await rowState(t.database.db, item.id)).toBeNull()
      expect((await auditOf(t.database.db, item.id)).map((row) => row.action)).toEqual([
        'trash',
        'empty',
        'purge',
      ])
    }
    expect((await auditOf(t.database.db, file.id))[2]?.detail).toMatchObject({ reason: 'emptied' })
    expect(blobOnDisk(t.blobs, child.blobKey)).toBe(false)
    expect(await rowState(t.database.db, keep.id)).toBe('trashed')
  })

  it('purges an emptied file inside a trashed folder without taking the folder', async () => {
    const a = await tenant('emp2')
    const folder = await createFolder(t.ctx, a, 'Folder')
    const child = await createFile(t.ctx, a, 'child.png', { parentId: folder.id })
    const other = await createFile(t.ctx, a, 'other.png', { parentId: folder.id })
    await trash(a, [folder.id])
    expect((await t.ctx.trash.empty(a.users.admin!.actor, [child.id])).errorCount).toBe(0)
    const report = await runFor(a)
    expect(report?.run).toMatchObject({ purged: 1, emptied: 1 })
    expect(await rowState(t.database.db, child.id)).toBeNull()
    expect(await rowState(t.database.db, folder.id)).toBe('trashed')
    expect(await rowState(t.database.db, other.id)).toBe('trashed')
  })
})

describe('legal hold', () => {
  it('an item hold (REST admin) stops the job, user purge and own-bin empty, with a per-item error', async () => {
    const a = await tenant('hold')
    const held = await createFile(t.ctx, a, 'evidence.eml')
    const free = await createFile(t.ctx, a, 'free.eml')
    const response = await call('PUT', `/api/v1/tenants/${a.tenantId}/items/${held.id}/legal-hold`, {
      hold: true,
    })
    expect(response.status).toBe(200)
    await trash(a, [held.id, free.id])
    await ageTrash(t.database.db, [held.id, free.id], 30)

    const report = await runFor(a)
    expect(report?.run).toMatchObject({ status: 'succeeded', purged: 1, held: 1 })
    expect(report?.errors).toEqual([
      {
        tenantId: a.tenantId,
        id: held.id,
        code: 'LEGAL_HOLD',
        message: 'Item is under legal hold and cannot be purged',
      },
    ])
    expect(await rowState(t.database.db, held.id)).toBe('trashed')
    expect(blobOnDisk(t.blobs, held.blobKey)).toBe(true)

    const purge = await t.ctx.trash.purge(a.users.admin!.actor, [held.id])
    expect(purge.results[0]).toMatchObject({ status: 'error', code: 'LEGAL_HOLD' })
    const ownBin = await t.ctx.trash.emptyOwnBin(a.users.admin!.actor)
    expect(ownBin.failed).toMatchObject([{ id: held.id, code: 'LEGAL_HOLD' }])
    expect(await rowState(t.database.db, held.id)).toBe('trashed')

    // released: the next run purges it
    await call('PUT', `/api/v1/tenants/${a.tenantId}/items/${held.id}/legal-hold`, { hold: false })
    expect((await runFor(a))?.run).toMatchObject({ purged: 1, held: 0 })
    expect(await rowState(t.database.db, held.id)).toBeNull()
    expect(blobOnDisk(t.blobs, held.blobKey)).toBe(false)
  })

  it('a brand hold (REST admin) keeps every unit holding an item of the brand, emptied ones too', async () => {
    const a = await tenant('bhold')
    const brandItem = await createFile(t.ctx, a, 'brand.indd', { brandId: a.brandId })
    const folder = await createFolder(t.ctx, a, 'Mixed')
    const member = await createFile(t.ctx, a, 'member.indd', { parentId: folder.id, brandId: a.brandId })
    const plain = await createFile(t.ctx, a, 'plain.indd')
    const response = await call('PATCH', `/api/v1/tenants/${a.tenantId}/brands/${a.brandId}`, {
      legalHold: true,
    })
    expect(response.status).toBe(200)
    await trash(a, [brandItem.id, folder.id, plain.id])
    await t.ctx.trash.empty(a.users.admin!.actor, [brandItem.id])
    await ageTrash(t.database.db, [folder.id, member.id, plain.id], 30)

    const preview = await t.ctx.cleanup.preview({ tenantId: a.tenantId })
    expect(preview).toEqual([expect.objectContaining({ units: 1, held: 2, expired: 1, emptied: 0 })])

    const report = await runFor(a)
    expect(report?.run).toMatchObject({ purged: 1, held: 2 })
    expect(report?.errors.map((error) => [error.id, error.code]).sort()).toEqual(
      [
        [brandItem.id, 'LEGAL_HOLD'],
        [folder.id, 'LEGAL_HOLD'],
      ].sort(),
    )
    expect(await rowState(t.database.db, brandItem.id)).toBe('emptied')
    expect(await rowState(t.database.db, folder.id)).toBe('trashed')
    expect(await rowState(t.database.db, member.id)).toBe('trashed')
    expect(await rowState(t.database.db, plain.id)).toBeNull()
  })

  it('a hold below an active folder stops its permanent delete from the workflow before anything is trashed', async () => {
    const a = await tenant('hold-active')
    const folder = await createFolder(t.ctx, a, 'Live')
    const held = await createFile(t.ctx, a, 'contract.pdf', { parentId: folder.id })
    const free = await createFile(t.ctx, a, 'free.pdf')
    await t.ctx.admin.setItemLegalHold(a.tenantId, held.id, true)
    const result = await t.ctx.trash.purge(a.users.admin!.actor, [folder.id, free.id], {
      includeActive: true,
    })
    expect(result.results.map((r) => [r.id, r.status, r.code])).toEqual([
      [folder.id, 'error', 'LEGAL_HOLD'],
      [free.id, 'ok', undefined],
    ])
    expect(await rowState(t.database.db, folder.id)).toBe('active')
    expect(await rowState(t.database.db, held.id)).toBe('active')
    expect(await auditOf(t.database.db, folder.id)).toEqual([])
    expect(await rowState(t.database.db, free.id)).toBeNull()
    expect(blobOnDisk(t.blobs, held.blobKey)).toBe(true)
  })

  it('passes each held unit once per run, in batches of one, whatever the timestamp precision', async () => {
    const a = await tenant('hold-pass')
    const ids: number[] = []
    for (let i = 0; i < 3; i++) ids.push((await createFile(t.ctx, a, `held-${i}.txt`)).id)
    for (const id of ids) await t.ctx.admin.setItemLegalHold(a.tenantId, id, true)
    await trash(a, ids)
    // microseconds that a JavaScript Date would lose: the pass cursor must not step back onto these rows
    await t.database.db.query(
      "update items set deleted_at = now() - interval '30 days 0.000123 seconds' where id = any($1::bigint[])",
      [ids],
    )
    const job = new CleanupJob(t.database.db, t.blobs, { batchSize: 1, staleAfterSeconds: 900 })
    const report = await job.run({ trigger: 'cli', tenantId: a.tenantId })
    expect(report?.run).toMatchObject({ status: 'succeeded', held: 3, purged: 0 })
    expect(report?.errors.map((error) => error.id)).toEqual(ids)
  })

  it('a hold cannot be put on a row already being purged (it is gone for every purpose)', async () => {
    const a = await tenant('hold3')
    const file = await createFile(t.ctx, a, 'x.txt')
    await trash(a, [file.id])
    await repo.markForPurge(
      t.database.db,
      a.users.admin!.actor,
      [{ id: file.id, action: 'purge' }],
      randomUUID(),
    )
    const response = await call('PUT', `/api/v1/tenants/${a.tenantId}/items/${file.id}/legal-hold`, {
      hold: true,
    })
    expect(response.status).toBe(404)
    await runFor(a, { staleAfterSeconds: 0 })
    expect(await rowState(t.database.db, file.id)).toBeNull()
  })
})

describe('dry-run', () => {
  it('reports per tenant what would be purged and why, and changes nothing (rows, files, audit, runs)', async () => {
    const a = await tenant('dry')
    const expired = await createFile(t.ctx, a, 'expired.txt')
    const emptied = await createFile(t.ctx, a, 'emptied.txt')
    const held = await createFile(t.ctx, a, 'held.txt')
    const young = await createFile(t.ctx, a, 'young.txt')
    await t.ctx.admin.setItemLegalHold(a.tenantId, held.id, true)
    await trash(a, [expired.id, emptied.id, held.id, young.id])
    await t.ctx.trash.empty(a.users.admin!.actor, [emptied.id])
    await ageTrash(t.database.db, [expired.id, held.id], 9)
    // a purge a crashed process left behind
    const crashed = await createFile(t.ctx, a, 'crashed.txt')
    await trash(a, [crashed.id])
    await repo.markForPurge(
      t.database.db,
      a.users.admin!.actor,
      [{ id: crashed.id, action: 'purge' }],
      randomUUID(),
    )

    const before = await snapshot()
    const units: { id: number; reason: string; held: boolean }[] = []
    const tenants = await t.ctx.cleanup.preview({ tenantId: a.tenantId, staleAfterSeconds: 0 }, (unit) => {
      units.push({ id: unit.id, reason: unit.reason, held: unit.held })
    })
    expect(tenants).toEqual([
      {
        tenantId: a.tenantId,
        units: 2,
        rows: 2,
        bytes: 'content of expired.txt'.length + 'content of emptied.txt'.length,
        emptied: 1,
        expired: 1,
        retry: 0,
        held: 1,
        unfinished: 1,
      },
    ])
    // oldest first
    expect(units).toEqual([
      { id: expired.id, reason: 'expired', held: false },
      { id: held.id, reason: 'expired', held: true },
      { id: emptied.id, reason: 'emptied', held: false },
    ])
    const rest = await call('POST', '/api/v1/cleanup/run', { dryRun: true, tenantId: a.tenantId })
    expect(rest.status).toBe(200)
    expect(rest.body.tenants).toEqual([expect.objectContaining({ tenantId: a.tenantId, units: 2, held: 1 })])
    expect(rest.body.units.map((unit: { id: number; reason: string }) => [unit.id, unit.reason])).toEqual([
      [expired.id, 'expired'],
      [held.id, 'legal_hold'],
      [emptied.id, 'emptied'],
    ])
    expect(rest.body.units[0].explanation).toMatch(/past the 7-day retention of its tenant/)

    expect(await snapshot()).toEqual(before)
    for (const item of [expired, emptied, held, young, crashed])
      expect(blobOnDisk(t.blobs, item.blobKey)).toBe(true)
  })
})

describe('storage failures', () => {
  it('a file trashed on its own out of a folder purged in the same statement keeps no parent that is gone', async () => {
    const a = await tenant('detach')
    const { item: folder } = await t.ctx.admin.createItem(a.tenantId, {
      kind: 'folder',
      name: 'album',
      ownerId: a.users.admin!.id,
    })
    const photo = await createFile(t.ctx, a, 'photo.jpg', { parentId: folder.id })
    await trash(a, [photo.id])
    await trash(a, [folder.id])
    await ageTrash(t.database.db, [photo.id, folder.id], 8)
    t.blobs.failing.add(photo.blobKey!)
    const run = await runFor(a)
    expect(run?.run).toMatchObject({ failed: 1 })
    t.blobs.failing.delete(photo.blobKey!)
    const rows = await t.database.db.query<{ id: number; state: string; parent_id: number | null }>(
      'select id, state, parent_id from items where id = any($1::bigint[]) order by id',
      [[folder.id, photo.id]],
    )
    // the folder is gone; the photo is back in the trash, its purge failed, pointing at no folder that is not there
    expect(rows.rows).toEqual([{ id: photo.id, state: 'trashed', parent_id: null }])
  })

  it('a file that cannot be removed keeps its item in the trash with the error, reported, and is retried', async () => {
    const a = await tenant('fail')
    const bad = await createFile(t.ctx, a, 'stuck.bin')
    const good = await createFile(t.ctx, a, 'fine.bin')
    await trash(a, [bad.id, good.id])
    await ageTrash(t.database.db, [bad.id, good.id], 8)
    t.blobs.failing.add(bad.blobKey!)

    const first = await runFor(a)
    expect(first?.run).toMatchObject({ status: 'partial', purged: 1, failed: 1, expired: 2 })
    expect(first?.errors).toEqual([
      {
        tenantId: a.tenantId,
        id: bad.id,
        name: 'stuck.bin',
        code: 'STORAGE_FAILURE',
        message: 'Unable to delete file from storage',
      },
    ])
    const row = await t.database.db.query(
      'select state, purge_error, purge_attempts, purge_token from items where id = $1',
      [bad.id],
    )
    expect(row.rows[0]).toEqual({
      state: 'trashed',
      purge_error: 'Unable to delete file from storage',
      purge_attempts: 1,
      purge_token: null,
    })
    expect(blobOnDisk(t.blobs, bad.blobKey)).toBe(true)
    // still listed in the trash, with the error, for the admin
    const listed = await t.ctx.trash.list(
      a.users.admin!.actor,
      { scope: 'visible', ids: [bad.id] },
      { limit: 10 },
    )
    expect(listed[0]).toMatchObject({ id: bad.id, purgeError: 'Unable to delete file from storage' })
    const runs = await call('GET', '/api/v1/cleanup/runs?limit=1')
    expect(runs.body.runs[0]).toMatchObject({ id: first!.run.id, status: 'partial', failed: 1 })

    // still failing: retried and reported again
    const second = await runFor(a)
    expect(second?.run).toMatchObject({ status: 'partial', failed: 1, purged: 0 })
    // storage is back: the next run purges it
    t.blobs.failing.delete(bad.blobKey!)
    const third = await runFor(a)
    expect(third?.run).toMatchObject({ status: 'succeeded', purged: 1, failed: 0 })
    expect(await rowState(t.database.db, bad.id)).toBeNull()
    expect(blobOnDisk(t.blobs, bad.blobKey)).toBe(false)
    expect((await auditOf(t.database.db, bad.id)).map((r) => r.action)).toEqual([
      'trash',
      'purge_failed',
      'purge_failed',
      'expire',
    ])
  })

  it('a real filesystem refusal (a directory where the file was) is reported and retried once it clears', async () => {
    const a = await tenant('fsfail')
    const file = await createFile(t.ctx, a, 'blocked.bin')
    await trash(a, [file.id])
    await t.ctx.trash.empty(a.users.admin!.actor, [file.id])
    const stored = t.blobs.inner.pathOf(file.blobKey!)
    await rm(stored)
    await mkdir(stored)
    await writeFile(path.join(stored, 'occupant'), 'x')

    const first = await runFor(a)
    expect(first?.run).toMatchObject({ status: 'partial', failed: 1, purged: 0 })
    expect(first?.errors[0]).toMatchObject({ id: file.id, code: 'STORAGE_FAILURE', name: 'blocked.bin' })
    expect(await rowState(t.database.db, file.id)).toBe('emptied')

    await rm(stored, { recursive: true })
    await writeFile(stored, 'content back')
    const second = await runFor(a)
    expect(second?.run).toMatchObject({ status: 'succeeded', purged: 1, emptied: 1 })
    expect(await rowState(t.database.db, file.id)).toBeNull()
    expect(blobOnDisk(t.blobs, file.blobKey)).toBe(false)
  })

  it('a user purge of a folder whose file fails reports it, keeps the folder and that file, and the job retries', async () => {
    const a = await tenant('ufail')
    const folder = await createFolder(t.ctx, a, 'Shoot')
    const bad = await createFile(t.ctx, a, 'raw.cr2', { parentId: folder.id })
    const good = await createFile(t.ctx, a, 'ok.jpg', { parentId: folder.id })
    await trash(a, [folder.id])
    t.blobs.failing.add(bad.blobKey!)
    const purge = await t.ctx.trash.purge(a.users.admin!.actor, [folder.id])
    expect(purge.results[0]).toMatchObject({
      id: folder.id,
      status: 'error',
      code: 'STORAGE_FAILURE',
      failures: [{ id: bad.id, name: 'raw.cr2', message: 'Unable to delete file from storage' }],
    })
    expect(await rowState(t.database.db, good.id)).toBeNull()
    expect(await rowState(t.database.db, bad.id)).toBe('trashed')
    expect(await rowState(t.database.db, folder.id)).toBe('trashed')

    t.blobs.failing.delete(bad.blobKey!)
    // not expired (trashed today), but a purge was asked for and failed: the job retries it
    const report = await runFor(a)
    expect(report?.run).toMatchObject({ status: 'succeeded', retried: 1, purged: 2 })
    expect(await rowState(t.database.db, folder.id)).toBeNull()
    expect(await rowState(t.database.db, bad.id)).toBeNull()
    expect(blobOnDisk(t.blobs, bad.blobKey)).toBe(false)
    expect((await auditOf(t.database.db, bad.id)).at(-1)).toMatchObject({
      action: 'purge',
      detail: { reason: 'retry' },
    })
  })

  it('restoring an item whose purge failed clears the error (the job then leaves it alone)', async () => {
    const a = await tenant('rfail')
    const file = await createFile(t.ctx, a, 'r.bin')
    await trash(a, [file.id])
    t.blobs.failing.add(file.blobKey!)
    await t.ctx.trash.purge(a.users.admin!.actor, [file.id])
    t.blobs.failing.delete(file.blobKey!)
    expect((await t.ctx.trash.restore(a.users.admin!.actor, [file.id])).successCount).toBe(1)
    await trash(a, [file.id])
    expect((await runFor(a))?.run.purged).toBe(0)
    expect(await rowState(t.database.db, file.id)).toBe('trashed')
  })
})

describe('crash recovery and concurrency', () => {
  it('finishes a purge left in purging by a dead process, not one still fresh, and never twice', async () => {
    const a = await tenant('rec')
    const folder = await createFolder(t.ctx, a, 'Half')
    const one = await createFile(t.ctx, a, 'one.txt', { parentId: folder.id })
    const two = await createFile(t.ctx, a, 'two.txt', { parentId: folder.id })
    await trash(a, [folder.id])
    const user = a.users.purger!.actor
    const token = randomUUID()
    // a user's purge marked the rows and removed one file, then its process died
    await t.database.db.transaction((tx) =>
      repo.markForPurge(tx, user, [{ id: folder.id, action: 'purge' }], token),
    )
    await t.blobs.delete(one.blobKey!)

    // with the default staleness the job takes it for a purge in progress elsewhere and leaves it alone
    const early = await runFor(a)
    expect(early?.run).toMatchObject({ purged: 0, recovered: 0 })
    expect(await rowState(t.database.db, two.id)).toBe('purging')
    expect(blobOnDisk(t.blobs, two.blobKey)).toBe(true)

    const late = await runFor(a, { staleAfterSeconds: 0 })
    expect(late?.run).toMatchObject({ status: 'succeeded', purged: 3, recovered: 3 })
    for (const item of [folder, one, two]) {
      expect(await rowState(t.database.db, item.id)).toBeNull()
      const audit = await auditOf(t.database.db, item.id)
      // audited once, for the user who asked, through their door
      expect(audit.map((row) => [row.action, row.actor_id, row.door])).toEqual([
        ['trash', a.users.admin!.id, 'rest'],
        ['purge', user.userId, 'rest'],
      ])
      expect(audit[1]?.detail).toMatchObject({ recoveredBy: late!.run.id })
    }
    expect(blobOnDisk(t.blobs, two.blobKey)).toBe(false)

    // the original process, had it been alive after all, finds nothing left to finish
    const again = await completePurge(t.database.db, t.blobs, user, token)
    expect(again).toEqual({ purged: 0, failures: [], reverted: [] })
    const purgeRows = await t.database.db.query(
      "select count(*)::int as n from audit where item_id = any($1::bigint[]) and action = 'purge'",
      [[folder.id, one.id, two.id]],
    )
    expect(purgeRows.rows[0].n).toBe(3)
  })

  it(
    'marking never takes a member restored by a transaction that commits while the purge waits for it',
    needs(POSTGRES, 'two transactions at once'),
    async () => {
      const a = await tenant('race')
      const folder = await createFolder(t.ctx, a, 'Race')
      const member = await createFile(t.ctx, a, 'member.txt', { parentId: folder.id })
      await trash(a, [folder.id])
      const restorer = new pg.Client({ connectionString: t.database.url })
      await restorer.connect()
      try {
        await restorer.query('begin')
        // a restore of the member alone, not yet committed: the purge's walk still sees it trashed
        await restorer.query("update items set state = 'active', trash_root = null where id = $1", [
          member.id,
        ])
        const purge = t.ctx.trash.purge(a.users.admin!.actor, [folder.id])
        for (let i = 0; i < 200; i++) {
          const waiting = await restorer.query(
            "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
          )
          if (waiting.rows[0].n > 0) break
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
        await restorer.query('commit')
        const result = await purge
        expect(result.results[0]).toMatchObject({ status: 'ok', affected: 1 })
      } finally {
        await restorer.end()
      }
      expect(await rowState(t.database.db, member.id)).toBe('active')
      expect(await rowState(t.database.db, folder.id)).toBeNull()
      expect(blobOnDisk(t.blobs, member.blobKey)).toBe(true)
    },
  )

  it('two jobs running at once purge each due item exactly once', async () => {
    const a = await tenant('twice')
    await t.ctx.admin.createBrand(a.tenantId, 'other')
    const ids: number[] = []
    for (let i = 0; i < 60; i++) ids.push((await createFile(t.ctx, a, `f${i}.txt`)).id)
    await trash(a, ids)
    await ageTrash(t.database.db, ids, 8)
    const settings = { batchSize: 7, staleAfterSeconds: 900 }
    const one = new CleanupJob(t.database.db, t.blobs, settings, undefined, 'one')
    const two = new CleanupJob(t.database.db, t.blobs, settings, undefined, 'two')
    const [r1, r2] = await Promise.all([
      one.run({ trigger: 'api', tenantId: a.tenantId }),
      two.run({ trigger: 'api', tenantId: a.tenantId }),
    ])
    expect(r1!.run.purged + r2!.run.purged).toBe(60)
    const audit = await t.database.db.query(
      "select item_id, count(*)::int as n from audit where item_id = any($1::bigint[]) and action = 'expire' group by item_id",
      [ids],
    )
    expect(audit.rows).toHaveLength(60)
    expect(audit.rows.every((row) => row.n === 1)).toBe(true)
  })

  it('a schedule tick is run by one instance only', async () => {
    const settings = { batchSize: 100, staleAfterSeconds: 900 }
    const one = new CleanupJob(t.database.db, t.blobs, settings, undefined, 'one')
    const two = new CleanupJob(t.database.db, t.blobs, settings, undefined, 'two')
    const tick = new Date(Date.UTC(2031, 0, 1, 0, 0, 0))
    const [r1, r2] = await Promise.all([
      one.run({ trigger: 'schedule', scheduledFor: tick, tenantId: f.tenantId }),
      two.run({ trigger: 'schedule', scheduledFor: tick, tenantId: f.tenantId }),
    ])
    expect([r1, r2].filter((report) => report !== null)).toHaveLength(1)
    const rows = await t.database.db.query('select instance from cleanup_runs where scheduled_for = $1', [
      tick,
    ])
    expect(rows.rows).toHaveLength(1)
  })

  it('computes the tick a late timer serves from the pattern, the same on every instance', () => {
    const cron = new Cron('*/5 * * * * *', { paused: true })
    const now = new Date(2030, 5, 1, 12, 0, 7, 300)
    expect(tickTime(cron, now)).toEqual(new Date(2030, 5, 1, 12, 0, 5, 0))
    const daily = new Cron('0 0 * * *', { paused: true })
    expect(tickTime(daily, new Date(2030, 5, 1, 0, 0, 0, 40))).toEqual(new Date(2030, 5, 1, 0, 0, 0, 0))
    expect(tickTime(daily, new Date(2030, 5, 1, 3, 0, 0, 0))).toBeNull()
  })

  it(
    'skips rows a user transaction holds instead of waiting for them',
    needs(POSTGRES, 'a user transaction held open beside the purge'),
    async () => {
      const a = await tenant('locked')
      const busy = await createFile(t.ctx, a, 'busy.txt')
      const free = await createFile(t.ctx, a, 'free.txt')
      await trash(a, [busy.id, free.id])
      await ageTrash(t.database.db, [busy.id, free.id], 8)
      const client = new pg.Client({ connectionString: t.database.url })
      await client.connect()
      try {
        await client.query('begin')
        await client.query('select id from items where id = $1 for update', [busy.id])
        const report = await runFor(a)
        expect(report?.run).toMatchObject({ purged: 1 })
        expect(await rowState(t.database.db, free.id)).toBeNull()
        expect(await rowState(t.database.db, busy.id)).toBe('trashed')
        await client.query('rollback')
      } finally {
        await client.end()
      }
      expect((await runFor(a))?.run).toMatchObject({ purged: 1 })
      expect(await rowState(t.database.db, busy.id)).toBeNull()
    },
  )
})

describe('REST', () => {
  it('POST /api/v1/cleanup/run runs the job (202 started, or 200 when waited for) and GET lists runs', async () => {
    const a = await tenant('rest')
    const file = await createFile(t.ctx, a, 'r.txt')
    await trash(a, [file.id])
    await t.ctx.trash.empty(a.users.admin!.actor, [file.id])

    const unauthorized = await call('POST', '/api/v1/cleanup/run', {}, '')
    expect(unauthorized.status).toBe(401)
    const user = await call('GET', '/api/v1/cleanup/runs', undefined, `Bearer not-the-token-000000`)
    expect(user.status).toBe(401)

    const waited = await call('POST', '/api/v1/cleanup/run', { tenantId: a.tenantId, wait: true })
    expect(waited.status).toBe(200)
    expect(waited.body).toMatchObject({
      run: { trigger: 'api', tenantId: a.tenantId, status: 'succeeded', purged: 1, emptied: 1 },
      errors: [],
    })
    expect(waited.body.run.finishedAt).toEqual(expect.any(String))
    expect(await rowState(t.database.db, file.id)).toBeNull()

    const started = await call('POST', '/api/v1/cleanup/run', { tenantId: a.tenantId })
    expect(started.status).toBe(202)
    expect(started.body.run).toMatchObject({ trigger: 'api', tenantId: a.tenantId })
    let listed: { id: number; status: string }[] = []
    for (let i = 0; i < 100; i++) {
      listed = (await call('GET', '/api/v1/cleanup/runs?limit=5')).body.runs
      if (listed.find((run) => run.id === started.body.run.id)?.status === 'succeeded') break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(listed[0]).toMatchObject({ id: started.body.run.id, status: 'succeeded' })
    expect(listed[1]).toMatchObject({ id: waited.body.run.id })

    const page = await call('GET', `/api/v1/cleanup/runs?limit=1&before=${started.body.run.id}`)
    expect(page.body.runs.map((run: { id: number }) => run.id)).toEqual([waited.body.run.id])

    const missing = await call('POST', '/api/v1/cleanup/run', { tenantId: 987654321, wait: true })
    expect(missing.status).toBe(404)
    const bad = await call('POST', '/api/v1/cleanup/run', { dryRun: 'yes' })
    expect(bad.status).toBe(422)
    const openapi = await call('GET', '/api/v1/openapi.json')
    expect(Object.keys(openapi.body.paths)).toEqual(
      expect.arrayContaining(['/api/v1/cleanup/runs', '/api/v1/cleanup/run']),
    )
  })
})
