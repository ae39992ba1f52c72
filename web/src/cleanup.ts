import type { Api, Features } from './api.js'
import { h } from './dom.js'
import { formatBytes, formatCount, formatDateTime, items } from './format.js'

/** A cleanup run as GET /api/v1/trash/cleanup/runs lists it (counts of the whole run, and of this tenant). */
interface CleanupRun {
  id: number
  trigger: 'schedule' | 'api' | 'cli'
  status: 'running' | 'succeeded' | 'partial' | 'failed' | 'abandoned'
  startedAt: string
  finishedAt: string | null
  purged: number
  failed: number
  held: number
  tenantPurged: number
}

/** The dry run of the next cleanup for the admin's tenant (GET /api/v1/trash/cleanup/plan). */
interface CleanupPlan {
  nextRunAt: string | null
  summary: {
    units: number
    rows: number
    bytes: number
    emptied: number
    expired: number
    retry: number
    held: number
    unfinished: number
  }
  units: {
    id: number
    kind: 'file' | 'folder'
    name: string
    path: string | null
    reason: 'emptied' | 'expired' | 'retry' | 'legal_hold'
    items: number
    bytes: number
    deletedAt: string | null
    retentionDays: number | null
  }[]
}

const REASONS: Record<CleanupPlan['units'][number]['reason'], string> = {
  emptied: 'emptied from the trash',
  expired: 'past its retention',
  retry: 'an earlier purge failed',
  legal_hold: 'kept: legal hold',
}

const TRIGGERS: Record<CleanupRun['trigger'], string> = {
  schedule: 'schedule',
  api: 'API',
  cli: 'command line',
}

/** The admin view: what the next cleanup run would purge in this tenant, and the last runs. */
export async function renderCleanup(
  api: Api,
  features: Features,
  planBox: HTMLElement,
  runsBox: HTMLElement,
  note: HTMLElement,
) {
  note.textContent = 'The cleanup job purges emptied items and items past their retention.'
  if (features.cleanupPlan) {
    const plan = await api.get<CleanupPlan>('/api/v1/trash/cleanup/plan')
    const { summary } = plan
    const when = plan.nextRunAt
      ? `Next cleanup run: ${formatDateTime(plan.nextRunAt)}`
      : 'Next cleanup run: not scheduled'
    const parts = [
      summary.expired ? `${formatCount(summary.expired)} past their retention` : '',
      summary.emptied ? `${formatCount(summary.emptied)} emptied` : '',
      summary.retry ? `${formatCount(summary.retry)} retried after a failure` : '',
      summary.held ? `${formatCount(summary.held)} kept under legal hold` : '',
    ].filter(Boolean)
    planBox.replaceChildren(
      h('h3', {}, when),
      summary.units + summary.held === 0
        ? h('p', {}, 'Nothing is due.')
        : h(
            'p',
            {},
            `The next run would purge ${items(summary.units)} (${items(summary.rows, 'file or folder', 'files and folders')}, ${formatBytes(summary.bytes)}): ${parts.join(', ')}.`,
          ),
      plan.units.length
        ? table(
            `The first ${plan.units.length} items of the next run`,
            ['Name', 'Original path', 'Why', 'Deleted on', 'Size'],
            plan.units.map((unit) => [
              unit.kind === 'folder' ? `${unit.name} (folder, ${items(unit.items)})` : unit.name,
              unit.path ?? '—',
              unit.reason === 'expired' && unit.retentionDays !== null
                ? `${REASONS.expired} (${unit.retentionDays} days)`
                : REASONS[unit.reason],
              unit.deletedAt ? formatDateTime(unit.deletedAt) : '—',
              formatBytes(unit.bytes),
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
            ['Started', 'Finished', 'Started by', 'Status', 'Purged here', 'Purged in all', 'Failed'],
            runs.map((run) => [
              formatDateTime(run.startedAt),
              run.finishedAt ? formatDateTime(run.finishedAt) : 'running',
              TRIGGERS[run.trigger] ?? run.trigger,
              run.status,
              formatCount(run.tenantPurged),
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
      h('caption', {}, caption),
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
