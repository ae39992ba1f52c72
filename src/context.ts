import { randomBytes } from 'node:crypto'
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import pino, { type Logger } from 'pino'
import { type Config, ConfigError } from './config.js'
import { AdminService } from './core/admin-service.js'
import { AuthService, DEFAULT_THROTTLE } from './core/auth-service.js'
import { CleanupJob } from './core/cleanup-job.js'
import { CredentialCache } from './core/credential-cache.js'
import type { EventBus, EventPublisher } from './core/events.js'
import { JobService } from './core/job-service.js'
import { ObjectService } from './core/object-service.js'
import { OperationService } from './core/operation-service.js'
import { PasswordHasher } from './core/passwords.js'
import { loadPlugins, PluginHost, type ServerPlugin } from './core/plugins.js'
import type { BlobStore, ClientQueues } from './core/ports.js'
import { type SweepOptions, type SweepReport, sweep } from './core/sweep.js'
import { TrashService } from './core/trash-service.js'
import {
  connectPostgres,
  type Database,
  openEmbedded,
  type PoolStats,
  waitForDatabase,
} from './db/database.js'
import { DatabaseEventBus } from './db/event-bus.js'
import { allBrandIds } from './db/event-repository.js'
import { readStoreFigures, type StoreFigures } from './db/metrics-repository.js'
import { migrate, migrationsApplied } from './db/migrate.js'
import { AmqpPublisher } from './messaging/amqp.js'
import { NcastPublisher } from './messaging/ncast.js'
import { FsBlobStore } from './storage/fs-blob-store.js'

/**
 * The database as the process and the operator's commands need it, never its statements: readiness, the pool and
 * trash figures of /metrics, start-up's message, the migrate command.
 */
export interface DatabaseState {
  readonly kind: 'postgres' | 'embedded'
  /** every migration applied (readiness) */
  migrationsApplied(): Promise<boolean>
  /** the migrations it applied now */
  migrate(): Promise<number[]>
  /** connections open, idle, waiting and the limit, when there is a pool */
  poolStats(): PoolStats | undefined
  /** the trash by state, the purge backlog and the cleanup runs, in one statement under a timeout */
  storeFigures(options: { perTenant: boolean; timeoutMs: number }): Promise<StoreFigures>
}

/** Everything a running server (or the CLI) shares: one database, one blob store, the core services. */
export interface AppContext {
  config: Config
  logger: Logger
  database: DatabaseState
  blobs: BlobStore
  trash: TrashService
  /** the operation log: who trashed, restored, emptied or purged what, through which door */
  operations: OperationService
  /** bulk jobs (an undo of many units) and this instance's runner of them */
  jobs: JobService
  auth: AuthService
  admin: AdminService
  /** object reads, versions and renditions (Enterprise GetObjects, ListVersions, GetVersion, file downloads) */
  objects: ObjectService
  /** the cleanup job (retention, emptied items, failed and crashed purges) */
  cleanup: CleanupJob
  /** trash / delete / restore events of every server instance on the database */
  events: EventBus
  /** the RabbitMQ publisher (MESSAGE_QUEUE_URL), null when not configured */
  messageQueue: AmqpPublisher | null
  /** the server plug-ins named in PLUGINS */
  plugins: PluginHost
  /** the bearer token of the admin API (ADMIN_TOKEN, or the one generated under DATA_DIR) */
  adminToken: string
  /** the file the admin token is kept in (null: it came from ADMIN_TOKEN) */
  adminTokenFile: string | null
  /** the orphan sweep (stored files without a row, rows without their file) */
  sweep(options: SweepOptions): Promise<SweepReport>
  close(): Promise<void>
}

/** What only the process and its commands use: the doors never see it. */
const PROCESS_ONLY = new Set<keyof AppContext>(['database', 'sweep'])

/**
 * What a door is given: the services, never the database. Doors translate between a wire format and the core;
 * SQL stays behind the core's ports, the broker behind the client-queue port.
 */
export type DoorContext = Omit<AppContext, 'database' | 'sweep' | 'messageQueue'> & {
  messageQueue: ClientQueues | null
}

/** The context as the doors get it: the same services, the database left out. */
export function doorContext(ctx: AppContext): DoorContext {
  // a view rather than a copy: a service the process swaps on its context later (plug-ins) reaches the doors too
  const view = {} as DoorContext
  for (const key of Object.keys(ctx) as (keyof AppContext)[]) {
    if (PROCESS_ONLY.has(key)) continue
    Object.defineProperty(view, key, { get: () => ctx[key], enumerable: true })
  }
  return view
}

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.query.AuthenticationTicket',
  'req.query.authenticationTicket',
  'req.query.PWD',
  'req.query.pwd',
  'req.query.ticket',
  '*.password',
  '*.ticket',
]

/** Query parameters whose values never reach a log line (srv.asmx sends tickets and passwords in URLs). */
const SECRET_QUERY_PARAMS = /^(authenticationticket|ticket|pwd|password|trusteduserpwd|oldticket)$/i

function safeDecode(text: string) {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '))
  } catch {
    return text
  }
}

/** The URL with the values of secret query parameters replaced. */
export function redactUrl(url: string): string {
  const question = url.indexOf('?')
  if (question < 0) return url
  const pairs = url
    .slice(question + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=')
      const name = equals < 0 ? pair : pair.slice(0, equals)
      return SECRET_QUERY_PARAMS.test(safeDecode(name).trim()) ? `${name}=[redacted]` : pair
    })
  return `${url.slice(0, question + 1)}${pairs.join('&')}`
}

interface LoggedRequest {
  method: string
  url: string
  host?: string
  ip?: string
}

/** Fastify's request fields, with secrets taken out of the URL. */
export function serializeRequest(request: LoggedRequest) {
  return {
    method: request.method,
    url: redactUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
  }
}

export function createLogger(
  config: Pick<Config, 'LOG_LEVEL'>,
  destination?: pino.DestinationStream,
): Logger {
  const options = {
    level: config.LOG_LEVEL,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { req: serializeRequest },
  }
  return destination ? pino(options, destination) : pino(options)
}

/** DATA_DIR made (owner only) where it is missing; a place this user cannot write is named with the fix. */
async function makeDataDir(config: Config) {
  try {
    await mkdir(config.DATA_DIR, { recursive: true, mode: 0o700 })
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOTDIR' || code === 'EEXIST')
      throw new ConfigError(
        `DATA_DIR=${config.DATA_DIR}: cannot be made a directory here (${code}); set DATA_DIR to a directory this user may write`,
      )
    throw error
  }
}

/** Opens the configured database (or the embedded one), migrates it, and wires the services. */
export async function createContext(
  config: Config,
  options: {
    logger?: Logger
    db?: Database
    blobs?: BlobStore
    migrate?: boolean
    adminToken?: string
    /** plug-ins to use instead of loading PLUGINS */
    plugins?: ServerPlugin[]
  } = {},
): Promise<AppContext> {
  const logger = options.logger ?? createLogger(config)
  let db = options.db
  if (!db) {
    if (config.DATABASE_URL) {
      await waitForDatabase(config.DATABASE_URL, config.DATABASE_WAIT, (reason) =>
        logger.warn({ reason }, 'waiting for the database (DATABASE_URL)'),
      )
      db = connectPostgres(config.DATABASE_URL, {
        max: config.DB_POOL_SIZE,
        acquireTimeoutMs: config.DB_ACQUIRE_TIMEOUT * 1000,
        statementTimeoutMs: config.DB_STATEMENT_TIMEOUT * 1000,
        idleInTransactionTimeoutMs: config.DB_IDLE_IN_TRANSACTION_TIMEOUT * 1000,
      })
    } else {
      await makeDataDir(config)
      db = await openEmbedded(path.resolve(config.DATA_DIR, 'pgdata'))
    }
  }
  if (options.migrate !== false) {
    try {
      await migrate(db)
    } catch (error) {
      // the database was opened here: close it (the embedded one's lock with it) before giving up
      if (!options.db) await db.close().catch(() => {})
      throw error
    }
  }
  const blobs = options.blobs ?? (await createBlobStore(config))
  const database = db
  const { token: adminToken, file: adminTokenFile } = options.adminToken
    ? { token: options.adminToken, file: null }
    : await resolveAdminToken(config, logger)
  const hasher = new PasswordHasher(config.PASSWORD_HASH_COST)
  const credentials = new CredentialCache(config.AUTH_CACHE_SECONDS)
  const plugins = new PluginHost(options.plugins ?? (await loadPlugins(config.PLUGINS)), logger)
  const events = new DatabaseEventBus(database, logger)
  // the services read the context's host when they run: a process may swap it later
  let context: AppContext | undefined
  const currentPlugins = () => context?.plugins ?? plugins
  const trash = new TrashService(database, blobs, {
    listingsPerUser: config.LISTINGS_PER_USER,
    bigBatches: { atOnce: config.BIG_BATCHES, waitSeconds: config.BIG_BATCH_WAIT },
    unitRowsPerStatement: config.UNIT_ROWS_PER_STATEMENT,
    plugins: currentPlugins,
  })
  const publishers = await startPublishers(config, database, events, logger)
  const jobs = new JobService(
    database,
    trash,
    {
      threshold: config.JOB_THRESHOLD,
      pageSize: config.JOB_PAGE_SIZE,
      leaseSeconds: config.JOB_LEASE_SECONDS,
      pollSeconds: config.JOB_POLL_SECONDS,
    },
    logger.child({ component: 'jobs' }),
  )
  context = {
    adminToken,
    adminTokenFile,
    config,
    logger,
    database: databaseState(database),
    blobs,
    trash,
    operations: new OperationService(database, trash, jobs),
    jobs,
    auth: new AuthService(database, {
      sessionTtlSeconds: config.SESSION_TTL,
      sessionMaxAgeSeconds: config.SESSION_MAX_AGE,
      hasher,
      throttle: {
        ...DEFAULT_THROTTLE,
        perLogin: config.LOGIN_FAILURES_PER_LOGIN,
        perAddress: config.LOGIN_FAILURES_PER_ADDRESS,
        ticketsPerAddress: config.TICKET_FAILURES_PER_ADDRESS,
        maxLockSeconds: config.LOGIN_LOCK_MAX,
      },
      logger: logger.child({ component: 'auth' }),
      credentials,
    }),
    admin: new AdminService(database, blobs, hasher, config.UPLOAD_MAX_BYTES, currentPlugins, credentials),
    objects: new ObjectService(database, blobs, config.UPLOAD_MAX_BYTES),
    cleanup: new CleanupJob(
      database,
      blobs,
      { batchSize: config.CLEANUP_BATCH_SIZE, staleAfterSeconds: config.CLEANUP_STALE_AFTER },
      logger.child({ component: 'cleanup' }),
      undefined,
      currentPlugins,
    ),
    events,
    messageQueue: publishers.find((p): p is AmqpPublisher => p instanceof AmqpPublisher) ?? null,
    plugins,
    sweep: (options) => sweep(database, blobs, options),
    close: async () => {
      await jobs.stop()
      await events.close()
      for (const publisher of publishers) await publisher.close()
      await database.close()
      // a store handed in belongs to the caller
      if (!options.blobs) blobs.close?.()
    },
  }
  return context
}

function databaseState(db: Database): DatabaseState {
  return {
    kind: db.kind,
    migrationsApplied: () => migrationsApplied(db),
    migrate: () => migrate(db),
    poolStats: () => db.poolStats?.(),
    storeFigures: (options) => readStoreFigures(db, options),
  }
}

/** The live-update channels the configuration names, each fed with this instance's own events. */
async function startPublishers(
  config: Config,
  db: Database,
  events: EventBus,
  logger: Logger,
): Promise<EventPublisher[]> {
  const publishers: EventPublisher[] = []
  if (config.MESSAGE_QUEUE_URL) {
    publishers.push(
      AmqpPublisher.start({
        url: config.MESSAGE_QUEUE_URL,
        clientUrl: config.MESSAGE_QUEUE_CLIENT_URL,
        connectionName: db.origin,
        brandIds: () => allBrandIds(db),
        logger: logger.child({ component: 'message-queue' }),
      }),
    )
  }
  if (config.NCAST_TARGETS || config.NCAST_MULTICAST) {
    publishers.push(
      await NcastPublisher.start({
        targets: config.NCAST_TARGETS ?? [],
        multicast: config.NCAST_MULTICAST && { ...config.NCAST_MULTICAST, ttl: config.NCAST_MULTICAST_TTL },
        logger: logger.child({ component: 'ncast' }),
      }),
    )
  }
  for (const publisher of publishers) await events.publishOwnEvents(publisher)
  return publishers
}

/** The store BLOB_STORE names; the S3 SDK is loaded only when it is used. */
export async function createBlobStore(config: Config): Promise<BlobStore> {
  if (config.BLOB_STORE === 'fs') return new FsBlobStore(path.resolve(config.DATA_DIR, 'blobs'))
  const { S3BlobStore } = await import('./storage/s3-blob-store.js')
  return new S3BlobStore({
    bucket: config.S3_BUCKET!,
    prefix: config.S3_PREFIX,
    region: config.S3_REGION,
    endpoint: config.S3_ENDPOINT,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
  })
}

/**
 * ADMIN_TOKEN, else the token kept under DATA_DIR, else a new one written there. The file is readable by this
 * user only; the token itself is never printed or logged.
 */
async function resolveAdminToken(
  config: Config,
  logger: Logger,
): Promise<{ token: string; file: string | null }> {
  if (config.ADMIN_TOKEN) return { token: config.ADMIN_TOKEN, file: null }
  const file = path.resolve(config.DATA_DIR, 'admin-token')
  try {
    const kept = (await readFile(file, 'utf8')).trim()
    if (kept.length >= 16) {
      // a token file others may read (copied, or made by an older version) is closed to them
      if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600)
      return { token: kept, file }
    }
  } catch {
    // not generated yet
  }
  const token = randomBytes(24).toString('base64url')
  await makeDataDir(config)
  await writeFile(file, `${token}\n`, { mode: 0o600 })
  await chmod(file, 0o600)
  logger.info({ file }, 'generated an admin token (kept in the file named here)')
  return { token, file }
}
