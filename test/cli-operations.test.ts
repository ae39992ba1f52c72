import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from './helpers/processes.js'

let dataDir: string

/** Runs a command to its end on the test's embedded database. */
async function cli(...args: string[]) {
  const { output, exited } = runCli(args, { DATABASE_URL: '', DATA_DIR: dataDir, LOG_LEVEL: 'warn' })
  const { code } = await exited
  return { code, ...output }
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'trashd-cli-ops-'))
  // the demo puts alice's folder "Old campaign" in the trash: one trash operation by alice
  expect((await cli('seed-demo')).code).toBe(0)
}, 120_000)

afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

describe('trashd operations', () => {
  it('lists, shows, previews and undoes a trash operation as the account named by --as', async () => {
    const listed = await cli('operations', 'list', '--as', 'alice', '--action', 'trash')
    expect(listed.code).toBe(0)
    const line = listed.stdout.split('\n').find((l) => l.includes('\ttrash\t'))!
    expect(line).toMatch(
      /^[0-9a-f-]{36}\t\d{4}-\d{2}-\d{2}T[^\t]+\talice\t\w+\ttrash\t\d+ item\(s\)\tok 1 warning 0 error 0$/,
    )
    const id = line.split('\t')[0]!

    const shown = await cli('operations', 'show', id, '--as', 'alice')
    expect(shown.code).toBe(0)
    expect(shown.stdout).toMatch(
      / {2}trash\tfolder \d+\t[^\t]*Old campaign\t\d+ item\(s\)\tnow trashed \(undoable\)/,
    )

    const preview = await cli('operations', 'undo', id, '--as', 'alice', '--dry-run')
    expect(preview.code).toBe(0)
    expect(preview.stdout).toContain('dry run: nothing is changed')
    expect(preview.stdout).toMatch(/ {2}ok\tfolder \d+\tOld campaign/)
    expect(preview.stdout).toContain('would restore 1 unit(s), refused 0, skipped 0')

    const undone = await cli('operations', 'undo', id, '--as', 'alice')
    expect(undone.code).toBe(0)
    expect(undone.stdout).toMatch(/^undo operation [0-9a-f-]{36}\n/)
    expect(undone.stdout).toContain('restored 1 unit(s), refused 0, skipped 0')
    expect((await cli('operations', 'show', id, '--as', 'alice')).stdout).toContain('now active')

    // the undo is in the log as an operation of its own, by alice through the command line
    const after = await cli('operations', 'list', '--as', 'alice', '--door', 'cli')
    expect(after.stdout).toMatch(new RegExp(`\\talice\\tcli\\tundo\\t[^\\n]*undo of ${id}`))
  }, 240_000)

  it("refuses an unknown account, another user's operation, and a missing --as", async () => {
    const nobody = await cli('operations', 'list', '--as', 'nobody@example.com')
    expect(nobody.code).toBe(1)
    expect(nobody.stderr.trim()).toBe('--as nobody@example.com: no enabled account has this login')

    const listed = await cli('operations', 'list', '--as', 'alice', '--action', 'trash')
    const id = listed.stdout.split('\t')[0]!
    // bob is no administrator: alice's operation does not exist for him
    const bob = await cli('operations', 'undo', id, '--as', 'bob')
    expect(bob.code).toBe(1)
    expect(bob.stderr.trim()).toBe('Operation not found')

    const missing = await cli('operations', 'list')
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain("required option '--as <login>' not specified")
  }, 120_000)
})
