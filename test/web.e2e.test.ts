import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM as CHROMIUM_BROWSER, chromiumPath, needs } from './helpers/requirements.js'
import {
  ADMIN_TOKEN,
  basicAuth,
  createFixture,
  type Fixture,
  startTestServer,
  type TestServer,
} from './helpers/server.js'

/**
 * The Trash Can page driven in Debian's Chromium. CI (CI=true) always runs these tests, so a missing browser
 * fails there; a developer machine without /usr/bin/chromium leaves them out and says so.
 */
const CHROMIUM = chromiumPath()
/** CI and UPDATE_SCREENSHOTS=1 refresh the README's pictures; other runs keep theirs out of the work tree. */
const SCREENSHOT_DIR = path.resolve(
  import.meta.dirname,
  process.env.CI || process.env.UPDATE_SCREENSHOTS === '1' ? '../docs' : '../test-results',
)
const SCREENSHOT = path.join(SCREENSHOT_DIR, 'screenshot.png')
const PHONE_SCREENSHOT = path.join(SCREENSHOT_DIR, 'screenshot-phone.png')

describe('web Trash Can page in Chromium', needs(CHROMIUM_BROWSER), () => {
  let server: TestServer
  let f: Fixture
  let browser: BrowserContext
  let userDataDir: string
  const consoleErrors: string[] = []
  const ids: Record<string, number> = {}

  const db = () => server.database.db

  async function createItem(body: Record<string, unknown>) {
    const response = await fetch(`${server.baseUrl}/api/v1/tenants/${f.tenantId}/items`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    expect(response.status).toBe(201)
    return ((await response.json()) as { id: number }).id
  }

  async function trashAs(role: string, names: string[]) {
    const response = await fetch(`${server.baseUrl}/api/v1/items/trash`, {
      method: 'POST',
      headers: { authorization: basicAuth(f.users[role]!), 'content-type': 'application/json' },
      body: JSON.stringify({ ids: names.map((name) => ids[name]) }),
    })
    expect(((await response.json()) as { errorCount: number }).errorCount).toBe(0)
  }

  async function setRights(role: string, rights: { view: boolean; delete: boolean; purge: boolean }) {
    const response = await fetch(
      `${server.baseUrl}/api/v1/tenants/${f.tenantId}/brands/${f.brandId}/access/${f.users[role]!.id}`,
      {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(rights),
      },
    )
    expect(response.status).toBe(200)
  }

  async function state(name: string) {
    const result = await db().query<{ state: string; name: string }>(
      'select state, name from items where id = $1',
      [ids[name]],
    )
    return result.rows[0] ?? null
  }

  /** A new tab (its own session storage, so its own sign-in) that records console errors. */
  async function openPage(width = 1280, height = 860) {
    const page = await browser.newPage()
    await page.setViewportSize({ width, height })
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(`${message.text()} (${message.location().url})`)
    })
    page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`))
    await page.goto(`${server.baseUrl}/`)
    return page
  }

  async function signIn(page: Page, role: string) {
    const user = f.users[role]!
    await page.getByLabel('Login').fill(user.login)
    await page.getByLabel('Password').fill(user.password)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByText(`Signed in as we ${role}`).waitFor()
    await expect.poll(() => page.locator('#page-info').textContent()).toMatch(/^(Items|No items)/)
  }

  const rowNames = (page: Page) =>
    page
      .locator('#trash-rows tr th[scope="row"]')
      .evaluateAll((cells) => cells.map((cell) => cell.firstChild?.textContent ?? ''))
  const row = (page: Page, name: string) =>
    page.locator('#trash-rows tr').filter({ has: page.getByRole('rowheader', { name, exact: false }) })
  const select = (page: Page, name: string) =>
    page.getByRole('checkbox', { name: `Select ${name}`, exact: true })
  const results = (page: Page) => page.locator('#results')

  beforeAll(async () => {
    // an undo of more than 3 units runs as a job: the page follows its progress
    server = await startTestServer({ JOB_THRESHOLD: '3', JOB_POLL_SECONDS: '0.2' })
    f = await createFixture(server.ctx, 'we')
    const other = await server.ctx.admin.createBrand(f.tenantId, 'Spring catalogue')
    for (const role of ['editor', 'purger', 'viewer'])
      await server.ctx.admin.setAccess(f.tenantId, other, f.users[role]!.id, {
        view: true,
        delete: true,
        purge: role === 'purger',
      })
    const bytes = (n: number) => Buffer.alloc(n, 7).toString('base64')
    const brand = f.brandId
    // a library root is an administrator's to delete: the editor's folder lives one level down
    const library = await createItem({ kind: 'folder', name: 'Marketing' })
    ids.Campaign = await createItem({
      kind: 'folder',
      name: 'Campaign 2026',
      brandId: brand,
      parentId: library,
    })
    for (const name of ['cover.jpg', 'teaser.mp4', 'copy.docx'])
      ids[name] = await createItem({
        kind: 'file',
        name,
        parentId: ids.Campaign,
        brandId: brand,
        type: 'Image',
        content: bytes(40_000),
      })
    ids.Press = await createItem({ kind: 'folder', name: 'Press', brandId: brand })
    const file = async (name: string, type: string, size: number, extra: Record<string, unknown> = {}) => {
      ids[name] = await createItem({ kind: 'file', name, type, content: bytes(size), ...extra })
    }
    await file('press-release.docx', 'Article', 18_000, { parentId: ids.Press, brandId: brand })
    await file('hero-banner.psd', 'Image', 240_000, { brandId: other })
    await file('layout-spread.indd', 'Layout', 120_000, { brandId: brand })
    await file('old-logo.svg', 'Image', 3_000, { brandId: brand })
    await file('contract.pdf', 'Document', 52_000, { brandId: brand })
    await file('notes.txt', 'Document', 900, { ownerId: f.users.editor!.id })
    await file('draft-1.txt', 'Article', 1_200, { brandId: brand })
    await file('draft-2.txt', 'Article', 1_400, { brandId: brand })
    await file('budget.xlsx', 'Document', 30_000, { brandId: other })
    await trashAs('editor', ['Campaign', 'press-release.docx', 'notes.txt', 'draft-1.txt', 'draft-2.txt'])
    await trashAs('purger', ['layout-spread.indd', 'old-logo.svg', 'budget.xlsx'])
    await trashAs('admin', ['hero-banner.psd', 'contract.pdf'])
    // a new file took the restored one's name: restoring must rename it
    await createItem({
      kind: 'file',
      name: 'press-release.docx',
      parentId: ids.Press,
      brandId: brand,
      content: bytes(10),
    })
    await server.ctx.admin.setItemLegalHold(f.tenantId, ids['contract.pdf']!, true)

    userDataDir = await mkdtemp(path.join(tmpdir(), 'trashd-chromium-'))
    browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      locale: 'en-GB',
      timezoneId: 'UTC',
    })
  })

  afterAll(async () => {
    await browser?.close()
    if (userDataDir) await rm(userDataDir, { recursive: true, force: true })
    await server?.close()
  })

  it('signs an admin in and shows the whole tenant with deleter, expiry and brand (screenshot)', async () => {
    const page = await openPage()
    expect(await page.title()).toBe('Trash Can · trashd')
    await signIn(page, 'admin')
    await expect
      .poll(() => rowNames(page))
      .toEqual([
        'contract.pdf',
        'hero-banner.psd',
        'budget.xlsx',
        'old-logo.svg',
        'layout-spread.indd',
        'draft-2.txt',
        'draft-1.txt',
        'notes.txt',
        'press-release.docx',
        'Campaign 2026',
      ])
    const headers = await page.locator('#trash-table thead th').allTextContents()
    expect(headers.slice(1)).toEqual([
      'Name',
      'Original path',
      'Type',
      'Size',
      'Deleted on',
      'Deleted by',
      'Expires on',
      'Brand',
    ])
    const cells = async (name: string) => row(page, name).locator('td').allTextContents()
    // legal hold: never expires; otherwise the tenant's 7 days after the delete
    expect((await cells('contract.pdf'))[6]).toBe('never')
    const deleted = (await db().query('select deleted_at from items where id = $1', [ids['hero-banner.psd']]))
      .rows[0].deleted_at as Date
    const expires = new Date(deleted.getTime() + 7 * 86_400_000)
    expect((await cells('hero-banner.psd'))[6]).toBe(
      new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeZone: 'UTC' }).format(expires),
    )
    expect(await cells('hero-banner.psd')).toMatchObject({
      1: '/hero-banner.psd',
      2: 'Image',
      3: '234 KB',
      5: 'we admin',
      7: 'Spring catalogue',
    })
    expect((await cells('Campaign 2026'))[1]).toBe('/Marketing/Campaign 2026')
    await expect
      .poll(() => row(page, 'Campaign 2026').locator('th').textContent())
      .toContain('folder, 4 items')
    await expect.poll(() => page.locator('#page-info').textContent()).toBe('Items 1–10 of 10')
    await page.getByRole('checkbox', { name: 'Select hero-banner.psd' }).check()
    await page.getByRole('checkbox', { name: 'Select budget.xlsx' }).check()
    await mkdir(path.dirname(SCREENSHOT), { recursive: true })
    await page.screenshot({ path: SCREENSHOT, fullPage: true })
    await page.close()
  })

  it('filters by name, deleter, type, brand and deleted date, and sorts by a column', async () => {
    const page = await openPage()
    await signIn(page, 'editor')
    // the editor sees its brand's items, the other brand's ones and its own unbranded file
    await expect.poll(() => rowNames(page).then((names) => names.length)).toBe(10)
    await page.getByLabel('Name').fill('DRAFT')
    await expect.poll(() => rowNames(page)).toEqual(['draft-2.txt', 'draft-1.txt'])
    await page.getByLabel('Name').fill('')
    await page.getByLabel('Deleted by').selectOption({ label: 'we purger (we-purger)' })
    await expect.poll(() => rowNames(page)).toEqual(['budget.xlsx', 'old-logo.svg', 'layout-spread.indd'])
    await page.getByLabel('Type').selectOption('Image')
    await expect.poll(() => rowNames(page)).toEqual(['old-logo.svg'])
    await page.getByRole('button', { name: 'Clear filters' }).click()
    await page.getByLabel('Brand').selectOption({ label: 'Spring catalogue' })
    await expect.poll(() => rowNames(page)).toEqual(['hero-banner.psd', 'budget.xlsx'])
    await page.getByRole('button', { name: 'Clear filters' }).click()
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)
    await page.getByLabel('Deleted from').fill(tomorrow)
    await expect.poll(() => page.locator('#empty-note').isVisible()).toBe(true)
    await page.getByRole('button', { name: 'Clear filters' }).click()
    await expect.poll(() => rowNames(page).then((names) => names.length)).toBe(10)
    // sorting by name with the keyboard: focus the column's button and press Enter
    await page.getByRole('button', { name: 'Name', exact: true }).focus()
    await page.keyboard.press('Enter')
    await expect.poll(() => page.locator('th[data-sort="name"]').getAttribute('aria-sort')).toBe('ascending')
    // in the database's own collation, as the server sorts
    const byName = await db().query<{ name: string }>(
      "select name from items where tenant_id = $1 and state = 'trashed' and id = trash_root order by name, id",
      [f.tenantId],
    )
    expect(await rowNames(page)).toEqual(byName.rows.map((r) => r.name))
    await page.close()
  })

  it('restores several selected items and reports the renamed one', async () => {
    const page = await openPage()
    await signIn(page, 'editor')
    await select(page, 'press-release.docx').check()
    // keyboard: focus the checkbox and press Space
    await select(page, 'Campaign 2026').focus()
    await page.keyboard.press('Space')
    await expect.poll(() => page.locator('#selection-count').textContent()).toBe('2 items selected')
    await page.getByRole('button', { name: 'Restore 2 items' }).click()
    await expect
      .poll(() => results(page).textContent())
      .toContain('press-release.docx restored as press-release (restored).docx')
    expect(await results(page).textContent()).toContain('Campaign 2026 restored')
    expect(await results(page).locator('h3').textContent()).toBe('Restore: 2 restored')
    expect(await state('press-release.docx')).toEqual({
      state: 'active',
      name: 'press-release (restored).docx',
    })
    expect(await state('Campaign')).toEqual({ state: 'active', name: 'Campaign 2026' })
    expect(await state('cover.jpg')).toMatchObject({ state: 'active' })
    await expect.poll(() => rowNames(page).then((names) => names.length)).toBe(8)
    expect(await page.locator('#selection-count').textContent()).toBe('Nothing selected')
    await page.close()
  })

  it('shows an access-denied result and keeps the failed item selected', async () => {
    const page = await openPage()
    await signIn(page, 'editor')
    await select(page, 'old-logo.svg').check()
    await select(page, 'notes.txt').check()
    // the editor's delete right on the brand is taken away while the page is open
    await setRights('editor', { view: true, delete: false, purge: false })
    try {
      await page.getByRole('button', { name: 'Restore 2 items' }).click()
      await expect.poll(() => results(page).textContent()).toContain('old-logo.svg: access denied')
      expect(await results(page).textContent()).toContain('notes.txt restored')
      expect(await results(page).locator('h3').textContent()).toBe('Restore: 1 restored, 1 failed')
      expect(await state('old-logo.svg')).toMatchObject({ state: 'trashed' })
      expect(await state('notes.txt')).toMatchObject({ state: 'active' })
      await expect.poll(() => select(page, 'old-logo.svg').isChecked()).toBe(true)
      // the list reloads after the restore: the count follows it
      await expect.poll(() => page.locator('#selection-count').textContent()).toBe('1 item selected')
      // the reloaded list knows the right is gone: restore is no longer offered for it
      await expect.poll(() => page.getByRole('button', { name: 'Restore 1 item' }).isDisabled()).toBe(true)
    } finally {
      await setRights('editor', { view: true, delete: true, purge: false })
    }
    await page.close()
  })

  it('deletes permanently only after a confirmation naming how many items', async () => {
    const page = await openPage()
    await signIn(page, 'purger')
    await select(page, 'draft-1.txt').check()
    await select(page, 'draft-2.txt').check()
    await page.getByRole('button', { name: 'Delete 2 items permanently' }).click()
    const dialog = page.getByRole('dialog')
    await dialog.waitFor()
    expect(await dialog.locator('h2').textContent()).toBe('Delete 2 items permanently?')
    expect(await dialog.textContent()).toContain('2 items will be deleted permanently')
    // Escape cancels: nothing happens
    await page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'hidden' })
    expect(await state('draft-1.txt')).toMatchObject({ state: 'trashed' })
    await page.getByRole('button', { name: 'Delete 2 items permanently' }).click()
    await dialog.getByRole('button', { name: 'Delete 2 items' }).click()
    await expect.poll(() => results(page).locator('h3').textContent()).toBe('Delete permanently: 2 deleted')
    expect(await state('draft-1.txt')).toBeNull()
    expect(await state('draft-2.txt')).toBeNull()
    await expect.poll(() => rowNames(page)).not.toContain('draft-1.txt')
    await page.close()
  })

  it('does not offer delete permanently without the purge right', async () => {
    const page = await openPage()
    await signIn(page, 'editor')
    await select(page, 'layout-spread.indd').check()
    await expect.poll(() => page.getByRole('button', { name: 'Restore 1 item' }).isEnabled()).toBe(true)
    expect(await page.getByRole('button', { name: 'Delete 1 item permanently' }).isDisabled()).toBe(true)
    await page.close()
  })

  it('empties my bin after a confirmation naming how many items', async () => {
    const mine = await db().query<{ n: number }>(
      "select count(*)::int as n from items where deleted_by = $1 and state = 'trashed' and id = trash_root",
      [f.users.purger!.id],
    )
    expect(mine.rows[0]!.n).toBe(3)
    const page = await openPage()
    await signIn(page, 'purger')
    await page.getByRole('button', { name: 'Empty my bin' }).click()
    const dialog = page.getByRole('dialog')
    await dialog.waitFor()
    expect(await dialog.locator('h2').textContent()).toBe('Empty your bin of 3 items?')
    await dialog.getByRole('button', { name: 'Delete 3 items' }).click()
    await expect
      .poll(() => results(page).locator('h3').textContent())
      .toBe('Empty my bin: 3 items deleted permanently')
    for (const name of ['layout-spread.indd', 'old-logo.svg', 'budget.xlsx'])
      expect(await state(name)).toBeNull()
    // what others deleted stays
    expect(await state('hero-banner.psd')).toMatchObject({ state: 'trashed' })
    await page.close()
  })

  it('shows an item trashed elsewhere after a refresh', async () => {
    const page = await openPage()
    await signIn(page, 'admin')
    expect(await rowNames(page)).not.toContain('layout-v2.indd')
    ids['layout-v2.indd'] = await createItem({ kind: 'file', name: 'layout-v2.indd', type: 'Layout' })
    await trashAs('editor', ['layout-v2.indd'])
    await page.getByRole('button', { name: 'Refresh' }).click()
    await expect.poll(() => rowNames(page)).toContain('layout-v2.indd')
    await page.close()
  })

  it('follows the events stream: a srv.asmx DeleteDocument elsewhere appears, a restore elsewhere removes it', async () => {
    const page = await openPage()
    await signIn(page, 'admin')
    await expect.poll(() => page.locator('#live-status').textContent()).toBe('Live')
    // a reload would lose this mark: the list must change without one
    await page.evaluate(() => {
      ;(window as unknown as { mark: number }).mark = 42
    })
    ids['live.txt'] = await createItem({
      kind: 'file',
      name: 'live.txt',
      type: 'Document',
      content: 'bGl2ZQ==',
    })
    const editor = f.users.editor!
    const login = await fetch(
      `${server.baseUrl}/srv.asmx/AuthenticateUser?UID=${encodeURIComponent(editor.login)}&PWD=${encodeURIComponent(editor.password)}`,
    )
    const ticket = /ticket="([^"]+)"/.exec(await login.text())![1]!
    const deleted = await fetch(
      `${server.baseUrl}/srv.asmx/DeleteDocument?authenticationTicket=${ticket}&Path=${encodeURIComponent('\\live.txt')}`,
    )
    expect(await deleted.text()).toContain('success="true"')
    await expect.poll(() => rowNames(page), { timeout: 10_000 }).toContain('live.txt')
    expect(await row(page, 'live.txt').locator('td').nth(5).textContent()).toBe('we editor')
    const restored = await fetch(`${server.baseUrl}/api/v1/trash/${ids['live.txt']}/restore`, {
      method: 'POST',
      headers: { authorization: basicAuth(editor), 'x-requested-with': 'test' },
    })
    expect(restored.status).toBe(200)
    await expect.poll(() => rowNames(page), { timeout: 10_000 }).not.toContain('live.txt')
    expect(await page.evaluate(() => (window as unknown as { mark: number }).mark)).toBe(42)
    await page.close()
  })

  it('shows administrators the next cleanup run and the last runs', async () => {
    // one item emptied (waits for the cleanup), one past the tenant's 7-day retention
    await fetch(`${server.baseUrl}/api/v1/trash/empty`, {
      method: 'POST',
      headers: { authorization: basicAuth(f.users.admin!), 'content-type': 'application/json' },
      body: JSON.stringify({ ids: [ids['hero-banner.psd']] }),
    })
    await trashAs('editor', ['notes.txt'])
    await db().query("update items set deleted_at = now() - interval '8 days' where id = $1", [
      ids['notes.txt'],
    ])
    const page = await openPage()
    await signIn(page, 'admin')
    const plan = page.locator('#cleanup-plan')
    await expect
      .poll(() => plan.locator('p').textContent())
      .toBe(
        'The next run would purge 2 items (2 files and folders, 235 KB): 1 past their retention, 1 emptied.',
      )
    // the cleanup plan lists what it would purge oldest first
    expect(await plan.locator('tbody tr').allTextContents()).toEqual([
      expect.stringContaining('notes.txt'),
      expect.stringContaining('hero-banner.psd'),
    ])
    await expect.poll(() => page.locator('#cleanup-runs').textContent()).toContain('No cleanup has run yet.')
    const run = await fetch(`${server.baseUrl}/api/v1/cleanup/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ wait: true }),
    })
    expect(run.status).toBe(200)
    await page.getByRole('button', { name: 'Refresh' }).click()
    await expect.poll(() => plan.textContent()).toContain('Nothing is due.')
    const cells = page.locator('#cleanup-runs tbody tr').first().locator('td')
    await expect.poll(() => cells.allTextContents()).toMatchObject({ 2: 'API', 3: 'succeeded', 4: '2' })
    expect(await state('notes.txt')).toBeNull()
    await page.close()
  })

  it('lists recent operations and undoes a delete after showing its preview', async () => {
    const folder = await createItem({ kind: 'folder', name: 'Briefs', brandId: f.brandId })
    for (const name of ['brief-a.txt', 'brief-b.txt', 'brief-c.txt'])
      ids[name] = await createItem({
        kind: 'file',
        name,
        parentId: folder,
        brandId: f.brandId,
        type: 'Article',
      })
    await trashAs('editor', ['brief-a.txt', 'brief-b.txt', 'brief-c.txt'])
    // a new file took one name meanwhile: the undo restores that one under a new name
    await createItem({ kind: 'file', name: 'brief-b.txt', parentId: folder, brandId: f.brandId })
    const page = await openPage()
    await signIn(page, 'editor')
    const line = page.locator('#operations-list li').first()
    await expect.poll(() => line.textContent()).toMatch(/^we-editor deleted 3 items via the REST API/)
    await line.getByRole('button', { name: /^Undo: we-editor deleted 3 items/ }).click()
    const dialog = page.getByRole('dialog')
    await dialog.waitFor()
    expect(await dialog.locator('h2').textContent()).toMatch(/^Undo: we-editor deleted 3 items/)
    expect(await dialog.locator('#confirm-text').textContent()).toBe(
      '3 items will be restored, 1 under a new name because theirs is taken.',
    )
    expect(await dialog.locator('#confirm-details').textContent()).toContain(
      'brief-b.txt will be restored as brief-b (restored).txt',
    )
    // the preview changed nothing, and cancelling changes nothing either
    await page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'hidden' })
    for (const name of ['brief-a.txt', 'brief-b.txt', 'brief-c.txt'])
      expect(await state(name)).toMatchObject({ state: 'trashed' })
    await line.getByRole('button', { name: /^Undo/ }).click()
    await dialog.getByRole('button', { name: 'Restore 3 items' }).click()
    await expect.poll(() => results(page).locator('h3').textContent()).toBe('Undo: 3 items restored')
    expect(await state('brief-a.txt')).toEqual({ state: 'active', name: 'brief-a.txt' })
    expect(await state('brief-b.txt')).toEqual({ state: 'active', name: 'brief-b (restored).txt' })
    expect(await state('brief-c.txt')).toEqual({ state: 'active', name: 'brief-c.txt' })
    // the undo is an operation of its own, listed first
    await expect.poll(() => line.textContent()).toMatch(/^we-editor undid a delete and restored 3 items via/)
    await page.close()
  })

  it('follows a big undo, run as a job on the server, to its end', async () => {
    const names = ['memo-1.txt', 'memo-2.txt', 'memo-3.txt', 'memo-4.txt']
    for (const name of names) ids[name] = await createItem({ kind: 'file', name, brandId: f.brandId })
    await trashAs('editor', names)
    const page = await openPage()
    await signIn(page, 'editor')
    const line = page.locator('#operations-list li').first()
    await expect.poll(() => line.textContent()).toMatch(/^we-editor deleted 4 items/)
    await line.getByRole('button', { name: /^Undo/ }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Restore 4 items' }).click()
    await expect.poll(() => results(page).textContent(), { timeout: 15_000 }).toContain('done: 4 restored')
    expect(await results(page).locator('progress').getAttribute('max')).toBe('4')
    for (const name of names) expect(await state(name)).toMatchObject({ state: 'active' })
    const job = await db().query(
      'select status, total from jobs where tenant_id = $1 order by created_at desc',
      [f.tenantId],
    )
    expect(job.rows[0]).toEqual({ status: 'succeeded', total: 4 })
    await page.close()
  })

  it('fits a phone screen: rows become cards, nothing scrolls sideways', async () => {
    const page = await openPage(390, 844)
    await signIn(page, 'admin')
    await expect.poll(() => rowNames(page).then((names) => names.length)).toBeGreaterThan(0)
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    expect(overflow).toBeLessThanOrEqual(0)
    const display = await page
      .locator('#trash-rows tr')
      .first()
      .evaluate((tr) => getComputedStyle(tr).display)
    expect(display).toBe('grid')
    await page.screenshot({ path: PHONE_SCREENSHOT, fullPage: false })
    await page.close()
  })

  it('says so when the password is wrong', async () => {
    const page = await browser.newPage()
    await page.goto(`${server.baseUrl}/trash`)
    await page.getByLabel('Login').fill(f.users.editor!.login)
    await page.getByLabel('Password').fill('wrong')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toBe('The login or password is not correct.')
    await page.close()
  })

  it('logged no console errors on any page', () => {
    expect(consoleErrors).toEqual([])
  })
})
