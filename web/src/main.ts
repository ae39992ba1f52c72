import './style.css'
import {
  Api,
  ApiError,
  type BatchResult,
  type Features,
  type ItemResult,
  type Job,
  type Me,
  type SortColumn,
  type TrashEntry,
  type TrashPage,
  type TrashQuery,
} from './api.js'
import { renderCleanup } from './cleanup.js'
import { byId, h } from './dom.js'
import { describeProblem, formatBytes, formatCount, formatDate, formatDateTime, items } from './format.js'
import { LiveStream } from './live.js'
import {
  describeJob,
  describeOperation,
  describeUndoPreview,
  detailList,
  type Operation,
  renderOperations,
  type UndoAnswer,
} from './operations.js'

const TOKEN_KEY = 'trashd.session'
const NO_FEATURES: Features = { events: false, cleanupRuns: false, cleanupPlan: false }
/** columns whose first click sorts biggest / newest first */
const DESCENDING_FIRST = new Set<SortColumn>(['deletedAt', 'size'])

const el = {
  account: byId('account'),
  signedInAs: byId('signed-in-as'),
  signOut: byId<HTMLButtonElement>('sign-out'),
  signInView: byId('sign-in-view'),
  signInForm: byId<HTMLFormElement>('sign-in-form'),
  signInError: byId('sign-in-error'),
  trashView: byId('trash-view'),
  scopeVisibleLabel: byId('scope-visible-label'),
  filters: byId<HTMLFormElement>('filters'),
  deleter: byId<HTMLSelectElement>('filter-deleter'),
  type: byId<HTMLSelectElement>('filter-type'),
  brand: byId<HTMLSelectElement>('filter-brand'),
  restore: byId<HTMLButtonElement>('restore'),
  purge: byId<HTMLButtonElement>('purge'),
  emptyBin: byId<HTMLButtonElement>('empty-bin'),
  refresh: byId<HTMLButtonElement>('refresh'),
  selectionCount: byId('selection-count'),
  liveStatus: byId('live-status'),
  results: byId('results'),
  table: byId<HTMLTableElement>('trash-table'),
  rows: byId('trash-rows'),
  emptyNote: byId('empty-note'),
  selectPage: byId<HTMLInputElement>('select-page'),
  firstPage: byId<HTMLButtonElement>('first-page'),
  prevPage: byId<HTMLButtonElement>('prev-page'),
  nextPage: byId<HTMLButtonElement>('next-page'),
  pageInfo: byId('page-info'),
  pageSize: byId<HTMLSelectElement>('page-size'),
  adminView: byId('admin-view'),
  operationsView: byId('operations-view'),
  operationsList: byId('operations-list'),
  confirm: byId<HTMLDialogElement>('confirm'),
  confirmTitle: byId('confirm-title'),
  confirmText: byId('confirm-text'),
  confirmDetails: byId('confirm-details'),
  confirmOk: byId<HTMLButtonElement>('confirm-ok'),
}

const api = new Api(sessionStorage.getItem(TOKEN_KEY))
let me: Me | null = null
let features: Features = NO_FEATURES
let query: TrashQuery = { scope: 'visible', sort: 'deletedAt', direction: 'desc', limit: 50 }
/** cursors[i] opens page i (undefined: the first page) */
let cursors: (string | undefined)[] = [undefined]
let pageIndex = 0
let page: TrashPage = { total: 0, items: [], nextCursor: null }
/** selected entries by id, kept across pages, reloads and live updates */
const selected = new Map<number, TrashEntry>()
let loadGeneration = 0
let busy = false
let live: LiveStream | null = null
let reloadTimer: ReturnType<typeof setTimeout> | undefined

// ---- signing in and out

async function boot() {
  if (api.signedIn) {
    try {
      me = await api.me()
      await showTrash()
      return
    } catch {
      sessionStorage.removeItem(TOKEN_KEY)
      await api.signOut()
    }
  }
  showSignIn()
}

function showSignIn(message = '') {
  live?.stop()
  live = null
  me = null
  selected.clear()
  el.account.hidden = true
  el.trashView.hidden = true
  el.adminView.hidden = true
  el.operationsView.hidden = true
  el.signInView.hidden = false
  el.signInError.textContent = message
  byId<HTMLInputElement>('login').focus()
}

el.signInForm.addEventListener('submit', async (event) => {
  event.preventDefault()
  const data = new FormData(el.signInForm)
  const login = String(data.get('login') ?? '').trim()
  const password = String(data.get('password') ?? '')
  if (!login || !password) {
    el.signInError.textContent = 'Enter your login and password.'
    return
  }
  el.signInError.textContent = ''
  try {
    const session = await api.signIn(login, password)
    sessionStorage.setItem(TOKEN_KEY, session.token)
    me = session.user
    el.signInForm.reset()
    await showTrash()
  } catch (error) {
    el.signInError.textContent =
      error instanceof ApiError && error.status === 401
        ? 'The login or password is not correct.'
        : 'Signing in failed; try again.'
  }
})

el.signOut.addEventListener('click', async () => {
  sessionStorage.removeItem(TOKEN_KEY)
  await api.signOut()
  showSignIn()
})

/** A request answered 401 means the session ended (expired or signed out elsewhere). */
function handleFailure(error: unknown) {
  if (error instanceof ApiError && error.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY)
    void api.signOut()
    showSignIn('Your session has ended. Sign in again.')
    return
  }
  showMessage(error instanceof Error ? error.message : String(error), 'error')
}

async function showTrash() {
  if (!me) return
  el.signInView.hidden = true
  el.account.hidden = false
  el.signedInAs.textContent = `Signed in as ${me.displayName ?? me.login}${me.admin ? ' (administrator)' : ''}`
  el.scopeVisibleLabel.textContent = me.admin ? 'Whole tenant' : 'Everything I may see'
  el.trashView.hidden = false
  features = await api.features().catch(() => NO_FEATURES)
  startLive()
  await Promise.all([loadFacets(), load()])
  byId('trash-title').focus()
  el.operationsView.hidden = false
  await Promise.all([loadOperations(), loadAdmin()])
}

function loadOperations() {
  return renderOperations(api, el.operationsList, (op) => void undoOperation(op)).catch(handleFailure)
}

/** Tenant administrators also see what the next cleanup would purge and the last runs. */
async function loadAdmin() {
  if (!me?.admin || !(features.cleanupRuns || features.cleanupPlan)) return
  el.adminView.hidden = false
  await renderCleanup(api, features, byId('cleanup-plan'), byId('cleanup-runs'), byId('admin-note')).catch(
    handleFailure,
  )
}

// ---- live updates

function startLive() {
  if (!features.events) {
    el.liveStatus.textContent = 'Updates on Refresh'
    return
  }
  live = new LiveStream({
    url: '/api/v1/events',
    authorization: () => api.authorization,
    onEvent: () => scheduleReload(),
    onState: (state) => {
      el.liveStatus.textContent =
        state === 'live' ? 'Live' : state === 'connecting' ? 'Connecting…' : 'Reconnecting…'
      el.liveStatus.dataset.state = state
    },
  })
  live.start()
}

/** Many events arrive together (a folder, a batch): one reload for all of them. */
function scheduleReload() {
  clearTimeout(reloadTimer)
  reloadTimer = setTimeout(() => {
    void loadFacets()
    void load()
    void loadOperations()
  }, 200)
}

// ---- filters, sorting, paging

function readFilters() {
  const data = new FormData(el.filters)
  const text = (name: string) => String(data.get(name) ?? '').trim() || undefined
  const from = text('from')
  const to = text('to')
  // local calendar days, sent as instants so "until 3 May" includes the whole of 3 May where the user is
  query = {
    ...query,
    name: text('name'),
    deletedBy: text('deletedBy'),
    type: text('type'),
    brandId: text('brandId'),
    from: from ? new Date(`${from}T00:00:00`).toISOString() : undefined,
    to: to ? new Date(`${to}T23:59:59.999`).toISOString() : undefined,
  }
}

function restartPaging() {
  cursors = [undefined]
  pageIndex = 0
}

let nameTimer: ReturnType<typeof setTimeout> | undefined
el.filters.addEventListener('input', (event) => {
  const target = event.target as HTMLInputElement
  clearTimeout(nameTimer)
  const apply = () => {
    readFilters()
    restartPaging()
    void load()
  }
  if (target.type === 'search') nameTimer = setTimeout(apply, 250)
  else apply()
})
el.filters.addEventListener('submit', (event) => event.preventDefault())
el.filters.addEventListener('reset', () => {
  setTimeout(() => {
    readFilters()
    restartPaging()
    void load()
  })
})

for (const input of document.querySelectorAll<HTMLInputElement>('input[name="scope"]')) {
  input.addEventListener('change', () => {
    query.scope = input.value === 'own' ? 'own' : 'visible'
    restartPaging()
    void loadFacets()
    void load()
  })
}

for (const th of el.table.querySelectorAll<HTMLTableCellElement>('th[data-sort]')) {
  const column = th.dataset.sort as SortColumn
  const button = h('button', { type: 'button', class: 'sort' }, th.textContent ?? column)
  th.textContent = ''
  th.append(button)
  button.addEventListener('click', () => {
    if (query.sort === column) query.direction = query.direction === 'asc' ? 'desc' : 'asc'
    else {
      query.sort = column
      query.direction = DESCENDING_FIRST.has(column) ? 'desc' : 'asc'
    }
    restartPaging()
    void load()
  })
}

el.nextPage.addEventListener('click', () => {
  if (!page.nextCursor) return
  cursors[pageIndex + 1] = page.nextCursor
  pageIndex++
  void load()
})
el.prevPage.addEventListener('click', () => {
  if (pageIndex === 0) return
  pageIndex--
  void load()
})
el.firstPage.addEventListener('click', () => {
  restartPaging()
  void load()
})
el.pageSize.addEventListener('change', () => {
  query.limit = Number(el.pageSize.value)
  restartPaging()
  void load()
})
el.refresh.addEventListener('click', () => {
  void loadFacets()
  void load()
  void loadOperations()
  void loadAdmin()
})

async function loadFacets() {
  try {
    const facets = await api.facets(query.scope)
    fillSelect(
      el.deleter,
      'Anyone',
      facets.deleters.map((d) => [d.login, d.name ? `${d.name} (${d.login})` : d.login]),
    )
    fillSelect(
      el.type,
      'Any type',
      facets.types.map((t) => [t, t]),
    )
    fillSelect(
      el.brand,
      'Any brand',
      facets.brands.map((b) => [String(b.id), b.name]),
    )
  } catch (error) {
    handleFailure(error)
  }
}

/** Replaces a select's choices, keeping the chosen one (listed even when no longer present). */
function fillSelect(select: HTMLSelectElement, anyLabel: string, choices: [string, string][]) {
  const current = select.value
  const options = [h('option', { value: '' }, anyLabel)]
  for (const [value, label] of choices) options.push(h('option', { value }, label))
  if (current && !choices.some(([value]) => value === current)) {
    options.push(h('option', { value: current }, current))
  }
  select.replaceChildren(...options)
  select.value = current
}

async function load() {
  if (!me) return
  const generation = ++loadGeneration
  el.table.setAttribute('aria-busy', 'true')
  try {
    const result = await api.trash({ ...query, cursor: cursors[pageIndex] })
    if (generation !== loadGeneration) return
    // a live update can empty the page we are on: fall back to the first page
    if (result.items.length === 0 && pageIndex > 0) {
      restartPaging()
      return load()
    }
    page = result
    // keep selected entries fresh (rights may have changed) and forget the ones that left the trash
    for (const entry of result.items) if (selected.has(entry.id)) selected.set(entry.id, entry)
    renderRows()
  } catch (error) {
    if (generation === loadGeneration) handleFailure(error)
  } finally {
    if (generation === loadGeneration) el.table.removeAttribute('aria-busy')
  }
}

// ---- rendering

function renderRows() {
  const rows = page.items.map((entry) => renderRow(entry))
  el.rows.replaceChildren(...rows)
  el.emptyNote.hidden = page.items.length > 0
  for (const th of el.table.querySelectorAll<HTMLTableCellElement>('th[data-sort]')) {
    const active = th.dataset.sort === query.sort
    if (active) th.setAttribute('aria-sort', query.direction === 'asc' ? 'ascending' : 'descending')
    else th.removeAttribute('aria-sort')
  }
  const first = pageIndex * query.limit + 1
  const last = pageIndex * query.limit + page.items.length
  el.pageInfo.textContent =
    page.total === 0
      ? 'No items'
      : `Items ${formatCount(first)}–${formatCount(last)} of ${formatCount(page.total)}`
  el.prevPage.disabled = pageIndex === 0
  el.firstPage.disabled = pageIndex === 0
  el.nextPage.disabled = page.nextCursor === null
  renderSelection()
}

function renderRow(entry: TrashEntry) {
  const checkbox = h('input', {
    type: 'checkbox',
    'aria-label': `Select ${entry.name}`,
    checked: selected.has(entry.id),
  })
  checkbox.addEventListener('change', () => {
    if (checkbox.checked) selected.set(entry.id, entry)
    else selected.delete(entry.id)
    row.classList.toggle('selected', checkbox.checked)
    renderSelection()
  })
  const badges = [
    entry.kind === 'folder' ? h('span', { class: 'badge' }, `folder, ${items(entry.items)}`) : null,
    entry.legalHold ? h('span', { class: 'badge hold' }, 'legal hold') : null,
    !entry.mayRestore && !entry.mayPurge ? h('span', { class: 'badge' }, 'view only') : null,
    entry.purgeError ? h('span', { class: 'badge error' }, 'storage failure') : null,
  ]
  const deleter = entry.deletedBy.name ?? entry.deletedBy.login ?? '—'
  const row = h(
    'tr',
    { 'data-id': entry.id, class: selected.has(entry.id) ? 'selected' : null },
    h('td', { class: 'select' }, checkbox),
    h('th', { scope: 'row', 'data-label': 'Name', class: 'name' }, entry.name, ...badges),
    h('td', { 'data-label': 'Original path', class: 'path' }, entry.originalPath ?? '—'),
    h('td', { 'data-label': 'Type' }, entry.type),
    h('td', { 'data-label': 'Size', class: 'num' }, formatBytes(entry.size)),
    h(
      'td',
      { 'data-label': 'Deleted on' },
      h('time', { datetime: entry.deletedAt }, formatDateTime(entry.deletedAt)),
    ),
    h('td', { 'data-label': 'Deleted by', title: entry.deletedBy.login ?? undefined }, deleter),
    h(
      'td',
      { 'data-label': 'Expires on' },
      entry.expiresAt ? h('time', { datetime: entry.expiresAt }, formatDate(entry.expiresAt)) : 'never',
    ),
    h('td', { 'data-label': 'Brand' }, entry.brand?.name ?? '—'),
  )
  return row
}

function renderSelection() {
  const onPage = page.items.filter((entry) => selected.has(entry.id)).length
  el.selectPage.checked = page.items.length > 0 && onPage === page.items.length
  el.selectPage.indeterminate = onPage > 0 && onPage < page.items.length
  const chosen = [...selected.values()]
  el.selectionCount.textContent =
    chosen.length === 0 ? 'Nothing selected' : `${items(chosen.length)} selected`
  el.restore.textContent = chosen.length ? `Restore ${items(chosen.length)}` : 'Restore'
  el.purge.textContent = chosen.length ? `Delete ${items(chosen.length)} permanently` : 'Delete permanently'
  el.restore.disabled = busy || !chosen.some((entry) => entry.mayRestore)
  el.purge.disabled = busy || !chosen.some((entry) => entry.mayPurge)
  el.emptyBin.disabled = busy
}

el.selectPage.addEventListener('change', () => {
  for (const entry of page.items) {
    if (el.selectPage.checked) selected.set(entry.id, entry)
    else selected.delete(entry.id)
  }
  renderRows()
})

function showMessage(text: string, tone: 'info' | 'error' = 'info') {
  el.results.replaceChildren(h('p', { class: tone === 'error' ? 'error' : null }, text))
}

// ---- actions

/** Resolves true when the user confirms; the dialog names what is about to happen. */
function confirmAction(title: string, text: string, ok: string, details: Node | '' = ''): Promise<boolean> {
  el.confirmTitle.textContent = title
  el.confirmText.textContent = text
  el.confirmDetails.replaceChildren(details)
  el.confirmOk.textContent = ok
  el.confirm.returnValue = ''
  el.confirm.showModal()
  return new Promise((resolve) => {
    el.confirm.addEventListener('close', () => resolve(el.confirm.returnValue === 'confirm'), { once: true })
  })
}

async function runAction(action: () => Promise<void>) {
  busy = true
  renderSelection()
  try {
    await action()
  } catch (error) {
    handleFailure(error)
  } finally {
    busy = false
    renderSelection()
  }
}

/** Shows one line per item and keeps only the failed items selected, so they can be retried. */
function reportBatch(title: string, verb: string, batch: BatchResult, leftOut: TrashEntry[]) {
  const lines: HTMLElement[] = []
  for (const result of batch.results) {
    const name = result.name ?? selected.get(result.id)?.name ?? `#${result.id}`
    lines.push(h('li', { class: result.status }, describeResult(name, verb, result)))
    if (result.status !== 'error') selected.delete(result.id)
  }
  for (const entry of leftOut) {
    lines.push(
      h('li', { class: 'error' }, `${entry.name}: not included, you may not ${verb.replace(/ed$/, '')} it`),
    )
  }
  const parts = [`${formatCount(batch.successCount)} ${verb}`]
  if (batch.warningCount) parts.push(`${formatCount(batch.warningCount)} skipped`)
  if (batch.errorCount + leftOut.length)
    parts.push(`${formatCount(batch.errorCount + leftOut.length)} failed`)
  el.results.replaceChildren(
    h('h3', {}, `${title}: ${parts.join(', ')}`),
    h('ul', { class: 'result-list' }, ...lines),
  )
}

function describeResult(name: string, verb: string, result: ItemResult) {
  if (result.status === 'ok')
    return result.renamedTo ? `${name} ${verb} as ${result.renamedTo}` : `${name} ${verb}`
  if (result.status === 'warning') return `${name}: skipped, ${describeProblem(result.code, result.message)}`
  return `${name}: ${describeProblem(result.code, result.message)}`
}

el.restore.addEventListener('click', () =>
  runAction(async () => {
    const chosen = [...selected.values()]
    const allowed = chosen.filter((entry) => entry.mayRestore)
    const leftOut = chosen.filter((entry) => !entry.mayRestore)
    if (allowed.length === 0) return
    const batch = await api.restore(allowed.map((entry) => entry.id))
    if ('job' in batch) await followJob(batch.job, 'Restore', { verb: 'restored', leftOut })
    else reportBatch('Restore', 'restored', batch, leftOut)
    await Promise.all([load(), loadFacets(), loadOperations()])
  }),
)

el.purge.addEventListener('click', () =>
  runAction(async () => {
    const chosen = [...selected.values()]
    const allowed = chosen.filter((entry) => entry.mayPurge)
    const leftOut = chosen.filter((entry) => !entry.mayPurge)
    if (allowed.length === 0) return
    const inside = allowed.reduce((sum, entry) => sum + (entry.kind === 'folder' ? entry.items - 1 : 0), 0)
    const text = [
      `${items(allowed.length)} will be deleted permanently`,
      inside > 0 ? `, together with ${items(inside)} inside the selected folders` : '',
      '. This cannot be undone.',
      leftOut.length > 0
        ? ` ${items(leftOut.length, 'selected item')} you may not delete permanently will be left out.`
        : '',
    ].join('')
    const ok = await confirmAction(
      `Delete ${items(allowed.length)} permanently?`,
      text,
      `Delete ${items(allowed.length)}`,
    )
    if (!ok) return
    const batch = await api.purge(allowed.map((entry) => entry.id))
    if ('job' in batch) await followJob(batch.job, 'Delete permanently', { verb: 'deleted', leftOut })
    else reportBatch('Delete permanently', 'deleted', batch, leftOut)
    await Promise.all([load(), loadFacets(), loadOperations()])
  }),
)

el.emptyBin.addEventListener('click', () =>
  runAction(async () => {
    const count = await api.ownBinCount()
    if (count === 0) {
      showMessage('Your bin is already empty.')
      return
    }
    const ok = await confirmAction(
      `Empty your bin of ${items(count)}?`,
      `${items(count)} you deleted will be deleted permanently. Items other people deleted stay. This cannot be undone.`,
      `Delete ${items(count)}`,
    )
    if (!ok) return
    const outcome = await api.emptyBin()
    const lines = outcome.failed.map((result) =>
      h(
        'li',
        { class: 'error' },
        `${result.name ?? `#${result.id}`}: ${describeProblem(result.code, result.message)}`,
      ),
    )
    const failed = new Set(outcome.failed.map((result) => result.id))
    for (const [id, entry] of selected)
      if (entry.deletedBy.id === me?.id && !failed.has(id)) selected.delete(id)
    el.results.replaceChildren(
      h(
        'h3',
        {},
        `Empty my bin: ${items(outcome.purged)} deleted permanently${outcome.errorCount ? `, ${formatCount(outcome.errorCount)} failed` : ''}`,
      ),
      lines.length ? h('ul', { class: 'result-list' }, ...lines) : '',
    )
    await Promise.all([load(), loadFacets()])
  }),
)

/** how often a job's progress is asked for, and for how long at most (then Refresh shows where it got) */
const JOB_POLL_MS = 1000
const JOB_POLL_ROUNDS = 3600

/** the items a finished restore or permanent delete job lists by name (its results' first page) */
const JOB_REPORT_ITEMS = 1000

/**
 * A big undo, restore or permanent delete runs as a job on the server: its progress is shown until it ends. A
 * restore or permanent delete (`report`) then lists its items as the same request answered at once would.
 */
async function followJob(started: Job, title = 'Undo', report?: { verb: string; leftOut: TrashEntry[] }) {
  const bar = h('progress', { max: Math.max(started.total, 1), value: started.done })
  const line = h('p', {}, describeJob(started))
  el.results.replaceChildren(h('h3', {}, title), bar, line)
  let job = started
  for (let round = 0; round < JOB_POLL_ROUNDS && ['queued', 'running'].includes(job.status); round++) {
    await new Promise((resolve) => setTimeout(resolve, JOB_POLL_MS))
    job = await api.get<Job>(`/api/v1/jobs/${encodeURIComponent(job.id)}`)
    bar.value = job.done
    line.textContent = describeJob(job)
  }
  if (!report || job.status !== 'succeeded') return
  const page = await api.get<{ results: (ItemResult & { outcome: string })[] }>(
    `/api/v1/jobs/${encodeURIComponent(job.id)}/results?limit=${JOB_REPORT_ITEMS}`,
  )
  reportBatch(
    title,
    report.verb,
    {
      results: page.results.filter((result) => result.outcome !== 'skipped'),
      successCount: job.outcomes.ok,
      warningCount: job.outcomes.warning,
      errorCount: job.outcomes.error,
    },
    report.leftOut,
  )
}

/** getRandomValues, unlike randomUUID, also works on a page served over plain HTTP from another host. */
function newIdempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** Undo shows what it would do (the server's preview, nothing changed) and acts only once confirmed. */
function undoOperation(op: Operation) {
  return runAction(async () => {
    const preview = await api.undoPreview<UndoAnswer>(op.id)
    const { summary, details } = describeUndoPreview(preview)
    if (preview.results.length === 0) {
      showMessage(`Nothing to undo: ${summary}`)
      return
    }
    const ok = await confirmAction(
      `Undo: ${describeOperation(op)}?`,
      summary,
      `Restore ${items(preview.results.length - preview.errorCount)}`,
      detailList(details),
    )
    if (!ok) return
    const answer = await api.undo<UndoAnswer | { job: Job }>(op.id, newIdempotencyKey())
    if ('job' in answer) {
      await followJob(answer.job)
      await Promise.all([load(), loadFacets(), loadOperations()])
      return
    }
    const outcome = answer
    const done = describeUndoPreview(outcome).details
    const parts = [`${items(outcome.successCount)} restored`]
    if (outcome.errorCount) parts.push(`${formatCount(outcome.errorCount)} failed`)
    if (outcome.skippedCount) parts.push(`${formatCount(outcome.skippedCount)} left alone`)
    el.results.replaceChildren(h('h3', {}, `Undo: ${parts.join(', ')}`), detailList(done))
    await Promise.all([load(), loadFacets(), loadOperations()])
  })
}

void boot()
