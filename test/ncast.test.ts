import { createHash } from 'node:crypto'
import dgram from 'node:dgram'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config.js'
import { type AppContext, createContext } from '../src/context.js'
import { connectPostgres } from '../src/db/database.js'
import { buildApp } from '../src/http/app.js'
import { NCAST_MAX_BYTES, ncastPacket } from '../src/messaging/ncast.js'
import { asmx, asmxTicket } from './helpers/asmx.js'
import { deleteObjects, envelope, ids, logOn, postEnterprise } from './helpers/enterprise.js'
import { authHeader, ns, post, soap11 } from './helpers/ips.js'
import { needs, POSTGRES } from './helpers/requirements.js'
import {
  ADMIN_TOKEN,
  basicAuth,
  createFixture,
  type Fixture,
  startTestServer,
  TEST_PASSWORD_HASH_COST,
  type TestServer,
} from './helpers/server.js'

/** One n-cast packet as read byte by byte: the 4-byte header, then length-prefixed name/value fields. */
interface Packet {
  size: number
  version: number
  eventId: number
  type: number
  reserved: number
  fields: [string, string][]
}

function parsePacket(buffer: Buffer): Packet {
  let offset = 4
  const fields: [string, string][] = []
  const take = () => {
    const length = buffer.readUInt16BE(offset)
    const text = buffer.subarray(offset + 2, offset + 2 + length)
    if (text.length !== length) throw new Error(`field cut short at ${offset}`)
    offset += 2 + length
    return text.toString('utf8')
  }
  while (offset < buffer.length) fields.push([take(), take()])
  return {
    size: buffer.length,
    version: buffer[0]!,
    eventId: buffer[1]!,
    type: buffer[2]!,
    reserved: buffer[3]!,
    fields,
  }
}

/** A v8-style client: a UDP socket on loopback that keeps every packet it receives. */
async function listen() {
  const socket = dgram.createSocket('udp4')
  const packets: Packet[] = []
  const waiters = new Set<() => void>()
  socket.on('message', (message) => {
    packets.push(parsePacket(message))
    for (const wake of waiters) wake()
  })
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  return {
    port: socket.address().port,
    packets,
    /** the first packet (after those already taken) about this object id */
    async next(id: number, timeoutMs = 10_000): Promise<Packet> {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const index = packets.findIndex((p) => p.fields.some(([n, v]) => n === 'ID' && v === String(id)))
        if (index >= 0) return packets.splice(index, 1)[0]!
        if (Date.now() > deadline) throw new Error(`no packet for ${id}; got ${JSON.stringify(packets)}`)
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake)
            resolve()
          }
          waiters.add(wake)
          setTimeout(wake, 200)
        })
      }
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  }
}

const md5Tag = (ticket: string) => createHash('md5').update(ticket).digest('hex').slice(0, 12)
const names = (packet: Packet) => packet.fields.map(([name]) => name)
const value = (packet: Packet, name: string) => packet.fields.find(([n]) => n === name)?.[1]

let listener: Awaited<ReturnType<typeof listen>>
let server: TestServer
let f: Fixture

async function item(name: string, extra: { contentType?: string } = {}) {
  return (
    await server.ctx.admin.createItem(f.tenantId, {
      kind: 'file',
      name,
      type: 'Article',
      brandId: f.brandId,
      content: Buffer.from(name),
      ...extra,
    })
  ).item.id
}

beforeAll(async () => {
  listener = await listen()
  server = await startTestServer({ NCAST_TARGETS: `127.0.0.1:${listener.port}` })
  f = await createFixture(server.ctx, 'nc', 'enterprise')
})

afterAll(async () => {
  await server?.close()
  await listener?.close()
})

describe('n-cast packets', () => {
  it('packs the header and length-prefixed UTF-8 fields, and leaves out whole fields that would not fit', () => {
    const packet = ncastPacket(4, { ID: '7', Name: 'Zürich' })
    const u16 = (n: number) => [n >> 8, n & 0xff]
    expect([...packet]).toEqual([
      ...[1, 4, 1, 0],
      ...[...u16(2), ...Buffer.from('ID'), ...u16(1), ...Buffer.from('7')],
      // the value's length counts bytes: 'Zürich' is 6 characters, 7 bytes
      ...[...u16(4), ...Buffer.from('Name'), ...u16(7), ...Buffer.from('Zürich')],
    ])
    // 4 + (4+2+1) = 11 bytes so far; a 20-byte budget has no room for Name (4+4+7), but for the short field after it
    const cut = parsePacket(ncastPacket(4, { ID: '7', Name: 'Zürich', X: 'y' }, 20))
    expect(cut.fields).toEqual([
      ['ID', '7'],
      ['X', 'y'],
    ])
    expect(cut.size).toBe(17)
  })

  it('DeleteObjects, RestoreObjects and a purge through the Enterprise door reach a UDP listener as #4 / #23', async () => {
    const id = await item('ncast article', { contentType: 'application/incopyicml' })
    const ticket = await logOn(server, f.users.purger!)
    await postEnterprise(server, deleteObjects(ticket, { ids: [id], permanent: false, areas: ['Workflow'] }))
    const trashed = await listener.next(id)
    expect([trashed.version, trashed.eventId, trashed.type, trashed.reserved]).toEqual([1, 4, 1, 0])
    expect(names(trashed)).toEqual([
      'Ticket',
      'ID',
      'Name',
      'Type',
      'PublicationId',
      'SectionId',
      'StateId',
      'RouteTo',
      'LockedBy',
      'Deleter',
      'Deleted',
      'Version',
      'Format',
      'IssueIds',
      'EditionIds',
      'UserId',
      'Permanent',
    ])
    const deleted = value(trashed, 'Deleted')!
    expect(deleted).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/)
    expect(Object.fromEntries(trashed.fields)).toEqual({
      Ticket: md5Tag(ticket),
      ID: String(id),
      Name: 'ncast article',
      Type: 'Article',
      PublicationId: String(f.brandId),
      SectionId: '',
      StateId: '',
      RouteTo: '',
      LockedBy: '',
      Deleter: f.users.purger!.login,
      Deleted: deleted,
      Version: '0.1',
      Format: 'application/incopyicml',
      IssueIds: '',
      EditionIds: '',
      UserId: 'nc purger',
      Permanent: 'false',
    })

    await postEnterprise(
      server,
      envelope(`<ns1:RestoreObjects><Ticket>${ticket}</Ticket>${ids([id])}</ns1:RestoreObjects>`),
    )
    const restored = await listener.next(id)
    expect([restored.version, restored.eventId, restored.type, restored.reserved]).toEqual([1, 23, 1, 0])
    expect(names(restored)).toEqual([
      'Ticket',
      'ID',
      'Name',
      'Type',
      'PublicationId',
      'SectionId',
      'StateId',
      'RouteTo',
      'LockedBy',
      'Modified',
      'Modifier',
      'Deleter',
      'Deleted',
      'Version',
      'Format',
      'IssueIds',
      'EditionIds',
      'UserId',
    ])
    expect(value(restored, 'Modifier')).toBe(f.users.purger!.login)
    expect(value(restored, 'Modified')).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/)
    expect(value(restored, 'Deleter')).toBe(f.users.purger!.login)
    expect(value(restored, 'Ticket')).toBe(md5Tag(ticket))

    // into the Trash, then purged from it: two #4, the second permanent
    await postEnterprise(server, deleteObjects(ticket, { ids: [id], permanent: false, areas: ['Workflow'] }))
    expect(value(await listener.next(id), 'Permanent')).toBe('false')
    await postEnterprise(server, deleteObjects(ticket, { ids: [id], permanent: true, areas: ['Trash'] }))
    const purged = await listener.next(id)
    expect(purged.eventId).toBe(4)
    expect(value(purged, 'Permanent')).toBe('true')
    expect(value(purged, 'Ticket')).toBe(md5Tag(ticket))
    expect(value(purged, 'Deleter')).toBe(f.users.purger!.login)
    const left = await server.database.db.query('select count(*)::int as n from items where id = $1', [id])
    expect(left.rows[0].n).toBe(0)
  })

  it('changes made through srv.asmx, IPS and REST reach the same listener', async () => {
    const viaAsmx = await item('via asmx')
    const viaIps = await item('via ips')
    const viaRest = await item('via rest')

    const ticket = await asmxTicket(server.baseUrl, f.users.editor!)
    await asmx(server.baseUrl, 'GET', 'DeleteDocument', {
      authenticationTicket: ticket,
      Path: `~D${viaAsmx}`,
    })
    const fromAsmx = await listener.next(viaAsmx)
    expect(fromAsmx.eventId).toBe(4)
    expect(value(fromAsmx, 'Ticket')).toBe(md5Tag(ticket))
    expect(value(fromAsmx, 'Permanent')).toBe('false')

    const ipsBody = `<deleteAssetsParam xmlns="${ns('2014-04-03')}"><companyHandle>c|${f.tenantId}</companyHandle><assetHandleArray><items>a|${viaIps}</items></assetHandleArray></deleteAssetsParam>`
    const reply = await post(
      server.baseUrl,
      '/scene7/services/IpsApiService',
      soap11(ipsBody, authHeader(f.users.editor!)),
    )
    expect(reply.status, reply.text).toBe(200)
    const fromIps = await listener.next(viaIps)
    expect(fromIps.eventId).toBe(4)
    // IPS signs every request with user and password: there is no session to name
    expect(names(fromIps)).not.toContain('Ticket')
    expect(value(fromIps, 'Deleter')).toBe(f.users.editor!.login)

    const response = await fetch(`${server.baseUrl}/api/v1/items/${viaRest}/trash`, {
      method: 'POST',
      headers: { authorization: basicAuth(f.users.editor!), 'content-type': 'application/json' },
      body: '{}',
    })
    expect(response.status, await response.text()).toBe(200)
    const fromRest = await listener.next(viaRest)
    expect([fromRest.eventId, value(fromRest, 'Name'), value(fromRest, 'Permanent')]).toEqual([
      4,
      'via rest',
      'false',
    ])
  })

  it('a packet never exceeds 1,024 bytes: a name too long for it is left out whole', async () => {
    // 255 characters (the longest name) of 4 bytes each: 1,020 bytes, which with the other fields cannot fit
    const long = '\u{1F5D1}'.repeat(255)
    const id = await item(long)
    await server.ctx.trash.trash(f.users.editor!.actor, [id])
    const packet = await listener.next(id)
    expect(packet.size).toBeLessThanOrEqual(NCAST_MAX_BYTES)
    expect(names(packet)).not.toContain('Name')
    // the fields after the one left out still come
    expect(names(packet)).toEqual(expect.arrayContaining(['ID', 'Type', 'Deleter', 'UserId', 'Permanent']))
    expect(value(packet, 'Permanent')).toBe('false')
  })

  it('an instance that closes right after its change still sends it (a CLI purge that exits)', async () => {
    const shortLived = await listen()
    const instance = await startTestServer({ NCAST_TARGETS: `127.0.0.1:${shortLived.port}` })
    try {
      const fixture = await createFixture(instance.ctx, 'ncq')
      const id = (
        await instance.ctx.admin.createItem(fixture.tenantId, {
          kind: 'file',
          name: 'last words',
          brandId: fixture.brandId,
        })
      ).item.id
      await instance.ctx.trash.trash(fixture.users.purger!.actor, [id])
      await instance.ctx.trash.purge(fixture.users.purger!.actor, [id])
      await instance.close()
      expect(value(await shortLived.next(id, 5000), 'Permanent')).toBe('false')
      expect(value(await shortLived.next(id, 5000), 'Permanent')).toBe('true')
    } finally {
      await shortLived.close()
    }
  })

  it('LogOn tells clients where live updates arrive (ServerInfo features Broadcasting and EventPort)', async () => {
    const reply = await postEnterprise(
      server,
      envelope(
        `<ns1:LogOn><User>${f.users.editor!.login}</User><Password>${f.users.editor!.password}</Password><Ticket/>` +
          '<Server>Enterprise Server</Server><ClientName>test</ClientName><Domain/><ClientAppName>InDesign</ClientAppName>' +
          '<ClientAppVersion>v8.0 build 1</ClientAppVersion><ClientAppSerial/><ClientAppProductKey/>' +
          '<RequestInfo><String>ServerInfo</String></RequestInfo></ns1:LogOn>',
      ),
    )
    expect(reply.text).toContain(
      '<FeatureSet><Feature><Key>Broadcasting</Key><Value xsi:nil="true"/></Feature>' +
        `<Feature><Key>EventPort</Key><Value>${listener.port}</Value></Feature></FeatureSet>`,
    )
  })
})

describe(
  'n-cast across server instances (PostgreSQL)',
  needs(POSTGRES, 'two server instances on one database'),
  () => {
    let second: { app: FastifyInstance; ctx: AppContext; listener: Awaited<ReturnType<typeof listen>> }

    beforeAll(async () => {
      const secondListener = await listen()
      const config = loadConfig({
        DATA_DIR: server.dataDir,
        ADMIN_TOKEN,
        LOG_LEVEL: 'silent',
        CLEANUP_SCHEDULE: 'off',
        PASSWORD_HASH_COST: TEST_PASSWORD_HASH_COST,
        NCAST_TARGETS: `127.0.0.1:${secondListener.port}`,
      })
      const ctx = await createContext(config, {
        db: connectPostgres(server.database.url, { max: 4 }),
        migrate: false,
        logger: pino({ level: 'silent' }),
      })
      second = { app: await buildApp(ctx), ctx, listener: secondListener }
    })

    afterAll(async () => {
      await second?.app.close()
      await second?.ctx.close()
      await second?.listener.close()
    })

    it('each change is sent once, by the instance that made it', async () => {
      const first = await item('made by the first')
      const other = await item('made by the second')
      await server.ctx.trash.trash(f.users.editor!.actor, [first])
      await second.ctx.trash.trash(f.users.editor!.actor, [other])
      expect(value(await listener.next(first), 'Name')).toBe('made by the first')
      expect(value(await second.listener.next(other), 'Name')).toBe('made by the second')
      // both instances hear both notifications; give the other one time to (wrongly) send as well
      await new Promise((resolve) => setTimeout(resolve, 1500))
      expect(listener.packets.filter((p) => value(p, 'ID') === String(other))).toEqual([])
      expect(second.listener.packets.filter((p) => value(p, 'ID') === String(first))).toEqual([])
    })
  },
)
