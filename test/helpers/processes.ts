import { type ChildProcess, spawn } from 'node:child_process'
import path from 'node:path'

export const root = path.resolve(import.meta.dirname, '..', '..')
/** The compiled CLI, what `npm start` and the container run; test/helpers/global-setup.ts builds it when stale. */
export const compiledCli = path.join(root, 'build', 'cli.js')

/**
 * `trashd <args>` as a child process (the compiled CLI, build/cli.js, with plain node), with its output collected.
 * The test run's global setup rebuilds build/ first whenever src/ changed, so this is always today's source.
 */
export function runCli(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [compiledCli, ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output = { stdout: '', stderr: '' }
  child.stdout!.on('data', (chunk: Buffer) => {
    output.stdout += chunk.toString()
  })
  child.stderr!.on('data', (chunk: Buffer) => {
    output.stderr += chunk.toString()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  )
  return { child, output, exited }
}

/** Resolves with everything printed so far once stdout or stderr matches; rejects on exit or timeout. */
export function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = ''
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern}; output:\n${output}`)),
      timeoutMs,
    )
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (pattern.test(output)) {
        clearTimeout(timer)
        child.stdout!.off('data', onData)
        child.stderr!.off('data', onData)
        resolve(output)
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (!pattern.test(output))
        reject(new Error(`exited (${code ?? signal}) before ${pattern}; output:\n${output}`))
    })
  })
}
