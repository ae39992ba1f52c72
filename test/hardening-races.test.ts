import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asmx, asmxTicket } from './helpers/asmx.js'
import { deleteObjects, envelope, handledIds, logOn, postEnterprise, reports } from './helpers/enterprise.js'
import { authHeader, bodyOf, ns, post, soap11 } from './helpers/ips.js'
import { basicAuth, createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

/**
 * Eight clients, fifty requests each, trash, restore, empty and purge the same thirty items through all four
 * doors at once. Every reply is a normal answer whose counts add up (no deadlock or serialization error
 * reaches a client), each item ends in exactly one state, and its audit rows tell one consistent story.
 */

const CLIENTS = 8
const REQUESTS_PER_CLIENT = 50
const ITEMS = 30
const IPS_NS = ns('2012-02-14')

let server: TestServer
let f: Fixture
const itemIds: number[] = []
const tickets: Record<'admin' | 'purger', { asmx: string; enterprise: string }> = {
  admin: { asmx: '', enterprise: '' },
  purger: { asmx: '', enterprise: '' },
}

beforeAll(async () => {
  server = await startTestServer()
  f = await createFixture(server.ctx, 'rc')
  for (let n = 0; n < ITEMS; n++) {
    const { item } = await server.ctx.admin.createItem(f.tenantId, {
      kind: 'file',
      name: `race-${n}.txt`,
      brandId: f.brandId,
    })
    itemIds.push(item.id)
  }
  await server.ctx.trash.trash(f.users.admin!.actor, itemIds.slice(0, ITEMS / 2))
  for (const role of ['admin', 'purger'] as const) {
    const user = f.users[role]!
    tickets[role] = { asmx: await asmxTicket(server.baseUrl, user), enterprise: await logOn(server, user) }
  }
})

afterAll(async () => {
  await server?.close()
})

/** A small deterministic generator, so a failing interleaving's requests can be replayed. */
function random(seed: number) {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type Operation = 'trash' | 'restore' | 'empty' | 'purge'
type DoorName = 'ips' | 'asmx' | 'enterprise' | 'rest'

/** One request; throws when the reply is not a normal answer or its counts do not add up. */
async function perform(
  door: DoorName,
  op: Operation,
  ids: number[],
  role: 'admin' | 'purger',
): Promise<void> {
  const user = f.users[role]!
  const label = `${door} ${op} ${ids.join(',')} as ${role}`
  if (door === 'ips') {
    const name = {
      trash: 'deleteAssets',
      restore: 'restoreAssetsFromTrash',
      empty: 'emptyAssetsFromTrash',
      purge: 'emptyAssetsFromTrash',
    }[op]
    const reply = await post(
      server.baseUrl,
      '/scene7/services/IpsApiService',
      soap11(
        `<${name}Param xmlns="${IPS_NS}"><companyHandle>c|${f.tenantId}</companyHandle><assetHandleArray>${ids
          .map((id) => `<items>a|${id}</items>`)
          .join('')}</assetHandleArray></${name}Param>`,
        authHeader(user),
      ),
    )
    expect(reply.status, `${label}: ${reply.text}`).toBe(200)
    const result = bodyOf(reply.root)
    const count = (n: string) => Number(result.children.find((c) => c.name === n)!.text)
    expect(
      count('successCount') + count('warningCount') + count('errorCount'),
      `${label}: ${reply.text}`,
    ).toBe(ids.length)
    return
  }
  if (door === 'asmx') {
    const ticket = tickets[role].asmx
    for (const id of ids) {
      const answer =
        op === 'trash'
          ? await asmx(server.baseUrl, 'POST', 'DeleteDocument', {
              authenticationTicket: ticket,
              Path: `~D${id}`,
            })
          : op === 'restore'
            ? await asmx(server.baseUrl, 'SOAP11', 'RestoreRecycleBinItem', {
                AuthenticationTicket: ticket,
                ItemHandler: `D${id}`,
                RestorePath: '',
              })
            : op === 'purge'
              ? await asmx(server.baseUrl, 'GET', 'PurgeRecycleBinItem', {
                  AuthenticationTicket: ticket,
                  ItemHandler: `D${id}`,
                })
              : await asmx(server.baseUrl, 'SOAP12', 'EmptyRecycleBin', { AuthenticationTicket: ticket })
      expect(['true', 'false'], `${label}: ${answer.text}`).toContain(answer.success)
      expect(answer.error ?? '', `${label}: ${answer.text}`).not.toMatch(/SystemError|unexpected/i)
      if (op === 'empty') break
    }
    return
  }
  if (door === 'enterprise') {
    const ticket = tickets[role].enterprise
    const request =
      op === 'restore'
        ? envelope(
            `<ns1:RestoreObjects><Ticket>${ticket}</Ticket><IDs>${ids.map((id) => `<String>${id}</String>`).join('')}</IDs></ns1:RestoreObjects>`,
          )
        : deleteObjects(ticket, {
            ids,
            permanent: op !== 'trash',
            areas: [op === 'trash' ? 'Workflow' : 'Trash'],
          })
    const reply = await postEnterprise(server, request)
    expect(reply.status).toBe(200)
    expect(reply.text, label).not.toContain('<SOAP-ENV:Fault>')
    const operation = op === 'restore' ? 'RestoreObjects' : 'DeleteObjects'
    const handled = handledIds(reply.text, operation)
    const reported = reports(reply.text, operation).map((r) => r.id)
    // every object is handled or reported, never both; a delete leaves none out, while a restore silently
    // skips objects that are not in the Trash Can (as Enterprise's BizDeletedObject::restoreObjects does)
    const answered = [...handled, ...reported]
    expect(new Set(answered).size, `${label}: ${reply.text}`).toBe(answered.length)
    for (const id of answered) expect(ids.map(String), `${label}: ${reply.text}`).toContain(id)
    if (op !== 'restore') expect(answered.sort(), `${label}: ${reply.text}`).toEqual(ids.map(String).sort())
    return
  }
  const url = {
    trash: '/api/v1/items/trash',
    restore: '/api/v1/trash/restore',
    purge: '/api/v1/trash/purge',
    empty: '/api/v1/bin/empty',
  }[op]
  const response = await fetch(`${server.baseUrl}${url}`, {
    method: 'POST',
    headers: { authorization: basicAuth(user), 'content-type': 'application/json' },
    body: op === 'empty' ? '{}' : JSON.stringify({ ids }),
  })
  const text = await response.text()
  expect(response.status, `${label}: ${text}`).toBe(200)
  const batch = JSON.parse(text)
  if (op === 'empty') {
    // emptying one's own bin answers how many were purged and which failed
    expect(batch.errorCount, `${label}: ${text}`).toBe(batch.failed.length)
    return
  }
  expect(batch.successCount + batch.warningCount + batch.errorCount, `${label}: ${text}`).toBe(
    batch.results.length,
  )
  expect(batch.results.length, `${label}: ${text}`).toBe(ids.length)
  for (const result of batch.results)
    expect(result.code ?? '', `${label}: ${text}`).not.toMatch(/STORAGE|INTERNAL/)
}

const TERMINAL = new Set(['purge', 'empty_bin', 'expire'])

describe('races: trash, restore, empty and purge of the same items through every door at once', () => {
  it(`${CLIENTS} clients x ${REQUESTS_PER_CLIENT} requests: normal replies, one state per item, one story per item`, async () => {
    const failures: string[] = []
    const clients = Array.from({ length: CLIENTS }, async (_, client) => {
      const next = random(7919 * (client + 1))
      const role = client % 2 === 0 ? 'admin' : 'purger'
      for (let n = 0; n < REQUESTS_PER_CLIENT; n++) {
        const door = (['ips', 'asmx', 'enterprise', 'rest'] as const)[(client + n) % 4]!
        const roll = next()
        // emptying whole bins is rare, or every item would be gone after the first few requests
        const op: Operation = roll < 0.4 ? 'trash' : roll < 0.8 ? 'restore' : roll < 0.97 ? 'purge' : 'empty'
        const count = 1 + Math.floor(next() * 3)
        const ids = [...new Set(Array.from({ length: count }, () => itemIds[Math.floor(next() * ITEMS)]!))]
        try {
          await perform(door, op, ids, role)
        } catch (error) {
          failures.push((error as Error).message.slice(0, 600))
        }
      }
    })
    await Promise.all(clients)
    expect(failures).toEqual([])

    const rows = await server.database.db.query<{ id: string; state: string }>(
      'select id, state from items where tenant_id = $1 and id = any($2)',
      [f.tenantId, itemIds],
    )
    const stateOf = new Map(rows.rows.map((row) => [Number(row.id), row.state]))
    const audit = await server.database.db.query<{ item_id: string; action: string }>(
      'select item_id, action from audit where tenant_id = $1 and item_id = any($2) order by id',
      [f.tenantId, itemIds],
    )
    const storyOf = new Map<number, string[]>()
    for (const row of audit.rows) {
      const id = Number(row.item_id)
      storyOf.set(id, [...(storyOf.get(id) ?? []), row.action])
    }
    let purged = 0
    for (const id of itemIds) {
      const story = storyOf.get(id) ?? []
      let state = 'active'
      for (const [step, action] of story.entries()) {
        const where = `item ${id}: ${story.join(' > ')} (step ${step + 1})`
        if (action === 'trash') expect(state, where).toBe('active')
        else if (action === 'restore') expect(['trashed', 'emptied'], where).toContain(state)
        else if (action === 'empty') expect(state, where).toBe('trashed')
        else if (TERMINAL.has(action)) expect(['trashed', 'emptied'], where).toContain(state)
        else throw new Error(`${where}: unexpected action ${action}`)
        state =
          action === 'trash'
            ? 'trashed'
            : action === 'restore'
              ? 'active'
              : action === 'empty'
                ? 'emptied'
                : 'gone'
      }
      // the row says what the story says: exactly one state, and a purged item is gone (purged once)
      expect(stateOf.get(id) ?? 'gone', `item ${id}: ${story.join(' > ')}`).toBe(state)
      if (state === 'gone') purged++
    }
    expect(rows.rows.filter((row) => row.state === 'purging')).toEqual([])
    // the run did exercise every kind of transition
    const actions = new Set(audit.rows.map((row) => row.action))
    for (const action of ['trash', 'restore']) expect(actions).toContain(action)
    expect(purged).toBeGreaterThan(0)
  })
})
