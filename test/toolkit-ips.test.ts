import { copyFile, readdir } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { needs } from './helpers/requirements.js'
import { startTestServer, type TestServer } from './helpers/server.js'
import {
  AXIS,
  CLIENTS_DIR,
  printedValues,
  SUDS,
  sh,
  toolkitAvailable,
  withScratch,
} from './helpers/toolkits.js'

/** Generating and compiling proxies takes a while on a loaded machine: each flow may take up to 3 minutes. */
const SLOW = { timeout: 180_000 }

/**
 * IPS clients built with toolkits nobody here wrote, from the WSDL as served: Axis 1.4 WSDL2Java (which refuses
 * a SOAP 1.2 binding with soap12:fault) and python suds. Both sign in with the user's e-mail address, look up
 * the company by name and run delete → search InTrash → restore.
 */

const axis = toolkitAvailable(AXIS)
const suds = toolkitAvailable(SUDS)

let server: TestServer
let tenantId: number
const user = { email: 'maria@example.com', password: 'maria-password' }
let assetIds: number[] = []

beforeAll(async () => {
  if (!axis.met && !suds.met) return
  server = await startTestServer()
  tenantId = await server.ctx.admin.createTenant('Toolkit Works')
  const owner = await server.ctx.admin.createUser(tenantId, { login: 'maria', ...user })
  const folder = (
    await server.ctx.admin.createItem(tenantId, { kind: 'folder', name: 'Photos', ownerId: owner })
  ).item
  assetIds = []
  for (const name of ['axis.jpg', 'suds.jpg']) {
    const created = await server.ctx.admin.createItem(tenantId, {
      kind: 'file',
      name,
      type: 'Image',
      parentId: folder.id,
      ownerId: owner,
      content: Buffer.from(name),
    })
    assetIds.push(created.item.id)
  }
})

afterAll(async () => {
  await server?.close()
})

const state = async (id: number) =>
  (await server.ctx.db.query('select state from items where tenant_id = $1 and id = $2', [tenantId, id]))
    .rows[0]?.state

const JARS = [
  'axis',
  'axis-jaxrpc',
  'axis-saaj',
  'commons-discovery',
  'commons-logging',
  'wsdl4j',
  'javax.activation',
]
  .map((jar) => `/usr/share/java/${jar}.jar`)
  .join(':')

async function javaSources(dir: string): Promise<string[]> {
  const found: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.java')) found.push(path.join(entry.parentPath, entry.name))
  }
  return found
}

describe('Axis 1.4 WSDL2Java', needs(axis), () => {
  it('generates, compiles and runs a client from the served IPS WSDL', SLOW, async () => {
    const asset = `a|${assetIds[0]}`
    const printed = await withScratch(async (dir) => {
      // WSDL2Java reads the WSDL from its URL, as served
      await sh('java', [
        '-cp',
        JARS,
        'org.apache.axis.wsdl.WSDL2Java',
        '-o',
        path.join(dir, 'src'),
        `${server.baseUrl}/scene7/webservice/IpsApi-2014-04-03.wsdl`,
      ])
      await copyFile(
        path.join(CLIENTS_DIR, 'IpsAxisClient.java'),
        path.join(dir, 'src', 'IpsAxisClient.java'),
      )
      await sh('javac', [
        '-nowarn',
        '-d',
        path.join(dir, 'classes'),
        '-cp',
        JARS,
        ...(await javaSources(dir)),
      ])
      return printedValues(
        await sh('java', [
          '-cp',
          `${JARS}:${path.join(dir, 'classes')}`,
          'IpsAxisClient',
          `${server.baseUrl}/scene7/services/IpsApiService`,
          user.email,
          user.password,
          'Toolkit Works',
          asset,
        ]),
      )
    })
    expect(printed).toEqual({
      company: `c|${tenantId}|Toolkit Works|ToolkitWorks/`,
      membership: `c|${tenantId}|IpsUser|true`,
      deleteAssets: '1',
      'inTrash.total': '1',
      inTrash: `${asset}|axis.jpg|InTrash|ToolkitWorks/Photos/`,
      restore: '1|1|30001',
      after: 'NotInTrash',
      fault: 'authorizationFault|20006',
    })
    expect(await state(assetIds[0]!)).toBe('active')
  })
})

describe('python suds', needs(suds), () => {
  it('loads the served IPS WSDL and runs the flow with the authHeader SOAP header', SLOW, async () => {
    const asset = `a|${assetIds[1]}`
    const printed = printedValues(
      await sh('/usr/bin/python3', [
        path.join(CLIENTS_DIR, 'ips_suds_client.py'),
        `${server.baseUrl}/scene7/webservice/IpsApi-2014-04-03.wsdl`,
        user.email,
        user.password,
        'Toolkit Works',
        asset,
      ]),
    )
    expect(printed).toEqual({
      company: `c|${tenantId}|Toolkit Works|ToolkitWorks/`,
      membership: `c|${tenantId}|IpsUser`,
      deleteAssets: '1',
      inTrash: `${asset}|suds.jpg|InTrash`,
      restore: '1|0',
    })
    expect(await state(assetIds[1]!)).toBe('active')
  })
})
