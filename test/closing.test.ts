import http from 'node:http'
import { once } from 'node:events'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { logOn } from './helpers/enterprise.js'
import { createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

/**
 * Closing the server (SIGTERM, or a test's end) while a keep-alive client is still being answered: its
 * connection ends with the answer, rather than staying open for the keep-alive timeout (72 s) and holding the
 * close open that long.
 */
let server: TestServer
let f: Fixture

beforeAll(async () => {
  server = await startTestServer()
  f = await createFixture(server.ctx, 'cl')
})

afterAll(async () => {
  await server?.close()
})

/** How long a wait may take before it counts as the keep-alive timeout's, far below its 72 s. */
const PROMPT_MS = 15_000

function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} still pending after ${PROMPT_MS} ms`)), PROMPT_MS)
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

describe('closing the server', () => {
  it('ends a keep-alive connection whose download was under way when the close began', async () => {
    const ticket = await logOn(server, f.users.admin!)
    const content = Buffer.alloc(8 * 1024 * 1024, 'a')
    const created = await server.ctx.admin.createItem(f.tenantId, {
      kind: 'file',
      name: 'large.bin',
      ownerId: f.users.admin!.id,
      content,
      contentType: 'application/octet-stream',
    })
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const request = http.get(
        `${server.baseUrl}/Enterprise/fileindex.php?objectid=${created.item.id}&rendition=native&ticket=${ticket}`,
        { agent },
      )
      const [response] = (await once(request, 'response')) as [http.IncomingMessage]
      expect(response.statusCode).toBe(200)
      expect(response.headers.connection).toBe('keep-alive')
      const socketClosed = once(request.socket!, 'close')
      // headers received, the body not yet read: the answer is still being written when the close begins
      const closed = server.app.close()
      let received = 0
      for await (const chunk of response) received += (chunk as Buffer).length
      expect(received).toBe(content.length)
      await within(socketClosed, 'the client connection')
      await within(closed, 'the server close')
    } finally {
      agent.destroy()
    }
  })
})
