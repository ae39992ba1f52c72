import { randomUUID } from 'node:crypto'
import type { BlobStore } from './ports/blob-store.js'
import type { Persistence } from './ports/unit-of-work.js'
import { completePurge } from './purge-protocol.js'

/**
 * The orphan sweep: what the purge protocol guarantees (a row and its file both there or both gone) checked
 * against what the store and the database really hold, for files written by hand, a restored backup of one but
 * not the other, or a store shared by mistake.
 *
 * - objects: the store is walked in key order; an object no row holds, written more than `minAgeSeconds` ago (a
 *   file is stored before its row is inserted: a younger one may be an upload in progress), is removed.
 * - rows: file rows are walked by (tenant, id); an item whose file is missing is purged like any purge (its other
 *   files removed, the row deleted with an audit row, crash-resumable through the cleanup job); an older version
 *   whose file is missing loses its row. Items under legal hold are reported and kept.
 *
 * Each walk goes at most `limit` entries further than where the last run stopped (kept in sweep_progress), and
 * starts over once it reached the end. A dry run reports the same and changes nothing, its position included.
 */

export interface SweepOptions {
  dryRun: boolean
  /** entries of each walk per run */
  limit: number
  /** objects written less than this long ago are never removed */
  minAgeSeconds: number
}

export interface SweepWalkReport {
  /** entries looked at */
  scanned: number
  /** objects without a row / rows without their file */
  found: number
  /** of those, removed (0 in a dry run) */
  removed: number
  /** of those, that could not be removed (store refusals, legal holds) */
  failed: number
  /** the walk reached the end of the store or the table (the next run starts over) */
  complete: boolean
  /** the first entries found, for the report */
  examples: string[]
}

export interface SweepReport {
  dryRun: boolean
  objects: SweepWalkReport
  rows: SweepWalkReport
}

const PAGE = 1000
const EXAMPLES = 20
const EXISTS_CONCURRENCY = 16
const SWEEP_ACTOR = { userId: null, login: null, door: 'cleanup' }

export async function sweep(
  persistence: Persistence,
  blobs: BlobStore,
  options: SweepOptions,
): Promise<SweepReport> {
  return {
    dryRun: options.dryRun,
    objects: await sweepObjects(persistence, blobs, options),
    rows: await sweepRows(persistence, blobs, options),
  }
}

function emptyWalk(): SweepWalkReport {
  return { scanned: 0, found: 0, removed: 0, failed: 0, complete: false, examples: [] }
}

async function sweepObjects(persistence: Persistence, blobs: BlobStore, options: SweepOptions) {
  const sweeps = persistence.stores.sweep
  const report = emptyWalk()
  let position = await sweeps.position('objects')
  const youngest = Date.now() - options.minAgeSeconds * 1000
  while (report.scanned < options.limit) {
    const listed = await blobs.list(position, Math.min(PAGE, options.limit - report.scanned))
    if (listed.length === 0) {
      report.complete = true
      position = null
      break
    }
    report.scanned += listed.length
    position = listed[listed.length - 1]!.key
    const held = await sweeps.referencedKeys(listed.map((entry) => entry.key))
    const orphans = listed
      .filter((entry) => !held.has(entry.key) && entry.modifiedAt.getTime() <= youngest)
      .map((entry) => entry.key)
    if (orphans.length === 0) continue
    report.found += orphans.length
    report.examples.push(...orphans.slice(0, EXAMPLES - report.examples.length))
    if (options.dryRun) continue
    // a row inserted since the check above (an upload older than minAgeSeconds finishing now) keeps its file
    const heldNow = await sweeps.referencedKeys(orphans)
    const stillOrphans = orphans.filter((key) => !heldNow.has(key))
    const failures = await blobs.deleteMany(stillOrphans)
    report.failed += failures.length
    report.removed += stillOrphans.length - failures.length
  }
  if (!options.dryRun) await sweeps.savePosition('objects', position)
  return report
}

async function sweepRows(persistence: Persistence, blobs: BlobStore, options: SweepOptions) {
  const sweeps = persistence.stores.sweep
  const report = emptyWalk()
  const saved = await sweeps.position('rows')
  let after = saved ? { tenantId: Number(saved.split(':')[0]), itemId: Number(saved.split(':')[1]) } : null
  while (report.scanned < options.limit) {
    const rows = await sweeps.storedFileRows(after, Math.min(PAGE, options.limit - report.scanned))
    if (rows.length === 0) {
      report.complete = true
      after = null
      break
    }
    report.scanned += rows.length
    const last = rows[rows.length - 1]!
    after = { tenantId: last.tenantId, itemId: last.itemId }
    const keys = rows.flatMap((row) => [row.itemKey, ...row.versions.map((version) => version.key)])
    const missing = await missingKeys(blobs, keys)
    if (missing.size === 0) continue
    for (const tenantId of new Set(rows.map((row) => row.tenantId))) {
      const ofTenant = rows.filter((row) => row.tenantId === tenantId)
      const items = ofTenant
        .filter((row) => missing.has(row.itemKey))
        .map((row) => ({ id: row.itemId, key: row.itemKey }))
      const versions = ofTenant
        .filter((row) => !missing.has(row.itemKey))
        .flatMap((row) =>
          row.versions
            .filter((version) => missing.has(version.key))
            .map((version) => ({ itemId: row.itemId, ...version })),
        )
      report.found += items.length + versions.length
      report.examples.push(
        ...[
          ...items.map((item) => `tenant ${tenantId} item ${item.id}: file ${item.key} missing`),
          ...versions.map(
            (v) => `tenant ${tenantId} item ${v.itemId} version ${v.major}.${v.minor}: file ${v.key} missing`,
          ),
        ].slice(0, EXAMPLES - report.examples.length),
      )
      if (options.dryRun) continue
      if (versions.length > 0) {
        const deleted = await sweeps.deleteVersionsWithoutFile(tenantId, versions)
        report.removed += deleted
        report.failed += versions.length - deleted
      }
      if (items.length > 0) {
        const token = randomUUID()
        const marked = await sweeps.markItemsWithoutFile(tenantId, items, token)
        const completed = await completePurge(persistence, blobs, { tenantId, ...SWEEP_ACTOR }, token)
        report.removed += completed.purged
        // under legal hold, changed meanwhile, or another of their files could not be removed (retried by the
        // cleanup job like any failed purge)
        report.failed += items.length - marked + completed.failures.length
      }
    }
  }
  if (!options.dryRun) await sweeps.savePosition('rows', after ? `${after.tenantId}:${after.itemId}` : null)
  return report
}

/** The keys the store does not hold, asked a few at a time. */
async function missingKeys(blobs: BlobStore, keys: string[]): Promise<Set<string>> {
  const missing = new Set<string>()
  for (let i = 0; i < keys.length; i += EXISTS_CONCURRENCY) {
    await Promise.all(
      keys.slice(i, i + EXISTS_CONCURRENCY).map(async (key) => {
        if (!(await blobs.exists(key))) missing.add(key)
      }),
    )
  }
  return missing
}

/** The report as the CLI prints it. */
export function describeSweep(report: SweepReport): string {
  const verb = report.dryRun ? 'would remove' : 'removed'
  const walk = (name: string, found: string, w: SweepWalkReport) =>
    `${name}: scanned ${w.scanned}, ${found} ${w.found}, ${verb} ${report.dryRun ? w.found : w.removed}, ` +
    `failed ${w.failed}${w.complete ? ' (walked to the end; the next run starts over)' : ' (the next run goes on from here)'}\n` +
    w.examples.map((example) => `  ${example}\n`).join('')
  return (
    (report.dryRun ? 'dry run: nothing is changed\n' : '') +
    walk('stored files', 'without a row', report.objects) +
    walk('rows', 'without their file', report.rows)
  )
}
