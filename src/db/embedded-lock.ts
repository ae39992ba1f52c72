import { open, readFile, rename, unlink } from 'node:fs/promises'

/** The embedded database could not be opened: another process holds it, or it is unusable. */
export class DatabaseUnavailableError extends Error {}

interface LockOwner {
  pid: number
  command: string
  since: string
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function readOwner(file: string): Promise<LockOwner | null> {
  try {
    const owner = JSON.parse(await readFile(file, 'utf8')) as LockOwner
    return Number.isInteger(owner.pid) ? owner : null
  } catch {
    return null
  }
}

/**
 * Takes the lock file of an embedded data directory for this process: PGlite keeps the database in this
 * process's memory and writes it back to the directory, so a second process opening it would see other data and
 * overwrite the first one's. A lock whose process is gone (killed) is taken over. Returns its release.
 */
export async function lockDataDirectory(file: string, description: string): Promise<() => Promise<void>> {
  const mine: LockOwner = {
    pid: process.pid,
    command: process.argv.slice(2).join(' ') || 'trashd',
    since: new Date().toISOString(),
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600)
      await handle.writeFile(`${JSON.stringify(mine)}\n`)
      await handle.close()
      return async () => {
        const owner = await readOwner(file)
        if (owner?.pid === process.pid) await unlink(file).catch(() => {})
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const owner = await readOwner(file)
    if (owner && owner.pid !== process.pid && alive(owner.pid)) {
      throw new DatabaseUnavailableError(
        `${description} is in use by process ${owner.pid} (trashd ${owner.command}, since ${owner.since}); ` +
          'one process at a time may open it: stop that process first, or run this through its HTTP API, ' +
          'or use PostgreSQL (DATABASE_URL) to run several processes ' +
          `(delete ${file} if that process is not trashd)`,
      )
    }
    if (!owner) {
      // a lock being written this very moment, or a torn one: look again shortly
      await new Promise((resolve) => setTimeout(resolve, 100))
      const again = await readOwner(file)
      if (again) continue
    }
    // left by a process that is gone: moved aside, then taken; a lock another starter took meanwhile goes back
    const aside = `${file}.stale-${process.pid}`
    if (
      await rename(file, aside).then(
        () => true,
        () => false,
      )
    ) {
      const moved = await readOwner(aside)
      if (moved && owner && moved.pid !== owner.pid) await rename(aside, file).catch(() => {})
      else await unlink(aside).catch(() => {})
    }
  }
  throw new DatabaseUnavailableError(`${description}: could not take its lock file ${file}`)
}
