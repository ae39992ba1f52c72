import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { promisify } from 'node:util'
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { messageBody } from '../src/messaging/amqp.js'
import { asmx } from './helpers/asmx.js'
import { envelope, postEnterprise } from './helpers/enterprise.js'
import { authHeader, ns, post, soap11 } from './helpers/ips.js'
import { needs, RABBITMQ } from './helpers/requirements.js'
import { createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

/**
 * Enterprise 10 live updates against the RabbitMQ that runs on this machine (127.0.0.1:5672, guest/guest; CI
 * starts it). Without a broker the tests are skipped with the reason printed at the end, except under CI=true,
 * where they run and fail.
 */

const BROKER = 'amqp://guest:guest@127.0.0.1:5672/%2f'

const run = promisify(execFile)
const md5Tag = (ticket: string) => createHash('md5').update(ticket).digest('hex').slice(0, 12)

interface Received {
  exchange: string
  body: { EventHeaders: Record<string, unknown>; EventData: Record<string, string> }
  properties: ConsumeMessage['properties']
}

describe('RabbitMQ (AMQP 0-9-1)', needs(RABBITMQ), () => {
  let server: TestServer
  let f: Fixture
  let consumer: ChannelModel
  let channel: Channel
  const received: Received[] = []

  async function next(id: number, timeoutMs = 10_000): Promise<Received> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const index = received.findIndex((m) => m.body.EventData.ID === String(id))
      if (index >= 0) return received.splice(index, 1)[0]!
      if (Date.now() > deadline) throw new Error(`no message for ${id}; got ${JSON.stringify(received)}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  async function until(condition: () => boolean, what: string, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  async function item(name: string) {
    return (
      await server.ctx.admin.createItem(f.tenantId, {
        kind: 'file',
        name,
        type: 'Article',
        brandId: f.brandId,
        content: Buffer.from(name),
      })
    ).item.id
  }

  async function asmxTicket() {
    const auth = await asmx(server.baseUrl, 'GET', 'AuthenticateUser', {
      UID: f.users.editor!.login,
      PWD: f.users.editor!.password,
    })
    return auth.response.attrs.ticket!
  }

  beforeAll(async () => {
    server = await startTestServer({ MESSAGE_QUEUE_URL: BROKER })
    f = await createFixture(server.ctx, 'mq', 'enterprise')
    // an Enterprise 10 client: its own queue, bound to the brand's exchange
    consumer = await amqp.connect(BROKER)
    channel = await consumer.createChannel()
    const exchange = `object.p${f.brandId}.events`
    await channel.assertExchange(exchange, 'fanout', { durable: true })
    const { queue } = await channel.assertQueue('', { exclusive: true })
    await channel.bindQueue(queue, exchange, '')
    await channel.consume(
      queue,
      (message) => {
        if (!message) return
        received.push({
          exchange: message.fields.exchange,
          body: JSON.parse(message.content.toString('utf8')),
          properties: message.properties,
        })
      },
      { noAck: true },
    )
    await until(() => server.ctx.messageQueue?.connected === true, 'the server to connect')
  })

  afterAll(async () => {
    await consumer?.close().catch(() => {})
    await server?.close()
  })

  it('a delete through srv.asmx and a restore through IPS reach a queue bound to object.p<brand>.events', async () => {
    const id = await item('mq article')
    const ticket = await asmxTicket()
    await asmx(server.baseUrl, 'GET', 'DeleteDocument', { authenticationTicket: ticket, Path: `~D${id}` })
    const trashed = await next(id)
    expect(trashed.exchange).toBe(`object.p${f.brandId}.events`)
    expect(trashed.properties.contentType).toBe('application/json')
    expect(trashed.properties.deliveryMode).toBe(2)
    expect(trashed.properties.expiration).toBe('3000')
    expect(trashed.body.EventHeaders).toEqual({ EventVersion: 1, EventId: 4 })
    expect(trashed.body.EventData).toMatchObject({
      Ticket: md5Tag(ticket),
      ID: String(id),
      Name: 'mq article',
      PublicationId: String(f.brandId),
      Deleter: f.users.editor!.login,
      Permanent: 'false',
    })

    const restore = `<restoreAssetsFromTrashParam xmlns="${ns('2014-04-03')}"><companyHandle>c|${f.tenantId}</companyHandle><assetHandleArray><items>a|${id}</items></assetHandleArray></restoreAssetsFromTrashParam>`
    const reply = await post(
      server.baseUrl,
      '/scene7/services/IpsApiService',
      soap11(restore, authHeader(f.users.editor!)),
    )
    expect(reply.status, reply.text).toBe(200)
    const restored = await next(id)
    expect(restored.body.EventHeaders).toEqual({ EventVersion: 1, EventId: 23 })
    expect(restored.body.EventData).toMatchObject({ ID: String(id), Modifier: f.users.editor!.login })
    expect(restored.body.EventData).not.toHaveProperty('Permanent')
    // the body is exactly the JSON the module builds (the one event source: the same data as SSE and n-cast)
    expect(Object.keys(restored.body.EventData)).toEqual([
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
  })

  it('a broker that drops the connection fails no delete, and publishing resumes once reconnected', async () => {
    const publisher = server.ctx.messageQueue!
    const before = publisher.counts.connections
    const listed = await run('rabbitmqctl', [
      '-q',
      'list_connections',
      '--no-table-headers',
      'pid',
      'client_properties',
    ])
    const ours = listed.stdout
      .split('\n')
      .filter((line) => line.includes(server.database.db.origin))
      .map((line) => line.split('\t')[0]!)
    expect(ours).toHaveLength(1)
    await run('rabbitmqctl', ['-q', 'close_connection', ours[0]!, 'trashd test: connection dropped'])
    await until(() => !publisher.connected, 'the server to notice')

    // while the broker connection is down a delete goes through as ever
    const during = await item('while away')
    const ticket = await asmxTicket()
    const answer = await asmx(server.baseUrl, 'GET', 'DeleteDocument', {
      authenticationTicket: ticket,
      Path: `~D${during}`,
    })
    expect(answer.status).toBe(200)
    const state = await server.database.db.query('select state from items where id = $1', [during])
    expect(state.rows[0].state).toBe('trashed')

    await until(() => publisher.connected && publisher.counts.connections > before, 'the reconnect')
    const after = await item('after the reconnect')
    await asmx(server.baseUrl, 'GET', 'DeleteDocument', { authenticationTicket: ticket, Path: `~D${after}` })
    expect((await next(after)).body.EventData.Name).toBe('after the reconnect')
  })

  it("LogOn hands an Enterprise 10 client its queue, bound to the brands it may view and no others'", async () => {
    const other = await createFixture(server.ctx, 'mq2')
    const logOnWith = async (user: { login: string; password: string }) =>
      postEnterprise(
        server,
        envelope(
          `<ns1:LogOn><User>${user.login}</User><Password>${user.password}</Password><Ticket/><Server>Enterprise Server</Server>` +
            '<ClientName>test</ClientName><Domain/><ClientAppName>Content Station</ClientAppName>' +
            '<ClientAppVersion>v10.0 build 1</ClientAppVersion><ClientAppSerial/><ClientAppProductKey/>' +
            '<RequestInfo><String>MessageQueueConnections</String></RequestInfo></ns1:LogOn>',
        ),
      )
    const reply = await logOnWith(f.users.viewer!)
    const ticket = /<Ticket>([0-9a-f]{40})<\/Ticket>/.exec(reply.text)![1]!
    const queue = `user.${f.users.viewer!.id}.ticket.${md5Tag(ticket)}`
    expect(reply.text).toContain(
      '<FeatureProfiles xsi:nil="true"/><MessageQueueConnections><MessageQueueConnection><Instance>RabbitMQ</Instance>' +
        '<Protocol>AMQP</Protocol><Url>amqp://127.0.0.1:5672</Url><Public>true</Public><User>guest</User>' +
        '<Password xsi:nil="true"/><VirtualHost>/</VirtualHost></MessageQueueConnection></MessageQueueConnections>' +
        `<MessageQueue>${queue}</MessageQueue></ns1:LogOnResponse>`,
    )
    // the broker password is never handed out
    expect(reply.text).not.toContain('guest:guest')

    const inQueue: Received[] = []
    const { consumerTag } = await channel.consume(
      queue,
      (message) => {
        if (message)
          inQueue.push({
            exchange: message.fields.exchange,
            body: JSON.parse(message.content.toString('utf8')),
            properties: message.properties,
          })
      },
      { noAck: true },
    )
    try {
      const foreign = (
        await server.ctx.admin.createItem(other.tenantId, {
          kind: 'file',
          name: 'another tenant',
          brandId: other.brandId,
        })
      ).item.id
      await server.ctx.trash.trash(other.users.editor!.actor, [foreign])
      const mine = await item('for the viewer')
      await server.ctx.trash.trash(f.users.editor!.actor, [mine])
      await until(() => inQueue.length > 0, 'the message in the client queue')
      // the foreign delete was published first: by now it would be in the queue if it were bound
      await next(mine)
      expect(inQueue.map((m) => m.body.EventData.ID)).toEqual([String(mine)])
    } finally {
      await channel.cancel(consumerTag)
    }

    // an outsider (no brand it may view) gets a queue bound to the system exchange alone
    const outsider = await logOnWith(f.users.outsider!)
    const outsiderQueue = /<MessageQueue>([^<]+)<\/MessageQueue>/.exec(outsider.text)![1]!
    const hidden = await item('not for the outsider')
    await server.ctx.trash.trash(f.users.editor!.actor, [hidden])
    await next(hidden)
    expect(await channel.checkQueue(outsiderQueue)).toMatchObject({ messageCount: 0 })
    // the broker is shared: leave no queues behind (the server's expire once unused for a session's lifetime)
    await channel.deleteQueue(queue)
    await channel.deleteQueue(outsiderQueue)
  })

  it('builds the body Enterprise publishes', () => {
    const body = messageBody({
      id: 1,
      tenantId: 1,
      type: 'DeleteObject',
      eventId: 4,
      at: new Date(0),
      data: { ID: '5', Permanent: 'true' },
      subject: { tenantId: 1, actorId: null, brandId: 2, ownerId: null, deletedBy: null },
    })
    expect(body.toString()).toBe(
      '{"EventHeaders":{"EventVersion":1,"EventId":4},"EventData":{"ID":"5","Permanent":"true"}}',
    )
  })
})
