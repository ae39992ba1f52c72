import type { WorkGate } from '../../src/core/user-slots.js'

/** Every place of `gate` (one, as BIG_BATCHES=1 makes it) taken by work that runs until `release` is called. */
export function takeGate(gate: WorkGate): { release: () => void; holding: Promise<void> } {
  let release: () => void = () => {}
  const released = new Promise<void>((resolve) => {
    release = resolve
  })
  return { release, holding: gate.run(() => released) }
}

/** Runs `fn` with every place of `gate` taken by work that runs until `fn` is done. */
export async function withGateTaken<T>(gate: WorkGate, fn: () => Promise<T>): Promise<T> {
  const { release, holding } = takeGate(gate)
  try {
    return await fn()
  } finally {
    release()
    await holding
  }
}
