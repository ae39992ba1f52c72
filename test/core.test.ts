import { describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config.js'
import * as policy from '../src/core/policy.js'
import { restoredName, summarize, uniqueIds } from '../src/core/trash-service.js'
import type { Actor, ItemFacts } from '../src/core/types.js'

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

const item = (over: Partial<ItemFacts> = {}): ItemFacts =>
  ({
    tenantId: 1,
    id: 5,
    kind: 'file',
    name: 'a.txt',
    ownerId: 99,
    brandId: 3,
    deletedBy: null,
    state: 'active',
    legalHold: false,
    brandLegalHold: false,
    rights: null,
    ...over,
  }) as ItemFacts

describe('policy', () => {
  it('lets owners, admins and brand deleters trash; others are denied; other tenants see nothing', () => {
    expect(policy.canTrash(actor(), item({ ownerId: 10 }))).toBeNull()
    expect(policy.canTrash(actor({ admin: true }), item())).toBeNull()
    expect(policy.canTrash(actor(), item({ rights: { view: true, delete: true, purge: false } }))).toBeNull()
    expect(policy.canTrash(actor(), item({ rights: { view: true, delete: false, purge: false } }))).toBe(
      'ACCESS_DENIED',
    )
    expect(policy.canTrash(actor({ tenantId: 2, admin: true }), item())).toBe('NOT_FOUND')
  })

  it('lets the deleter restore but only purge rights or admins purge in a brand', () => {
    const trashed = item({ state: 'trashed', deletedBy: 10 })
    expect(policy.canRestore(actor(), trashed)).toBeNull()
    // the deleter without the brand's Purge right: refused, and the item it may not see reads as missing
    expect(policy.canPurge(actor(), trashed)).toBe('ACCESS_DENIED')
    expect(policy.canEmpty(actor(), trashed)).toBe('ACCESS_DENIED')
    expect(policy.canPurge(actor(), item({ state: 'trashed', deletedBy: 11 }))).toBe('NOT_FOUND')
    expect(policy.canPurge(actor(), item({ rights: { view: true, delete: true, purge: true } }))).toBeNull()
    // outside any brand the deleter may purge what they deleted
    expect(policy.canPurge(actor(), item({ state: 'trashed', deletedBy: 10, brandId: null }))).toBeNull()
    expect(policy.canPurge(actor(), item({ state: 'trashed', deletedBy: 11, brandId: null }))).toBe(
      'ACCESS_DENIED',
    )
  })

  it('keeps library roots to administrators', () => {
    const root = item({ kind: 'folder', parentId: null, brandId: null, ownerId: 10 })
    expect(policy.canTrash(actor(), root)).toBe('TOP_LEVEL_FOLDER')
    expect(policy.canTrash(actor({ admin: true }), root)).toBeNull()
    expect(policy.canTrash(actor(), { ...root, parentId: 1 })).toBeNull()
  })

  it('stops every purge under legal hold, admins included', () => {
    expect(policy.canPurge(actor({ admin: true }), item({ legalHold: true }))).toBe('LEGAL_HOLD')
    expect(policy.canPurge(actor({ admin: true }), item({ brandLegalHold: true }))).toBe('LEGAL_HOLD')
    expect(policy.canPurge(actor(), item({ deletedBy: 10, legalHold: true }))).toBe('LEGAL_HOLD')
  })

  it('knows the IPS roles allowed to use the trash', () => {
    expect(policy.ipsRoleMayUseTrash(actor({ ipsRole: 'ImagePortalContribUser' }))).toBe(true)
    expect(policy.ipsRoleMayUseTrash(actor({ ipsRole: 'ImagePortalUser' }))).toBe(false)
  })

  it('computes effective retention: brand auto purge when set, else the tenant', () => {
    expect(policy.effectiveRetentionDays(null, 7)).toBe(7)
    expect(policy.effectiveRetentionDays(0, 7)).toBe(0)
    expect(policy.effectiveRetentionDays(30, 7)).toBe(30)
  })
})

describe('restore naming and batch helpers', () => {
  it('names restored items name (restored).ext, then numbered', () => {
    expect(restoredName('report.pdf', new Set())).toBe('report (restored).pdf')
    expect(restoredName('report.pdf', new Set(['report (restored).pdf']))).toBe('report (restored 2).pdf')
    expect(restoredName('Folder', new Set())).toBe('Folder (restored)')
    expect(restoredName('.hidden', new Set())).toBe('.hidden (restored)')
  })

  it('dedupes ids in request order and counts results', () => {
    expect(uniqueIds([3, 1, 3, 2, 1])).toEqual([3, 1, 2])
    expect(
      summarize([
        { id: 1, status: 'ok' },
        { id: 2, status: 'warning' },
        { id: 3, status: 'error' },
      ]),
    ).toMatchObject({
      successCount: 1,
      warningCount: 1,
      errorCount: 1,
    })
  })
})

describe('config', () => {
  it('applies defaults', () => {
    expect(loadConfig({})).toMatchObject({
      PORT: 8080,
      DATA_DIR: './data',
      SESSION_TTL: 1800,
      CLEANUP_SCHEDULE: '0 0 * * *',
    })
  })

  it('fails fast naming each bad variable', () => {
    expect(() => loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', SESSION_TTL: '5' })).toThrow(
      /PORT[\s\S]*DATABASE_URL[\s\S]*SESSION_TTL/,
    )
    expect(() => loadConfig({ CLEANUP_SCHEDULE: 'sometimes' })).toThrow(/CLEANUP_SCHEDULE/)
    expect(() => loadConfig({ ADMIN_TOKEN: 'short' })).toThrow(/ADMIN_TOKEN/)
  })
})
