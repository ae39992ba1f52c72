import { randomUUID } from 'node:crypto'
import { unlink } from 'node:fs/promises'
import path from 'node:path'
import { DeleteObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { CleanupJob } from '../src/core/cleanup-job.js'
import type { FsBlobStore } from '../src/storage/fs-blob-store.js'
import { DELETE_BATCH, type S3BlobStore } from '../src/storage/s3-blob-store.js'
import { startS3Server } from '../test/helpers/s3.js'
import { inParallel, tenantsWithTrash, trashedFiles, writeBlobFiles } from './datasets.js'
import { benchUser, restoreProbe, startBenchServer, timed, type BenchEnv, type Workload } from './lib.js'

const TENANTS = Number(process.env.BENCH_W2_TENANTS ?? 1000)
const PER_TENANT = Number(process.env.BENCH_W2_PER_TENANT ?? 1000)
const FILE_TENANTS = Number(process.env.BENCH_W2_FILE_TENANTS ?? 100)
// a million rows a side: one repetition unless asked (the run must stay well under 15 minutes)
const REPETITIONS = Number(process.env.BENCH_W2_REPETITIONS ?? 1)

/**
 * The limit: one statement deleting every expired unit of these tenants and writing the audit rows the job
 * writes, naming the run's operation ($2) as the job's do; `answer` is what it returns (the count, or the
 * stored-file keys to remove).
 */
const rawExpire = (answer: string) => `
  with gone as (
    delete from items x using tenants t
     where t.id = any($1::bigint[]) and x.tenant_id = t.id and x.state = 'trashed' and x.id = x.trash_root
       and x.deleted_at <= now() - make_interval(days => t.retention_days)
    returning x.*, t.retention_days
  ),
  audited as (
    insert into audit (tenant_id, actor_id, actor_login, door, action, item_id, item_kind, item_type, item_name,
                       item_path, unit_root, detail, item_brand_id, item_issue_id, item_category_id, item_deleted_at,
                       item_deleted_by, item_owner_id, item_version, item_format, operation_id)
    select x.tenant_id, null, null, 'cleanup', 'expire', x.id, x.kind, x.type, x.name, x.original_path, x.trash_root,
           jsonb_build_object('reason', 'expired', 'retentionDays', x.retention_days, 'retentionFrom', 'tenant'),
           x.brand_id, x.issue_id, x.category_id, x.deleted_at, x.deleted_by, x.owner_id, x.version, x.content_type,
           $2::uuid
      from gone x
  )
  ${answer}`

/** Removes the files as our purge does: unlink each (16 at a time); neither side syncs the folders. */
async function removeFiles(root: string, keys: string[]) {
  const file = (key: string) => path.join(root, key.slice(0, 2), key.slice(2, 4), key)
  await inParallel(keys, 16, (key) => unlink(file(key)))
}

async function expiredRows(bench: BenchEnv, tenantIds: number[]) {
  const result = await bench.ctx.db.query<{ n: number }>(
    "select count(*)::int as n from items where tenant_id = any($1::bigint[]) and state <> 'active'",
    [tenantIds],
  )
  return result.rows[0]!.n
}

const metadataOnly: Workload = {
  id: 'W2a',
  title: `cleanup run over ${(TENANTS * PER_TENANT).toLocaleString('en')} expired metadata-only items in ${TENANTS.toLocaleString('en')} tenants`,
  target: '≤ 2.0',
  meets: (ratio) => ratio <= 2.0,
  async run(bench) {
    const { ctx, log } = bench
    const server = await startBenchServer(ctx)
    try {
      const ours: number[] = []
      const limit: number[] = []
      const p50: number[] = []
      const p99: number[] = []
      let probes = 0
      let failures = 0
      for (let run = 0; run < Math.min(REPETITIONS, bench.repetitions); run++) {
        // each side gets a dataset of its own, made the same way, and reaches the end state for good (its
        // deletes and audit rows committed): the limit first, on rows nothing touched before it
        const rawTenants = await tenantsWithTrash(ctx.db, `w2-limit-${run}`, TENANTS, PER_TENANT, '30 days')
        const made = await timed(() =>
          tenantsWithTrash(ctx.db, `w2-ours-${run}`, TENANTS, PER_TENANT, '30 days'),
        )
        const tenantIds = made.value
        // another user of one of our tenants restores recent items meanwhile, during either side, so that both
        // share the machine with that load
        const prober = await benchUser(ctx, tenantIds[Math.floor(TENANTS / 2)]!, 'w2-prober')
        const probeIds = await trashedFiles(ctx.db, {
          tenantId: prober.actor.tenantId,
          userId: prober.userId,
          count: 5000,
          prefix: 'probe',
        })
        await ctx.db.query('analyze')
        await ctx.db.query('checkpoint')
        const ids = Array.from({ length: probeIds.last - probeIds.first + 1 }, (_, i) => probeIds.first + i)
        const limitProbe = restoreProbe(server.baseUrl, prober, prober.actor.tenantId, ids)
        await limitProbe.ready
        const raw = await timed(() =>
          ctx.db.query<{ n: number }>(rawExpire('select count(*)::int as n from gone'), [
            rawTenants,
            randomUUID(),
          ]),
        )
        const { used } = await limitProbe.stop()
        if (raw.value.rows[0]!.n !== TENANTS * PER_TENANT)
          throw new Error(`raw expired ${raw.value.rows[0]!.n}`)
        await ctx.db.query('checkpoint')
        const probe = restoreProbe(server.baseUrl, prober, prober.actor.tenantId, ids.slice(used))
        await probe.ready
        const cleaned = await timed(() => ctx.cleanup.run({ trigger: 'cli' }))
        const probed = await probe.stop()
        if (cleaned.value?.run.status !== 'succeeded')
          throw new Error(`cleanup run ${cleaned.value?.run.status}`)
        const left = await expiredRows(bench, tenantIds)
        // the prober's items were restored or are recent: only expired ones must be gone
        if (left > probeIds.last - probeIds.first + 1) throw new Error(`${left} rows left`)
        ours.push(cleaned.ms)
        p50.push(probed.p50)
        p99.push(probed.p99)
        probes += probed.count
        failures += probed.failures

        limit.push(raw.ms)
        log(
          `run ${run + 1}: dataset ${made.ms.toFixed(0)} ms, ours ${cleaned.ms.toFixed(0)} ms (${cleaned.value.run.purged} purged), limit ${raw.ms.toFixed(0)} ms; ` +
            `restore probe p50 ${probed.p50.toFixed(1)} ms p99 ${probed.p99.toFixed(1)} ms over ${probed.count}`,
        )
      }
      return {
        ours,
        limit,
        extra: {
          repetitions: ours.length,
          'concurrent single restore p50 ms': Math.max(...p50),
          'concurrent single restore p99 ms (target ≤ 100)': Math.max(...p99),
          'concurrent restores': probes,
          'concurrent restore failures': failures,
        },
      }
    } finally {
      await server.close()
    }
  },
}

const withFiles: Workload = {
  id: 'W2b',
  title: `cleanup run over ${(FILE_TENANTS * PER_TENANT).toLocaleString('en')} expired items with files on disk`,
  target: '≤ 1.5',
  meets: (ratio) => ratio <= 1.5,
  async run(bench) {
    const { ctx, log } = bench
    const root = (ctx.blobs as FsBlobStore).root
    const ours: number[] = []
    const limit: number[] = []
    for (let run = 0; run < Math.min(REPETITIONS, bench.repetitions); run++) {
      const tenantIds = await tenantsWithTrash(
        ctx.db,
        `w2f-ours-${run}`,
        FILE_TENANTS,
        PER_TENANT,
        '30 days',
        true,
      )
      const keys = await writeBlobFiles(ctx.db, root, tenantIds)
      await ctx.db.query('analyze')
      const cleaned = await timed(() => ctx.cleanup.run({ trigger: 'cli' }))
      if (cleaned.value?.run.status !== 'succeeded')
        throw new Error(`cleanup run ${cleaned.value?.run.status}`)
      if ((await expiredRows(bench, tenantIds)) !== 0) throw new Error('rows left')
      for (const key of keys.slice(0, 100))
        if (await ctx.blobs.exists(key)) throw new Error('a file was left')
      ours.push(cleaned.ms)

      const rawTenants = await tenantsWithTrash(
        ctx.db,
        `w2f-limit-${run}`,
        FILE_TENANTS,
        PER_TENANT,
        '30 days',
        true,
      )
      await writeBlobFiles(ctx.db, root, rawTenants)
      await ctx.db.query('analyze')
      const raw = await timed(async () => {
        const gone = await ctx.db.query<{ blob_key: string }>(rawExpire('select blob_key from gone'), [
          rawTenants,
          randomUUID(),
        ])
        await removeFiles(
          root,
          gone.rows.map((row) => row.blob_key),
        )
        return gone.rowCount
      })
      if (raw.value !== FILE_TENANTS * PER_TENANT) throw new Error(`raw expired ${raw.value}`)
      limit.push(raw.ms)
      log(
        `run ${run + 1}: ours ${cleaned.ms.toFixed(0)} ms, limit ${raw.ms.toFixed(0)} ms (${keys.length} files a side)`,
      )
    }
    return { ours, limit, extra: { repetitions: ours.length } }
  },
}

// s3rver deletes a few hundred keys a second on this kind of machine: 5,000 objects a side keep the run to minutes
const S3_TENANTS = Number(process.env.BENCH_W2S3_TENANTS ?? 5)

/** Stores a small object under each key, where the S3 store looks for it (prefix + key), 32 at a time. */
async function putObjects(store: S3BlobStore, keys: string[]) {
  const content = Buffer.alloc(100, 120)
  await inParallel(keys, 32, (key) =>
    store.client.send(
      new PutObjectCommand({
        Bucket: store.bucket,
        Key: store.objectKey(key),
        Body: content,
        ContentLength: 100,
      }),
    ),
  )
}

/** Objects left under the store's prefix. */
async function objectsLeft(store: S3BlobStore) {
  return (await store.list(null, 1_000_000)).length
}

/**
 * W2b on S3: the same cleanup run with BLOB_STORE=s3, against an S3-compatible server (s3rver, a process of its
 * own on loopback); the limit is the same statement, then the same server's raw batch delete (DeleteObjects of
 * 1,000 keys, one call at a time) of the keys it answered.
 */
const withS3: Workload = {
  id: 'W2b-S3',
  title: `cleanup run over ${(S3_TENANTS * PER_TENANT).toLocaleString('en')} expired items with files on S3 (s3rver)`,
  target: '≤ 1.5',
  meets: (ratio) => ratio <= 1.5,
  async run(bench) {
    const { ctx, log } = bench
    const s3 = await startS3Server('trashd-bench')
    const store = s3.store('bench/')
    try {
      const job = new CleanupJob(ctx.db, store, {
        batchSize: ctx.config.CLEANUP_BATCH_SIZE,
        staleAfterSeconds: ctx.config.CLEANUP_STALE_AFTER,
      })
      const ours: number[] = []
      const limit: number[] = []
      for (let run = 0; run < Math.min(REPETITIONS, bench.repetitions); run++) {
        const tenantIds = await tenantsWithTrash(
          ctx.db,
          `w2s3-ours-${run}`,
          S3_TENANTS,
          PER_TENANT,
          '30 days',
          true,
        )
        const keys = (
          await ctx.db.query<{ blob_key: string }>(
            'select blob_key from items where tenant_id = any($1::bigint[]) and blob_key is not null',
            [tenantIds],
          )
        ).rows.map((row) => row.blob_key)
        await putObjects(store, keys)
        await ctx.db.query('analyze')
        const cleaned = await timed(() => job.run({ trigger: 'cli' }))
        if (cleaned.value?.run.status !== 'succeeded')
          throw new Error(`cleanup run ${cleaned.value?.run.status}`)
        if ((await expiredRows(bench, tenantIds)) !== 0) throw new Error('rows left')
        if ((await objectsLeft(store)) !== 0) throw new Error('objects left')
        ours.push(cleaned.ms)

        const rawTenants = await tenantsWithTrash(
          ctx.db,
          `w2s3-limit-${run}`,
          S3_TENANTS,
          PER_TENANT,
          '30 days',
          true,
        )
        const rawKeys = (
          await ctx.db.query<{ blob_key: string }>(
            'select blob_key from items where tenant_id = any($1::bigint[]) and blob_key is not null',
            [rawTenants],
          )
        ).rows.map((row) => row.blob_key)
        await putObjects(store, rawKeys)
        await ctx.db.query('analyze')
        const raw = await timed(async () => {
          const gone = await ctx.db.query<{ blob_key: string }>(rawExpire('select blob_key from gone'), [
            rawTenants,
            randomUUID(),
          ])
          const removed = gone.rows.map((row) => row.blob_key)
          for (let i = 0; i < removed.length; i += DELETE_BATCH) {
            const batch = removed.slice(i, i + DELETE_BATCH)
            const answer = await store.client.send(
              new DeleteObjectsCommand({
                Bucket: store.bucket,
                Delete: { Objects: batch.map((key) => ({ Key: store.objectKey(key) })), Quiet: true },
              }),
            )
            if (answer.Errors?.length) throw new Error(`raw delete: ${answer.Errors[0]!.Code}`)
          }
          return gone.rowCount
        })
        if (raw.value !== S3_TENANTS * PER_TENANT) throw new Error(`raw expired ${raw.value}`)
        if ((await objectsLeft(store)) !== 0) throw new Error('objects left by the limit')
        limit.push(raw.ms)
        log(
          `run ${run + 1}: ours ${cleaned.ms.toFixed(0)} ms, limit ${raw.ms.toFixed(0)} ms (${keys.length} objects a side)`,
        )
      }
      return { ours, limit, extra: { repetitions: ours.length, objects: S3_TENANTS * PER_TENANT } }
    } finally {
      await s3.stop()
    }
  },
}

/** W2: the cleanup job over a million expired metadata-only items, and over 100,000 items with files. */
export const workloads: Workload[] = [metadataOnly, withFiles, withS3]
