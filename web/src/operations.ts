import type { Api, ItemResult, Job } from './api.js'
import { h } from './dom.js'
import { describeProblem, formatCount, formatDateTime, items } from './format.js'

/** An operation as GET /api/v1/operations lists it: one request that trashed, restored, emptied or purged. */
export interface Operation {
  id: string
  actor: { id: number; login: string | null } | null
  door: string
  action: string
  client: string | null
  startedAt: string
  finishedAt: string
  requested: number
  outcomes: { ok: number; warning: number; error: number }
  items: number
  undoOf: string | null
}

/** What undoing an operation would do (GET …/undo/preview) or did (POST …/undo). */
export interface UndoAnswer {
  operation?: string
  preview?: true
  successCount: number
  warningCount: number
  errorCount: number
  results: (ItemResult & { recreatedFolders?: string[] })[]
  skippedCount: number
  skipped: { id: number; name: string | null; reason: 'restored' | 'emptied' | 'purged' | 'trashed_again' }[]
}

/** "12,000 of 48,211 units", and how they went so far */
export function describeJob(job: Job) {
  const verb = { undo: 'restored', restore: 'restored', empty: 'emptied', purge: 'deleted' }[job.kind]
  const parts = [`${formatCount(job.outcomes.ok)} ${verb}`]
  if (job.outcomes.error) parts.push(`${formatCount(job.outcomes.error)} failed`)
  if (job.skippedCount) parts.push(`${formatCount(job.skippedCount)} left alone`)
  const state: Record<Job['status'], string> = {
    queued: 'waiting to start',
    running: `${formatCount(job.done)} of ${items(job.total, 'unit')} done`,
    succeeded: 'done',
    failed: `stopped: ${job.error ?? 'failed'}`,
    cancelled: `cancelled after ${formatCount(job.done)} of ${items(job.total, 'unit')}`,
  }
  return `${state[job.status]}: ${parts.join(', ')}`
}

const DOORS: Record<string, string> = {
  rest: 'the REST API',
  web: 'this page',
  ips: 'IPS',
  asmx: 'srv.asmx',
  enterprise: 'Enterprise',
  cleanup: 'the cleanup job',
  cli: 'the command line',
}

const VERBS: Record<string, string> = {
  trash: 'deleted',
  restore: 'restored',
  undo: 'undid a delete and restored',
  empty: 'emptied',
  empty_bin: 'emptied their bin of',
  purge: 'deleted permanently',
  expire: 'expired',
  cleanup: 'purged',
}

const SKIPPED: Record<UndoAnswer['skipped'][number]['reason'], string> = {
  restored: 'restored since',
  emptied: 'emptied since',
  purged: 'deleted permanently since',
  trashed_again: 'deleted again since',
}

/** "bob deleted 48,211 items via srv.asmx at 10:02" */
export function describeOperation(op: Operation) {
  const who = op.actor?.login ?? (op.door === 'cleanup' ? 'The cleanup job' : 'Somebody')
  const what = `${VERBS[op.action] ?? op.action} ${items(op.items)}`
  const via = op.door === 'cleanup' ? '' : ` via ${DOORS[op.door] ?? op.door}`
  const client = op.client ? ` (${op.client})` : ''
  return `${who} ${what}${via}${client} at ${formatDateTime(op.startedAt)}`
}

/** The preview as a person reads it before confirming: counts first, then the units that need a word. */
export function describeUndoPreview(preview: UndoAnswer): { summary: string; details: string[] } {
  const restorable = preview.results.filter((result) => result.status !== 'error')
  const renamed = restorable.filter((result) => result.renamedTo)
  const folders = new Set(restorable.flatMap((result) => result.recreatedFolders ?? []))
  const refused = preview.results.filter((result) => result.status === 'error')
  const parts = [`${items(restorable.length)} will be restored`]
  if (renamed.length) parts.push(`${formatCount(renamed.length)} under a new name because theirs is taken`)
  if (folders.size) parts.push(`${items(folders.size, 'folder')} made again`)
  if (refused.length) parts.push(`${formatCount(refused.length)} cannot be restored`)
  if (preview.skippedCount) parts.push(`${formatCount(preview.skippedCount)} left alone`)
  const details = [
    ...renamed.map((result) => `${result.name ?? `#${result.id}`} will be restored as ${result.renamedTo}`),
    ...[...folders].map((folder) => `The folder ${folder} will be made again`),
    ...refused.map(
      (result) => `${result.name ?? `#${result.id}`}: ${describeProblem(result.code, result.message)}`,
    ),
    ...preview.skipped.map((unit) => `${unit.name ?? `#${unit.id}`}: ${SKIPPED[unit.reason]}, left alone`),
  ]
  return { summary: `${parts.join(', ')}.`, details }
}

/** How many detail lines the confirmation shows before "and N more". */
const DETAIL_LINES = 8

export function detailList(details: string[]) {
  if (details.length === 0) return ''
  const shown = details.slice(0, DETAIL_LINES).map((line) => h('li', {}, line))
  if (details.length > DETAIL_LINES)
    shown.push(h('li', {}, `and ${formatCount(details.length - DETAIL_LINES)} more`))
  return h('ul', { class: 'result-list' }, ...shown)
}

/**
 * The recent operations the user may see (their own; an administrator: the tenant's), newest first, each trash
 * operation with an Undo button that previews before it asks for confirmation.
 */
export async function renderOperations(
  api: Api,
  box: HTMLElement,
  onUndo: (op: Operation) => void,
  limit = 10,
) {
  const { operations } = await api.get<{ operations: Operation[] }>(`/api/v1/operations?limit=${limit}`)
  if (operations.length === 0) {
    box.replaceChildren(h('p', { class: 'hint' }, 'Nothing has been deleted or restored yet.'))
    return
  }
  box.replaceChildren(
    h(
      'ul',
      { class: 'operations' },
      ...operations.map((op) => {
        const failed = op.outcomes.error ? ` · ${formatCount(op.outcomes.error)} failed` : ''
        const button =
          op.action === 'trash' && op.items > 0
            ? h('button', { type: 'button', class: 'secondary', 'data-operation': op.id }, 'Undo…')
            : null
        button?.addEventListener('click', () => onUndo(op))
        button?.setAttribute('aria-label', `Undo: ${describeOperation(op)}`)
        return h(
          'li',
          {},
          h('span', {}, h('time', { datetime: op.startedAt }, describeOperation(op)), failed),
          button,
        )
      }),
    ),
  )
}
