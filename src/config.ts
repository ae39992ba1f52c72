import { BlockList, isIP } from 'node:net'
import { z } from 'zod'
import { nextTick } from './core/cleanup-schedule.js'

/**
 * Whether a request's direct peer may tell where the request came from (scheme, host, path prefix), by
 * TRUST_PROXY: a number of hops (1 or more trusts the peer), or addresses and CIDR ranges, comma-separated. Unset:
 * nobody. 'invalid' for a list entry that is not an address or range.
 */
export function peerTrust(setting: string | undefined): ((address: string) => boolean) | null | 'invalid' {
  if (!setting) return null
  if (/^\d+$/.test(setting)) return Number(setting) >= 1 ? () => true : null
  const trusted = new BlockList()
  for (const entry of setting.split(',').map((part) => part.trim())) {
    const [address = '', bits, ...rest] = entry.split('/')
    const family = isIP(address)
    const max = family === 4 ? 32 : 128
    if (
      family === 0 ||
      rest.length > 0 ||
      (bits !== undefined && !/^\d{1,3}$/.test(bits)) ||
      Number(bits) > max
    ) {
      return 'invalid'
    }
    const type = family === 4 ? 'ipv4' : 'ipv6'
    if (bits === undefined) trusted.addAddress(address, type)
    else trusted.addSubnet(address, Number(bits), type)
  }
  return (address) => {
    const plain = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '')
    const family = isIP(plain)
    return family !== 0 && trusted.check(plain, family === 4 ? 'ipv4' : 'ipv6')
  }
}

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/**
 * A schedule the cron library itself accepts (minute hour day-of-month month day-of-week, an optional leading
 * seconds field) and that fires at some time: checked at load, not when the first tick would fail after the
 * server listens.
 */
function checkSchedule(value: string, ctx: z.RefinementCtx) {
  if (value === 'off') return
  const example = 'a cron expression such as "0 0 * * *" (minute hour day-of-month month day-of-week), or off'
  try {
    if (nextTick(value) === null) ctx.addIssue({ code: 'custom', message: `never fires; ${example}` })
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `${(error as Error).message}; ${example}` })
  }
}

/** `host:port` (an IPv6 host in brackets: `[::1]:8093`) */
const hostPort = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:,[\]]+)):(\d{1,5})$/

function parseHostPort(text: string): { host: string; port: number } | null {
  const match = hostPort.exec(text.trim())
  if (!match) return null
  const port = Number(match[3])
  return port >= 1 && port <= 65535 ? { host: (match[1] ?? match[2])!, port } : null
}

const hostPortList = z
  .string()
  .refine(
    (text) => text.split(',').every((part) => parseHostPort(part) !== null),
    'must be a comma-separated list of host:port',
  )
  .transform((text) => text.split(',').map((part) => parseHostPort(part)!))

const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  // this machine only, unless the operator says otherwise
  HOST: z.string().min(1).default('127.0.0.1'),
  // who may say, in X-Forwarded-For / -Proto / -Host, where a request came from: unset (nobody), a number of proxy
  // hops, or the proxies' addresses or CIDRs, comma-separated (throttling per address needs the client's)
  TRUST_PROXY: z
    .string()
    .regex(
      /^(\d{1,2}|[0-9A-Fa-f.:/]+(\s*,\s*[0-9A-Fa-f.:/]+)*)$/,
      'must be a number of hops or addresses/CIDRs',
    )
    .refine((value) => peerTrust(value) !== 'invalid', 'must be a number of hops or addresses/CIDRs')
    .optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  // seconds to retry reaching DATABASE_URL at start (containers start in any order); 0: try once
  DATABASE_WAIT: z.coerce.number().int().min(0).max(3600).default(30),
  DATA_DIR: z.string().min(1).default('./data'),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  LOG_LEVEL: z.enum(logLevels).default('info'),
  SESSION_TTL: z.coerce
    .number()
    .int()
    .min(60, 'must be at least 60 seconds')
    .default(30 * 60),
  // seconds a verified password or checked ticket answers again without reading the user, the session or the
  // sign-in throttle (a change made through another instance takes effect there within this time); 0: never
  AUTH_CACHE_SECONDS: z.coerce.number().int().min(0).max(300).default(10),
  // a session ends this long after it was opened, however often it is used
  SESSION_MAX_AGE: z.coerce
    .number()
    .int()
    .min(60, 'must be at least 60 seconds')
    .default(12 * 60 * 60),
  // log2 of scrypt's N for new password hashes (r = 8, p = 1); 17 is OWASP's recommendation
  PASSWORD_HASH_COST: z.coerce.number().int().min(10).max(20).default(17),
  // failed sign-ins per login / per remote address, and failed ticket checks per address, before locks start
  LOGIN_FAILURES_PER_LOGIN: z.coerce.number().int().min(1).default(5),
  LOGIN_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).default(50),
  TICKET_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).default(500),
  // the longest lock (seconds); the first is 30 s and each further failure doubles it
  LOGIN_LOCK_MAX: z.coerce.number().int().min(30).default(900),
  CLEANUP_SCHEDULE: z.string().superRefine(checkSchedule).default('0 0 * * *'),
  // due trash units the cleanup job marks and purges per batch (bounds its memory and lock time)
  CLEANUP_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(2000),
  // seconds after which a purge that stopped making progress (its process died) is finished by the cleanup job
  CLEANUP_STALE_AFTER: z.coerce.number().int().min(1).default(900),
  // an undo of more items than this runs as a bulk job (202, progress, cancel, resumed after a crash)
  JOB_THRESHOLD: z.coerce.number().int().min(0).default(10_000),
  // units a job does per transaction (its progress commits with each page)
  JOB_PAGE_SIZE: z.coerce.number().int().min(1).max(50_000).default(5000),
  // seconds a job stays with an instance that committed no page; then any instance takes it over
  JOB_LEASE_SECONDS: z.coerce.number().int().min(1).default(60),
  // seconds between an idle instance's looks for jobs (new ones are started at once on the instance asked)
  JOB_POLL_SECONDS: z.coerce.number().min(0.05).default(5),
  // rows one statement restores at most: a folder unit with more (a mass delete's folder of a million files) is
  // restored a keyset range of this many rows per statement, all in the unit's transaction
  UNIT_ROWS_PER_STATEMENT: z.coerce.number().int().min(1).default(10_000),
  // seconds a streamed reply (srv.asmx listings) may wait for its reader before the connection is closed
  STREAM_STALL_TIMEOUT: z.coerce.number().int().min(1).default(60),
  // where clients reach the server (scheme, host, optional path prefix), for the absolute URLs it writes
  PUBLIC_URL: z
    .string()
    .regex(
      /^https?:\/\/[^\s/?#"'<>]+(\/[^\s?#"'<>]*)?$/,
      'must be an http:// or https:// URL without query or fragment',
    )
    .optional(),
  // the PostgreSQL pool (DATABASE_URL): connections, seconds a request waits for one, and PostgreSQL's
  // statement_timeout and idle_in_transaction_session_timeout in seconds (0: none)
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(10),
  DB_ACQUIRE_TIMEOUT: z.coerce.number().min(0.1).default(15),
  DB_STATEMENT_TIMEOUT: z.coerce.number().min(0).default(60),
  DB_IDLE_IN_TRANSACTION_TIMEOUT: z.coerce.number().min(0).default(60),
  // event streams (GET /api/v1/events) one user may have open at a time on one instance
  EVENT_STREAMS_PER_USER: z.coerce.number().int().min(1).default(10),
  // streamed listings (srv.asmx recycle bin listings and delete log) one user may have running at a time on one
  // instance
  LISTINGS_PER_USER: z.coerce.number().int().min(1).default(4),
  // requests naming more than 1,000 items one instance works on at a time; more wait their turn up to
  // BIG_BATCH_WAIT seconds, then are refused as busy
  BIG_BATCHES: z.coerce.number().int().min(1).default(2),
  BIG_BATCH_WAIT: z.coerce.number().min(0.1).default(30),
  // GET /metrics (Prometheus): with a token, only requests bearing it; without one, only on a loopback HOST, from
  // this machine and not through a proxy; see the README for the exact rule
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  // the items-by-state and purge backlog series carry a tenant label (one series per tenant and state)
  METRICS_TENANT_LABEL: z
    .enum(['true', 'false'])
    .default('false')
    .transform((value) => value === 'true'),
  SEED_DEMO: z.enum(['auto', 'true', 'false']).default('auto'),
  PLUGINS: z.string().default(''),
  // bytes a raw upload (REST items and versions) may bring; more is refused with 413 and nothing is stored
  UPLOAD_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(1024 * 1024 * 1024),
  // where file content lives: files under DATA_DIR/blobs, or objects in an S3-compatible bucket
  BLOB_STORE: z.enum(['fs', 's3']).default('fs'),
  S3_BUCKET: z.string().min(1).optional(),
  S3_REGION: z.string().min(1).optional(),
  // an S3-compatible server such as MinIO, Ceph RGW or Cloudflare R2 (AWS S3 when unset)
  S3_ENDPOINT: z.url().optional(),
  S3_FORCE_PATH_STYLE: z
    .enum(['true', 'false'])
    .default('false')
    .transform((value) => value === 'true'),
  S3_PREFIX: z.string().default(''),
  // Enterprise n-casting (UDP): unicast or broadcast destinations, and a multicast group with its TTL
  NCAST_TARGETS: hostPortList.optional(),
  NCAST_MULTICAST: z
    .string()
    .refine((text) => parseHostPort(text) !== null, 'must be group:port, such as 224.0.252.1:8093')
    .transform((text) => parseHostPort(text)!)
    .optional(),
  NCAST_MULTICAST_TTL: z.coerce.number().int().min(0).max(255).default(1),
  // Enterprise 10 live updates: the RabbitMQ (AMQP 0-9-1) broker events are published to
  MESSAGE_QUEUE_URL: z
    .string()
    .regex(/^amqps?:\/\/[^\s]+$/, 'must be an amqp:// or amqps:// URL')
    .optional(),
  // the broker as LogOn announces it to clients (scheme, host, port, user, virtual host; a password is never shown)
  MESSAGE_QUEUE_CLIENT_URL: z
    .string()
    .regex(/^amqps?:\/\/[^\s]+$/, 'must be an amqp:// or amqps:// URL')
    .optional(),
})

export type Config = Readonly<z.infer<typeof configSchema>>

export class ConfigError extends Error {}

/** Variables whose values never appear in a message (secrets, or URLs that may carry a password). */
const SECRET_VARIABLES = new Set([
  'ADMIN_TOKEN',
  'METRICS_TOKEN',
  'DATABASE_URL',
  'MESSAGE_QUEUE_URL',
  'MESSAGE_QUEUE_CLIENT_URL',
])

type Issue = z.core.$ZodIssue

/** What a variable's schema accepts beyond the issue's words: its default, and a number's range. */
function describeSchema(schema: z.ZodType): {
  fallback?: unknown
  min?: number
  max?: number
  int?: boolean
} {
  let current = schema
  let fallback: unknown
  for (let depth = 0; depth < 4; depth++) {
    const def = current.def as { type: string; innerType?: z.ZodType; in?: z.ZodType; defaultValue?: unknown }
    if (def.type === 'default') fallback = def.defaultValue
    const next = def.innerType ?? (def.type === 'pipe' ? def.in : undefined)
    if (!next) break
    current = next
  }
  if (current instanceof z.ZodNumber) {
    const min = current.minValue
    const max = current.maxValue
    return {
      fallback,
      min: typeof min === 'number' && min > Number.MIN_SAFE_INTEGER ? min : undefined,
      max: typeof max === 'number' && max < Number.MAX_SAFE_INTEGER ? max : undefined,
      int: current.isInt,
    }
  }
  return { fallback }
}

/** zod's generic words for an issue, said as what the variable must be (a schema's own message is kept). */
function mustBe(issue: Issue, schema: z.ZodType): string {
  const { min, max, int } = describeSchema(schema)
  const range =
    min !== undefined && max !== undefined
      ? ` from ${min} to ${max}`
      : min !== undefined
        ? ` of at least ${min}`
        : max !== undefined
          ? ` of at most ${max}`
          : ''
  const number = `must be a ${int ? 'whole number' : 'number'}${range}`
  switch (issue.code) {
    case 'invalid_type':
      return issue.expected === 'number' || issue.expected === 'int' ? number : issue.message
    case 'too_small':
    case 'too_big':
      return /^Too (big|small)/.test(issue.message) ? number : issue.message
    case 'invalid_value':
      return /^Invalid option/.test(issue.message)
        ? `must be one of ${issue.values.map((value) => String(value)).join(', ')}`
        : issue.message
    case 'invalid_format':
      return issue.format === 'url' && /^Invalid URL/.test(issue.message) ? 'must be a URL' : issue.message
    default:
      return issue.message
  }
}

/** One line per bad variable: its name and value (a secret's left out), what it must be, and its default. */
function describeIssue(issue: Issue, env: Record<string, unknown>): string {
  const name = String(issue.path[0] ?? '')
  const schema = configSchema.shape[name as keyof typeof configSchema.shape] as z.ZodType | undefined
  if (!schema) return `${name}: ${issue.message}`
  const value = env[name]
  const shown = SECRET_VARIABLES.has(name) || value === undefined ? name : `${name}=${JSON.stringify(value)}`
  const { fallback } = describeSchema(schema)
  const unset = fallback !== undefined ? ` (or unset it: ${JSON.stringify(fallback)})` : ' (or unset it)'
  return `${shown}: ${mustBe(issue, schema)}${unset}`
}

/** Reads and validates the environment; throws a ConfigError naming every bad variable, one line each. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw = Object.fromEntries(
    Object.keys(configSchema.shape).map((key) => [key, env[key] === '' ? undefined : env[key]]),
  )
  const parsed = configSchema.safeParse(raw)
  const lines = [...new Set((parsed.error?.issues ?? []).map((issue) => describeIssue(issue, raw)))]
  if (raw.BLOB_STORE === 's3' && !raw.S3_BUCKET)
    lines.push("S3_BUCKET: is required when BLOB_STORE=s3; set it to the bucket's name")
  if (!parsed.success || lines.length > 0)
    throw new ConfigError(`Invalid configuration (fix these environment variables):\n  ${lines.join('\n  ')}`)
  return Object.freeze(parsed.data)
}
