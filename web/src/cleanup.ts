import type { Api, Features } from './api.js'
import { h } from './dom.js'
import { formatCount, formatDateTime, items } from './format.js'

/** A cleanup run as GET /api/v1/trash/cleanup/runs lists it. */
interface CleanupRun {
  id: number
  trigger: string
  status: string
  startedAt: string
  finishedAt: string | null
  purged: number
  failed: number
}

/** The dry-run plan of the next cleanup run for the admin's tenant. */
interface CleanupPlan {
  nextRunAt: string | null
  total: number
  reasons: { reason: string; count: number }[]
  items: { id: number; name: string; originalPath: string | null; reason: string; expiresAt: string | null }[]
}

const REASONS: Record<string, string> = {
  emptied: 'emptied, waiting for the cleanup',
  expired: 'retention elapsed',
}

/** The admin view: what the next cleanup run would purge, and the last runs. */
export async function renderCleanup(
  api: Api,
  features: Features,
  planBox: HTMLElement,
  runsBox: HTMLElement,
  note: HTMLElement,
) {
  note.textContent = 'What the cleanup job purges: emptied items and items past their retention.'
  if (features.cleanupPlan) {
    const plan = await api.get<CleanupPlan>('/api/v1/trash/cleanup/plan')
    const next = plan.nextRunAt ? ` (next run ${formatDateTime(plan.nextRunAt)})` : ''
    planBox.replaceChildren(
      h('h3', {}, `Next run would purge ${items(plan.total)}${next}`),
      plan.reasons.length
        ? h(
            'ul',
            {},
            ...plan.reasons.map((r) =>
              h('li', {}, `${formatCount(r.count)}: ${REASONS[r.reason] ?? r.reason}`),
            ),
          )
        : h('p', {}, 'Nothing is due.'),
      plan.items.length
        ? table(
            'Items the next run would purge',
            ['Name', 'Original path', 'Why', 'Expired on'],
            plan.items.map((item) => [
              item.name,
              item.originalPath ?? '—',
              REASONS[item.reason] ?? item.reason,
              item.expiresAt ? formatDateTime(item.expiresAt) : '—',
            ]),
          )
        : '',
    )
  }
  if (features.cleanupRuns) {
    const { runs } = await api.get<{ runs: CleanupRun[] }>('/api/v1/trash/cleanup/runs?limit=10')
    runsBox.replaceChildren(
      h('h3', {}, 'Last cleanup runs'),
      runs.length
        ? table(
            'Last cleanup runs',
            ['Started', 'Finished', 'Trigger', 'Status', 'Purged', 'Failed'],
            runs.map((run) => [
              formatDateTime(run.startedAt),
              run.finishedAt ? formatDateTime(run.finishedAt) : 'running',
              run.trigger,
              run.status,
              formatCount(run.purged),
              formatCount(run.failed),
            ]),
          )
        : h('p', {}, 'No cleanup has run yet.'),
    )
  }
}

function table(caption: string, headers: string[], rows: string[][]) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'plain' },
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, ...headers.map((header) => h('th', { scope: 'col' }, header)))),
      h(
        'tbody',
        {},
        ...rows.map((cells) =>
          h('tr', {}, ...cells.map((cell, i) => h('td', { 'data-label': headers[i] ?? '' }, cell))),
        ),
      ),
    ),
  )
}
