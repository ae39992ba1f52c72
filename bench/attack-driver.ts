import net from 'node:net'

/**
 * The attacker of W8, run as a child process by w8-attacks.bench.ts: reads AttackOptions as JSON on stdin, runs
 * one attack of a single client against the server for the given time (loopback only) and prints
 * `{ steps, failures, sample }` as JSON. Imports nothing of the server, so that building and reading the
 * attacker's requests and answers (10,000-id bodies among them) does not share the measured server's event loop.
 */
export type AttackKind = 'xml' | 'readers' | 'streams' | 'values' | 'host' | 'batches'

export interface AttackOptions {
  attack: AttackKind
  baseUrl: string
  seconds: number
  tenantId: number
  user: { login: string; password: string }
  /** batches: the attacker's 10,000 active items */
  ids?: number[]
}

export interface AttackResult {
  /** requests (or connections) the attack made */
  steps: number
  /** answers that were not what the attack expects (the server refused it otherwise than in its format) */
  failures: number
  /** the first such answer */
  sample?: string
}

const IPS_PATH = '/scene7/services/IpsApiService'
const IPS_NS = 'http://www.scene7.com/IpsApi/xsd'

async function post(baseUrl: string, path: string, type: string, body: string, headers = {}) {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': type, ...headers },
    body,
    signal: AbortSignal.timeout(120_000),
  })
  return { status: response.status, text: await response.text() }
}

const ipsEnvelope = (user: AttackOptions['user'], body: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">` +
  `<soapenv:Header><authHeader xmlns="${IPS_NS}"><user>${user.login}</user><password>${user.password}</password>` +
  '<appName>trashd-bench</appName><appVersion>1.0</appVersion></authHeader></soapenv:Header>' +
  `<soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`

const enterpriseEnvelope = (body: string) =>
  '<?xml version="1.0" encoding="UTF-8"?>' +
  '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"' +
  ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:ns1="urn:SmartConnection">' +
  `<SOAP-ENV:Body>${body}</SOAP-ENV:Body></SOAP-ENV:Envelope>`

/** A GET with any Host header (fetch would not send a hostile one). */
function rawGet(baseUrl: string, path: string, host: string): Promise<number> {
  const { port } = new URL(baseUrl)
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1')
    let text = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      text += chunk
    })
    socket.on('error', reject)
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0)))
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)
  })
}

/**
 * Until the time is up, runs `step` one after another (one client); how many ran. With `round`, only whole
 * rounds of that many steps (the last one may end after the time).
 */
async function repeatFor(seconds: number, step: (n: number) => Promise<void>, round = 1): Promise<number> {
  const until = performance.now() + seconds * 1000
  let steps = 0
  while (performance.now() < until || steps % round !== 0) await step(steps++)
  return steps
}

async function run(options: AttackOptions): Promise<AttackResult> {
  const { baseUrl, seconds, user } = options
  if (!new URL(baseUrl).hostname.startsWith('127.')) throw new Error('attacks only on loopback')
  const result: AttackResult = { steps: 0, failures: 0 }
  const check = (ok: boolean, what: string) => {
    if (ok) return
    result.failures++
    result.sample ??= what.slice(0, 300)
  }
  const basic = `Basic ${Buffer.from(`${user.login}:${user.password}`).toString('base64')}`

  switch (options.attack) {
    case 'xml': {
      // 64 KiB malformed bodies to the three XML doors, one after another
      const doors = [IPS_PATH, '/srv.asmx', '/Enterprise/index.php']
      const bodies = ['<a', '</a', '<a x', '<a=“'].map((unit) =>
        unit.repeat(Math.ceil((64 * 1024) / unit.length)),
      )
      result.steps = await repeatFor(seconds, async (n) => {
        const reply = await post(baseUrl, doors[n % 3]!, 'text/xml; charset=utf-8', bodies[n % 4]!)
        check(/Fault/.test(reply.text), `${reply.status} ${reply.text}`)
      })
      return result
    }
    case 'readers': {
      // twelve srv.asmx listings of the attacker's big bin, opened one after another and never read
      const query = new URLSearchParams({ UID: user.login, PWD: user.password })
      const ticket = /ticket="([^"]+)"/.exec(
        await (await fetch(`${baseUrl}/srv.asmx/AuthenticateUser?${query}`)).text(),
      )?.[1]
      if (!ticket) throw new Error('no srv.asmx ticket')
      const { port } = new URL(baseUrl)
      const readers: net.Socket[] = []
      const until = performance.now() + seconds * 1000
      try {
        for (let n = 0; n < 12; n++) {
          const socket = net.connect(Number(port), '127.0.0.1')
          socket.on('error', () => {})
          await new Promise((resolve) => socket.once('connect', resolve))
          const first = new Promise((resolve) => socket.once('data', resolve))
          socket.write(
            `GET /srv.asmx/GetRecycleBinContent?AuthenticationTicket=${ticket} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
          )
          await first
          socket.pause()
          readers.push(socket)
          result.steps++
          await new Promise((resolve) => setTimeout(resolve, (seconds * 1000) / 13))
        }
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, until - performance.now())))
      } finally {
        for (const socket of readers) socket.destroy()
      }
      return result
    }
    case 'streams': {
      // event streams hung up at random moments of their setup
      const { port } = new URL(baseUrl)
      const request = `GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${basic}\r\n\r\n`
      let seed = 21
      const random = () => {
        seed = (seed * 1103515245 + 12345) % 2147483648
        return seed / 2147483648
      }
      result.steps = await repeatFor(seconds, async () => {
        const socket = net.connect(Number(port), '127.0.0.1')
        socket.on('error', () => {})
        await new Promise((resolve) => socket.once('connect', resolve))
        socket.write(request)
        await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 30)))
        socket.destroy()
      })
      return result
    }
    case 'values': {
      // NUL characters and forged cursors at every door
      const query = new URLSearchParams({ UID: user.login, PWD: user.password })
      const ticket = /ticket="([^"]+)"/.exec(
        await (await fetch(`${baseUrl}/srv.asmx/AuthenticateUser?${query}`)).text(),
      )?.[1]
      const cursor = (text: string) => Buffer.from(text).toString('base64url')
      const forged = [
        cursor('2026-01-01T00:00:00.000Z|99999999999999999999999'),
        cursor('-271821-04-20T00:00:00.000Z|1'),
        cursor('["id","asc",1e300,1]'),
        cursor('["name","asc","a\u0000b",1]'),
        'not a cursor !!',
      ]
      const clientError = (status: number) => status >= 400 && status < 500
      const requests: (() => Promise<void>)[] = [
        async () => {
          const reply = await post(
            baseUrl,
            '/api/v1/sessions',
            'application/json',
            JSON.stringify({ login: 'a\u0000b', password: 'some-password-123' }),
          )
          check(reply.status === 422, `${reply.status} ${reply.text}`)
        },
        async () => {
          const reply = await fetch(`${baseUrl}/api/v1/trash?name=a%00b`, {
            headers: { authorization: basic },
          })
          check(reply.status === 422, `${reply.status} ${await reply.text()}`)
        },
        ...forged.map((value) => async () => {
          const reply = await fetch(`${baseUrl}/api/v1/trash?cursor=${encodeURIComponent(value)}`, {
            headers: { authorization: basic },
          })
          check(clientError(reply.status), `${reply.status} ${await reply.text()}`)
        }),
        async () => {
          const reply = await fetch(
            `${baseUrl}/srv.asmx/DeleteDocument?authenticationTicket=${ticket}&Path=%5Ca%00b`,
          )
          const text = await reply.text()
          check(/success="false"/.test(text) && !/SystemError/.test(text), text)
        },
        async () => {
          const reply = await post(
            baseUrl,
            IPS_PATH,
            'text/xml; charset=UTF-8',
            ipsEnvelope(
              user,
              `<getCompanyInfoParam xmlns="${IPS_NS}/2014-04-03"><companyName>a\u0000b</companyName></getCompanyInfoParam>`,
            ),
          )
          check(/Fault/.test(reply.text), reply.text)
        },
      ]
      result.steps = await repeatFor(seconds, (n) => requests[n % requests.length]!())
      return result
    }
    case 'host': {
      const paths = ['/scene7/webservice/IpsApi.wsdl', '/srv.asmx?wsdl', '/Enterprise/index.php?wsdl']
      result.steps = await repeatFor(seconds, async (n) => {
        const status = await rawGet(baseUrl, paths[n % 3]!, 'evil.example"><x&y')
        check(status === 200, `status ${status}`)
      })
      return result
    }
    case 'batches': {
      // 10,000 ids a request, round after round: REST trash, Enterprise RestoreObjects, IPS deleteAssets, IPS
      // restoreAssetsFromTrash (each door's batch as its clients send it)
      const ids = options.ids ?? []
      const logOn = await post(
        baseUrl,
        '/Enterprise/index.php',
        'text/xml; charset=utf-8',
        enterpriseEnvelope(
          `<ns1:LogOn><User>${user.login}</User><Password>${user.password}</Password><Ticket/><Server>Enterprise Server</Server><ClientName>bench</ClientName><Domain/><ClientAppName>bench</ClientAppName><ClientAppVersion>1</ClientAppVersion><ClientAppSerial/><ClientAppProductKey/></ns1:LogOn>`,
        ),
      )
      const ticket = /<Ticket>([0-9a-f]{40})<\/Ticket>/.exec(logOn.text)?.[1]
      if (!ticket) throw new Error(`no Enterprise ticket: ${logOn.text.slice(0, 300)}`)
      const handles = ids.map((id) => `<items>a|${id}</items>`).join('')
      const company = `<companyHandle>c|${options.tenantId}</companyHandle>`
      const steps: (() => Promise<void>)[] = [
        async () => {
          const reply = await post(
            baseUrl,
            '/api/v1/items/trash',
            'application/json',
            JSON.stringify({ ids }),
            {
              authorization: basic,
            },
          )
          check(
            reply.text.includes(`"successCount":${ids.length}`),
            `${reply.status} ${reply.text.slice(0, 300)}`,
          )
        },
        async () => {
          const reply = await post(
            baseUrl,
            '/Enterprise/index.php',
            'text/xml; charset=utf-8',
            enterpriseEnvelope(
              `<ns1:RestoreObjects><Ticket>${ticket}</Ticket><IDs>${ids.map((id) => `<String>${id}</String>`).join('')}</IDs></ns1:RestoreObjects>`,
            ),
          )
          check(
            reply.status === 200 && !/Fault/.test(reply.text),
            `${reply.status} ${reply.text.slice(0, 300)}`,
          )
        },
        async () => {
          const reply = await post(
            baseUrl,
            IPS_PATH,
            'text/xml; charset=UTF-8',
            ipsEnvelope(
              user,
              `<deleteAssetsParam xmlns="${IPS_NS}/2014-04-03">${company}<assetHandleArray>${handles}</assetHandleArray></deleteAssetsParam>`,
            ),
          )
          check(reply.text.includes(`<successCount>${ids.length}</successCount>`), reply.text.slice(0, 300))
        },
        async () => {
          const reply = await post(
            baseUrl,
            IPS_PATH,
            'text/xml; charset=UTF-8',
            ipsEnvelope(
              user,
              `<restoreAssetsFromTrashParam xmlns="${IPS_NS}/2014-04-03">${company}<assetHandleArray>${handles}</assetHandleArray></restoreAssetsFromTrashParam>`,
            ),
          )
          check(reply.text.includes(`<successCount>${ids.length}</successCount>`), reply.text.slice(0, 300))
        },
      ]
      // whole rounds: each attack starts and ends with the items active
      result.steps = await repeatFor(seconds, (n) => steps[n % steps.length]!(), steps.length)
      return result
    }
  }
}

const chunks: Buffer[] = []
for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
const options = JSON.parse(Buffer.concat(chunks).toString()) as AttackOptions
process.stdout.write(JSON.stringify(await run(options)))
