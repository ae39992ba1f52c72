import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import pg from 'pg'
import type { AppContext } from '../src/context.js'
import { activeFiles, trashedFiles } from './datasets.js'
import {
  asmxTicket,
  IPS_PATH,
  ipsRestoreEnvelope,
  type LoadOptions,
  type LoadResult,
  median,
  percentile,
  runLoad,
  startBenchServer,
  type Workload,
} from './lib.js'

/**
 * W3: single-item operations, one per request, each request on a different item, over keep-alive HTTP, at every
 * door. The limit of each is pgbench at the same client count running a hand-written script (bench/w3-limit-*.sql)
 * that reaches the same end state with one UPDATE of the item row and one INSERT of its audit row, triggers off.
 */
const SECONDS = Number(process.env.BENCH_W3_SECONDS ?? 6)
/**
 * Timed rounds at 50 connections, ours and the limit's alternated, each from a checkpoint: the medians are
 * compared, so that one side's round does not meet a busier moment of this shared machine than the other's.
 */
const ROUNDS = Number(process.env.BENCH_W3_ROUNDS ?? 3)
const SECONDS_ONE = Number(process.env.BENCH_W3_SECONDS_1 ?? 3)
const CONNECTIONS = Number(process.env.BENCH_W3_CONNECTIONS ?? 50)
const POOL = Number(process.env.BENCH_W3_POOL ?? 90_000)
const LIMIT_POOL = Number(process.env.BENCH_W3_LIMIT_POOL ?? 320_000)
/**
 * Each side first runs an untimed load at full concurrency, so that none is timed while its code is still being
 * compiled and optimised (as W6 does): the figures are those of a server that has been up a while.
 */
const WARM_UP_SECONDS = Number(process.env.BENCH_W3_WARM_UP_SECONDS ?? 3)
const hasPgbench = spawnSync('pgbench', ['--version']).status === 0
const LOGIN = 'w3-bench'
const PASSWORD = 'bench-password'

type Kind = 'restore' | 'trash'

/** clock ticks per second of /proc's CPU times */
const TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100

/**
 * A process's command and the fields of its /proc stat line after the command (state ppid … utime (12th) stime
 * cutime cstime), or undefined when it cannot be read (gone, or not of this machine).
 */
function processStat(pid: number | string): { command: string; fields: string[] } | undefined {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  return {
    command: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
    fields: stat.slice(stat.lastIndexOf(')') + 2).split(' '),
  }
}

/**
 * CPU seconds of the database's processes: every `postgres` process of this machine, with what the postmaster's
 * ended children took (a pgbench run's backends end with it). Undefined when none can be seen (a database on
 * another machine, or in a container).
 */
function databaseCpuSeconds(): number | undefined {
  let ticks = 0
  let seen = false
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    const stat = processStat(pid)
    if (stat?.command !== 'postgres') continue
    seen = true
    const { fields } = stat
    ticks += Number(fields[11]) + Number(fields[12])
    if (processStat(fields[1]!)?.command !== 'postgres') ticks += Number(fields[13]) + Number(fields[14])
  }
  return seen ? ticks / TICKS_PER_SECOND : undefined
}

/** CPU microseconds per request of the server that answered (ours, or the Node.js floor) and of the database. */
interface CpuPerRequest {
  server: number
  database?: number
}

/** CPU seconds of this process (where the Node.js floor runs). */
const thisProcessCpuSeconds = () => {
  const used = process.cpuUsage()
  return (used.user + used.system) / 1e6
}

/** CPU seconds of another process of this machine (our server's). */
function processCpuSeconds(pid: number): number {
  const stat = processStat(pid)
  if (!stat) throw new Error(`process ${pid} is gone`)
  return (Number(stat.fields[11]) + Number(stat.fields[12])) / TICKS_PER_SECOND
}

/** `run` with the CPU it took per request (its `count` of requests or transactions) measured around it. */
async function metered<T>(
  run: () => Promise<T>,
  count: (result: T) => number,
  serverCpuSeconds: () => number = thisProcessCpuSeconds,
): Promise<T & { cpu: CpuPerRequest }> {
  const database = databaseCpuSeconds()
  const server = serverCpuSeconds()
  const result = await run()
  const serverUsed = serverCpuSeconds() - server
  const databaseAfter = databaseCpuSeconds()
  const n = Math.max(1, count(result))
  return {
    ...result,
    cpu: {
      server: (serverUsed * 1e6) / n,
      database:
        database === undefined || databaseAfter === undefined
          ? undefined
          : ((databaseAfter - database) * 1e6) / n,
    },
  }
}

/** Resident memory of a process of this machine, in bytes. */
function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024
}

/** Ends a server process this benchmark started (if it still runs) and removes its directory. */
async function stopChild(child: ChildProcess, dir: string) {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
  }
  await rm(dir, { recursive: true, force: true })
}

/**
 * Our server as `npm start` runs it: the compiled CLI (`node build/cli.js start`, built first when src/ changed)
 * in a process of its own, on the benchmark's database, on a free loopback port; nothing else runs in it.
 */
async function startCompiledServer(
  url: string,
): Promise<{ baseUrl: string; pid: number; close(): Promise<void> }> {
  const root = path.resolve(import.meta.dirname, '..')
  const build = (await import(pathToFileURL(path.join(root, 'scripts', 'build.mjs')).href)) as {
    buildServer(options: { ifStale: boolean }): string
  }
  const outcome = build.buildServer({ ifStale: true })
  if (outcome !== 'built' && outcome !== 'up to date')
    throw new Error(`the server's build in build/ could not be brought up to date (${outcome})`)
  const dataDir = await mkdtemp(path.join(tmpdir(), 'trashd-w3-server-'))
  const child = spawn(process.execPath, [path.join(root, 'build', 'cli.js'), 'start'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      DATABASE_URL: url,
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: dataDir,
      ADMIN_TOKEN: 'bench-admin-token-0123456789',
      LOG_LEVEL: 'warn',
      CLEANUP_SCHEDULE: 'off',
      // the pool the benchmark's in-process workloads and the Node.js floor use
      DB_POOL_SIZE: '20',
    },
  })
  let output = ''
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`trashd did not start: ${output.slice(-500)}`)), 60_000)
    const onData = (chunk: Buffer) => {
      output += chunk
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`trashd exited with ${code}: ${output.slice(-500)}`))
    })
  })
  return {
    baseUrl,
    pid: child.pid!,
    close: () => stopChild(child, dataDir),
  }
}

/** A load run none of whose requests was answered has no latencies to report: it fails and says so. */
function answered(result: LoadResult, side: string, connections: number, seconds: number) {
  if (result.total === 0)
    throw new Error(
      `${side}: no request answered in ${seconds} s at ${connections} connection(s) (${result.errors} errors)`,
    )
}

const us = (value: number | undefined) => (value === undefined ? 'not seen' : value.toFixed(0))

interface Credentials {
  tenantId: number
  userId: number
  baseUrl: string
  ctx: AppContext
}

interface DoorCase {
  id: string
  title: string
  kind: Kind
  /** the audit door the operation records */
  door: string
  /** the request template ({ID} for the item's id) once logged in */
  request(c: Credentials): Promise<Omit<LoadOptions, 'ids' | 'connections' | 'seconds'>>
  /** whether a reply says the one item was done */
  succeeded(status: number, text: string): boolean
}

const ENTERPRISE_PATH = '/Enterprise/index.php'
const enterpriseEnvelope = (body: string) =>
  '<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"' +
  ` xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:ns1="urn:SmartConnection"><SOAP-ENV:Body>${body}</SOAP-ENV:Body></SOAP-ENV:Envelope>`
const IPS_NS = 'http://www.scene7.com/IpsApi/xsd'

const cases: DoorCase[] = [
  {
    id: 'W3-ips',
    title: 'IPS restoreAssetsFromTrash, 1 handle (SOAP 1.1, authHeader)',
    kind: 'restore',
    door: 'ips',
    request: async (c) => ({
      url: `${c.baseUrl}${IPS_PATH}`,
      body: ipsRestoreEnvelope({ login: LOGIN, password: PASSWORD }, c.tenantId, ['{ID}']),
      headers: { soapaction: '"restoreAssetsFromTrash"' },
    }),
    succeeded: (status, text) => status === 200 && text.includes('<successCount>1</successCount>'),
  },
  {
    id: 'W3-ips-delete',
    title: 'IPS deleteAsset (SOAP 1.1, authHeader)',
    kind: 'trash',
    door: 'ips',
    request: async (c) => ({
      url: `${c.baseUrl}${IPS_PATH}`,
      body:
        `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">` +
        `<soapenv:Header><authHeader xmlns="${IPS_NS}"><user>${LOGIN}</user><password>${PASSWORD}</password>` +
        '<appName>trashd-bench</appName><appVersion>1.0</appVersion></authHeader></soapenv:Header>' +
        `<soapenv:Body><deleteAssetParam xmlns="${IPS_NS}/2010-01-31"><companyHandle>c|${c.tenantId}</companyHandle>` +
        '<assetHandle>a|{ID}</assetHandle></deleteAssetParam></soapenv:Body></soapenv:Envelope>',
      headers: { soapaction: '"deleteAsset"' },
    }),
    succeeded: (status, text) => status === 200 && text.includes('deleteAssetReturn'),
  },
  {
    id: 'W3-asmx',
    title: 'srv.asmx DeleteDocument over GET with a ticket',
    kind: 'trash',
    door: 'asmx',
    request: async (c) => {
      const ticket = await asmxTicket(c.baseUrl, { login: LOGIN, password: PASSWORD })
      return {
        url: `${c.baseUrl}/srv.asmx/DeleteDocument`,
        method: 'GET',
        path: `/srv.asmx/DeleteDocument?authenticationTicket=${ticket}&Path=%5Clib%5Cours-{ID}.pdf`,
      }
    },
    succeeded: (status, text) => status === 200 && text.includes('success="true"'),
  },
  {
    id: 'W3-enterprise',
    title: 'Enterprise DeleteObjects, one id, v8 (Areas Workflow)',
    kind: 'trash',
    door: 'enterprise',
    request: async (c) => {
      const logOn = await fetch(`${c.baseUrl}${ENTERPRISE_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'text/xml; charset=utf-8' },
        body: enterpriseEnvelope(
          `<ns1:LogOn><User>${LOGIN}</User><Password>${PASSWORD}</Password><Ticket/><Server>Enterprise Server</Server>` +
            '<ClientName>bench</ClientName><Domain/><ClientAppName>Content Station</ClientAppName>' +
            '<ClientAppVersion>v10.0 build 1</ClientAppVersion><ClientAppSerial/><ClientAppProductKey/></ns1:LogOn>',
        ),
      }).then((reply) => reply.text())
      const ticket = /<Ticket>([0-9a-f]{40})<\/Ticket>/.exec(logOn)?.[1]
      if (!ticket) throw new Error(`no Enterprise ticket in ${logOn.slice(0, 300)}`)
      return {
        url: `${c.baseUrl}${ENTERPRISE_PATH}`,
        body: enterpriseEnvelope(
          `<ns1:DeleteObjects><Ticket>${ticket}</Ticket><IDs><String>{ID}</String></IDs><Permanent>false</Permanent>` +
            '<Areas><AreaType>Workflow</AreaType></Areas></ns1:DeleteObjects>',
        ),
      }
    },
    succeeded: (status, text) =>
      status === 200 && text.includes('<IDs><String>') && !text.includes('<ErrorReport>'),
  },
  {
    id: 'W3-rest',
    title: 'REST POST /api/v1/items/:id/trash (HTTP Basic)',
    kind: 'trash',
    door: 'rest',
    request: async (c) => ({
      url: `${c.baseUrl}/api/v1/items/0/trash`,
      path: '/api/v1/items/{ID}/trash',
      headers: {
        authorization: `Basic ${Buffer.from(`${LOGIN}:${PASSWORD}`).toString('base64')}`,
        // what a script without a JSON body sends to pass the CSRF guard
        'x-requested-with': 'XMLHttpRequest',
      },
    }),
    succeeded: (status) => status === 200,
  },
]

/** How many statements (round trips, transaction control included) one request sends, counted at the pg client. */
async function countStatements(fn: () => Promise<unknown>): Promise<number> {
  const prototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown }
  const query = prototype.query
  let count = 0
  prototype.query = function (this: unknown, ...args: unknown[]) {
    count++
    return query.apply(this, args)
  }
  try {
    await fn()
  } finally {
    prototype.query = query
  }
  return count
}

interface PgbenchResult {
  tps: number
  transactions: number
  failed: number
  p50: number
  p99: number
}

/** pgbench with `clients` clients for `seconds` over the hand-written script; latencies from its per-transaction log. */
async function runPgbench(
  url: string,
  script: string,
  clients: number,
  seconds: number,
  variables: Record<string, string | number>,
): Promise<PgbenchResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'trashd-w3-'))
  try {
    const defines = Object.entries(variables).flatMap(([name, value]) => ['-D', `${name}=${value}`])
    const args = ['-n', '-M', 'prepared', '-c', String(clients), '-j', String(Math.min(2, clients))]
    args.push(
      '-T',
      String(seconds),
      '-l',
      '--log-prefix',
      path.join(dir, 'log'),
      ...defines,
      '-f',
      script,
      url,
    )
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn('pgbench', args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        cwd: dir,
        // the limit runs none of our triggers (the audit table's NOTIFY among them)
        env: { ...process.env, PGOPTIONS: '-c session_replication_role=replica' },
      })
      let text = ''
      child.stdout.on('data', (chunk) => {
        text += chunk
      })
      child.stderr.on('data', (chunk) => {
        text += chunk
      })
      const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 60) * 1000)
      child.on('error', reject)
      child.on('close', (code) => {
        clearTimeout(timer)
        if (code !== 0 || !/tps = /.test(text))
          reject(new Error(`pgbench exited with ${code}: ${text.slice(-800)}`))
        else resolve(text)
      })
    })
    const latencies: number[] = []
    for (const file of await readdir(dir)) {
      // client_id transaction_no time_us script_no epoch epoch_us: the third column is the latency
      for (const line of (await readFile(path.join(dir, file), 'utf8')).split('\n')) {
        const us = Number(line.split(' ')[2])
        if (line && Number.isFinite(us)) latencies.push(us / 1000)
      }
    }
    return {
      tps: Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1]),
      transactions: Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1] ?? 0),
      failed: Number(/number of failed transactions: (\d+)/.exec(out)?.[1] ?? 0),
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

type Template = Omit<LoadOptions, 'ids' | 'connections' | 'seconds'>
type FloorVariables = { tenant_id: number; user_id: number; login: string; door: string }

/**
 * What both floors run: the limit's hand-written statement with its variables as parameters ($1 the id, then the
 * tenant, user, login and door), and the characters that precede the id in every request of the template.
 */
async function floorStatement(kind: Kind, template: Template, variables: FloorVariables) {
  const script = await readFile(path.join(import.meta.dirname, `w3-limit-${kind}.sql`), 'utf8')
  const order = ['id', 'tenant_id', 'user_id', 'login', 'door'] as const
  const text = script
    .split('\n')
    .filter((line) => !line.startsWith('--') && !line.startsWith('\\'))
    .join('\n')
    .replace(
      /:(id|tenant_id|user_id|login|door)\b/g,
      (_, name: (typeof order)[number]) => `$${order.indexOf(name) + 1}`,
    )
  const fixed = [variables.tenant_id, variables.user_id, variables.login, variables.door]
  const source = template.path ?? template.body ?? ''
  const marker = source.slice(Math.max(0, source.indexOf('{ID}') - 12), source.indexOf('{ID}'))
  return { text, fixed, marker }
}

/**
 * The floor: the least a Node.js HTTP server does for the same requests. node:http and a pg pool of the same size
 * as ours, reading the id out of each request and running the limit's hand-written SQL (the pgbench script with
 * its variables as parameters), then answering 200 with a few bytes: no framework, no XML parser, no sign-in, no
 * policy. It says how much of the gap to the limit is HTTP in Node on this machine and how much is ours.
 */
async function startFloorServer(
  url: string,
  kind: Kind,
  template: Template,
  variables: FloorVariables,
): Promise<{ url: string; close(): Promise<void> }> {
  const { text, fixed, marker } = await floorStatement(kind, template, variables)
  const idPattern = new RegExp(`${marker.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\d+)`)
  // as the limit runs: none of our triggers
  const pool = new pg.Pool({ connectionString: url, max: 20, options: '-c session_replication_role=replica' })
  pool.on('error', () => {})
  const server = createServer((request, reply) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const id = idPattern.exec(template.path ? request.url! : Buffer.concat(chunks).toString())?.[1]
      pool.query({ name: 'w3-floor', text, values: [id, ...fixed] }).then(
        () => reply.writeHead(200, { 'content-type': 'text/plain' }).end('ok'),
        (error: Error) => reply.writeHead(500).end(error.message),
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await new Promise((resolve) => server.close(resolve))
      await pool.end()
    },
  }
}

/** The C floor's binary, built once per run from bench/w3-floor.c, or why not (no C compiler or no libpq headers). */
let cFloorBinary: Promise<{ path: string } | { missing: string }> | undefined
function buildCFloor() {
  cFloorBinary ??= (async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'trashd-w3-floor-'))
    const binary = path.join(dir, 'w3-floor')
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
    const include = spawnSync('pg_config', ['--includedir'], { encoding: 'utf8' }).stdout?.trim()
    const built = spawnSync(
      'cc',
      [
        '-O2',
        '-o',
        binary,
        path.join(import.meta.dirname, 'w3-floor.c'),
        ...(include ? [`-I${include}`] : []),
        '-lpq',
      ],
      { encoding: 'utf8' },
    )
    return built.status === 0
      ? { path: binary }
      : {
          missing: `no C floor (cc and libpq-dev build bench/w3-floor.c): ${(built.stderr ?? String(built.error)).slice(0, 200)}`,
        }
  })()
  return cFloorBinary
}

/**
 * The floor in C (bench/w3-floor.c): a blocking server with one process and one libpq connection per client
 * connection, running the same statement as the Node.js floor. What it leaves between itself and pgbench is the
 * extra hop that any HTTP server in front of the database adds.
 */
async function startCFloorServer(
  url: string,
  kind: Kind,
  template: Template,
  variables: FloorVariables,
): Promise<{ url: string; close(): Promise<void> } | { missing: string }> {
  const binary = await buildCFloor()
  if ('missing' in binary) return binary
  const { text, fixed, marker } = await floorStatement(kind, template, variables)
  const dir = await mkdtemp(path.join(tmpdir(), 'trashd-w3-floor-sql-'))
  const sqlFile = path.join(dir, 'statement.sql')
  await writeFile(sqlFile, text)
  const child = spawn(binary.path, [url, sqlFile, marker, ...fixed.map(String)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    // as the limit runs: none of our triggers
    env: { ...process.env, PGOPTIONS: '-c session_replication_role=replica' },
  })
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (chunk) => {
      out += chunk
      const match = /listening (\d+)/.exec(out)
      if (match) resolve(Number(match[1]))
    })
    child.on('error', reject)
    child.on('exit', (code) => reject(new Error(`the C floor exited with ${code}`)))
  })
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => stopChild(child, dir),
  }
}

const ms = (value: number) => (value < 10 ? value.toFixed(2) : value.toFixed(1))

function workloadOf(door: DoorCase): Workload {
  return {
    id: door.id,
    title: `${door.title}, keep-alive, ${CONNECTIONS} and 1 connection(s), ${ROUNDS} × ${SECONDS} s / ${SECONDS_ONE} s`,
    target: `≥ 0.5 of the limit at ${CONNECTIONS}; p50 at 1 ≤ 1.5 × limit's; p99 at ${CONNECTIONS} ≤ 4 × limit's; RSS growth ≤ 50 MB`,
    meets: (ratio, extra) =>
      ratio >= 0.5 &&
      Number(extra['p50 at 1 ÷ limit']) <= 1.5 &&
      Number(extra[`p99 at ${CONNECTIONS} ÷ limit`]) <= 4 &&
      Number(extra['RSS growth MB']) <= 50,
    async run({ ctx, url, log }) {
      if (!hasPgbench)
        throw new Error('pgbench is not installed (apt-get install postgresql-client): W3 has no limit')
      const load = loadavg()
      // the requests' sessions are made, and one request's statements counted, through an app in this process;
      // every timed request goes to the compiled server in its own
      const inProcess = await startBenchServer(ctx)
      let closing: Promise<void> | undefined
      const counting = { baseUrl: inProcess.baseUrl, close: () => (closing ??= inProcess.close()) }
      const server = await startCompiledServer(url).catch(async (error: unknown) => {
        await counting.close()
        throw error
      })
      try {
        const tenantId = await ctx.admin.createTenant('w3')
        // a plain user (no administrator shortcuts) working on its own items outside any brand
        await ctx.admin.createUser(tenantId, { login: LOGIN, password: PASSWORD, admin: false })
        const user = (await ctx.auth.authenticate(LOGIN, PASSWORD, 'rest'))!
        let ours: { first: number; last: number }
        let limit: { first: number; last: number }
        if (door.kind === 'restore') {
          const options = { tenantId, userId: user.userId }
          ours = await trashedFiles(ctx.db, { ...options, count: POOL, prefix: 'ours' })
          limit = await trashedFiles(ctx.db, { ...options, count: LIMIT_POOL, prefix: 'limit' })
        } else {
          const lib = await ctx.db.query<{ id: number }>(
            `insert into items (tenant_id, kind, type, name, owner_id) values ($1, 'folder', 'Folder', 'lib', $2)
             returning id`,
            [tenantId, user.userId],
          )
          const options = { tenantId, ownerId: user.userId, parentId: Number(lib.rows[0]!.id) }
          ours = await activeFiles(ctx.db, { ...options, count: POOL, prefix: 'ours' })
          limit = await activeFiles(ctx.db, { ...options, count: LIMIT_POOL, prefix: 'limit' })
        }
        await ctx.db.query('analyze items')
        await ctx.db.query('analyze audit')

        const made = await door.request({ tenantId, userId: user.userId, baseUrl: counting.baseUrl, ctx })
        const send = async (id: number) => {
          const target = made.path
            ? `${counting.baseUrl}${made.path.replaceAll('{ID}', String(id))}`
            : made.url
          const method = made.method ?? 'POST'
          const reply = await fetch(target, {
            method,
            headers: {
              ...(made.body !== undefined ? { 'content-type': 'text/xml; charset=utf-8' } : {}),
              ...made.headers,
            },
            body: made.body?.replaceAll('{ID}', String(id)),
          })
          const text = await reply.text()
          if (!door.succeeded(reply.status, text))
            throw new Error(`${door.id} request on ${id} failed: ${reply.status} ${text.slice(0, 300)}`)
        }
        // warm up (the first request verifies the password; compiled code settles), then count one request
        let next = ours.first
        for (let i = 0; i < 20; i++) await send(next++)
        const statements = await countStatements(() => send(next++))
        await counting.close()
        const template = { ...made, url: made.url.replace(counting.baseUrl, server.baseUrl) }
        const serverCpuSeconds = () => processCpuSeconds(server.pid)

        const target = door.kind === 'restore' ? 'active' : 'trashed'
        const changed = async (from: number, to: number) =>
          (
            await ctx.db.query<{ n: number; last: number | null }>(
              'select count(*)::int as n, max(id)::bigint as last from items where tenant_id = $1 and id between $2 and $3 and state = $4',
              [tenantId, from, to, target],
            )
          ).rows[0]!
        const oursRun = async (connections: number, seconds: number) => {
          const ids = { first: next, last: ours.last }
          const result = await metered(
            () => runLoad({ ...template, ids, connections, seconds }),
            (r) => r.total,
            serverCpuSeconds,
          )
          answered(result, 'ours', connections, seconds)
          const done = await changed(ids.first, ids.last)
          if (result.non2xx + result.errors > 0)
            throw new Error(`${result.non2xx + result.errors} failed requests of ${result.total}`)
          // requests still in flight when the time is up are done but not counted by the load generator
          const handedOut = result.lastId! - ids.first + 1
          if (result.lastId! >= ids.last) throw new Error('the pool ran out: raise BENCH_W3_POOL')
          if (done.n < result.total || done.n > handedOut)
            throw new Error(
              `${result.total} requests answered, ${handedOut} sent, but ${done.n} items changed`,
            )
          next = result.lastId! + 1
          return result
        }
        let limitNext = limit.first
        const limitRun = async (clients: number, seconds: number) => {
          const result = await metered(
            () =>
              runPgbench(url, path.join(import.meta.dirname, `w3-limit-${door.kind}.sql`), clients, seconds, {
                n: -1,
                first: limitNext,
                clients,
                tenant_id: tenantId,
                user_id: user.userId,
                login: LOGIN,
                door: door.door,
              }),
            (r) => r.transactions,
          )
          const done = await changed(limitNext, limit.last)
          if (result.failed > 0 || done.n !== result.transactions)
            throw new Error(
              `pgbench: ${result.transactions} transactions, ${result.failed} failed, ${done.n} items changed (raise BENCH_W3_LIMIT_POOL?)`,
            )
          limitNext = Number(done.last ?? limitNext) + 1
          return result
        }

        // each side starts from a checkpoint: none runs while the set-up's (or another side's) dirty pages are
        // still being written out, and each pays the same full-page writes for the pages it touches first
        const checkpoint = () => ctx.db.query('checkpoint')
        await checkpoint()
        await oursRun(CONNECTIONS, WARM_UP_SECONDS)
        await checkpoint()
        await limitRun(CONNECTIONS, WARM_UP_SECONDS)
        const rssStart = residentBytes(server.pid)
        let rssPeak = rssStart
        const sampler = setInterval(() => {
          rssPeak = Math.max(rssPeak, residentBytes(server.pid))
        }, 100)
        const oursRounds: (LoadResult & { cpu: CpuPerRequest })[] = []
        const limitRounds: (PgbenchResult & { cpu: CpuPerRequest })[] = []
        try {
          for (let round = 0; round < ROUNDS; round++) {
            await checkpoint()
            oursRounds.push(await oursRun(CONNECTIONS, SECONDS))
            await checkpoint()
            limitRounds.push(await limitRun(CONNECTIONS, SECONDS))
          }
        } finally {
          clearInterval(sampler)
        }
        const rssGrowth = (Math.max(rssPeak, residentBytes(server.pid)) - rssStart) / 1024 / 1024
        const many = {
          rps: median(oursRounds.map((r) => r.rps)),
          p50: median(oursRounds.map((r) => r.p50)),
          p99: median(oursRounds.map((r) => r.p99)),
        }
        const limitMany = {
          tps: median(limitRounds.map((r) => r.tps)),
          p50: median(limitRounds.map((r) => r.p50)),
          p99: median(limitRounds.map((r) => r.p99)),
        }
        const floorServer = await startFloorServer(url, door.kind, template, {
          tenant_id: tenantId,
          user_id: user.userId,
          login: LOGIN,
          door: door.door,
        })
        // the floor takes its items from the limit's pool, which the limit's next run then starts after
        const floorRun = async (connections: number, seconds: number, base = floorServer.url) => {
          const target = new URL(template.url)
          const floorUrl = `${base}${target.pathname}${target.search}`
          const ids = { first: limitNext, last: limit.last }
          const result = await metered(
            () => runLoad({ ...template, url: floorUrl, ids, connections, seconds }),
            (r) => r.total,
          )
          answered(
            result,
            base === floorServer.url ? 'the Node.js floor' : 'the C floor',
            connections,
            seconds,
          )
          const done = await changed(ids.first, ids.last)
          if (result.lastId! >= ids.last) throw new Error('the pool ran out: raise BENCH_W3_LIMIT_POOL')
          if (result.non2xx + result.errors > 0 || done.n < result.total)
            throw new Error(
              `floor: ${result.non2xx + result.errors} failed, ${done.n} of ${result.total} items changed`,
            )
          limitNext = result.lastId! + 1
          return result
        }
        const cFloor = await startCFloorServer(url, door.kind, template, {
          tenant_id: tenantId,
          user_id: user.userId,
          login: LOGIN,
          door: door.door,
        })
        let floorMany: LoadResult
        type Metered<T> = T & { cpu: CpuPerRequest }
        // at one connection, each side's rounds alternate with the others' as at 50
        const oneRounds: {
          ours: Metered<LoadResult>
          limit: Metered<PgbenchResult>
          floor: Metered<LoadResult>
          cFloor?: LoadResult
        }[] = []
        try {
          await checkpoint()
          await floorRun(CONNECTIONS, WARM_UP_SECONDS)
          floorMany = await floorRun(CONNECTIONS, SECONDS)
          if ('url' in cFloor) await floorRun(1, 1, cFloor.url)
          for (let round = 0; round < ROUNDS; round++) {
            const ours = await oursRun(1, SECONDS_ONE)
            const limit = await limitRun(1, SECONDS_ONE)
            const floor = await floorRun(1, SECONDS_ONE)
            oneRounds.push({
              ours,
              limit,
              floor,
              cFloor: 'url' in cFloor ? await floorRun(1, SECONDS_ONE, cFloor.url) : undefined,
            })
          }
        } finally {
          await floorServer.close()
          if ('close' in cFloor) await cFloor.close()
        }
        const one = {
          rps: median(oneRounds.map((r) => r.ours.rps)),
          p50: median(oneRounds.map((r) => r.ours.p50)),
          p99: median(oneRounds.map((r) => r.ours.p99)),
        }
        const limitOne = {
          tps: median(oneRounds.map((r) => r.limit.tps)),
          p50: median(oneRounds.map((r) => r.limit.p50)),
          p99: median(oneRounds.map((r) => r.limit.p99)),
        }
        const floorOne = {
          rps: median(oneRounds.map((r) => r.floor.rps)),
          p50: median(oneRounds.map((r) => r.floor.p50)),
        }
        const cFloorOne = 'url' in cFloor ? median(oneRounds.map((r) => r.cFloor!.p50)) : undefined
        /** the median over rounds of a CPU figure, undefined when the database's processes could not be seen */
        const cpuMedian = (values: (number | undefined)[]) =>
          values.some((value) => value === undefined) ? undefined : median(values as number[])
        const cpuOne = {
          server: cpuMedian(oneRounds.map((r) => r.ours.cpu.server)),
          floorServer: cpuMedian(oneRounds.map((r) => r.floor.cpu.server)),
          database: cpuMedian(oneRounds.map((r) => r.ours.cpu.database)),
          limitDatabase: cpuMedian(oneRounds.map((r) => r.limit.cpu.database)),
          floorDatabase: cpuMedian(oneRounds.map((r) => r.floor.cpu.database)),
        }
        const cpuMany = {
          server: cpuMedian(oursRounds.map((r) => r.cpu.server)),
          database: cpuMedian(oursRounds.map((r) => r.cpu.database)),
          limitDatabase: cpuMedian(limitRounds.map((r) => r.cpu.database)),
        }
        log(
          `ours ${many.rps.toFixed(0)} req/s at ${CONNECTIONS} (p50 ${ms(many.p50)} ms, p99 ${ms(many.p99)} ms), ` +
            `${one.rps.toFixed(0)} req/s at 1 (p50 ${ms(one.p50)} ms, p99 ${ms(one.p99)} ms); ` +
            `limit ${limitMany.tps.toFixed(0)} tps at ${CONNECTIONS} (p50 ${ms(limitMany.p50)} ms, p99 ${ms(limitMany.p99)} ms), ` +
            `${limitOne.tps.toFixed(0)} tps at 1 (p50 ${ms(limitOne.p50)} ms, p99 ${ms(limitOne.p99)} ms); ` +
            `floor ${floorMany.rps.toFixed(0)} req/s at ${CONNECTIONS} (p50 ${ms(floorMany.p50)} ms, p99 ${ms(floorMany.p99)} ms), ` +
            `${floorOne.rps.toFixed(0)} req/s at 1 (p50 ${ms(floorOne.p50)} ms); ` +
            `C floor ${cFloorOne === undefined ? ('missing' in cFloor ? cFloor.missing : '') : `p50 at 1 ${ms(cFloorOne)} ms`}; ` +
            `${statements} statements per request; RSS growth ${rssGrowth.toFixed(1)} MB; load average ${load.map((v) => v.toFixed(1)).join(' ')}`,
        )
        return {
          ours: oursRounds.map((r) => r.rps),
          limit: limitRounds.map((r) => r.tps),
          kind: 'throughput',
          extra: {
            [`rounds at ${CONNECTIONS}, req/s ÷ tps`]: oursRounds
              .map((r, i) => `${r.rps.toFixed(0)} ÷ ${limitRounds[i]!.tps.toFixed(0)}`)
              .join(', '),
            [`p50 / p99 at ${CONNECTIONS} ms`]: `${ms(many.p50)} / ${ms(many.p99)}, limit ${ms(limitMany.p50)} / ${ms(limitMany.p99)}`,
            [`p99 at ${CONNECTIONS} ÷ limit`]: (many.p99 / limitMany.p99).toFixed(2),
            'p50 / p99 at 1 ms': `${ms(one.p50)} / ${ms(one.p99)}, limit ${ms(limitOne.p50)} / ${ms(limitOne.p99)}`,
            'p50 at 1 ÷ limit': (one.p50 / limitOne.p50).toFixed(2),
            'req/s at 1': `${one.rps.toFixed(0)}, limit ${limitOne.tps.toFixed(0)}`,
            [`floor req/s at ${CONNECTIONS}, p50 at 1 ms`]: `${floorMany.rps.toFixed(0)}, ${ms(floorOne.p50)}`,
            'C floor p50 at 1 ms': cFloorOne === undefined ? 'not built' : ms(cFloorOne),
            'C floor p50 at 1 ÷ limit':
              cFloorOne === undefined ? 'not built' : (cFloorOne / limitOne.p50).toFixed(2),
            'Node floor p50 at 1 ÷ limit': (floorOne.p50 / limitOne.p50).toFixed(2),
            'CPU µs per request at 1': `server ${us(cpuOne.server)} (Node floor ${us(cpuOne.floorServer)}); PostgreSQL ${us(cpuOne.database)} (limit ${us(cpuOne.limitDatabase)}, Node floor ${us(cpuOne.floorDatabase)})`,
            [`CPU µs per request at ${CONNECTIONS}`]: `server ${us(cpuMany.server)}; PostgreSQL ${us(cpuMany.database)} (limit ${us(cpuMany.limitDatabase)})`,
            [`ours ÷ floor at ${CONNECTIONS}`]: (many.rps / floorMany.rps).toFixed(2),
            [`floor ÷ limit at ${CONNECTIONS}`]: (floorMany.rps / limitMany.tps).toFixed(2),
            'statements per request': String(statements),
            'RSS growth MB': rssGrowth.toFixed(1),
            'load average at start': load.map((v) => v.toFixed(1)).join(' '),
          },
        }
      } finally {
        await counting.close()
        await server.close()
      }
    },
  }
}

export const workloads: Workload[] = cases.map(workloadOf)
